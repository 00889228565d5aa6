package algunatest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// Server is a running fake of the Alguna API and its hosted pages.
//
// What it remembers of Alguna's objects lives behind one mutex (the rate
// limit's buckets and the request log have small locks of their own).
// Handlers take it for the few microseconds a state change needs and never
// while doing network I/O: webhook sends, page rendering and response
// writing all happen outside it.
type Server struct {
	// URL is the base URL of the API and of the hosted pages, such as
	// "http://127.0.0.1:39215", with no trailing slash.
	URL string
	// PublicURL is the base of the checkout and portal session links the
	// server hands out: URL, unless WithPublicURL named another.
	PublicURL string
	// APIKey is the only bearer token the server accepts.
	APIKey string
	// WebhookSecret is the "whsec_…" secret every webhook delivery is signed
	// with; give it to the SDK's webhook verifier.
	WebhookSecret string

	cfg        config
	webhookKey []byte
	pages      pageSet
	httpSrv    *http.Server
	serveDone  chan struct{}
	closing    chan struct{}
	closeOnce  sync.Once
	transport  *http.Transport // webhook deliveries
	sender     *http.Client
	// clientTransport carries the requests of the SDK clients Client hands
	// out; it is the server's so that Close can shut their connections.
	clientTransport *http.Transport
	sendCtx         context.Context
	cancelSend      context.CancelFunc
	workers         sync.WaitGroup

	// limitMu guards the rate limit's buckets.
	limitMu sync.Mutex
	events  bucket
	reqs    bucket

	// logMu guards the request log and the recovered panics. It is not mu,
	// so that recovering from a panic raised while mu was held cannot
	// deadlock.
	logMu    sync.Mutex
	requests []Request
	panics   []Panic

	mu sync.Mutex // guards everything below
	st state
}

// state is everything the fake remembers. Only ever touched with Server.mu held.
type state struct {
	closed bool
	// fresh holds connections that have not yet sent a request. Close
	// drops them itself: http.Server.Shutdown would wait five seconds for
	// each, and clients often hold such spare connections.
	fresh map[net.Conn]struct{}

	accounts     map[string]*account
	accountOrder []*account // creation order, the default list order
	aliases      map[string]*account

	subscriptions     map[string]*subscription
	subscriptionOrder []*subscription
	invoices          map[string]*invoice
	invoiceOrder      []*invoice
	grants            map[string]*grant
	grantOrder        []*grant

	events     []storedEvent
	seenEvents map[string]struct{}
	meters     map[string][]*meter // by event name

	flows         map[string]CheckoutFlow
	plans         map[string]*Plan
	planOrder     []string // the catalogue's order
	checkouts     map[string]*checkoutSession
	checkoutOrder []*checkoutSession
	portals       map[string]*portalSession

	endpoints  []*webhookEndpoint
	queues     map[queueKey]*deliveryQueue
	deliveries []*delivery
	pending    int
	idle       chan struct{} // closed when pending drops back to zero

	idem      map[string]*idemEntry
	idemOrder []*idemEntry // oldest first, for expiry

	faults Faults
	rng    faultSource
}

// config is what the options set; it does not change once the server runs.
type config struct {
	addr          string
	publicURL     string
	apiKey        string
	webhookSecret string
	flows         []CheckoutFlow
	plans         []Plan
	portalTTL     time.Duration
	retrySchedule []time.Duration
	sendTimeout   time.Duration
	clock         func() time.Time
	metrics       []Metric
	endpoints     []*webhookEndpoint
	rateLimit     RateLimit
}

// Option configures a Server. NewServer panics on a bad one, because a fake
// that cannot be set up is a bug in the test, not a condition to handle;
// Start returns the error instead.
type Option func(*config) error

// WithAPIKey makes the server accept key instead of a freshly generated one,
// for a test that wants a fixed key (in recorded fixtures, say).
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if strings.TrimSpace(key) == "" {
			return errors.New("API key must not be empty")
		}
		c.apiKey = key
		return nil
	}
}

// WithWebhookSecret makes the server sign webhooks with secret, a
// "whsec_<base64>" value, instead of a freshly generated one.
func WithWebhookSecret(secret string) Option {
	return func(c *config) error {
		if _, err := standardwebhooks.ParseSecret(secret); err != nil {
			return err
		}
		c.webhookSecret = secret
		return nil
	}
}

