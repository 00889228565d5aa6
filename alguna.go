package alguna

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-querystring/query"
	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"
)

// Version is the version of this SDK; it is sent in the User-Agent header.
const Version = "0.1.0"

// DefaultBaseURL is the address of Alguna's API. The sandbox is a separate
// workspace with its own key on the same host.
const DefaultBaseURL = "https://api.alguna.io"

const (
	defaultMaxRetries   = 3
	defaultMinRetryWait = 500 * time.Millisecond
	defaultMaxRetryWait = 30 * time.Second
	// maxRetryAfter caps a server's Retry-After, so that a misbehaving proxy
	// cannot park a call for hours.
	maxRetryAfter = 60 * time.Second
	// maxResponseBody bounds what is read of one response: the largest
	// legitimate answer (a page of 100 accounts) is far below it.
	maxResponseBody = 32 << 20
	// maxIdempotencyKey is the longest key Alguna accepts.
	maxIdempotencyKey = 255
)

// Client talks to the Alguna API. It is safe for concurrent use; create one
// per process and share it.
type Client struct {
	// Accounts creates, reads and updates customer accounts.
	Accounts *AccountsService
	// Credits grants credits and reads balances.
	Credits *CreditsService
	// Checkout starts hosted checkout.
	Checkout *CheckoutService
	// Events sends usage events.
	Events *EventsService
	// Portal opens the hosted customer portal.
	Portal *PortalService

	key             secretKey
	baseURL         string // without a trailing slash
	checkoutBaseURL string // without a trailing slash; empty when not configured
	httpClient      *http.Client
	maxRetries      int
	retryWaitMin    time.Duration
	retryWaitMax    time.Duration
	userAgent       string
	logger          *slog.Logger
	// ownLogger is whether WithLogger gave the logger, rather than the
	// default that discards everything.
	ownLogger bool
	// waitHook, when set, sees every computed retry wait and returns the wait
	// actually used. Tests use it to check Retry-After handling without
	// sleeping.
	waitHook func(attempt int, computed time.Duration) time.Duration
}

type clientConfig struct {
	baseURL         string
	checkoutBaseURL string
	httpClient      *http.Client
	maxRetries      int
	retryWaitMin    time.Duration
	retryWaitMax    time.Duration
	product         string
	logger          *slog.Logger
}

// Option configures a Client. Options are checked by NewClient, which fails on
// the first one that is invalid.
type Option func(*clientConfig) error

// WithBaseURL points the client at another API host, such as a local fake.
func WithBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		u, err := parseHTTPURL(rawURL)
		if err != nil {
			return fmt.Errorf("alguna: base URL: %w", err)
		}
		c.baseURL = u
		return nil
	}
}

// WithCheckoutBaseURL sets the host of your hosted billing pages (for example
// https://billing.yourcompany.com), which Checkout.FlowURL builds links on.
func WithCheckoutBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		u, err := parseHTTPURL(rawURL)
		if err != nil {
			return fmt.Errorf("alguna: checkout base URL: %w", err)
		}
		c.checkoutBaseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client requests go through; use it for
