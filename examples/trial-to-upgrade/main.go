// Command trial-to-upgrade is the self-serve billing guide end to end: a
// small web app whose users sign up with trial credits, use the product
// (metered with usage events), are sent to hosted checkout when the credits
// run out, become paying customers there, and manage their billing in the
// customer portal.
//
// It follows the guide's "what you don't need to store": its database keeps
// the Alguna account id of each user (whose own id is the account's alias),
// the session, the pass-through token of a started checkout and the
// credits reserved for actions Alguna has not metered yet. Every page reads
// the rest from Alguna: the active subscription and its plan, the paid
// invoices, and the credits left from the account's grants. Sign-up looks
// the alias up before it creates the account, so that repeating it, or
// running it twice at once, ends on one account with one trial grant.
//
// By default it starts the bundled fake Alguna and walks a simulated user
// through all eight steps of the guide over real HTTP, printing each one:
//
//	go run ./examples/trial-to-upgrade
//
// With -serve it keeps the app and the fake running so that you can click
// through checkout and the portal in a browser. With ALGUNA_API_KEY set it
// talks to a real Alguna (ALGUNA_BASE_URL, ALGUNA_WEBHOOK_SECRET,
// ALGUNA_CHECKOUT_URL and ALGUNA_FLOW_ID configure it; -public-url is where
// Alguna can reach the app's webhook endpoint) and always serves, since a
// real checkout needs a real person.
//
// Session cookies are signed with SESSION_KEY: at least 32 bytes written as
// hex (openssl rand -hex 32), the same on every replica. Without it each run
// makes a random key, so sessions end with the process.
//
// -h prints the flags and the environment variables. A bad flag or flag
// value exits with status 2, any other failure with 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // the app could not start, or a step failed
	exitUsage  = 2 // a bad flag, or a bad flag value
)

// options are the command line's settings.
type options struct {
	serve     bool
	addr      string
	publicURL string
	verbose   bool
}

const usageText = `Usage: trial-to-upgrade [flags]

Runs the self-serve billing guide's example app. By default it starts the
bundled fake Alguna, walks a simulated user through the guide's eight steps
and exits; with -serve, or with ALGUNA_API_KEY set, it serves the app until
interrupted.

Flags:
`

const envText = `
Environment:
  SESSION_KEY            key that signs session cookies: at least 32 bytes as
                         hex (openssl rand -hex 32); the same on every replica.
                         Default: a random key per run.
  ALGUNA_API_KEY         talk to a real Alguna instead of the bundled fake
  ALGUNA_WEBHOOK_SECRET  the webhook endpoint's signing secret (whsec_...);
                         required with ALGUNA_API_KEY
  ALGUNA_BASE_URL        the API's base URL (default https://api.alguna.io)
  ALGUNA_CHECKOUT_URL    the host of your hosted billing pages
  ALGUNA_FLOW_ID         the checkout flow for the no-code upgrade link
`

// run is the command: it returns the exit status, having written any
// error to stderr as one line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "trial-to-upgrade: %v; see trial-to-upgrade -h\n", err)
		return exitUsage
	}
	if err := runApp(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "trial-to-upgrade:", err)
		return exitFailed
	}
	return exitOK
}

// parseFlags reads and checks the command line. -h prints the usage to
// stdout and returns flag.ErrHelp.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("trial-to-upgrade", flag.ContinueOnError)
	// The flag package would print the whole usage after every error;
	// run prints one line instead.
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.serve, "serve", false, "keep the app (and the fake) running for a browser instead of walking through")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "`host:port` the app listens on")
	fs.StringVar(&o.publicURL, "public-url", "", "`URL` where browsers and Alguna reach the app (default: its listen address)")
	fs.BoolVar(&o.verbose, "v", false, "log every request to Alguna and every webhook")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, envText)
		return o, err
	}
	if err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := checkAddr(o.addr); err != nil {
		return o, err
	}
	if o.publicURL != "" {
		if err := checkPublicURL(o.publicURL); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkAddr refuses a listen address that cannot be one, before anything
// starts.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || !validHost(host) {
		return fmt.Errorf("invalid value %q for -addr: want host:port, such as 127.0.0.1:8080 (port 0 picks a free one)", addr)
	}
	return nil
}

// validHost reports whether host is empty (every interface), an IP
// address or a host name.
func validHost(host string) bool {
	if host == "" {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			letterOrDigit := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
			if !letterOrDigit && c != '-' {
				return false
			}
		}
	}
	return true
}

// checkPublicURL refuses a public URL that browsers and Alguna could not
// use: the app builds its checkout success URL and webhook endpoint on it.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("invalid value %q for -public-url: want an absolute http or https URL with no query, such as https://app.example.com", raw)
	}
	return nil
}

