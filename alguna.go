package alguna

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Version is the version of this SDK; it is sent in the User-Agent header.
const Version = "0.1.0"

// DefaultBaseURL is the address of Alguna's API.
const DefaultBaseURL = "https://api.alguna.io"

// SandboxBaseURL is the address of Alguna's sandbox, a separate environment
// with its own API keys for testing against real Alguna without real money.
// WithSandbox points a client at it.
const SandboxBaseURL = "https://api.sandbox.alguna.io"

// Client talks to the Alguna API. It is safe for concurrent use; create one
// per process and share it.
type Client struct {
	// Accounts creates, reads and updates customer accounts.
	Accounts *AccountsService
	// Credits grants credits and reads balances and grants.
	Credits *CreditsService
	// Checkout starts hosted checkout.
	Checkout *CheckoutService
	// Events sends usage events.
	Events *EventsService
	// Portal opens the hosted customer portal.
	Portal *PortalService
	// Subscriptions reads customers' subscriptions.
	Subscriptions *SubscriptionsService
	// Invoices reads customers' invoices.
	Invoices *InvoicesService
	// Plans reads the plans you sell.
	Plans *PlansService

	// key is a function rather than a string so that printing a Client,
	// or a struct that holds one, can never show it (see secretKey).
	key             secretKey
	baseURL         string // without a trailing slash
	host            string // of baseURL, for observers
	port            int
	checkoutBaseURL string // without a trailing slash; empty when not configured
	httpClient      *http.Client
	retry           retrier
	userAgent       string
	logger          *slog.Logger
	// ownLogger is whether WithLogger gave the logger, rather than the
	// default that discards everything.
	ownLogger bool
	observer  Observer
}

type clientConfig struct {
	baseURL         string
	sandbox         bool
	checkoutBaseURL string
	httpClient      *http.Client
	maxRetries      int
	retryWaitMin    time.Duration
	retryWaitMax    time.Duration
	product         string
	logger          *slog.Logger
	observer        Observer
}

// Option configures a Client. Every option is checked by NewClient, which
// fails on the first one that is invalid with an error naming it.
type Option func(*clientConfig) error

// WithBaseURL points the client at another API host, such as a local fake.
// It must be https, or plain http to a loopback host (localhost,
// 127.0.0.1, ::1): plain http anywhere else would send the API key in clear
// text.
func WithBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		u, err := parseHTTPURL(rawURL)
		if err != nil {
			return fmt.Errorf("alguna: WithBaseURL: %w", err)
		}
		c.baseURL = u
		return nil
	}
}

// WithPlainHTTPBaseURL points the client at a plain-http host that is not
// this machine: a fake in another container of a compose network
// (http://algunafake:8089), or one on a private test network. WithBaseURL
// refuses such a URL because the API key would cross the network in clear
// text; this option accepts it, so give it only keys that open nothing but
// a fake. It takes https as well, so that one setting can name either, and
// like WithBaseURL it cannot be combined with WithSandbox.
func WithPlainHTTPBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		u, err := parseBaseURL(rawURL)
		if err != nil {
			return fmt.Errorf("alguna: WithPlainHTTPBaseURL: %w", err)
		}
		c.baseURL = u
		return nil
	}
}

// WithSandbox points the client at Alguna's sandbox (SandboxBaseURL), whose
// API keys are separate from production's. Use it in staging and in tests
// that must reach real Alguna; tests that need no network use algunatest. It
// cannot be combined with WithBaseURL.
func WithSandbox() Option {
	return func(c *clientConfig) error {
		c.sandbox = true
		return nil
	}
}

// WithCheckoutBaseURL sets the host of your hosted billing pages (for example
// https://billing.yourcompany.com), which Checkout.FlowURL builds links on.
// Like WithBaseURL it takes https, or plain http to a loopback host.
func WithCheckoutBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		u, err := parseHTTPURL(rawURL)
		if err != nil {
			return fmt.Errorf("alguna: WithCheckoutBaseURL: %w", err)
		}
		c.checkoutBaseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client requests go through; use it for