// timeouts, proxies or transport instrumentation.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return errors.New("alguna: HTTP client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed call is repeated (default 3).
// Zero turns retries off.
func WithMaxRetries(n int) Option {
	return func(c *clientConfig) error {
		if n < 0 {
			return fmt.Errorf("alguna: max retries must not be negative, got %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait sets the bounds of the exponential backoff between retries
// (default 500ms to 30s). A server's Retry-After takes precedence.
func WithRetryWait(minWait, maxWait time.Duration) Option {
	return func(c *clientConfig) error {
		if minWait <= 0 || maxWait <= 0 {
			return fmt.Errorf("alguna: retry waits must be positive, got %s and %s", minWait, maxWait)
		}
		if minWait > maxWait {
			return fmt.Errorf("alguna: minimum retry wait %s exceeds maximum %s", minWait, maxWait)
		}
		c.retryWaitMin, c.retryWaitMax = minWait, maxWait
		return nil
	}
}

// WithUserAgent names your product in the User-Agent header, after
// "alguna-go/<version>", so that Alguna's logs can tell your traffic apart.
func WithUserAgent(product string) Option {
	return func(c *clientConfig) error {
		if hasControl(product) {
			return errors.New("alguna: user agent must not contain line breaks or other control characters")
		}
		c.product = strings.TrimSpace(product)
		return nil
	}
}

// WithLogger logs retries and failed calls (method, path, status, attempt,
// idempotency key). The API key is never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error {
		if l == nil {
			return errors.New("alguna: logger is nil")
		}
		c.logger = l
		return nil
	}
}

// NewClient returns a client that authenticates with apiKey. Whitespace
// around the key is trimmed (a key read from a file ends in a newline); a key
// with anything but printable ASCII inside it is refused, since every request
// it signed would fail.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("alguna: API key is empty")
	}
	if !printableASCII(apiKey) {
		// The key itself is not quoted: error messages end up in logs.
		return nil, errors.New("alguna: API key must be printable ASCII with no spaces, line breaks or control characters inside it")
	}
	cfg := clientConfig{
		baseURL:      DefaultBaseURL,
		maxRetries:   defaultMaxRetries,
		retryWaitMin: defaultMinRetryWait,
		retryWaitMax: defaultMaxRetryWait,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	var hc http.Client
	if cfg.httpClient != nil {
		// A copy, so that the caller's client is left as it was.
		hc = *cfg.httpClient
	} else {
		// A client of our own rather than http.DefaultClient, so that a
		// global change made by other code cannot reach billing calls.
		hc = http.Client{Timeout: 60 * time.Second, Transport: defaultTransport()}
	}
	// Alguna's API does not redirect. Following one would send the key,
	// the body and the idempotency key wherever the Location points (even
	// another port or plain http), so a 3xx is handed back as an answer and
	// becomes an *Error.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ownLogger := cfg.logger != nil
	if !ownLogger {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	ua := "alguna-go/" + Version
	if cfg.product != "" {
		ua += " " + cfg.product
	}
	c := &Client{
		key:             newSecretKey(apiKey),
		baseURL:         cfg.baseURL,
		checkoutBaseURL: cfg.checkoutBaseURL,
		httpClient:      &hc,
		maxRetries:      cfg.maxRetries,
		retryWaitMin:    cfg.retryWaitMin,
		retryWaitMax:    cfg.retryWaitMax,
		userAgent:       ua,
		logger:          cfg.logger,
		ownLogger:       ownLogger,
	}
	c.Accounts = &AccountsService{owner: c}
	c.Credits = &CreditsService{owner: c}
	c.Checkout = &CheckoutService{owner: c}
	c.Events = &EventsService{owner: c}
	c.Portal = &PortalService{owner: c}
	return c, nil
}

// defaultTransport is the standard transport with more idle connections
// kept per host: every request goes to one host, and the Batcher alone has
// four in flight, so the standard two meant a new TLS handshake every few
// batches.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// parseHTTPURL checks a base URL: absolute https, or plain http to this
// machine only (tests, algunatest, a local fake), and nothing after the
// path. Plain http to another host would send the API key in clear text.
func parseHTTPURL(raw string) (string, error) {
	u, err := absoluteURL(raw)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not carry a query or fragment", raw)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", fmt.Errorf("%q uses plain http, which is allowed only for loopback hosts; use https", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// loopback reports whether host is this machine: "localhost" or a loopback
// address. Names that merely start with one (localhost.example.com) are not.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func absoluteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q is not an http or https URL", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

// RequestOption changes one call. Every service method takes them last.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	header         http.Header
	problems       []string
	// keySuffix tells apart the requests of one call that sends several,
	// when the caller gave one idempotency key for the call.
	keySuffix string
	// retries, when set, counts the attempts after the first; the Batcher
	// uses it to report retries made below it.
	retries *atomic.Int64
}

func (r *requestConfig) apply(opts []RequestOption) {
	for _, opt := range opts {
		if opt != nil {
			opt(r)
		}
	}
}

func withKeySuffix(s string) RequestOption {
	return func(r *requestConfig) { r.keySuffix = s }
}

// WithIdempotencyKey sets the Idempotency-Key of a POST or PATCH (at most 255
// characters). Without it each call gets a fresh random key, kept the same
// across that call's retries; set your own to make a call safe to repeat
// across process restarts.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *requestConfig) {
		switch {
		case key == "":
			r.problems = append(r.problems, "idempotency key is empty")
		case len(key) > maxIdempotencyKey:
			r.problems = append(r.problems, fmt.Sprintf("idempotency key is %d characters, more than %d", len(key), maxIdempotencyKey))
		case !printableASCII(key):
			r.problems = append(r.problems, "idempotency key must be printable ASCII")
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
			r.problems = append(r.problems, fmt.Sprintf("header %q is not a valid header", key))
			return
		}
		switch http.CanonicalHeaderKey(key) {
		case "Authorization":
			r.problems = append(r.problems, "the Authorization header comes from the client's API key; create another client for another key")
			return
		case "Idempotency-Key":
			r.problems = append(r.problems, "set the idempotency key with WithIdempotencyKey")
			return
		}
		if r.header == nil {
			r.header = make(http.Header)
		}
		r.header.Set(key, value)
	}
}

func withRetryCounter(n *atomic.Int64) RequestOption {
	return func(r *requestConfig) { r.retries = n }
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

// errNoClient is what a Client not made by NewClient answers.
var errNoClient = errors.New("alguna: the client was not created with NewClient; use alguna.NewClient")

// endpoint is one call of the API: its method and its path as the API
// reference writes it, with {placeholders} for ids. Logs and observers see
// the template, so that an id never becomes part of a span name or a
// metric label.
type endpoint struct {
	method   string
	template string
}

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
// template and the concrete path can never disagree.
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

// do is the one request path: every service method ends here. query is a
// struct for go-querystring (or nil), body is marshalled to JSON (or nil),
// out receives the decoded 2xx answer (or nil).
func (c *Client) do(ctx context.Context, call call, q, body, out any, opts []RequestOption) error {
	if c == nil || c.key == nil {
		return errNoClient
	}
	method, path := call.method, call.path
	var rc requestConfig
	rc.apply(opts)
	if len(rc.problems) > 0 {
		return &ValidationError{Problems: rc.problems}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("alguna: %s %s not sent: %w", method, path, err)
	}

	u := c.baseURL + path
	if q != nil {
		v, err := query.Values(q)
		if err != nil {
			return fmt.Errorf("alguna: encoding query: %w", err)
		}
		if enc := v.Encode(); enc != "" {
			u += "?" + enc
		}
	}

	var payload []byte
	switch b := body.(type) {
	case nil:
	case rawJSON:
		payload = b
	default:
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("alguna: encoding request body: %w", err)
		}
	}

	var reqBody any
	if payload != nil {
		reqBody = payload
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, reqBody)
	if err != nil {
		return fmt.Errorf("alguna: building request: %w", err)
	}
	req.Header.Set("Authorization", c.authorization())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	idemKey := ""
	if method == http.MethodPost || method == http.MethodPatch {
		idemKey = rc.idempotencyKey
		if idemKey == "" {
			idemKey = uuid.NewString()
		} else {
			idemKey += rc.keySuffix
		}
		req.Header.Set("Idempotency-Key", idemKey)
	}
	for k, vs := range rc.header {
		req.Header[k] = vs
	}

	resp, err := c.retrying(method, path, idemKey, rc.retries).Do(req)
	if err != nil {
		// retryablehttp hands back the last answer along with the error
		// when the context ends just as that answer arrives; close it, or
		// its connection leaks.
		if resp != nil {
			_ = resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if !errors.Is(err, ctxErr) {
				err = fmt.Errorf("%w (%w)", ctxErr, err)
			}
		} else if again, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !again {
			// A request the transport refuses to send, or a certificate
			// that will not verify: no later attempt can do better.
			err = &permanentError{err}
		}
		c.logger.LogAttrs(ctx, slog.LevelWarn, "alguna: request failed",
			slog.String("method", method), slog.String("path", path),
			slog.String("idempotency_key", idemKey), slog.String("error", err.Error()))
		return fmt.Errorf("alguna: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()

	// Answers are read into pooled buffers: the Batcher reads one per batch,
	// and growing a fresh slice for each was most of its garbage. Nothing
	// may keep a slice of data past this call: decoders copy what they keep,
	// and an *Error gets its own copy of the body.
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer releaseResponseBuffer(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody)); err != nil {
		return fmt.Errorf("alguna: %s %s: reading response: %w", method, path, err)
	}
	data := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := newError(resp, bytes.Clone(data))
		c.logger.LogAttrs(ctx, slog.LevelWarn, "alguna: request refused",
			slog.String("method", method), slog.String("path", path),
			slog.Int("status", resp.StatusCode), slog.String("request_id", apiErr.RequestID),
			slog.String("idempotency_key", idemKey))
		return apiErr
	}
	if out == nil {
		return nil
	}
	if rd, ok := out.(rawDecoder); ok {
		err = rd.decodeRaw(data)
	} else {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return fmt.Errorf("alguna: %s %s: %w: status %d, %w", method, path, ErrInvalidResponse, resp.StatusCode, err)
	}
	if ch, ok := out.(checker); ok {
		if err := ch.check(); err != nil {
			return fmt.Errorf("alguna: %s %s: %w: %w", method, path, ErrInvalidResponse, err)
		}
	}
	return nil
}

var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// releaseResponseBuffer pools a buffer unless an unusually large answer
// grew it: one big page must not stay in memory for good.
func releaseResponseBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		responseBuffers.Put(b)
	}
}

