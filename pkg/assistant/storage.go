package assistant

import (
	"context"
	"fmt"
	"net/http"
)

// StorageStatus is the reply of GET /api/admin/storage: whether R2 backup
// is configured and when the container last synced to it.
type StorageStatus struct {
	Configured bool     `json:"configured"`
	Missing    []string `json:"missing,omitempty"`
	// LastSync is the time the container wrote, as it wrote it; "" when it never synced.
	LastSync string `json:"lastSync,omitempty"`
	Message  string `json:"message,omitempty"`
}

// Storage reports the R2 backup configuration and last sync.
func (c *Client) Storage(ctx context.Context) (*StorageStatus, error) {
	var s StorageStatus
	if err := c.call(ctx, http.MethodGet, "/api/admin/storage", &s); err != nil {
		return nil, fmt.Errorf("storage status: %w", err)
	}
	return &s, nil
}

// SyncResult is the reply of POST /api/admin/storage/sync.
type SyncResult struct {
	Success  bool   `json:"success"`
	Message  string `json:"message,omitempty"`
	LastSync string `json:"lastSync,omitempty"`
}

// Sync backs the container's data up to R2 now.
func (c *Client) Sync(ctx context.Context) (*SyncResult, error) {
	var s SyncResult
	if err := c.call(ctx, http.MethodPost, "/api/admin/storage/sync", &s); err != nil {
		return nil, fmt.Errorf("sync to R2: %w", err)
	}
	return &s, nil
}