// WithAddr makes the server listen on addr ("host:port") instead of a free
// port on 127.0.0.1; cmd/algunafake uses it for a fixed, known address.
func WithAddr(addr string) Option {
	return func(c *config) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("listen address: %w", err)
		}
		c.addr = addr
		return nil
	}
}

// WithPublicURL sets the base of the links the server hands out (checkout
// and portal session URLs), for a fake that browsers reach under another
// name than the one it listens on: in a container, listening on ":8089"
// and published to the host as http://localhost:8089. The default is URL.
func WithPublicURL(rawURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("public URL %q must be an absolute http or https URL with no query", rawURL)
		}
		c.publicURL = strings.TrimRight(u.String(), "/")
		return nil
	}
}

// WithCheckoutFlow adds a checkout flow, or replaces the one with the same
// ID (DefaultFlowID included). Flows are what the guide's no-code checkout
// link names with flowId; sessions created through the API use the default
// flow.
func WithCheckoutFlow(f CheckoutFlow) Option {
	return func(c *config) error {
		f, err := f.normalize()
		if err != nil {
			return err
		}
		for i := range c.flows {
			if c.flows[i].ID == f.ID {
				c.flows[i] = f
				return nil
			}
		}
		c.flows = append(c.flows, f)
		return nil
	}
}

// WithPortalSessionTTL sets how long a customer portal session URL stays
// usable; the default is one hour, as Alguna's portal links are short-lived.
func WithPortalSessionTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("portal session TTL must be positive")
		}
		c.portalTTL = d
		return nil
	}
}

// WithWebhookRetrySchedule sets the waits between delivery attempts of one
// webhook: after the first failed attempt the server waits waits[0] and
// tries again, and so on; when the list is used up, the delivery is given up.
// No waits means a single attempt. The default is 20ms, 100ms, 500ms: Alguna's
// real schedule runs to hours, which no test can wait for.
func WithWebhookRetrySchedule(waits ...time.Duration) Option {
	return func(c *config) error {
		for _, w := range waits {
			if w < 0 {
				return errors.New("webhook retry waits must not be negative")
			}
		}
		c.retrySchedule = append([]time.Duration(nil), waits...)
		return nil
	}
}

// WithWebhookTimeout bounds each delivery attempt; an endpoint that has not
// answered by then counts as failed for that attempt. The default is 10s.
func WithWebhookTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("webhook timeout must be positive")
		}
		c.sendTimeout = d
		return nil
	}
}

// WithClock replaces the server's clock for everything it stamps and
// decides: createdAt fields, grant expiry, portal session expiry, the
// metering period of events without a timestamp. Webhook signatures keep the
// real time, because receivers check it against their own clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("clock must not be nil")
		}
		c.clock = now
		return nil
	}
}

