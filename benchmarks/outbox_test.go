package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
	"github.com/alguna/alguna-go/postgres/postgrestest"
)

// The two durable paths for usage events, side by side on one machine:
// the transactional outbox (postgres.Outbox.Add in a transaction of its
// own, committed, then delivered by a postgres.Relay) and the Batcher's
// file spool (Enqueue returns once the event is fsynced). PostgreSQL runs
// with its own durability settings (postgrestest.Durable): a commit costs
// what it costs in production. Both send to the same in-process sink, which
// notes when each event arrives.

// outboxProducers is the number of goroutines adding events at once in the
// throughput benchmark: request handlers, each committing its own work.
const outboxProducers = 16

// BenchmarkOutbox commits b.N events, one per transaction (outbox) or one
// per Enqueue (spool), from outboxProducers goroutines, and stops the timer
// once the sink holds all of them. One op is one event. It reports events/s
// and the latency from commit (or Enqueue) to the sink, at that load. The
// outbox runs twice: as by default, each commit notifying the relay, and
// with postgres.WithoutNotify, the relay polling instead.
func BenchmarkOutbox(b *testing.B) {
	pg := startPostgres(b)
	b.Run("path=outbox", func(b *testing.B) { benchOutbox(b, pg, outboxProducers, 0, false) })
	b.Run("path=outbox-polling", func(b *testing.B) { benchOutbox(b, pg, outboxProducers, 0, true) })
	b.Run("path=spool", func(b *testing.B) { benchOutboxSpool(b, outboxProducers, 0) })
}

// BenchmarkOutboxLatency sends one event at a time and waits for the sink
// to hold it before the next: the latency of one event with nothing else
// going on. Both paths cut a partly filled batch after 5ms, so that the
// figure is the path's cost rather than a timer's.
func BenchmarkOutboxLatency(b *testing.B) {
	pg := startPostgres(b)
	b.Run("path=outbox", func(b *testing.B) { benchOutbox(b, pg, 1, 5*time.Millisecond, false) })
	b.Run("path=outbox-polling", func(b *testing.B) { benchOutbox(b, pg, 1, 5*time.Millisecond, true) })
	b.Run("path=spool", func(b *testing.B) { benchOutboxSpool(b, 1, 5*time.Millisecond) })
}

// quiet logs only what goes wrong, so that the relay's notes on starting
// and stopping stay out of the benchmark's output.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// startPostgres starts a durable throwaway server for one benchmark.
func startPostgres(b *testing.B) *postgrestest.Server {
	b.Helper()
	return postgrestest.New(b, postgrestest.Durable())
}

// latencySink ingests every event and records, per event, the time from
// the "t" property (UnixNano, set just before the event was committed or
// enqueued) to its arrival. A resent event counts once.
type latencySink struct {
	srv *httptest.Server

	mu        sync.Mutex
	seen      map[string]struct{}
	latencies []time.Duration
	got       chan struct{} // signalled on each request that adds events
	requests  atomic.Int64
}

func newLatencySink(b *testing.B) *latencySink {
	s := &latencySink{seen: map[string]struct{}{}, got: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	b.Cleanup(s.srv.Close)
	return s
}

func (s *latencySink) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var events []struct {
		UniqueID   string `json:"uniqueId"`
		Properties struct {
			T json.Number `json:"t"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &events); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.requests.Add(1)
	ids := make([]string, len(events))
	s.mu.Lock()
	for i, e := range events {
		ids[i] = e.UniqueID
		if _, dup := s.seen[e.UniqueID]; dup {
			continue
		}
		s.seen[e.UniqueID] = struct{}{}
		if t, err := strconv.ParseInt(string(e.Properties.T), 10, 64); err == nil {
			s.latencies = append(s.latencies, now.Sub(time.Unix(0, t)))
		}
	}
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ingested": ids, "failed": []string{}})
}

// count is the distinct events received.
func (s *latencySink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// waitFor waits until the sink holds n distinct events.
func (s *latencySink) waitFor(b *testing.B, n int) {
	b.Helper()
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for s.count() < n {
		select {
		case <-s.got:
		case <-deadline.C:
			b.Fatalf("the sink holds %d of %d events", s.count(), n)
		}
	}
}

// report adds the events/s and latency percentiles.
func (s *latencySink) report(b *testing.B) {
	b.Helper()
	s.mu.Lock()
	lat := slices.Clone(s.latencies)
	s.mu.Unlock()
	if len(lat) != b.N {
		b.Fatalf("%d latencies for %d events", len(lat), b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/float64(s.requests.Load()), "events/req")
}

// outboxEvent is the event both paths send, stamped with now.
func outboxEvent() alguna.Event {
	return alguna.Event{Account: eventAccount, EventName: eventName, Properties: map[string]any{
		"endpoint": "/v1/analyze", "tokens": 1500, "t": time.Now().UnixNano(),
	}}
}

// produce runs add b.N times from producers goroutines; with one producer,
// on the benchmark's goroutine, each event waited for at the sink before
// the next.
func produce(b *testing.B, s *latencySink, producers int, add func(context.Context) error) {
	b.Helper()
	ctx := context.Background()
	b.ResetTimer()
	if producers == 1 {
		for i := range b.N {
			if err := add(ctx); err != nil {
				b.Fatal(err)
			}
			s.waitFor(b, i+1)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if err := add(ctx); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		s.waitFor(b, b.N)
	}
	b.StopTimer()
	s.report(b)
}

// pollingInterval is how often the relay polls when commits do not notify
// it (postgres.WithoutNotify).
const pollingInterval = 20 * time.Millisecond

// benchOutbox measures the outbox; polling makes Add skip the commit's
// notification, so that the relay finds rows by polling every
// pollingInterval.
func benchOutbox(b *testing.B, pg *postgrestest.Server, producers int, flush time.Duration, polling bool) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(producers) + 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	schema := postgres.WithSchema(fmt.Sprintf("bench_%d", time.Now().UnixNano()))
	if err := postgres.Migrate(ctx, pool, schema); err != nil {
		b.Fatal(err)
	}
	opts := []postgres.Option{schema}
	relayOpts := postgres.RelayOptions{Concurrency: inFlight, FlushInterval: flush, Logger: quiet}
	if polling {
		opts = append(opts, postgres.WithoutNotify())
		relayOpts.PollInterval = pollingInterval
	}
	outbox, err := postgres.NewOutbox(pool, opts...)
	if err != nil {
		b.Fatal(err)
	}
	s := newLatencySink(b)
	client, err := alguna.NewClient("k_bench", alguna.WithBaseURL(s.srv.URL),
		alguna.WithHTTPClient(&http.Client{Transport: newTransport(), Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	relayCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- outbox.Relay(client, relayOpts).Run(relayCtx)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()

	produce(b, s, producers, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, outboxEvent()) })
	})
}

func benchOutboxSpool(b *testing.B, producers int, flush time.Duration) {
	ctx := context.Background()
	s := newLatencySink(b)
	client, err := alguna.NewClient("k_bench", alguna.WithBaseURL(s.srv.URL),
		alguna.WithHTTPClient(&http.Client{Transport: newTransport(), Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	if flush == 0 {
		flush = postgres.DefaultRelayFlushInterval // the relay's default, for a like-for-like tail
	}
	bt, err := client.Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize: batchSize, FlushInterval: flush, Concurrency: inFlight, SpoolDir: b.TempDir(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := bt.Close(ctx); err != nil {
			b.Error(err)
		}
	}()
	produce(b, s, producers, func(ctx context.Context) error { return bt.Enqueue(ctx, outboxEvent()) })
}
