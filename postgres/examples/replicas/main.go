// Command replicas runs two replicas of a small metered app behind one load
// balancer, against the bundled fake Alguna (algunatest), sharing one
// PostgreSQL database: the webhook deduper, so that a delivery that reaches
// both replicas runs its callback once, and the usage outbox, so that usage
// is recorded in the transaction that does the billable work and delivered
// by whichever replica's relay is sending.
//
//	go run ./examples/replicas -dsn postgres://user:pass@localhost:5432/db
//
// (from the postgres module's directory; ALGUNA_POSTGRES_DSN or
// DATABASE_URL may stand in for -dsn). It works in a schema of its own,
// made for the run and dropped at the end unless -keep is given, and
// prints each step: usage through both replicas, the depletion webhook
// handled once, a duplicate delivery to both replicas acknowledged without
// running again, and one replica stopped while the other's relay takes
// over.
//
// A bad flag exits with status 2, any other failure with 1.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

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
	exitFailed = 1
	exitUsage  = 2
)

// How much the walkthrough sends: the trial's credits, and the calls made
// with them, enough to run out.
const (
	trialCredits = 10
	firstCalls   = 12
	laterCalls   = 6
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replicas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("dsn", "", "PostgreSQL connection string (default $ALGUNA_POSTGRES_DSN, then $DATABASE_URL)")
	keep := fs.Bool("keep", false, "keep the run's schema instead of dropping it at the end")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "replicas: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	for _, env := range []string{"ALGUNA_POSTGRES_DSN", "DATABASE_URL"} {
		if *dsn == "" {
			*dsn = os.Getenv(env)
		}
	}
	if *dsn == "" {
		fmt.Fprintln(stderr, "replicas: a PostgreSQL server is needed: give -dsn, or set ALGUNA_POSTGRES_DSN or DATABASE_URL")
		return exitUsage
	}
	if err := walkthrough(ctx, *dsn, *keep, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "replicas:", err)
		return exitFailed
	}
	return exitOK
}

func walkthrough(ctx context.Context, dsn string, keep bool, out, errOut io.Writer) (err error) {
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer admin.Close()
	schema := "alguna_example_" + randomHex(4)
	if !keep {
		defer func() {
			_, derr := admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			err = errors.Join(err, derr)
		}()
	}

	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetMetric(algunatest.Metric{EventName: "api_call", CreditType: alguna.CreditTypeUnits})
	client := srv.Client()
	acct, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Alias: "acme"})
	if err != nil {
		return err
	}
	if _, err := client.Credits.Grant(ctx, acct.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(trialCredits), Reason: "trial",
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "1. Alguna (the bundled fake): account %s (alias acme) with %d trial credits\n", acct.ID, trialCredits)

	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	if err != nil {
		return err
	}
	cfg := replicaConfig{dsn: dsn, schema: schema, client: client, verifier: verifier, logger: logger}
	replicas, err := startReplicas(ctx, cfg, "replica-a", "replica-b")
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range replicas {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err = errors.Join(err, r.stop(sctx))
			cancel()
		}
	}()
	lb, err := startBalancer(ctx, replicas)
	if err != nil {
		return err
	}
	defer lb.close()
	srv.AddWebhookEndpoint(lb.url+"/webhooks", alguna.WebhookCreditsBalanceDepleted)
	fmt.Fprintf(out, "2. two replicas behind one load balancer at %s, sharing schema %s: both migrated it at start-up\n", lb.url, schema)

	served, err := callAnalyze(ctx, lb.url, "acme", firstCalls)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "3. %d metered calls through the load balancer: %d served by replica-a, %d by replica-b; each recorded its usage event in the call's own transaction\n",
		firstCalls, served["replica-a"], served["replica-b"])

	if err := waitFor(ctx, func() (bool, error) { return len(srv.Events()) == firstCalls, nil }); err != nil {
		return fmt.Errorf("the fake holds %d of %d events: %w", len(srv.Events()), firstCalls, err)
	}
	fmt.Fprintf(out, "4. %s's relay sent them (one relay sends at a time, within one rate budget); Alguna holds %d events\n",
		sender(replicas), len(srv.Events()))

	var prompts []prompt
	if err := waitFor(ctx, func() (bool, error) {
		var err error
		prompts, err = upgradePrompts(ctx, admin, schema)
		return len(prompts) > 0, err
	}); err != nil {
		return fmt.Errorf("no replica handled the depletion webhook: %w", err)
	}
	fmt.Fprintf(out, "5. the credits ran out: Alguna sent %s once, and %s handled it (delivery %s)\n",
		alguna.WebhookCreditsBalanceDepleted, prompts[0].replica, prompts[0].webhookID)

	// The first delivery is answered (and recorded as done) once the fake
	// has its answer.
	if err := srv.FlushWebhooks(ctx); err != nil {
		return err
	}
	codes, err := redeliver(ctx, srv, lb.url, prompts[0].webhookID)
	if err != nil {
		return err
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		return err
	}
	if prompts, err = upgradePrompts(ctx, admin, schema); err != nil {
		return err
	}
	fmt.Fprintf(out, "6. the same delivery again, to both replicas at once: answered %d and %d; the callback ran %d time(s) in all\n",
		codes[0], codes[1], len(prompts))

	first := sender(replicas)
	stopped := replicas[0]
	if first == replicas[1].name {
		stopped = replicas[1]
	}
	lb.remove(stopped)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = stopped.stop(sctx)
	cancel()
	if err != nil {
		return err
	}
	if _, err := callAnalyze(ctx, lb.url, "acme", laterCalls); err != nil {
		return err
	}
	total := firstCalls + laterCalls
	if err := waitFor(ctx, func() (bool, error) { return len(srv.Events()) == total, nil }); err != nil {
		return fmt.Errorf("the fake holds %d of %d events: %w", len(srv.Events()), total, err)
	}
	fmt.Fprintf(out, "7. %s stopped; %d more calls went to the other replica, whose relay took over: Alguna holds %d events, each once\n",
		stopped.name, laterCalls, len(srv.Events()))

	running := replicas[0]
	if running == stopped {
		running = replicas[1]
	}
	if err := waitFor(ctx, func() (bool, error) {
		n, err := running.outbox.Pending(ctx)
		return n == 0, err
	}); err != nil {
		return fmt.Errorf("the outbox did not empty: %w", err)
	}
	pending, err := running.outbox.Pending(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "8. done: %d events left in the outbox\n", pending)
	return nil
}

