package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Gateway states, as moltworker's /api/status reports them.
const (
	StatusNotRunning = "not_running"
	StatusStarting   = "starting"
	StatusRunning    = "running"
)

// moltbotPort is the gateway's port inside the container.
const moltbotPort = 18789

// gatewayStartTimeout is moltworker's STARTUP_TIMEOUT_MS.
const gatewayStartTimeout = 180 * time.Second

// Runtime is the deployed moltworker Worker: its one Sandbox
// container, the OpenClaw gateway process inside it and the gateway's data.
type Runtime struct {
	// Status is not_running, starting or running.
	Status    string     `json:"status"`
	ProcessID string     `json:"process_id,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	ReadyAt   *time.Time `json:"ready_at,omitempty"`
	// NamespaceID is the Sandbox Durable Object namespace the container belongs to.
	NamespaceID string `json:"namespace_id,omitempty"`
	// Restarts counts gateway processes killed by /api/admin/gateway/restart.
	Restarts int `json:"restarts"`
	// Env is the environment the running gateway was started with, as
	// name → SHA-256 hex of the value (the values are not kept).
	Env      map[string]string `json:"env,omitempty"`
	Pending  []*PendingDevice  `json:"pending,omitempty"`
	Paired   []*PairedDevice   `json:"paired,omitempty"`
	LastSync *time.Time        `json:"last_sync,omitempty"`
}

// PendingDevice is a device pairing request (openclaw devices list --json).
type PendingDevice struct {
	RequestID   string `json:"requestId"`
	DeviceID    string `json:"deviceId"`
	DisplayName string `json:"displayName,omitempty"`
	Platform    string `json:"platform,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
	ClientMode  string `json:"clientMode,omitempty"`
	Role        string `json:"role,omitempty"`
	RemoteIP    string `json:"remoteIp,omitempty"`
	TS          int64  `json:"ts"`
}

// PairedDevice is an approved device.
type PairedDevice struct {
	DeviceID     string `json:"deviceId"`
	DisplayName  string `json:"displayName,omitempty"`
	Platform     string `json:"platform,omitempty"`
	ClientID     string `json:"clientId,omitempty"`
	ClientMode   string `json:"clientMode,omitempty"`
	Role         string `json:"role,omitempty"`
	CreatedAtMs  int64  `json:"createdAtMs"`
	ApprovedAtMs int64  `json:"approvedAtMs"`
}

