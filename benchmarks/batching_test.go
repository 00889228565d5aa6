package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/posthog/posthog-go"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/benchmarks/internal/sink"
)

// batchSize is the number of events per request for every client.
const batchSize = 100

// flushInterval is both clients' timer for sending a partly filled batch.
// Batches fill by size long before it fires; it matters only for the tail.
const flushInterval = 100 * time.Millisecond

// The event every client sends: one account, one event name, two flat
// properties. The property map is shared and only read.
const (
	eventAccount = "acc_abc123"
	eventName    = "api_call"
)

var (
	algunaProps  = map[string]any{"endpoint": "/v1/analyze", "tokens": 1500}
	posthogProps = posthog.Properties{"endpoint": "/v1/analyze", "tokens": 1500}
)

// BenchmarkBatching sends b.N events through each client to its sink; one
// op is one event. The timer stops only after the client has delivered
// every event (Close), and the benchmark fails unless the sink decoded
// exactly b.N events. Events are enqueued from GOMAXPROCS goroutines.
func BenchmarkBatching(b *testing.B) {
	b.Run("client=alguna", benchAlgunaBatcher)
	b.Run("client=posthog", func(b *testing.B) { benchPostHog(b, newTransport()) })
	b.Run("client=posthog-uncapped", func(b *testing.B) {
		// posthog-go as it is meant to run, a goroutine and a connection per
		// batch: no cap on connections, and room to keep them all idle. It
		// shows that the cap above does not slow posthog-go down.
		tr := newTransport()
		tr.MaxConnsPerHost, tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 1000, 1000
		benchPostHog(b, tr)
	})
	b.Run("client=wire-limit", benchWireLimit)
}