// retrying builds the retry loop of one call. It is built per call so that
// its hooks can log and count with that call's identity, without any shared
// mutable state.
func (c *Client) retrying(method, path, idemKey string, retries *atomic.Int64) *retryablehttp.Client {
	var lastErr error
	return &retryablehttp.Client{
		HTTPClient:   c.httpClient,
		RetryWaitMin: c.retryWaitMin,
		RetryWaitMax: c.retryWaitMax,
		RetryMax:     c.maxRetries,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			lastErr = err
			return retryPolicy(ctx, resp, err)
		},
		Backoff: func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
			wait := backoff(minWait, maxWait, attempt, resp)
			if c.waitHook != nil {
				wait = c.waitHook(attempt, wait)
			}
			attrs := []slog.Attr{
				slog.String("method", method), slog.String("path", path),
				slog.Int("attempt", attempt+1), slog.Duration("wait", wait),
				slog.String("idempotency_key", idemKey),
			}
			if resp != nil {
				attrs = append(attrs, slog.Int("status", resp.StatusCode))
			} else if lastErr != nil {
				attrs = append(attrs, slog.String("error", lastErr.Error()))
			}
			c.logger.LogAttrs(context.Background(), slog.LevelInfo, "alguna: retrying", attrs...)
			return wait
		},
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
			if attempt > 0 && retries != nil {
				retries.Add(1)
			}
		},
		// Hand the last answer back as it is, so that its status and body
		// become an *Error rather than an opaque "giving up" message.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// retryPolicy decides which failures are worth repeating: connection errors