// GatewayInfo is what GET /__emulator/workers/{script}/gateway returns.
type GatewayInfo struct {
	Status    string     `json:"status"`
	ProcessID string     `json:"process_id,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Restarts  int        `json:"restarts"`
	// Env maps each variable the gateway started with to the first 12 hex
	// digits of the SHA-256 of its value.
	Env map[string]string `json:"env"`
}

// runtimeFor returns (creating) the runtime of script. The caller holds h.mu.
func (h *Host) runtimeFor(script string) *Runtime {
	if h.st.Runtimes == nil {
		h.st.Runtimes = map[string]*Runtime{}
	}
	rt := h.st.Runtimes[script]
	if rt == nil {
		rt = &Runtime{Status: StatusNotRunning}
		h.st.Runtimes[script] = rt
	}
	return rt
}

// gatewayStatus advances a starting gateway to running once its cold start
// has passed. The caller holds h.mu.
func (h *Host) gatewayStatus(rt *Runtime) string {
	if rt.Status == "" {
		rt.Status = StatusNotRunning
	}
	if rt.Status == StatusStarting && rt.ReadyAt != nil && !h.now().Before(*rt.ReadyAt) {
		rt.Status = StatusRunning
	}
	return rt.Status
}

// gatewayEnv is moltworker's buildEnvVars: what the Worker passes to the
// container process, keyed here by the Worker's own variable names.
func gatewayEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{
		"CLOUDFLARE_AI_GATEWAY_API_KEY", "CF_AI_GATEWAY_ACCOUNT_ID", "CF_AI_GATEWAY_GATEWAY_ID",
		"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AI_GATEWAY_API_KEY", "AI_GATEWAY_BASE_URL", "ANTHROPIC_BASE_URL",
		"MOLTBOT_GATEWAY_TOKEN", "DEV_MODE", "TELEGRAM_BOT_TOKEN", "TELEGRAM_DM_POLICY", "DISCORD_BOT_TOKEN",
		"DISCORD_DM_POLICY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "CF_AI_GATEWAY_MODEL", "CF_ACCOUNT_ID",
		"CDP_SECRET", "WORKER_URL", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_BUCKET_NAME",
	} {
		if v := env[k]; v != "" {
			out[k] = v
		}
	}
	return out
}

// StatusLocked is the status of script's gateway (StatusNotRunning when it
// has none), moving a finished cold start to running. The caller holds the
// lock of Config.Lock.
func (h *Host) StatusLocked(script string) string {
	rt := h.st.Runtimes[script]
	if rt == nil {
		return StatusNotRunning
	}
	return h.gatewayStatus(rt)
}

// errNoContainerApp is what the Sandbox Durable Object fails with when no
// container application is bound to its namespace.
//
//lint:ignore ST1005 the text the real Durable Object fails with
var errNoContainerApp = errors.New("There is no container application assigned to this Durable Object namespace")

// startGateway starts the gateway process if none is starting or running,
// as ensureMoltbotGateway does. The caller holds h.mu.
func (h *Host) startGateway(script string, sc Script) error {
	rt := h.runtimeFor(script)
	if st := h.gatewayStatus(rt); st == StatusStarting || st == StatusRunning {
		return nil
	}
	ns := sc.SandboxNamespace
	image, bound := h.acct.ContainerImage(ns)
	if !bound {
		return errNoContainerApp
	}
	if !h.acct.ImageExists(image) {
		return fmt.Errorf("the container failed to start: image %s was not found in the registry", image)
	}
	now := h.now().UTC()
	ready := now.Add(h.coldStart)
	rt.Status, rt.StartedAt, rt.ReadyAt = StatusStarting, &now, &ready
	if h.gatewayFaults[script] != "" {
		rt.ReadyAt = nil // a faulted gateway never listens
	}
	rt.ProcessID = "proc_" + newID()[:12]
	rt.NamespaceID = ns
	rt.Env = map[string]string{}
	for k, v := range gatewayEnv(sc.Env) {
		rt.Env[k] = fullHash(v)
	}
	return nil
}

// EnsureGateway starts script's gateway if needed and waits until it listens,
// at most moltworker's 180 s.
func (h *Host) EnsureGateway(ctx context.Context, script string) error {
	deadline := time.Now().Add(gatewayStartTimeout)
	h.mu.Lock()
	sc, found := h.acct.Script(script)
	if !found {
		h.mu.Unlock()
		return errors.New("the Worker was deleted")
	}
	err := h.startGateway(script, sc)
	pid := h.runtimeFor(script).ProcessID
	h.mu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := h.waitRunning(ctx, script, pid); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errors.New("OpenClaw gateway failed to start. Stderr: (empty)")
		}
		return err
	}
	return nil
}

// waitRunning waits until process pid of script's gateway listens.
func (h *Host) waitRunning(ctx context.Context, script, pid string) error {
	for {
		h.mu.Lock()
		rt := h.runtimeFor(script)
		st := h.gatewayStatus(rt)
		var wait time.Duration
		if rt.ReadyAt != nil {
			wait = rt.ReadyAt.Sub(h.now())
		}
		same := rt.ProcessID == pid
		h.mu.Unlock()
		switch {
		case !same || st == StatusNotRunning:
			return errors.New("the gateway process exited")
		case st == StatusRunning:
			return nil
		}
		wait = min(max(wait, time.Millisecond), 25*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// syncRuntimeLocked follows what happened to the Worker since its gateway
// started: a Worker deleted and uploaded again has a new Durable Object
// namespace and so a new container; a deleted container application takes
// its container down. The caller holds h.mu.
func (h *Host) syncRuntimeLocked(script string, sc Script) {
	rt := h.st.Runtimes[script]
	if rt == nil {
		return
	}
	ns := sc.SandboxNamespace
	if rt.NamespaceID != "" && rt.NamespaceID != ns {
		delete(h.st.Runtimes, script)
		return
	}
	if st := h.gatewayStatus(rt); st == StatusStarting || st == StatusRunning {
		if _, bound := h.acct.ContainerImage(ns); !bound {
			rt.Status = StatusNotRunning
		}
	}
}

// PruneLocked forgets the runtimes (and ends the tails) of deleted
// Workers: a deleted Worker's container goes with it. The caller holds the
// lock of Config.Lock.
func (h *Host) PruneLocked() {
	for name := range h.st.Runtimes {
		if _, found := h.acct.Script(name); !found {
			delete(h.st.Runtimes, name)
		}
	}
	h.tailMu.Lock()
	defer h.tailMu.Unlock()
	for id, t := range h.tails {
		if _, found := h.acct.Script(t.script); !found {
			for ch := range t.subs {
				close(ch)
			}
			t.subs = nil
			delete(h.tails, id)
		}
	}
}

// workerTarget resolves a workers.dev host to a script that serves there.
// The caller holds h.mu.
func (h *Host) workerTarget(host string) (string, Script, bool) {
	name, rest, _ := strings.Cut(host, ".")
	sub, _, _ := strings.Cut(rest, ".")
	if sub == "" || sub != h.acct.Subdomain() {
		return "", Script{}, false
	}
	sc, found := h.acct.Script(name)
	if !found || !sc.WorkersDev {
		return "", Script{}, false
	}
	return name, sc, true
}

// Serve answers a request to a deployed Worker's workers.dev host
// ("<script>.<subdomain>.workers.dev"): first the Access edge, then
// moltworker's routes.
func (h *Host) Serve(w http.ResponseWriter, r *http.Request, host string) {
	h.mu.Lock()
	h.PruneLocked()
	script, sc, found := h.workerTarget(host)
	h.mu.Unlock()
	if !found {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("There is nothing here yet\n"))
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	wr := &workerRequest{h: h, w: rec, r: r, host: host, script: script, env: sc.Env}
	h.mu.Lock()
	wr.fault = h.gatewayFaults[script]
	h.syncRuntimeLocked(script, sc)
	h.mu.Unlock()
	start := h.now()
	// A request Access turns away never reaches the Worker, so no tail sees it.
	if h.accessEdge(rec, r, host) {
		wr.serve()
		h.emitTail(script, r, rec.status, wr.logs(), start)
	}
}

// workerRequest is one request inside the emulated moltworker.
type workerRequest struct {
	h      *Host
	w      http.ResponseWriter
	r      *http.Request
	host   string
	script string
	env    map[string]string
	// fault is what the gateway prints when it cannot start (SetGatewayFault).
	fault string
}

func (q *workerRequest) acceptsHTML() bool {
	return strings.Contains(q.r.Header.Get("Accept"), "text/html")
}

func (q *workerRequest) json(status int, v any) { writeJSON(q.w, status, v) }

func (q *workerRequest) html(status int, body string) {
	q.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	q.w.WriteHeader(status)
	_, _ = q.w.Write([]byte(body))
}

// logs are the console.log lines moltworker writes for every request.
func (q *workerRequest) logs() []string {
	logs := []string{
		"[REQ] " + q.r.Method + " " + q.r.URL.Path,
		fmt.Sprintf("[REQ] Has ANTHROPIC_API_KEY: %t", q.env["ANTHROPIC_API_KEY"] != ""),
		"[REQ] DEV_MODE: " + undefinedIfEmpty(q.env["DEV_MODE"]),
		"[REQ] DEBUG_ROUTES: " + undefinedIfEmpty(q.env["DEBUG_ROUTES"]),
	}
	if q.fault != "" {
		logs = append(logs, "[Gateway] "+q.fault)
	}
	return logs
}

func undefinedIfEmpty(v string) string {
	if v == "" {
		return "undefined"
	}
	return v
}

func (q *workerRequest) serve() {
	p := q.r.URL.Path
	switch {
	case p == "/sandbox-health" && q.r.Method == http.MethodGet:
		q.json(200, map[string]any{"status": "ok", "service": "moltbot-sandbox", "gateway_port": moltbotPort})
		return
	case p == "/api/status" && q.r.Method == http.MethodGet:
		q.apiStatus()
		return
	case p == "/logo.png" || p == "/logo-small.png" || strings.HasPrefix(p, "/_admin/assets/"):
		q.w.Header().Set("Content-Type", "application/octet-stream")
		q.w.WriteHeader(200)
		return
	}
	if !strings.HasPrefix(p, "/debug") && q.env["DEV_MODE"] != "true" {
		if missing := missingEnv(q.env); len(missing) > 0 {
			if q.acceptsHTML() {
				q.html(503, configErrorPage(missing))
				return
			}
			q.json(503, map[string]any{
				"error": "Configuration error", "message": "Required environment variables are not configured",
				"missing": missing, "hint": "Set these using: wrangler secret put <VARIABLE_NAME>",
			})
			return
		}
	}
	if !q.workerAccess(q.acceptsHTML()) {
		return
	}
	switch {
	case strings.HasPrefix(p, "/api/admin/"):
		if q.workerAccess(false) {
			q.adminAPI(strings.TrimPrefix(p, "/api/admin"))
		}
	case p == "/_admin" || strings.HasPrefix(p, "/_admin/"):
		q.html(200, "<!doctype html><html><head><title>Moltbot Admin</title></head><body><div id=\"root\"></div></body></html>\n")
	case strings.HasPrefix(p, "/debug"):
		if q.env["DEBUG_ROUTES"] != "true" {
			q.json(404, map[string]any{"error": "Debug routes are disabled"})
			return
		}
		q.json(404, map[string]any{"error": "Not found"})
	default:
		q.proxy()
	}
}

// missingEnv is moltworker's validateRequiredEnv.
func missingEnv(env map[string]string) []string {
	var missing []string
	testMode := env["DEV_MODE"] == "true" || env["E2E_TEST_MODE"] == "true"
	if env["MOLTBOT_GATEWAY_TOKEN"] == "" {
		missing = append(missing, "MOLTBOT_GATEWAY_TOKEN")
	}
	if !testMode {
		if env["CF_ACCESS_TEAM_DOMAIN"] == "" {
			missing = append(missing, "CF_ACCESS_TEAM_DOMAIN")
		}
		if env["CF_ACCESS_AUD"] == "" {
			missing = append(missing, "CF_ACCESS_AUD")
		}
	}
	cfGateway := env["CLOUDFLARE_AI_GATEWAY_API_KEY"] != "" && env["CF_AI_GATEWAY_ACCOUNT_ID"] != "" && env["CF_AI_GATEWAY_GATEWAY_ID"] != ""
	legacy := env["AI_GATEWAY_API_KEY"] != "" && env["AI_GATEWAY_BASE_URL"] != ""
	if !cfGateway && !legacy && env["ANTHROPIC_API_KEY"] == "" && env["OPENAI_API_KEY"] == "" {
		missing = append(missing, "ANTHROPIC_API_KEY, OPENAI_API_KEY, or CLOUDFLARE_AI_GATEWAY_API_KEY + CF_AI_GATEWAY_ACCOUNT_ID + CF_AI_GATEWAY_GATEWAY_ID")
	}
	return missing
}

func configErrorPage(missing []string) string {
	return "<!DOCTYPE html>\n<html><head><title>Configuration Error - Moltworker</title></head><body>\n" +
		"<h1>Configuration Required</h1>\n<h2>Missing Variables</h2>\n<div class=\"missing-vars\">" +
		html.EscapeString(strings.Join(missing, ", ")) + "</div>\n" +
		"<p>Set the missing secrets using the Wrangler CLI:</p>\n<pre>wrangler secret put &lt;VARIABLE_NAME&gt;</pre>\n</body></html>\n"
}

const loadingPage = "<!DOCTYPE html>\n<html><head><title>Loading - Moltworker</title></head><body>\n" +
	"<h1 id=\"title\">Waiting for Moltworker to load</h1>\n<p class=\"status\" id=\"status\">Starting container...</p>\n" +
	"<p class=\"info\">This usually takes 1-2 minutes on cold start</p>\n</body></html>\n"

// apiStatus is moltworker's public GET /api/status. It never starts the
// gateway; for a process that is starting it probes the port for up to 5 s,
// so it answers running if the cold start ends within that, else
// not_responding.
func (q *workerRequest) apiStatus() {
	h := q.h
	h.mu.Lock()
	rt := h.runtimeFor(q.script)
	st := h.gatewayStatus(rt)
	pid := rt.ProcessID
	h.mu.Unlock()
	if st == StatusStarting {
		ctx, cancel := context.WithTimeout(q.r.Context(), statusProbeTimeout)
		err := h.waitRunning(ctx, q.script, pid)
		cancel()
		st = StatusRunning
		if err != nil {
			st = StatusStarting
		}
	}
	switch st {
	case StatusRunning:
		q.json(200, map[string]any{"ok": true, "status": "running", "processId": pid})
	case StatusStarting:
		q.json(200, map[string]any{"ok": false, "status": "not_responding", "processId": pid})
	default:
		q.json(200, map[string]any{"ok": false, "status": "not_running"})
	}
}

// statusProbeTimeout is /api/status's TCP probe of the gateway port.
const statusProbeTimeout = 5 * time.Second

// proxy is moltworker's catch-all: the loading page for browsers while the
// gateway starts, otherwise wait for it and pass the request to it.
func (q *workerRequest) proxy() {
	h := q.h
	ws := strings.EqualFold(q.r.Header.Get("Upgrade"), "websocket")
	h.mu.Lock()
	ready := h.gatewayStatus(h.runtimeFor(q.script)) == StatusRunning
	if !ready && !ws && q.acceptsHTML() {
		if sc, found := h.acct.Script(q.script); found {
			_ = h.startGateway(q.script, sc) // in the background; a failure leaves it not running
		}
		h.mu.Unlock()
		q.html(200, loadingPage)
		return
	}
	h.mu.Unlock()
	if err := h.EnsureGateway(q.r.Context(), q.script); err != nil {
		hint := "Check worker logs with: wrangler tail"
		if q.env["ANTHROPIC_API_KEY"] == "" {
			hint = "ANTHROPIC_API_KEY is not set. Run: wrangler secret put ANTHROPIC_API_KEY"
		}
		q.json(503, map[string]any{"error": "Moltbot gateway failed to start", "details": err.Error(), "hint": hint})
		return
	}
	q.gateway()
}

// gateway is the OpenClaw gateway's own answer. Over HTTP it serves the
// Control UI (200); the token and device pairing are checked when the UI
// connects its WebSocket, which the emulator models for browser page loads
// (the page shows what the UI would) and for real WebSocket upgrades.
func (q *workerRequest) gateway() {
	if strings.EqualFold(q.r.Header.Get("Upgrade"), "websocket") {
		q.gatewayWebSocket()
		return
	}
	q.w.Header().Set("X-Worker-Debug", "proxy-to-moltbot")
	q.w.Header().Set("X-Debug-Path", q.r.URL.Path)
	msg := ""
	if q.acceptsHTML() {
		msg = q.connect(q.r.URL.Query().Get("token"))
	}
	if msg == "" {
		msg = "Connected"
	}
	q.html(200, "<!doctype html><html><head><title>OpenClaw Control</title></head><body>\n<h1>OpenClaw Control</h1>\n<p class=\"status\">"+
		html.EscapeString(msg)+"</p>\n</body></html>\n")
}

// connect is the gateway's check of a Control UI connection: "" when it is
// accepted, else the error moltworker shows (after rewriting the gateway's).
// An unpaired device's first connection creates a pending pairing request.
func (q *workerRequest) connect(token string) string {
	h := q.h
	h.mu.Lock()
	defer h.mu.Unlock()
	rt := h.runtimeFor(q.script)
	if want := rt.Env["MOLTBOT_GATEWAY_TOKEN"]; want != "" && fullHash(token) != want {
		return "Invalid or missing token. Visit https://" + q.host + "?token={REPLACE_WITH_YOUR_TOKEN}"
	}
	if rt.Env["DEV_MODE"] == fullHash("true") || len(rt.Paired) > 0 {
		return ""
	}
	if len(rt.Pending) == 0 {
		h.addPendingLocked(rt, "Control UI", "web", q.r.RemoteAddr)
	}
	return "Pairing required. Visit https://" + q.host + "/_admin/"
}

// gatewayWebSocket is the Control UI's WebSocket. As moltworker does, the
// Worker adds MOLTBOT_GATEWAY_TOKEN when the URL has no token (Access
// redirects drop query strings); the gateway then closes with 1008 and the
// rewritten reason, or accepts and greets.
func (q *workerRequest) gatewayWebSocket() {
	token := q.r.URL.Query().Get("token")
	if !q.r.URL.Query().Has("token") {
		token = q.env["MOLTBOT_GATEWAY_TOKEN"]
	}
	c, err := websocket.Accept(q.w, q.r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	if msg := q.connect(token); msg != "" {
		if len(msg) > 123 {
			msg = msg[:120] + "..."
		}
		_ = c.Close(websocket.StatusPolicyViolation, msg)
		return
	}
	ctx := q.r.Context()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"event","event":"connect.ok"}`))
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

