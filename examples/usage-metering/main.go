// Command usage-metering meters usage events through alguna-go's Batcher:
// step 6 of the self-serve billing guide, at volume.
//
// By default it starts the bundled fake Alguna (algunatest) in-process, so it
// runs anywhere with no account:
//
//	go run ./examples/usage-metering -n 200000
//
// With ALGUNA_API_KEY set it sends to a real Alguna instead (ALGUNA_BASE_URL
// overrides the host, e.g. for a sandbox workspace), metering against the
// account named by -account. With -spool DIR every event is fsynced to DIR
// before it counts as sent, and a run killed half-way sends the rest at the
// next start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "usage-metering:", err)
		os.Exit(1)
	}
}

type config struct {
	events      int
	producers   int
	account     string
	faults      float64
	closeWithin time.Duration
	spoolDir    string
}

func run(args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("usage-metering", flag.ContinueOnError)
	fs.IntVar(&cfg.events, "n", 100_000, "number of usage events to send")
	fs.IntVar(&cfg.producers, "producers", 4, "goroutines enqueueing events")
	fs.StringVar(&cfg.account, "account", "", "account id or alias to meter (default: a new account on the fake)")
	fs.Float64Var(&cfg.faults, "faults", 0.05, "share of requests the fake fails (500 or dropped connection), to show retries at work")
	fs.DurationVar(&cfg.closeWithin, "close-within", 30*time.Second, "how long Close may keep retrying at the end")
	fs.StringVar(&cfg.spoolDir, "spool", "", "spool events to this directory first, so that a crash loses none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.events < 0 || cfg.producers < 1 {
		return errors.New("-n must not be negative and -producers must be positive")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	client, fake, err := connect(cfg)
	if err != nil {
		return err
	}
	var fakeAccountID string
	if fake != nil {
		defer fake.Close()
		acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Metering Demo", Alias: "metering-demo"})
		if err != nil {
			return fmt.Errorf("creating the demo account: %w", err)
		}
		if _, err := client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
			CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(int64(cfg.events) * 2), Reason: "Metering demo",
		}); err != nil {
			return fmt.Errorf("granting credits: %w", err)
		}
		// The alias, not the id: events a killed run left in a spool name an
		// account the next run's fake knows too.
		cfg.account, fakeAccountID = acc.Alias, acc.ID
		fmt.Fprintf(out, "fake Alguna at %s, account %s (alias %s), %.0f%% of requests faulted\n", fake.URL, acc.ID, acc.Alias, cfg.faults*100)
	} else if cfg.account == "" {
		return errors.New("-account is required with a real Alguna")
	}

	var failed atomic.Int64
	b, err := client.Events.NewBatcher(alguna.BatcherOptions{
		SpoolDir: cfg.spoolDir,
		OnFailure: func(events []alguna.Event, err error) {
			// A real product would write these to a dead-letter table.
			failed.Add(int64(len(events)))
		},
	})
	if err != nil {
		return err
	}

	start := time.Now()
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	progressWG.Add(1)
	go func() {
		defer progressWG.Done()
		progress(out, b, cfg.events, start, progressDone)
	}()

	produceErr := produce(ctx, b, cfg)

	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.closeWithin)
	defer cancel()
	closeErr := b.Close(closeCtx)
	close(progressDone)
	progressWG.Wait()

	st := b.Stats()
	elapsed := time.Since(start)
	fmt.Fprintf(out, "\nsent %d events in %s (%.0f events/s): %d ingested, %d failed, %d requests retried\n",
		st.Enqueued, elapsed.Round(time.Millisecond), float64(st.Ingested)/elapsed.Seconds(), st.Ingested, st.Failed, st.Retried)
	if cfg.spoolDir != "" {
		fmt.Fprintf(out, "spool: %d events replayed from an earlier run, %d kept for the next, %d fsyncs\n", st.Replayed, st.Kept, st.Syncs)
	}
	if fake != nil {
		fmt.Fprintf(out, "the fake holds %d distinct events; units left on the account: %s\n",
			len(fake.Events()), fake.Balance(fakeAccountID, alguna.CreditTypeUnits))
	}
	return errors.Join(produceErr, closeErr)
}

// connect returns a client for a real Alguna when ALGUNA_API_KEY is set, and
// otherwise starts the fake and returns a client for it.
func connect(cfg config) (*alguna.Client, *algunatest.Server, error) {
	if key := os.Getenv("ALGUNA_API_KEY"); key != "" {
		var opts []alguna.Option
		if base := os.Getenv("ALGUNA_BASE_URL"); base != "" {
			opts = append(opts, alguna.WithBaseURL(base))
		}
		c, err := alguna.NewClient(key, append(opts, alguna.WithUserAgent("usage-metering-example"))...)
		return c, nil, err
	}
	fake := algunatest.NewServer()
	fake.SetMetric(algunatest.Metric{EventName: "api_call", CreditType: alguna.CreditTypeUnits, Aggregation: algunatest.AggregationCount})
	// 500s and dropped connections; 429s are left out because Retry-After
	// counts whole seconds, which would make the demo mostly waiting.
	fake.SetFaults(algunatest.Faults{ErrorRate: cfg.faults / 2, ResetRate: cfg.faults / 2, Seed: 1})
	// Short waits: the fake recovers at once, and the demo should too.
	return fake.Client(alguna.WithRetryWait(5*time.Millisecond, 100*time.Millisecond)), fake, nil
}

// produce enqueues cfg.events events from cfg.producers goroutines, as a
// busy service's request handlers would.
func produce(ctx context.Context, b *alguna.Batcher, cfg config) error {
	var next atomic.Int64
	errs := make(chan error, cfg.producers)
	var wg sync.WaitGroup
	for range cfg.producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(cfg.events) {
					return
				}
				err := b.Enqueue(ctx, alguna.Event{
					Account:    cfg.account,
					EventName:  "api_call",
					Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1000 + i%1000},
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// progress rewrites one status line until done is closed.
func progress(out io.Writer, b *alguna.Batcher, total int, start time.Time, done <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			st := b.Stats()
			rate := float64(st.Ingested) / time.Since(start).Seconds()
			fmt.Fprintf(out, "\r%d/%d enqueued  %8.0f events/s  pending %6d  failed %d  retried %d   ",
				st.Enqueued, total, rate, st.Pending, st.Failed, st.Retried)
		}
	}
}
