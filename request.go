package alguna

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-querystring/query"
	"github.com/google/uuid"
)

// maxIdempotencyKey is the longest key Alguna accepts.
const maxIdempotencyKey = 255

// endpoint is one call of the API: its method and its path as the API
// reference writes it, with {placeholders} for ids. Logs and observers see
// the template, so that an id never becomes part of a span name or a
// metric label.
type endpoint struct {
	method   string
	template string
	// keyless calls carry no Idempotency-Key although they write:
	// POST /events, whose idempotency key is each event's uniqueId.
	keyless bool
}

func get(template string) endpoint   { return endpoint{method: http.MethodGet, template: template} }
func post(template string) endpoint  { return endpoint{method: http.MethodPost, template: template} }
func patch(template string) endpoint { return endpoint{method: http.MethodPatch, template: template} }

// String is the endpoint as the API reference writes it:
// "GET /accounts/{id}".
func (e endpoint) String() string { return e.method + " " + e.template }

// call is an endpoint with its placeholders filled.
type call struct {
	endpoint
	path string
}

// with fills the template's placeholders with ids, in order, each escaped
// as one path segment. It is the only way a path is built, so that the
// template and the concrete path can never disagree. The number of ids is
// fixed by each call site, and a test checks every endpoint, so a mismatch
// is a bug in the SDK: it panics.
func (e endpoint) with(ids ...string) call {
	var b strings.Builder
	t := e.template
	for _, id := range ids {
		open := strings.IndexByte(t, '{')
		end := strings.IndexByte(t, '}')
		if open < 0 || end < open {
			panic("alguna: endpoint " + e.String() + " has fewer placeholders than ids")
		}
		b.WriteString(t[:open])
		b.WriteString(url.PathEscape(id))
		t = t[end+1:]
	}
	if strings.IndexByte(t, '{') >= 0 {
		panic("alguna: endpoint " + e.String() + " has more placeholders than ids")
	}
	b.WriteString(t)
	return call{endpoint: e, path: b.String()}
}

// RequestOption changes one call. Every service method takes them last.
// A RequestOption cannot fail when it is made; a wrong one (an empty
// idempotency key, say) makes the call fail with a *ValidationError that
// names the option, before anything is sent.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	header         http.Header
	info           *ResponseInfo
	problems       []string
}

// requestOptions applies a call's options, and refuses those that are
// wrong or do not fit the call.
func requestOptions(call call, opts []RequestOption) (requestConfig, error) {
	var rc requestConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&rc)
		}
	}
	if call.keyless && rc.idempotencyKey != "" {
		rc.problems = append(rc.problems, fmt.Sprintf("WithIdempotencyKey: %s takes no idempotency key; each event's uniqueId is its key", call.endpoint))
	}
	if len(rc.problems) > 0 {
		return rc, &ValidationError{Problems: rc.problems}
	}
	return rc, nil
}

// WithIdempotencyKey sets the Idempotency-Key of a POST or PATCH (at most 255
// printable ASCII characters). Without it each call gets a fresh random key,
// kept the same across that call's retries; set your own, derived from your
// records, to make a call safe to repeat across process restarts.
// POST /events takes none: each event's uniqueId is its idempotency key, so
// Events.Ingest refuses this option.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *requestConfig) {
		switch {
		case key == "":
			r.problems = append(r.problems, "WithIdempotencyKey: the key is empty")
		case len(key) > maxIdempotencyKey:
			r.problems = append(r.problems, fmt.Sprintf("WithIdempotencyKey: the key is %d characters, more than %d", len(key), maxIdempotencyKey))
		case !printableASCII(key):
			r.problems = append(r.problems, "WithIdempotencyKey: the key must be printable ASCII")
		default:
			r.idempotencyKey = key
		}
	}
}

// WithHeader adds a header to one call, for example Alguna-Version to opt in
// to a dated API version. It replaces a header of the same name set by the
// SDK, except Authorization (set from the client's key) and Idempotency-Key
// (use WithIdempotencyKey, which checks it).
func WithHeader(key, value string) RequestOption {
	return func(r *requestConfig) {
		if key == "" || strings.ContainsAny(key, " \t\r\n:") || hasControl(value) {
			r.problems = append(r.problems, fmt.Sprintf("WithHeader: %q is not a valid header", key))
			return
		}
		switch http.CanonicalHeaderKey(key) {
		case "Authorization":
			r.problems = append(r.problems, "WithHeader: the Authorization header comes from the client's API key; create another client for another key")
			return
		case "Idempotency-Key":
			r.problems = append(r.problems, "WithHeader: set the idempotency key with WithIdempotencyKey")
			return
		}
		if r.header == nil {
			r.header = make(http.Header)
		}
		r.header.Set(key, value)
	}
}

