package assistant

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Device is a pending pairing request or a paired device, as the
// gateway's `openclaw devices list --json` describes it.
type Device struct {
	// RequestID is set on pending requests; it is what Approve takes.
	RequestID   string   `json:"requestId,omitempty"`
	DeviceID    string   `json:"deviceId,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Platform    string   `json:"platform,omitempty"`
	ClientID    string   `json:"clientId,omitempty"`
	ClientMode  string   `json:"clientMode,omitempty"`
	Role        string   `json:"role,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
	RemoteIP    string   `json:"remoteIp,omitempty"`
	// TS is when a pending request was made (Unix milliseconds).
	TS int64 `json:"ts,omitempty"`
	// CreatedAtMs and ApprovedAtMs describe a paired device (Unix milliseconds).
	CreatedAtMs  int64 `json:"createdAtMs,omitempty"`
	ApprovedAtMs int64 `json:"approvedAtMs,omitempty"`
}

// RequestedAt returns when a pending request was made, or the zero time.
func (d Device) RequestedAt() time.Time { return msTime(d.TS) }

// CreatedAt returns when a paired device was created, or the zero time.
func (d Device) CreatedAt() time.Time { return msTime(d.CreatedAtMs) }

// ApprovedAt returns when a paired device was approved, or the zero time.
func (d Device) ApprovedAt() time.Time { return msTime(d.ApprovedAtMs) }

// Name is the best human name for the device.
func (d Device) Name() string {
	switch {
	case d.DisplayName != "":
		return d.DisplayName
	case d.ClientID != "":
		return d.ClientID
	default:
		return d.DeviceID
	}
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// DeviceList is the reply of GET /api/admin/devices.
type DeviceList struct {
	Pending []Device `json:"pending"`
	Paired  []Device `json:"paired"`
}

type deviceListReply struct {
	DeviceList
	Raw        string `json:"raw"`
	Stderr     string `json:"stderr"`
	ParseError string `json:"parseError"`
	Error      string `json:"error"`
}

// Devices lists pending pairing requests and paired devices. The Worker
// starts the gateway first if needed and runs the gateway's CLI, so this
// takes 10-20 seconds on the real service.
func (c *Client) Devices(ctx context.Context) (*DeviceList, error) {
	var r deviceListReply
	if err := c.call(ctx, http.MethodGet, "/api/admin/devices", &r); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("list devices: %s", r.Error)
	}
	if r.ParseError != "" || (r.Pending == nil && r.Paired == nil && strings.TrimSpace(r.Stderr) != "") {
		detail := firstLine(r.Stderr)
		if detail == "" {
			detail = r.ParseError
		}
		return nil, &GatewayError{Status: http.StatusOK, Message: "the gateway's device list could not be read", Details: detail}
	}
	if r.Pending == nil {
		r.Pending = []Device{}
	}
	if r.Paired == nil {
		r.Paired = []Device{}
	}
	return &r.DeviceList, nil
}

// ApproveResult is the reply of POST /api/admin/devices/:id/approve.
type ApproveResult struct {
	Success   bool   `json:"success"`
	RequestID string `json:"requestId"`
	Message   string `json:"message,omitempty"`
}

type approveReply struct {
	ApproveResult
	Stderr string `json:"stderr"`
	Error  string `json:"error"`
}

// Approve approves one pending pairing request.
func (c *Client) Approve(ctx context.Context, requestID string) (*ApproveResult, error) {
	if requestID == "" {
		return nil, fmt.Errorf("approve device: empty request id")
	}
	var r approveReply
	if err := c.call(ctx, http.MethodPost, "/api/admin/devices/"+url.PathEscape(requestID)+"/approve", &r); err != nil {
		return nil, fmt.Errorf("approve device %s: %w", requestID, err)
	}
	if !r.Success {
		why := r.Error
		if why == "" {
			why = firstLine(r.Stderr)
		}
		if why == "" {
			why = r.Message
		}
		return &r.ApproveResult, fmt.Errorf("approve device %s: %s", requestID, orDefault(why, "the gateway did not approve it"))
	}
	return &r.ApproveResult, nil
}

// FailedApproval is one request approve-all could not approve.
type FailedApproval struct {
	RequestID string `json:"requestId"`
	Error     string `json:"error,omitempty"`
}

// ApproveAllResult is the reply of POST /api/admin/devices/approve-all.
type ApproveAllResult struct {
	Approved []string         `json:"approved"`
	Failed   []FailedApproval `json:"failed"`
	Message  string           `json:"message,omitempty"`
}

// ApproveAll approves every pending pairing request.
func (c *Client) ApproveAll(ctx context.Context) (*ApproveAllResult, error) {
	var r struct {
		ApproveAllResult
		Error string `json:"error"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/admin/devices/approve-all", &r); err != nil {
		return nil, fmt.Errorf("approve all devices: %w", err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("approve all devices: %s", r.Error)
	}
	if r.Approved == nil {
		r.Approved = []string{}
	}
	if r.Failed == nil {
		r.Failed = []FailedApproval{}
	}
	return &r.ApproveAllResult, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