// runBatching times enqueueing b.N events in parallel and then drain, which
// must return once all of them are delivered; it then checks the sink's
// count and reports events/s, peak heap, bytes on the wire per event and
// events per request.
func runBatching(b *testing.B, sinkURL string, enqueue func() error, drain func() error) {
	before := readSink(b, sinkURL)
	peak := startHeapPeak()
	cpu := sink.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := enqueue(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := drain(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportDelivery(b, sinkURL, before, sink.ProcessCPU()-cpu, peak.Stop())
}

// reportDelivery fails the benchmark unless the sink received exactly b.N
// events since before, and reports the batching metrics. CPU time per event
// is reported for both processes: it is the cost of the work, which a busy
// machine disturbs less than it disturbs elapsed time.
func reportDelivery(b *testing.B, sinkURL string, before sink.Stats, clientCPU time.Duration, peakHeap uint64) {
	b.Helper()
	got := readSink(b, sinkURL).Sub(before)
	if got.Events != int64(b.N) {
		b.Fatalf("sink received %d events in %d requests, want %d", got.Events, got.Requests, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(clientCPU.Nanoseconds())/float64(b.N), "client-cpu-ns/event")
	b.ReportMetric(float64(got.CPU.Nanoseconds())/float64(b.N), "sink-cpu-ns/event")
	b.ReportMetric(float64(peakHeap), "peak-heap-B")
	b.ReportMetric(float64(got.Bytes)/float64(b.N), "wire-B/event")
	b.ReportMetric(float64(got.Events)/float64(got.Requests), "events/req")
}

func benchAlgunaBatcher(b *testing.B) {
	c, err := alguna.NewClient("k_bench",
		alguna.WithBaseURL(sinks.Alguna),
		alguna.WithHTTPClient(&http.Client{Transport: newTransport(), Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	var failed atomic.Int64
	bt, err := c.Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize:  batchSize,
		FlushInterval: flushInterval,
		Concurrency:   inFlight,
		OnFailure:     func(events []alguna.Event, _ error) { failed.Add(int64(len(events))) },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	runBatching(b, sinks.Alguna,
		func() error {
			// UniqueID and Timestamp are left empty: Enqueue fills them.
			return bt.Enqueue(ctx, alguna.Event{Account: eventAccount, EventName: eventName, Properties: algunaProps})
		},
		func() error {
			if err := bt.Close(ctx); err != nil {
				return err
			}
			if s := bt.Stats(); s.Ingested != int64(b.N) || failed.Load() != 0 {
				return fmt.Errorf("batcher ingested %d of %d events, %d failed", s.Ingested, b.N, failed.Load())
			}
			return nil
		})
}

// posthogCallback counts posthog-go's per-message outcomes.
type posthogCallback struct{ ok, failed atomic.Int64 }

func (c *posthogCallback) Success(posthog.APIMessage)        { c.ok.Add(1) }
func (c *posthogCallback) Failure(posthog.APIMessage, error) { c.failed.Add(1) }

// posthogLogger keeps the first error posthog-go logs, so that a failing run
// says why, and drops everything else.
type posthogLogger struct {
	mu    sync.Mutex
	first string
}

func (l *posthogLogger) Logf(string, ...any) {}

func (l *posthogLogger) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first == "" {
		l.first = fmt.Sprintf(format, args...)
	}
}

func benchPostHog(b *testing.B, tr *http.Transport) {
	cb := &posthogCallback{}
	logger := &posthogLogger{}
	c, err := posthog.NewWithConfig("phc_bench", posthog.Config{
		Endpoint:  sinks.PostHog,
		Interval:  flushInterval,
		BatchSize: batchSize,
		Transport: tr,
		Logger:    logger,
		Callback:  cb,
	})
	if err != nil {
		b.Fatal(err)
	}
	runBatching(b, sinks.PostHog,
		func() error {
			// posthog-go sends an empty uuid unless given one; Alguna's
			// Batcher makes one per event, so this side makes one too.
			return c.Enqueue(posthog.Capture{
				Uuid: uuid.NewString(), DistinctId: eventAccount, Event: eventName, Properties: posthogProps,
			})
		},
		func() error {
			if err := c.Close(); err != nil {
				return err
			}
			if cb.ok.Load() != int64(b.N) || cb.failed.Load() != 0 {
				return fmt.Errorf("posthog-go delivered %d of %d events, %d failed (first error: %s)",
					cb.ok.Load(), b.N, cb.failed.Load(), logger.first)
			}
			return nil
		})
}

// benchWireLimit posts pre-encoded arrays of batchSize events to the Alguna
// sink from inFlight goroutines: no validation, no ids, no encoding, no
// answer decoding. It is the most any client could reach against this sink
// on this machine.
func benchWireLimit(b *testing.B) {
	hc := &http.Client{Transport: newTransport(), Timeout: 30 * time.Second}
	full := encodedEvents(b, batchSize)
	rest := encodedEvents(b, b.N%batchSize)
	batches := int64((b.N + batchSize - 1) / batchSize)
	url := sinks.Alguna + "/events"
	send := func(body []byte) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer k_bench")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("sink answered %s", resp.Status)
		}
		return err
	}

	before := readSink(b, sinks.Alguna)
	peak := startHeapPeak()
	cpu := sink.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, inFlight)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < batches; i = next.Add(1) - 1 {
				body := full
				if i == batches-1 && rest != nil {
					body = rest
				}
				if err := send(body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu = sink.ProcessCPU() - cpu
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	reportDelivery(b, sinks.Alguna, before, cpu, peak.Stop())
}

// encodedEvents returns a JSON array of n complete events, or nil for none.
func encodedEvents(b *testing.B, n int) []byte {
	if n == 0 {
		return nil
	}
	events := make([]alguna.Event, n)
	now := time.Now().UTC()
	for i := range events {
		events[i] = alguna.Event{
			UniqueID: uuid.NewString(), Account: eventAccount, EventName: eventName,
			Timestamp: now, Properties: algunaProps,
		}
	}
	body, err := json.Marshal(events)
	if err != nil {
		b.Fatal(err)
	}
	return body
}
