// Command algunafake runs the algunatest fake of Alguna as a standalone
// server, for trying an integration by hand or from another language's
// tests: the same API, hosted checkout and portal pages, and signed webhooks.
//
//	algunafake -addr 127.0.0.1:8080 -webhook http://localhost:3000/webhooks/alguna -metric api_call
//
// It prints the base URL, API key and webhook secret to point a client at,
// and runs until SIGINT or SIGTERM. State lives in memory and is gone when it
// stops. -events-per-second and -requests-per-second make it answer 429 past
// those rates, as Alguna does past 1000 events and 100 requests a second.
//
// -h prints the flags and exits with status 0; a bad flag or value is
// reported in one line, with status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/alguna/alguna-go/algunatest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "algunafake:", err)
		os.Exit(2)
	}
}

// run is the whole program, apart from the process-level signal wiring, so
// that tests can drive it: it serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("algunafake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	publicURL := fs.String("public-url", "", "base `URL` of the checkout and portal links it hands out, when browsers reach it under another name\n(in a container listening on :8089 and published on the host: http://localhost:8089; default: the listening address)")
	apiKey := fs.String("api-key", "", "API `key` to accept (default: a fresh random one)")
	secret := fs.String("webhook-secret", "", "whsec_… `secret` to sign webhooks with (default: a fresh random one)")
	opts := []algunatest.Option{}
	var hooks []string
	fs.Func("webhook", "`URL` to deliver every webhook to (repeatable)", func(v string) error {
		hooks = append(hooks, v)
		opts = append(opts, algunatest.WithWebhookEndpoint(v))
		return nil
	})
	fs.Func("metric", "billable metric `event[:aggregation:property]` consuming units, e.g. api_call or minutes:sum:duration;\naggregations: count, count_unique, sum, max (repeatable)", func(v string) error {
		m, err := parseMetric(v)
		if err != nil {
			return err
		}
		opts = append(opts, algunatest.WithMetric(m))
		return nil
	})
	var limit algunatest.RateLimit
	fs.Func("events-per-second", "answer 429 past this many ingested `events` a second (Alguna: 1000; default: no limit)", rateFlag(&limit.EventsPerSecond))
	fs.Func("requests-per-second", "answer 429 past this many API `requests` a second (Alguna: 100; default: no limit)", rateFlag(&limit.RequestsPerSecond))
	// The flag package would print the whole usage after every mistake;
	// a mistake gets one line here, and the usage only when asked for.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "Usage: algunafake [flags]\n\nRuns a fake of the Alguna API, its hosted pages and its webhooks.\n\nFlags:\n")
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w (algunafake -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if limit != (algunatest.RateLimit{}) {
		opts = append(opts, algunatest.WithRateLimit(limit))
	}
	opts = append(opts, algunatest.WithAddr(*addr))
	if *publicURL != "" {
		opts = append(opts, algunatest.WithPublicURL(*publicURL))
	}
	if *apiKey != "" {
		opts = append(opts, algunatest.WithAPIKey(*apiKey))
	}
	if *secret != "" {
		opts = append(opts, algunatest.WithWebhookSecret(*secret))
	}

	srv, err := algunatest.Start(opts...)
	if err != nil {
		return err
	}
	defer srv.Close()

	var b strings.Builder
	fmt.Fprintf(&b, "Alguna fake listening on %s\n\n", srv.URL)
	fmt.Fprintf(&b, "ALGUNA_BASE_URL=%s\n", srv.URL)
	fmt.Fprintf(&b, "ALGUNA_API_KEY=%s\n", srv.APIKey)
	fmt.Fprintf(&b, "ALGUNA_WEBHOOK_SECRET=%s\n\n", srv.WebhookSecret)
	for _, h := range hooks {
		fmt.Fprintf(&b, "Delivering webhooks to %s\n", h)
	}
	if limit.EventsPerSecond > 0 {
		fmt.Fprintf(&b, "Rate limit: %v events a second\n", limit.EventsPerSecond)
	}
	if limit.RequestsPerSecond > 0 {
		fmt.Fprintf(&b, "Rate limit: %v API requests a second\n", limit.RequestsPerSecond)
	}
	fmt.Fprintf(&b, "Checkout link: %s/checkout?flowId=%s&accountId=<account id>\n", srv.PublicURL, algunatest.DefaultFlowID)
	b.WriteString("Stop with Ctrl+C.\n")
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}

	<-ctx.Done()
	srv.Close()
	_, err = io.WriteString(stdout, "Stopped.\n")
	return err
}

// rateFlag parses a rate limit: a number, zero (no limit) or more.
func rateFlag(dst *float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return errors.New("want a number, zero or more")
		}
		*dst = f
		return nil
	}
}

// parseMetric reads "event", "event:aggregation:property" or, for count,
// "event:count".
func parseMetric(v string) (algunatest.Metric, error) {
	parts := strings.Split(v, ":")
	if len(parts) > 3 || parts[0] == "" {
		return algunatest.Metric{}, fmt.Errorf("metric %q: want event[:aggregation:property]", v)
	}
	m := algunatest.Metric{EventName: parts[0]}
	if len(parts) > 1 {
		m.Aggregation = algunatest.Aggregation(parts[1])
	}
	if len(parts) > 2 {
		m.Property = parts[2]
	}
	return m, nil
}