// NewServer starts a fake Alguna on a free port of 127.0.0.1 (or the address
// given by WithAddr) with a fresh API key and webhook secret. Close it when
// the test ends. It panics if an option is invalid or the address cannot be
// listened on, as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// Start is NewServer for programs, such as cmd/algunafake, that configure
// the fake from user input: it returns an error instead of panicking.
func Start(opts ...Option) (*Server, error) {
	cfg := config{
		addr:          "127.0.0.1:0",
		flows:         []CheckoutFlow{defaultFlow()},
		plans:         []Plan{defaultPlan()},
		portalTTL:     time.Hour,
		retrySchedule: []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond},
		sendTimeout:   10 * time.Second,
		clock:         time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("algunatest: %w", err)
		}
	}
	flows, plans, err := resolveFlows(cfg.flows, cfg.plans)
	if err != nil {
		return nil, fmt.Errorf("algunatest: %w", err)
	}
	cfg.flows, cfg.plans = flows, plans
	if cfg.apiKey == "" {
		cfg.apiKey = "sk_test_" + randomToken(24)
	}
	if cfg.webhookSecret == "" {
		raw := make([]byte, 24)
		_, _ = rand.Read(raw) // crypto/rand.Read never fails
		cfg.webhookSecret = standardwebhooks.SecretPrefix + base64.StdEncoding.EncodeToString(raw)
	}
	key, err := standardwebhooks.ParseSecret(cfg.webhookSecret)
	if err != nil {
		return nil, fmt.Errorf("algunatest: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("algunatest: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("algunatest: %w", err)
	}

	s := &Server{
		URL:           "http://" + ln.Addr().String(),
		PublicURL:     cfg.publicURL,
		APIKey:        cfg.apiKey,
		WebhookSecret: cfg.webhookSecret,
		cfg:           cfg,
		webhookKey:    key,
		pages:         pages,
		serveDone:     make(chan struct{}),
		closing:       make(chan struct{}),
	}
	if s.PublicURL == "" {
		s.PublicURL = s.URL
	}
	s.transport = &http.Transport{
		Proxy:               nil, // webhook receivers in tests are local; never send them through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	s.sender = &http.Client{
		Transport: s.transport,
		Timeout:   cfg.sendTimeout,
		// A webhook endpoint that redirects has not acknowledged the event.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.clientTransport = &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		// Tests send from many goroutines at once; the standard two idle
		// connections per host would make most of them dial anew.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	s.sendCtx, s.cancelSend = context.WithCancel(context.Background())
	now := cfg.clock()
	s.events = newBucket(cfg.rateLimit.EventsPerSecond, now)
	s.reqs = newBucket(cfg.rateLimit.RequestsPerSecond, now)
	s.st = state{
		fresh:         make(map[net.Conn]struct{}),
		accounts:      make(map[string]*account),
		aliases:       make(map[string]*account),
		seenEvents:    make(map[string]struct{}),
		meters:        make(map[string][]*meter),
		flows:         make(map[string]CheckoutFlow),
		plans:         make(map[string]*Plan),
		subscriptions: make(map[string]*subscription),
		invoices:      make(map[string]*invoice),
		grants:        make(map[string]*grant),
		checkouts:     make(map[string]*checkoutSession),
		portals:       make(map[string]*portalSession),
		queues:        make(map[queueKey]*deliveryQueue),
		idem:          make(map[string]*idemEntry),
	}
	for _, f := range cfg.flows {
		s.st.flows[f.ID] = f
	}
	for _, p := range cfg.plans {
		s.putPlanLocked(p) // no other goroutine can see s yet
	}
	for _, m := range cfg.metrics {
		s.setMetricLocked(m) // no other goroutine can see s yet
	}
	s.st.endpoints = append(s.st.endpoints, cfg.endpoints...)
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
	}
	go func() {
		defer close(s.serveDone)
		// Serve returns ErrServerClosed once Close runs; there is nobody else
		// to report an error to.
		_ = s.httpSrv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server: no more requests are answered, deliveries in
// flight are abandoned (and marked failed) and every goroutine the server
// started has returned when Close does. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.st.closed = true
		fresh := s.st.fresh
		s.st.fresh = nil
		s.mu.Unlock()
		for c := range fresh {
			_ = c.Close()
		}
		close(s.closing)
		s.cancelSend()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			_ = s.httpSrv.Close()
		}
		cancel()
		<-s.serveDone
		s.workers.Wait()
		s.transport.CloseIdleConnections()
		s.clientTransport.CloseIdleConnections()
	})
}

// trackConn keeps the set of connections that have not sent a request yet,
// and refuses new ones once the server is closing.
func (s *Server) trackConn(c net.Conn, cs http.ConnState) {
	s.mu.Lock()
	closed := s.st.closed
	if !closed {
		if cs == http.StateNew {
			s.st.fresh[c] = struct{}{}
		} else {
			delete(s.st.fresh, c)
		}
	}
	s.mu.Unlock()
	if closed && cs == http.StateNew {
		_ = c.Close()
	}
}

// now is the server's clock, cut to the microsecond precision Alguna shows,
// so that a time read back from the wire equals the one stored.
func (s *Server) now() time.Time {
	return s.cfg.clock().UTC().Truncate(time.Microsecond)
}

// timeLayout is RFC 3339 with exactly six fractional digits, as Alguna
// writes its timestamps ("2025-03-03T17:06:07.473879Z").
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// formatAmount writes a credit amount or balance the way Alguna does: a
// decimal string with no needless zeros ("50", "12.5").
func formatAmount(d decimal.Decimal) string {
	return d.String()
}

// formatMoney writes a price with cents ("49.00"), and with the digits
// past the cents that a sub-cent price has ("0.002"): rounding a price
// would state another one.
func formatMoney(d decimal.Decimal) string {
	if d.Equal(d.Round(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

// newID returns a fresh object id such as "acc_k3j5p2x7q9m4d8h6".
func newID(prefix string) string {
	return prefix + "_" + randomToken(16)
}

// randomToken returns n lowercase base32 characters from crypto/rand.
func randomToken(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(strings.ToLower(rand.Text()))
	}
	return b.String()[:n]
}

// ceilDiv is ⌈a/b⌉ for non-negative a and positive b.
func ceilDiv(a, b int) int {
	return (a + b - 1) / b
}