// ResponseInfo is what a successful call's answer said besides its body;
// WithResponseInfo fills one.
type ResponseInfo struct {
	// StatusCode is the answer's HTTP status.
	StatusCode int
	// Header is the answer's headers.
	Header http.Header
	// RequestID identifies the request in Alguna's logs.
	RequestID string
}

// WithResponseInfo fills *info with the status, headers and request id of
// the call's answer once the call succeeds; for a call that sends several
// requests (Events.Ingest of more than 100 events), the last one's. A failed
// call leaves it alone: its *Error carries the same facts.
func WithResponseInfo(info *ResponseInfo) RequestOption {
	return func(r *requestConfig) {
		if info == nil {
			r.problems = append(r.problems, "WithResponseInfo: the ResponseInfo is nil")
			return
		}
		r.info = info
	}
}

// hasControl reports whether s holds a byte that a header value cannot
// carry: a control character other than tab.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Bool returns a pointer to v, for optional settings such as
// PlanOverviewSettings.AllowSubscriptionCancel.
func Bool(v bool) *bool { return &v }

// String returns a pointer to v, for optional fields such as
// AccountUpdateParams.Name.
func String(v string) *string { return &v }

// Int returns a pointer to v, for optional fields such as
// CreditGrantParams.Priority.
func Int(v int) *int { return &v }

// rawJSON is a request body that is already encoded.
type rawJSON []byte

// rawDecoder is implemented by responses that read only part of a large
// answer, cheaper than encoding/json would read all of it.
type rawDecoder interface {
	decodeRaw(data []byte) error
}

// checker is implemented by responses that can tell a well-formed answer
// from an empty or foreign one.
type checker interface {
	check() error
}

// request is a call ready to send: everything that stays the same on each
// of its attempts.
type request struct {
	call    call
	url     string
	payload []byte // nil without a body
	header  http.Header
	idemKey string
	info    *ResponseInfo
}

// do is the one request path of the services: every service method ends
// here. query is a struct for go-querystring (or nil), body is marshalled to
// JSON (or nil), out receives the decoded 2xx answer (or nil).
func (c *Client) do(ctx context.Context, call call, q, body, out any, opts []RequestOption) error {
	req, err := c.prepare(call, q, body, opts)
	if err != nil {
		return err
	}
	return c.send(ctx, req, out, &policy{})
}

// prepare checks the call's options and encodes it once, for every attempt.
func (c *Client) prepare(call call, q, body any, opts []RequestOption) (*request, error) {
	if c == nil || c.key == nil {
		return nil, errNoClient
	}
	rc, err := requestOptions(call, opts)
	if err != nil {
		return nil, err
	}
	req := &request{call: call, url: c.baseURL + call.path, info: rc.info}
	if q != nil {
		var v url.Values
		v, err = query.Values(q)
		if err != nil {
			return nil, fmt.Errorf("alguna: encoding query: %w", err)
		}
		if enc := v.Encode(); enc != "" {
			req.url += "?" + enc
		}
	}
	switch b := body.(type) {
	case nil:
	case rawJSON:
		req.payload = b
	default:
		var err error
		if req.payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("alguna: encoding request body: %w", err)
		}
	}
	h := make(http.Header, 6)
	h["Authorization"] = []string{c.authorization()}
	h["Accept"] = []string{"application/json"}
	h["User-Agent"] = []string{c.userAgent}
	if req.payload != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	if (call.method == http.MethodPost || call.method == http.MethodPatch) && !call.keyless {
		req.idemKey = rc.idempotencyKey
		if req.idemKey == "" {
			req.idemKey = uuid.NewString()
		}
		h["Idempotency-Key"] = []string{req.idemKey}
	}
	for k, vs := range rc.header {
		h[k] = vs
	}
	req.header = h
	return req, nil
}

// build makes one attempt's *http.Request. The body is re-read from the
// payload each time, so every attempt sends it whole.
func (r *request) build(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if r.payload != nil {
		body = bytes.NewReader(r.payload)
	}
	hr, err := http.NewRequestWithContext(ctx, r.call.method, r.url, body)
	if err != nil {
		return nil, err
	}
	// A copy per attempt: an observer may add trace headers to it.
	hr.Header = r.header.Clone()
	if r.payload != nil {
		payload := r.payload
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
	}
	return hr, nil
}