// (but not TLS or certificate failures, which will not heal), 408, 409
// (a concurrent request with the same idempotency key is still running),
// 429 and 5xx other than 501.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return retryableStatus(resp.StatusCode), nil
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented:
		return false
	default:
		return code >= 500 && code <= 599
	}
}

// backoff waits exponentially longer after each attempt, with jitter so that
// many clients failing together do not retry together, unless the server
// said how long to wait.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return d
		}
	}
	base := minWait
	for i := 0; i < attempt && base < maxWait; i++ {
		base *= 2
	}
	if base > maxWait || base <= 0 {
		base = maxWait
	}
	// Equal jitter: half fixed, half random, never below the minimum.
	half := base / 2
	wait := half
	if half > 0 {
		// Jitter only spreads retries out; it guards no secret.
		wait += rand.N(half + 1) //nolint:gosec // G404: not security-sensitive
	}
	if wait < minWait {
		wait = minWait
	}
	return wait
}

// retryAfter parses a Retry-After value, in seconds or as an HTTP date,
// capped at maxRetryAfter.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d, true
}

// Error is a non-2xx answer from the API, after any retries.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the machine-readable error code, when the API sends one.
	Code string
	// Message is the human-readable explanation, from the body's "detail",
	// "message" or "error".
	Message string
	// RequestID identifies the request in Alguna's logs; quote it to support.
	RequestID string
	// Body is the raw body of the answer, always kept.
	Body []byte
}