// timeouts, proxies or transport instrumentation. The client uses a copy of
// it that never follows redirects (see NewClient); hc itself is left as it
// is.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return errors.New("alguna: WithHTTPClient: the HTTP client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed call is repeated (default 3).
// Zero turns retries off. The Batcher is not bound by it: it retries a batch
// for as long as it runs.
func WithMaxRetries(n int) Option {
	return func(c *clientConfig) error {
		if n < 0 {
			return fmt.Errorf("alguna: WithMaxRetries: retries must not be negative, got %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait sets the bounds of the exponential backoff between retries
// (default 500ms to 30s). A server's Retry-After takes precedence, but no
// wait is shorter than minWait.
func WithRetryWait(minWait, maxWait time.Duration) Option {
	return func(c *clientConfig) error {
		if minWait <= 0 || maxWait <= 0 {
			return fmt.Errorf("alguna: WithRetryWait: waits must be positive, got %s and %s", minWait, maxWait)
		}
		if minWait > maxWait {
			return fmt.Errorf("alguna: WithRetryWait: the minimum wait %s exceeds the maximum %s", minWait, maxWait)
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
			return errors.New("alguna: WithUserAgent: the product must not contain line breaks or other control characters")
		}
		c.product = strings.TrimSpace(product)
		return nil
	}
}

// WithLogger logs retries and failed calls (method, path, status, attempt,
// idempotency key), and the Batcher's losses. The API key is never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error {
		if l == nil {
			return errors.New("alguna: WithLogger: the logger is nil")
		}
		c.logger = l
		return nil
	}
}

// WithObserver makes o watch every API call, for tracing and metrics; see
// Observer.
func WithObserver(o Observer) Option {
	return func(c *clientConfig) error {
		if o == nil {
			return errors.New("alguna: WithObserver: the observer is nil")
		}
		c.observer = o
		return nil
	}
}

// NewClient returns a client that authenticates with apiKey. Whitespace
// around the key is trimmed (a key read from a file ends in a newline); a key
// with anything but printable ASCII inside it is refused, since every request
// it signed would fail.
//
// The client never follows a redirect: Alguna's API does not redirect, and
// following one would send the key, the body and the idempotency key
// wherever it points. A 3xx answer is an *Error.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("alguna: the API key is empty")
	}
	if !printableASCII(apiKey) {
		// The key itself is not quoted: error messages end up in logs.
		return nil, errors.New("alguna: the API key must be printable ASCII, with no spaces, line breaks or control characters inside it")
	}
	cfg := clientConfig{
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
	switch {
	case cfg.sandbox && cfg.baseURL != "":
		return nil, errors.New("alguna: WithSandbox and a base URL option name two different hosts; give one")
	case cfg.sandbox:
		cfg.baseURL = SandboxBaseURL
	case cfg.baseURL == "":
		cfg.baseURL = DefaultBaseURL
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
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ownLogger := cfg.logger != nil
	if !ownLogger {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.observer == nil {
		cfg.observer = nopObserver{}
	}
	ua := "alguna-go/" + Version
	if cfg.product != "" {
		ua += " " + cfg.product
	}
	host, port := hostPort(cfg.baseURL)
	c := &Client{
		host:            host,
		port:            port,
		key:             newSecretKey(apiKey),
		baseURL:         cfg.baseURL,
		checkoutBaseURL: cfg.checkoutBaseURL,
		httpClient:      &hc,
		retry: retrier{
			maxRetries: cfg.maxRetries,
			minWait:    cfg.retryWaitMin,
			maxWait:    cfg.retryWaitMax,
			clock:      wallClock{},
		},
		userAgent: ua,
		logger:    cfg.logger,
		ownLogger: ownLogger,
		observer:  cfg.observer,
	}
	c.Accounts = &AccountsService{owner: c}
	c.Credits = &CreditsService{owner: c}
	c.Checkout = &CheckoutService{owner: c}
	c.Events = &EventsService{owner: c}
	c.Portal = &PortalService{owner: c}
	c.Subscriptions = &SubscriptionsService{owner: c}
	c.Invoices = &InvoicesService{owner: c}
	c.Plans = &PlansService{owner: c}
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
	base, err := parseBaseURL(raw)
	if err != nil {
		return "", err
	}
	if u, _ := url.Parse(base); u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", fmt.Errorf("%q uses plain http, which is allowed only for loopback hosts; use https "+
			"(or WithPlainHTTPBaseURL for a fake on another host)", raw)
	}
	return base, nil
}

// parseBaseURL checks that raw is an absolute http or https URL with
// nothing after its path, and returns it without a trailing slash.
func parseBaseURL(raw string) (string, error) {
	u, err := absoluteURL(raw)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not carry a query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
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

// hostPort splits a checked base URL into its host name and port.
func hostPort(base string) (string, int) {
	u, err := url.Parse(base)
	if err != nil {
		return "", 0
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = 443
		if u.Scheme == "http" {
			port = 80
		}
	}
	return u.Hostname(), port
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