// runApp starts the app and walks through the guide, or serves until ctx
// ends.
func runApp(ctx context.Context, o options, stdout, stderr io.Writer) error {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// The SDK logs each call that fails, the lookup of every new user at
	// sign-up (404) included; the app logs the failures it acts on, with
	// what it was doing. So the SDK's own lines are shown with -v only.
	sdkLog := slog.New(slog.DiscardHandler)
	if o.verbose {
		sdkLog = log
	}
	env, err := connect(sdkLog)
	if err != nil {
		return err
	}
	defer env.close()

	inst, err := start(ctx, env, o.addr, o.publicURL, log)
	if err != nil {
		return err
	}

	var runErr error
	switch {
	case o.serve || env.fake == nil:
		fmt.Fprintf(stdout, "app: %s  (open it in a browser; Ctrl-C stops)\n", inst.publicURL)
		if env.fake != nil {
			fmt.Fprintf(stdout, "fake Alguna: %s  API key %s\n", env.fake.URL, env.fake.APIKey)
		}
		select {
		case <-ctx.Done():
		case runErr = <-inst.served:
		}
	default:
		runErr = walkthrough(ctx, stdout, inst, env.fake)
	}
	return errors.Join(runErr, inst.shutdown())
}

// instance is the app, listening.
type instance struct {
	publicURL string
	client    *alguna.Client
	store     *Store
	events    *alguna.Batcher
	srv       *http.Server
	served    chan error
}

// start listens on addr and serves the app, with its Batcher and webhook
// endpoint wired to env.
func start(ctx context.Context, env *environment, addr, publicURL string, log *slog.Logger) (*instance, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	publicURL = strings.TrimRight(publicURL, "/")
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	verifier, err := alguna.NewWebhookVerifier(env.webhookSecret)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	store := NewStore()
	events, err := newUsageBatcher(env.client, store, log)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if env.fake != nil {
		env.fake.AddWebhookEndpoint(publicURL + "/webhooks/alguna")
	}
	app, err := NewApp(Config{PublicURL: publicURL, FlowID: env.flowID, Currency: "USD", SessionKey: env.sessionKey}, env.client, events, verifier, store, log)
	if err != nil {
		_ = ln.Close()
		return nil, errors.Join(err, events.Close(ctx))
	}
	inst := &instance{
		publicURL: publicURL,
		client:    env.client,
		store:     store,
		events:    events,
		srv:       &http.Server{Handler: app.Routes(), ReadHeaderTimeout: 10 * time.Second},
		served:    make(chan error, 1),
	}
	go func() { inst.served <- inst.srv.Serve(ln) }()
	return inst, nil
}

// newUsageBatcher starts the Batcher that sends the app's usage events.
func newUsageBatcher(client *alguna.Client, store *Store, log *slog.Logger) (*alguna.Batcher, error) {
	return client.Events.NewBatcher(alguna.BatcherOptions{
		// Short, so the demo's balance moves as you click; the default
		// (1s) suits production.
		FlushInterval: 100 * time.Millisecond,
		OnFailure: func(events []alguna.Event, err error) {
			// Lost usage is lost revenue: a real app writes these to a
			// table and sends them again later.
			log.Error("usage events not ingested", "events", len(events), "error", err)
			// Until then Alguna does not meter them: the credits they
			// reserved are the user's again.
			releaseUnmetered(store, events)
		},
	})
}

// shutdown stops taking requests, then delivers every usage event still
// queued.
func (i *instance) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := i.srv.Shutdown(ctx)
	if closeErr := i.events.Close(ctx); closeErr != nil {
		err = errors.Join(err, fmt.Errorf("delivering the last usage events: %w", closeErr))
	}
	return err
}

// environment is the Alguna the app talks to, the bundled fake or a real
// workspace, and the key that signs the app's session cookies.
type environment struct {
	client        *alguna.Client
	fake          *algunatest.Server
	webhookSecret string
	flowID        string
	sessionKey    []byte
}

func (e *environment) close() {
	if e.fake != nil {
		e.fake.Close()
	}
}

// connect reads the environment and, unless ALGUNA_API_KEY names a real
// Alguna, starts the bundled fake. Every setting is checked before
// anything starts. log receives the SDK's log of its calls.
func connect(log *slog.Logger) (*environment, error) {
	sessionKey, err := sessionKeyFromEnv()
	if err != nil {
		return nil, err
	}
	key := os.Getenv("ALGUNA_API_KEY")
	if key == "" {
		fake := algunatest.NewServer()
		// The billable metric the product's events feed: one unit a call.
		fake.SetMetric(algunatest.Metric{EventName: usageEvent, CreditType: alguna.CreditTypeUnits, Aggregation: algunatest.AggregationCount})
		return &environment{
			client:        fake.Client(alguna.WithLogger(log), alguna.WithUserAgent("trial-to-upgrade-example")),
			fake:          fake,
			webhookSecret: fake.WebhookSecret,
			flowID:        algunatest.DefaultFlowID,
			sessionKey:    sessionKey,
		}, nil
	}
	secret := os.Getenv("ALGUNA_WEBHOOK_SECRET")
	if secret == "" {
		return nil, errors.New("ALGUNA_WEBHOOK_SECRET is required with ALGUNA_API_KEY")
	}
	opts := []alguna.Option{alguna.WithLogger(log), alguna.WithUserAgent("trial-to-upgrade-example")}
	if base := os.Getenv("ALGUNA_BASE_URL"); base != "" {
		opts = append(opts, alguna.WithBaseURL(base))
	}
	if u := os.Getenv("ALGUNA_CHECKOUT_URL"); u != "" {
		opts = append(opts, alguna.WithCheckoutBaseURL(u))
	}
	client, err := alguna.NewClient(key, opts...)
	if err != nil {
		return nil, err
	}
	return &environment{client: client, webhookSecret: secret, flowID: os.Getenv("ALGUNA_FLOW_ID"), sessionKey: sessionKey}, nil
}