func (h *Host) addPendingLocked(rt *Runtime, name, platform, remote string) *PendingDevice {
	host, _, _ := strings.Cut(remote, ":")
	d := &PendingDevice{
		RequestID: newID()[:8] + "-" + newID()[:4], DeviceID: newID(), DisplayName: name, Platform: platform,
		ClientID: "openclaw-control-ui", ClientMode: "webchat", Role: "operator", RemoteIP: host,
		TS: h.now().UnixMilli(),
	}
	rt.Pending = append(rt.Pending, d)
	return d
}

// AddPendingDevice creates a pending device pairing request on script's
// gateway, as opening the Control UI in a new browser does, and returns its
// request id.
func (h *Host) AddPendingDevice(script string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, found := h.acct.Script(script); !found {
		return "", fmt.Errorf("no Worker named %q", script)
	}
	return h.addPendingLocked(h.runtimeFor(script), "Emulated browser", "web", "127.0.0.1").RequestID, nil
}

// Gateway reports script's gateway process.
func (h *Host) Gateway(script string) GatewayInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	info := GatewayInfo{Status: StatusNotRunning, Env: map[string]string{}}
	h.PruneLocked()
	rt := h.st.Runtimes[script]
	if rt == nil {
		return info
	}
	if sc, found := h.acct.Script(script); found {
		h.syncRuntimeLocked(script, sc)
		if rt = h.st.Runtimes[script]; rt == nil {
			return info
		}
	}
	info.Status, info.Restarts = h.gatewayStatus(rt), rt.Restarts
	if info.Status != StatusNotRunning {
		info.ProcessID = rt.ProcessID
		if rt.StartedAt != nil {
			t := *rt.StartedAt
			info.StartedAt = &t
		}
		for k, v := range rt.Env {
			info.Env[k] = v[:12]
		}
	}
	return info
}