// startReplicas starts the replicas together, as a deploy does.
func startReplicas(ctx context.Context, cfg replicaConfig, names ...string) ([]*replica, error) {
	type started struct {
		r   *replica
		err error
	}
	results := make(chan started, len(names))
	for _, name := range names {
		go func() {
			r, err := startReplica(ctx, name, cfg)
			results <- started{r, err}
		}()
	}
	byName := map[string]*replica{}
	var errs []error
	for range names {
		s := <-results
		if s.err != nil {
			errs = append(errs, s.err)
			continue
		}
		byName[s.r.name] = s.r
	}
	out := make([]*replica, 0, len(names))
	for _, name := range names {
		if r := byName[name]; r != nil {
			out = append(out, r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, r := range out {
			_ = r.stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return out, nil
}

// callAnalyze makes n calls of the metered action through the load
// balancer, and counts the replicas that served them.
func callAnalyze(ctx context.Context, baseURL, account string, n int) (map[string]int, error) {
	served := map[string]int{}
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/analyze?account="+account, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return nil, fmt.Errorf("POST /analyze: %s", resp.Status)
		}
		served[resp.Header.Get("X-Replica")]++
	}
	return served, nil
}

// redeliver sends a delivery that was already handled once more to each
// replica at the same time, as at-least-once delivery may; it returns the
// two answers.
func redeliver(ctx context.Context, srv *algunatest.Server, lbURL, webhookID string) ([2]int, error) {
	var codes [2]int
	var data json.RawMessage
	for _, d := range srv.Deliveries() {
		if d.ID == webhookID {
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(d.Body, &env); err != nil {
				return codes, err
			}
			data = env.Data
		}
	}
	if data == nil {
		return codes, fmt.Errorf("delivery %s not found", webhookID)
	}
	w := algunatest.Webhook{Type: alguna.WebhookCreditsBalanceDepleted, ID: webhookID, Data: data}
	errs := make(chan error, 2)
	for i := range codes {
		go func() {
			req, err := w.Request(lbURL+"/webhooks", srv.WebhookSecret)
			if err != nil {
				errs <- err
				return
			}
			req = req.WithContext(ctx)
			req.RequestURI = ""
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			_ = resp.Body.Close()
			codes[i] = resp.StatusCode
			errs <- nil
		}()
	}
	return codes, errors.Join(<-errs, <-errs)
}

// prompt is an upgrade prompt the webhook callback recorded.
type prompt struct {
	replica, webhookID string
}

func upgradePrompts(ctx context.Context, pool *pgxpool.Pool, schema string) ([]prompt, error) {
	rows, err := pool.Query(ctx, "SELECT replica, webhook_id FROM "+pgx.Identifier{schema, "upgrade_prompts"}.Sanitize())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (prompt, error) {
		var p prompt
		err := row.Scan(&p.replica, &p.webhookID)
		return p, err
	})
}

// sender names the replica whose relay is sending, or "no replica".
func sender(replicas []*replica) string {
	for _, r := range replicas {
		if r.relay.Stats().Sending {
			return r.name
		}
	}
	return "no replica"
}

// waitFor checks cond every 20ms until it holds, for up to 30s.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