// Error describes the failure with its status, message and request id.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("alguna: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Is lets errors.Is match an *Error against the sentinel of its status class,
// for example errors.Is(err, alguna.ErrNotFound).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrUnprocessable:
		return e.StatusCode == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// Temporary reports whether repeating the same call later may succeed.
func (e *Error) Temporary() bool { return retryableStatus(e.StatusCode) }

// Sentinels that an *Error matches with errors.Is, by status.
var (
	ErrBadRequest      = errors.New("alguna: bad request")         // 400
	ErrUnauthorized    = errors.New("alguna: unauthorized")        // 401, 403
	ErrNotFound        = errors.New("alguna: not found")           // 404
	ErrConflict        = errors.New("alguna: conflict")            // 409
	ErrUnprocessable   = errors.New("alguna: unprocessable")       // 422
	ErrRateLimited     = errors.New("alguna: rate limited")        // 429
	ErrServer          = errors.New("alguna: server error")        // 5xx
	ErrInvalidResponse = errors.New("alguna: unexpected response") // a 2xx body that is not the expected JSON
)

func newError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, Body: body}
	e.RequestID = resp.Header.Get("X-Request-Id")
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("Request-Id")
	}
	var fields struct {
		Detail  json.RawMessage `json:"detail"`
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &fields) == nil {
		for _, raw := range []json.RawMessage{fields.Detail, fields.Message, fields.Error} {
			if msg, code := errorText(raw); msg != "" {
				e.Message = msg
				if e.Code == "" {
					e.Code = code
				}
				break
			}
		}
		if c := jsonScalar(fields.Code); c != "" {
			e.Code = c
		}
	}
	if e.Message == "" {
		if text := strings.TrimSpace(string(body)); text != "" && !bytes.HasPrefix(body, []byte("{")) && len(text) <= 200 {
			e.Message = text
		}
	}
	return e
}

// errorText reads a message out of a string, or out of an object such as
// {"message": "...", "code": "..."}.
func errorText(raw json.RawMessage) (msg, code string) {
	if s := jsonScalar(raw); s != "" {
		return s, ""
	}
	var obj struct {
		Message string          `json:"message"`
		Detail  string          `json:"detail"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return "", ""
	}
	msg = obj.Message
	if msg == "" {
		msg = obj.Detail
	}
	return msg, jsonScalar(obj.Code)
}

// jsonScalar renders a JSON string or number as text.
func jsonScalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// permanentError is a failure to reach the API that no retry can mend,
// such as a request the transport cannot send.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// ValidationError reports problems found before any request was sent: the
// call was not made.
type ValidationError struct {
	Problems []string
}

// Error lists every problem.
func (e *ValidationError) Error() string {
	return "alguna: invalid request: " + strings.Join(e.Problems, "; ")
}

func invalid(problems ...string) error {
	return &ValidationError{Problems: problems}
}

// problems collects validation failures so a caller sees all of them at once.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}