// ensureGateway starts the gateway for an admin route, as moltworker's
// routes each do first; it answers 500 and reports false when it cannot.
func (q *workerRequest) ensureGateway() bool {
	if err := q.h.EnsureGateway(q.r.Context(), q.script); err != nil {
		q.json(500, map[string]any{"error": err.Error()})
		return false
	}
	return true
}

func (q *workerRequest) adminAPI(p string) {
	h := q.h
	m := q.r.Method
	switch {
	case m == http.MethodGet && p == "/devices":
		if !q.ensureGateway() {
			return
		}
		h.mu.Lock()
		rt := h.runtimeFor(q.script)
		out := map[string]any{"pending": append([]*PendingDevice{}, rt.Pending...), "paired": append([]*PairedDevice{}, rt.Paired...)}
		b, _ := json.Marshal(out)
		h.mu.Unlock()
		q.w.Header().Set("Content-Type", "application/json")
		_, _ = q.w.Write(b)
	case m == http.MethodPost && p == "/devices/approve-all":
		if !q.ensureGateway() {
			return
		}
		h.mu.Lock()
		rt := h.runtimeFor(q.script)
		if len(rt.Pending) == 0 {
			h.mu.Unlock()
			q.json(200, map[string]any{"approved": []string{}, "message": "No pending devices to approve"})
			return
		}
		approved := []string{}
		n := len(rt.Pending)
		for len(rt.Pending) > 0 {
			approved = append(approved, h.approveLocked(rt, rt.Pending[0].RequestID))
		}
		h.mu.Unlock()
		q.json(200, map[string]any{"approved": approved, "failed": []any{}, "message": fmt.Sprintf("Approved %d of %d device(s)", len(approved), n)})
	case m == http.MethodPost && strings.HasPrefix(p, "/devices/") && strings.HasSuffix(p, "/approve"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/devices/"), "/approve")
		if id == "" || strings.Contains(id, "/") {
			q.json(404, map[string]any{"error": "Not found"})
			return
		}
		if !q.ensureGateway() {
			return
		}
		h.mu.Lock()
		got := h.approveLocked(h.runtimeFor(q.script), id)
		h.mu.Unlock()
		if got == "" {
			q.json(200, map[string]any{"success": false, "requestId": id, "message": "Approval may have failed",
				"stdout": "", "stderr": "Error: unknown requestId " + id + "\n"})
			return
		}
		q.json(200, map[string]any{"success": true, "requestId": id, "message": "Device approved",
			"stdout": "Approved " + id + "\n", "stderr": ""})
	case m == http.MethodGet && p == "/storage":
		q.storage()
	case m == http.MethodPost && p == "/storage/sync":
		q.storageSync()
	case m == http.MethodPost && p == "/gateway/restart":
		h.mu.Lock()
		rt := h.runtimeFor(q.script)
		prev := ""
		if st := h.gatewayStatus(rt); st == StatusStarting || st == StatusRunning {
			prev = rt.ProcessID
			rt.Status, rt.Restarts = StatusNotRunning, rt.Restarts+1
		}
		if sc, found := h.acct.Script(q.script); found {
			_ = h.startGateway(q.script, sc) // in the background, as waitUntil
		}
		h.mu.Unlock()
		msg := "No existing process found, starting new instance..."
		out := map[string]any{"success": true, "message": msg}
		if prev != "" {
			out["message"] = "Gateway process killed, new instance starting..."
			out["previousProcessId"] = prev
		}
		q.json(200, out)
	default:
		// Unmatched /api routes fall through to the gateway proxy.
		q.proxy()
	}
}

// approveLocked pairs the pending request id and returns it, or "".
func (h *Host) approveLocked(rt *Runtime, id string) string {
	for i, d := range rt.Pending {
		if d.RequestID != id {
			continue
		}
		rt.Pending = append(rt.Pending[:i:i], rt.Pending[i+1:]...)
		rt.Paired = append(rt.Paired, &PairedDevice{
			DeviceID: d.DeviceID, DisplayName: d.DisplayName, Platform: d.Platform, ClientID: d.ClientID,
			ClientMode: d.ClientMode, Role: d.Role, CreatedAtMs: d.TS, ApprovedAtMs: h.now().UnixMilli(),
		})
		return id
	}
	return ""
}

func r2Missing(env map[string]string) []string {
	var missing []string
	for _, k := range []string{"R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "CF_ACCOUNT_ID"} {
		if env[k] == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

// lastSyncLocked is the time of the gateway's last sync to R2: the manual
// one, or the background loop's (every 30 s while a gateway started with R2
// credentials runs and its bucket exists).
func (h *Host) lastSyncLocked(rt *Runtime, env map[string]string) *time.Time {
	last := rt.LastSync
	if h.gatewayStatus(rt) == StatusRunning && rt.ReadyAt != nil && rt.Env["R2_ACCESS_KEY_ID"] != "" &&
		rt.Env["R2_SECRET_ACCESS_KEY"] != "" && rt.Env["CF_ACCOUNT_ID"] != "" && h.acct.BucketExists(bucketName(env)) {
		if n := h.now().Sub(*rt.ReadyAt) / (30 * time.Second); n >= 1 {
			t := rt.ReadyAt.Add(n * 30 * time.Second)
			if last == nil || t.After(*last) {
				last = &t
			}
		}
	}
	return last
}

func bucketName(env map[string]string) string {
	if b := env["R2_BUCKET_NAME"]; b != "" {
		return b
	}
	return "moltbot-data"
}

// syncTime formats like `date -Iseconds`.
func syncTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05-07:00")
}

func (q *workerRequest) storage() {
	missing := r2Missing(q.env)
	out := map[string]any{"configured": len(missing) == 0, "lastSync": nil}
	if len(missing) > 0 {
		out["missing"] = missing
		out["message"] = "R2 storage is not configured. Paired devices and conversations will be lost when the container restarts."
	} else {
		q.h.mu.Lock()
		out["lastSync"] = syncTime(q.h.lastSyncLocked(q.h.runtimeFor(q.script), q.env))
		q.h.mu.Unlock()
		out["message"] = "R2 storage is configured. Your data will persist across container restarts."
	}
	q.json(200, out)
}

func (q *workerRequest) storageSync() {
	if len(r2Missing(q.env)) > 0 {
		q.json(400, map[string]any{"success": false, "error": "R2 storage is not configured"})
		return
	}
	h := q.h
	h.mu.Lock()
	defer h.mu.Unlock()
	rt := h.runtimeFor(q.script)
	if rt.StartedAt == nil || h.gatewayStatus(rt) != StatusRunning {
		q.json(500, map[string]any{"success": false, "error": "Sync aborted: no config file found",
			"details": "Neither openclaw.json nor clawdbot.json found in config directory."})
		return
	}
	if !h.acct.BucketExists(bucketName(q.env)) {
		q.json(500, map[string]any{"success": false, "error": "Config sync failed",
			"details": "ERROR : S3 bucket " + bucketName(q.env) + ": error reading source root directory: NoSuchBucket: The specified bucket does not exist."})
		return
	}
	now := h.now().UTC()
	rt.LastSync = &now
	q.json(200, map[string]any{"success": true, "message": "Sync completed successfully", "lastSync": syncTime(&now)})
}

// SetGatewayFault makes the gateway of script fail as moltworker's users
// report (docs/troubleshooting.md): a gateway started from now on never
// listens, so /api/status says starting with no error, and every request
// the Worker serves logs "[Gateway] " + stderr to its tail, where moltctl
// can find the cause. An empty stderr clears the fault. The script need not
// exist yet.
func (h *Host) SetGatewayFault(script, stderr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if stderr == "" {
		delete(h.gatewayFaults, script)
		return
	}
	h.gatewayFaults[script] = stderr
}
