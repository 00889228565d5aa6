// Command trial-to-upgrade is the self-serve billing guide end to end: a
// small web app whose users sign up with trial credits, use the product
// (metered with usage events), are sent to hosted checkout when the credits
// run out, become paying customers when the payment webhook arrives, and
// manage their billing in the customer portal.
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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trial-to-upgrade:", err)
		os.Exit(1)
	}
}

// options are the command line's settings.
type options struct {
	serve     bool
	addr      string
	publicURL string
	verbose   bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("trial-to-upgrade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.serve, "serve", false, "keep the app (and the fake) running for a browser instead of walking through")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address the app listens on")
	fs.StringVar(&o.publicURL, "public-url", "", "URL where browsers and Alguna reach the app (default: its listen address)")
	fs.BoolVar(&o.verbose, "v", false, "log every request to Alguna and every webhook")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	env, err := connect(log)
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
		runErr = walkthrough(ctx, stdout, inst.publicURL, env.fake, inst.events)
	}
	return errors.Join(runErr, inst.shutdown())
}

// instance is the app, listening.
type instance struct {
	publicURL string
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
// anything starts.
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
