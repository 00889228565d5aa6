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
//
// On a terminal one progress line rewrites itself; in a file or a pipe a
// plain line is printed every second, and a last one at the end. -h prints
// the flags. A bad flag or flag value exits with status 2 before anything
// starts; a run in which events were not all ingested exits with 1.
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
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // events were not all ingested, or the run could not start
	exitUsage  = 2 // a bad flag, or a bad flag value
)

// Bounds on the flags, so that a typo cannot overflow a counter or start a
// million goroutines.
const (
	maxEvents    = 1_000_000_000
	maxProducers = 1024
)

type config struct {
	events      int
	producers   int
	account     string
	faults      float64
	closeWithin time.Duration
	spoolDir    string
}

const usageText = `Usage: usage-metering [flags]

Sends usage events through alguna-go's Batcher and reports what was
ingested. By default it meters a new account on the bundled fake Alguna,
which fails a share of the requests (-faults) to show retries at work.

Flags:
`

const envText = `
Environment:
  ALGUNA_API_KEY   send to a real Alguna instead of the bundled fake
                   (then -account is required)
  ALGUNA_BASE_URL  the API's base URL, e.g. https://api.sandbox.alguna.io
`

// run is the command: it returns the exit status, having written any error
// to stderr as one line.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout, os.Getenv("ALGUNA_API_KEY") != "")
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "usage-metering: %v; see usage-metering -h\n", err)
		return exitUsage
	}
	if err := meter(cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "usage-metering:", err)
		return exitFailed
	}
	return exitOK
}

// parseFlags reads and checks the command line; realAlguna says whether
// ALGUNA_API_KEY names a real Alguna. -h prints the usage to stdout and
// returns flag.ErrHelp.
func parseFlags(args []string, stdout io.Writer, realAlguna bool) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("usage-metering", flag.ContinueOnError)
	// The flag package would print the whole usage after every error; run
	// prints one line instead.
	fs.SetOutput(io.Discard)
	fs.IntVar(&cfg.events, "n", 100_000, "`count` of usage events to send")
	fs.IntVar(&cfg.producers, "producers", 4, "goroutines enqueueing events, 1 to 1024")
	fs.StringVar(&cfg.account, "account", "", "account id or alias to meter on a real Alguna (the fake meters a new account)")
	fs.Float64Var(&cfg.faults, "faults", 0.05, "`share` of the fake's requests that fail (500 or dropped connection), at least 0 and less than 1")
	fs.DurationVar(&cfg.closeWithin, "close-within", 30*time.Second, "how long Close may keep retrying at the end")
	fs.StringVar(&cfg.spoolDir, "spool", "", "spool events to this `directory` first, so that a crash loses none")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, envText)
		return cfg, err
	}
	if err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.events < 0 || cfg.events > maxEvents:
		return cfg, fmt.Errorf("-n must be between 0 and %d, not %d", maxEvents, cfg.events)
	case cfg.producers < 1 || cfg.producers > maxProducers:
		return cfg, fmt.Errorf("-producers must be between 1 and %d, not %d", maxProducers, cfg.producers)
	// Written so that NaN fails it too.
	case !(cfg.faults >= 0 && cfg.faults < 1):
		return cfg, fmt.Errorf("-faults must be at least 0 and less than 1, not %v", cfg.faults)
	case cfg.closeWithin <= 0:
		return cfg, fmt.Errorf("-close-within must be positive, not %s", cfg.closeWithin)
	case realAlguna && cfg.account == "":
		return cfg, errors.New("-account is required with ALGUNA_API_KEY")
	case realAlguna && set["faults"]:
		return cfg, errors.New("-faults applies only to the bundled fake, not with ALGUNA_API_KEY")
	case !realAlguna && set["account"]:
		return cfg, errors.New("-account names an account of a real Alguna (set ALGUNA_API_KEY); the fake meters a new account")
	}
	return cfg, nil
}

// meter sends the events and reports what became of them.
func meter(cfg config, out io.Writer) error {
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
		progress(out, isTerminal(out), b, int64(cfg.events), start, progressDone)
	}()

	produceErr := produce(ctx, b, cfg)

	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.closeWithin)
	defer cancel()
	closeErr := b.Close(closeCtx)
	close(progressDone)
	progressWG.Wait()

	st := b.Stats()
	elapsed := time.Since(start)
	fmt.Fprintf(out, "enqueued %d events in %s: %d ingested, %d failed, %d requests retried; %.0f events/s ingested\n",
		st.Enqueued, elapsed.Round(time.Millisecond), st.Ingested, st.Failed, st.Retried, float64(st.Ingested)/elapsed.Seconds())
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

// progress reports how far the run is until done is closed, then once
// more. On a terminal it rewrites one line five times a second; anywhere
// else (a file, a pipe, CI's log) it prints a plain line a second, since a
// carriage return there only garbles the output.
func progress(out io.Writer, tty bool, b *alguna.Batcher, total int64, start time.Time, done <-chan struct{}) {
	every := time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	stats := func() progressStats {
		st := b.Stats()
		return progressStats{
			total: total, ingested: st.Ingested, enqueued: st.Enqueued, pending: st.Pending,
			failed: st.Failed, retried: st.Retried, rate: float64(st.Ingested) / time.Since(start).Seconds(),
		}
	}
	for {
		select {
		case <-done:
			writeProgress(out, stats(), tty, true)
			return
		case <-t.C:
			writeProgress(out, stats(), tty, false)
		}
	}
}

// progressStats is what a progress line shows. Ingested is what Alguna has
// accepted; enqueued events may still be waiting in the Batcher.
type progressStats struct {
	total, ingested, enqueued, pending, failed, retried int64
	rate                                                float64 // ingested events a second
}

// writeProgress prints one progress line: on a terminal over the previous
// one (and ended, when final), elsewhere as a line of its own.
func writeProgress(out io.Writer, st progressStats, tty, final bool) {
	line := fmt.Sprintf("%d/%d ingested, %d enqueued, %d pending, %d failed, %d retried, %.0f events/s",
		st.ingested, st.total, st.enqueued, st.pending, st.failed, st.retried, st.rate)
	switch {
	case !tty:
		fmt.Fprintf(out, "progress: %s\n", line)
	case final:
		// \x1b[K clears what a longer earlier line left.
		fmt.Fprintf(out, "\r%s\x1b[K\n", line)
	default:
		fmt.Fprintf(out, "\r%s\x1b[K", line)
	}
}

// isTerminal reports whether w is a terminal, as far as the standard
// library can tell: a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
