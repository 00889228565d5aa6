package alguna_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/alguna/alguna-go"
)

// sink is a minimal POST /events endpoint whose behaviour a test can steer.
type sink struct {
	srv *httptest.Server
	tr  *http.Transport

	mu       sync.Mutex
	seen     map[string]int // uniqueId → times received
	sizes    []int
	keys     map[string][]string // idempotency key → uniqueIds of its body
	failIDs  map[string]bool     // answered in "failed"
	poison   string              // a batch holding this eventName is refused with 400
	requests int

	status  atomic.Int32  // answer for every request when non-zero
	release chan struct{} // when set, requests wait for it
	arrived chan struct{} // one send per request, when set
}

type sinkEvent struct {
	UniqueID  string    `json:"uniqueId"`
	Account   string    `json:"account"`
	EventName string    `json:"eventName"`
	Timestamp time.Time `json:"timestamp"`
}

func newSink(t testing.TB) *sink {
	s := &sink{seen: map[string]int{}, keys: map[string][]string{}, failIDs: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.tr = &http.Transport{}
	t.Cleanup(s.close)
	return s
}

func (s *sink) close() {
	s.srv.Close()
	s.tr.CloseIdleConnections()
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	if s.arrived != nil {
		s.arrived <- struct{}{}
	}
	if s.release != nil {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	if code := s.status.Load(); code != 0 {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		w.WriteHeader(int(code))
		_, _ = fmt.Fprintf(w, `{"status":%d,"detail":"steered failure"}`, code)
		return
	}
	var events []sinkEvent
	if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	for _, e := range events {
		if s.poison != "" && e.EventName == s.poison {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, `{"status":400,"detail":"poison event"}`)
			return
		}
	}
	ids := make([]string, 0, len(events))
	var ingested, failed []string
	for _, e := range events {
		ids = append(ids, e.UniqueID)
		if s.failIDs[e.UniqueID] {
			failed = append(failed, e.UniqueID)
			continue
		}
		s.seen[e.UniqueID]++
		ingested = append(ingested, e.UniqueID)
	}
	key := r.Header.Get("Idempotency-Key")
	s.keys[key] = ids
	s.sizes = append(s.sizes, len(events))
	_ = json.NewEncoder(w).Encode(map[string][]string{"ingested": nonNil(ingested), "failed": nonNil(failed)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// waitRequests waits until the sink has answered at least n requests.
func (s *sink) waitRequests(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.requests >= n
	}, 10*time.Second, time.Millisecond)
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *sink) client(t testing.TB, opts ...alguna.Option) *alguna.Client {
	base := []alguna.Option{
		alguna.WithBaseURL(s.srv.URL),
		alguna.WithHTTPClient(&http.Client{Transport: s.tr}),
		alguna.WithRetryWait(time.Millisecond, 2*time.Millisecond),
		alguna.WithMaxRetries(1),
	}
	c, err := alguna.NewClient("test-key", append(base, opts...)...)
	require.NoError(t, err)
	return c
}

// failures collects what OnFailure receives.
type failures struct {
	mu     sync.Mutex
	byID   map[string]int
	errors []error
}

func (f *failures) record(events []alguna.Event, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID == nil {
		f.byID = map[string]int{}
	}
	for _, e := range events {
		f.byID[e.UniqueID]++
	}
	f.errors = append(f.errors, err)
}

func (f *failures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byID)
}

func usage(i int) alguna.Event {
	return alguna.Event{
		Account:    "acc_1",
		EventName:  "api_call",
		Properties: map[string]any{"n": i, "endpoint": "/v1/analyze"},
	}
}

func fastBatcher(t testing.TB, c *alguna.Client, o alguna.BatcherOptions) *alguna.Batcher {
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	}
	b, err := c.Events.NewBatcher(o)
	require.NoError(t, err)
	return b
}

func TestBatcherDeliversEverythingInBatches(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSink(t)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 40, FlushInterval: time.Hour})
	ctx := context.Background()
	for i := range 250 {
		require.NoError(t, b.Enqueue(ctx, usage(i)))
	}
	require.NoError(t, b.Flush(ctx))
	require.Equal(t, 250, s.distinct())
	s.mu.Lock()
	total := 0
	for _, n := range s.sizes {
		require.LessOrEqual(t, n, 40)
		total += n
	}
	s.mu.Unlock()
	require.Equal(t, 250, total, "no event sent twice without a failure")

	require.NoError(t, b.Close(ctx))
	require.Equal(t, alguna.BatcherStats{Enqueued: 250, Ingested: 250}, b.Stats())
	s.close()
	goleak.VerifyNone(t, ignore)
}

func TestBatcherFlushIntervalSendsPartialBatch(t *testing.T) {
	s := newSink(t)
	s.arrived = make(chan struct{}, 1)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: 5 * time.Millisecond})
	defer func() { _ = b.Close(context.Background()) }()
	require.NoError(t, b.Enqueue(context.Background(), usage(1)))
	select {
	case <-s.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("a lone event was not sent after the flush interval")
	}
}

func TestBatcherEnqueueValidates(t *testing.T) {
	s := newSink(t)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{})
	defer func() { _ = b.Close(context.Background()) }()
	err := b.Enqueue(context.Background(), alguna.Event{EventName: "api_call", Properties: map[string]any{"isTrial": true}})
	var ve *alguna.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 2)
	require.Contains(t, ve.Error(), "account is required")
	require.Contains(t, ve.Error(), `property "isTrial": bool values are not accepted`)
	require.Zero(t, b.Stats().Enqueued)
}

func TestBatcherKeepsIDsAndTimestamps(t *testing.T) {
	s := newSink(t)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour})
	ts := time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)
	require.NoError(t, b.Enqueue(context.Background(), alguna.Event{UniqueID: "evt_123456", Account: "acc_abc123", EventName: "api_call", Timestamp: ts}))
	require.NoError(t, b.Enqueue(context.Background(), usage(2)))
	require.NoError(t, b.Close(context.Background()))
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Equal(t, 1, s.seen["evt_123456"])
	require.Len(t, s.seen, 2)
}

func TestBatcherReportsEventsNamedFailed(t *testing.T) {
	s := newSink(t)
	s.failIDs["bad-1"], s.failIDs["bad-2"] = true, true
	var f failures
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour, OnFailure: f.record})
	for _, id := range []string{"ok-1", "bad-1", "ok-2", "bad-2"} {
		e := usage(0)
		e.UniqueID = id
		require.NoError(t, b.Enqueue(context.Background(), e))
	}
	require.NoError(t, b.Flush(context.Background()))
	require.Equal(t, map[string]int{"bad-1": 1, "bad-2": 1}, f.byID)
	require.ErrorIs(t, f.errors[0], alguna.ErrEventRejected)
	require.Error(t, b.Close(context.Background()), "Close says events were not ingested")
	require.Equal(t, alguna.BatcherStats{Enqueued: 4, Ingested: 2, Failed: 2}, b.Stats())
}

func TestBatcherIsolatesARefusedEvent(t *testing.T) {
	s := newSink(t)
	s.poison = "poison"
	var f failures
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour, OnFailure: f.record})
	for i := range 100 {
		e := usage(i)
		e.UniqueID = fmt.Sprintf("e-%03d", i)
		if i == 37 {
			e.EventName = "poison"
		}
		require.NoError(t, b.Enqueue(context.Background(), e))
	}
	require.NoError(t, b.Flush(context.Background()))
	require.Equal(t, map[string]int{"e-037": 1}, f.byID)
	var apiErr *alguna.Error
	require.ErrorAs(t, f.errors[0], &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, 99, s.distinct())
	_ = b.Close(context.Background())
	st := b.Stats()
	require.Equal(t, int64(99), st.Ingested)
	require.Equal(t, int64(1), st.Failed)
}

func TestBatcherCloseGivesUpOnDeadServerAndReportsEachEventOnce(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	var f failures
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 10, FlushInterval: time.Millisecond, OnFailure: f.record})
	for i := range 95 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := b.Close(ctx)
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "95 of 95 events not ingested")
	require.Equal(t, 95, f.count())
	for id, n := range f.byID {
		require.Equal(t, 1, n, "event %s reported %d times", id, n)
	}
	for _, e := range f.errors {
		require.ErrorIs(t, e, alguna.ErrBatcherClosed)
	}
	st := b.Stats()
	require.Equal(t, alguna.BatcherStats{Enqueued: 95, Failed: 95, Retried: st.Retried}, st)
	require.Positive(t, st.Retried)
	// The second Close returns the same answer at once.
	require.Equal(t, err, b.Close(context.Background()))
	s.close()
	goleak.VerifyNone(t, ignore)
}

func TestBatcherOutageThatEnds(t *testing.T) {
	s := newSink(t)
	s.status.Store(http.StatusBadGateway)
	var f failures
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 25, FlushInterval: time.Millisecond, OnFailure: f.record})
	for i := range 100 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	// Let the outage be felt, then end it.
	s.waitRequests(t, 8)
	s.status.Store(0)
	require.NoError(t, b.Flush(context.Background()))
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 100, s.distinct())
	require.Zero(t, f.count())
	st := b.Stats()
	require.Equal(t, int64(100), st.Ingested)
	require.Positive(t, st.Retried)
}

func TestBatcherRetriesResendTheSameBatch(t *testing.T) {
	s := newSink(t)
	s.status.Store(http.StatusTooManyRequests)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour})
	for i := range 7 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush(context.Background()) }()
	s.waitRequests(t, 4)
	s.status.Store(0)
	require.NoError(t, <-flushed)
	require.NoError(t, b.Close(context.Background()))
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.keys, 1, "one idempotency key for the batch across all its attempts")
	require.Len(t, s.seen, 7)
}

func TestBatcherDropWhenFull(t *testing.T) {
	s := newSink(t)
	s.release = make(chan struct{})
	s.arrived = make(chan struct{}, 10)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 1, QueueSize: 2, Concurrency: 1, DropWhenFull: true})
	require.NoError(t, b.Enqueue(context.Background(), usage(1)))
	require.NoError(t, b.Enqueue(context.Background(), usage(2)))
	<-s.arrived // one batch is in flight and held; the queue holds two events.
	require.ErrorIs(t, b.Enqueue(context.Background(), usage(3)), alguna.ErrQueueFull)
	require.Equal(t, int64(1), b.Stats().Dropped)
	close(s.release)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, alguna.BatcherStats{Enqueued: 2, Ingested: 2, Dropped: 1}, b.Stats())
}

func TestBatcherEnqueueWaitsForRoom(t *testing.T) {
	s := newSink(t)
	s.release = make(chan struct{})
	s.arrived = make(chan struct{}, 10)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 1, QueueSize: 1, Concurrency: 1})
	require.NoError(t, b.Enqueue(context.Background(), usage(1)))
	<-s.arrived

	// A context that ends frees the waiting Enqueue.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Enqueue(ctx, usage(2)) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// Room made by a delivery lets the next one in.
	go func() { done <- b.Enqueue(context.Background(), usage(3)) }()
	s.release <- struct{}{}
	require.NoError(t, <-done)
	close(s.release)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, alguna.BatcherStats{Enqueued: 2, Ingested: 2}, b.Stats())
}

func TestBatcherCloseWakesWaitingEnqueue(t *testing.T) {
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	s.arrived = make(chan struct{}, 100)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 1, QueueSize: 1, Concurrency: 1})
	require.NoError(t, b.Enqueue(context.Background(), usage(1)))
	done := make(chan error, 1)
	go func() { done <- b.Enqueue(context.Background(), usage(2)) }()
	<-s.arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, b.Close(ctx))
	require.ErrorIs(t, <-done, alguna.ErrBatcherClosed)
	require.ErrorIs(t, b.Enqueue(context.Background(), usage(3)), alguna.ErrBatcherClosed)
	require.ErrorIs(t, b.Flush(context.Background()), alguna.ErrBatcherClosed)
	require.Equal(t, alguna.BatcherStats{Enqueued: 1, Failed: 1, Retried: b.Stats().Retried}, b.Stats())
}

func TestBatcherPermanentErrorFailsBatch(t *testing.T) {
	s := newSink(t)
	s.status.Store(http.StatusUnauthorized)
	var f failures
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour, OnFailure: f.record})
	for i := range 3 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	require.NoError(t, b.Flush(context.Background()))
	require.Equal(t, 3, f.count())
	require.ErrorIs(t, f.errors[0], alguna.ErrUnauthorized)
	s.mu.Lock()
	require.Equal(t, 1, s.requests, "a 401 is not retried")
	s.mu.Unlock()
	require.Error(t, b.Close(context.Background()))
}

func TestNewBatcherValidatesOptions(t *testing.T) {
	c, err := alguna.NewClient("k")
	require.NoError(t, err)
	for _, o := range []alguna.BatcherOptions{
		{MaxBatchSize: 101},
		{MaxBatchSize: -1},
		{FlushInterval: -time.Second},
		{QueueSize: -5},
		{Concurrency: -1},
		{RetryWaitMin: time.Minute, RetryWaitMax: time.Second},
	} {
		_, err := c.Events.NewBatcher(o)
		var ve *alguna.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", o)
	}
}

func TestBatcherConcurrentProducers(t *testing.T) {
	s := newSink(t)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{QueueSize: 300, FlushInterval: time.Millisecond})
	produce(t, b, 8, 500)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 4000, s.distinct())
	require.Equal(t, alguna.BatcherStats{Enqueued: 4000, Ingested: 4000}, b.Stats())
}

// produce enqueues each events from each of producers goroutines, with
// uniqueIds "g<producer>-<n>", and returns when all are accepted.
func produce(t *testing.T, b *alguna.Batcher, producers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := usage(i)
				e.UniqueID = fmt.Sprintf("g%d-%d", g, i)
				if err := b.Enqueue(context.Background(), e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestBatcherLossesAreNeverSilent checks that with neither OnFailure nor a
// logger, lost events are reported through slog.Default, one record per
// failed batch with its count and reason; and that with either of them set,
// the default logger hears nothing.
func TestBatcherLossesAreNeverSilent(t *testing.T) {
	run := func(t *testing.T, onFailure func([]alguna.Event, error), opts ...alguna.Option) string {
		var logs syncBuffer
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
		defer slog.SetDefault(prev)

		s := newSink(t)
		for i := range 3 {
			s.failIDs[fmt.Sprintf("bad-%d", i)] = true
		}
		b := fastBatcher(t, s.client(t, opts...), alguna.BatcherOptions{FlushInterval: time.Hour, OnFailure: onFailure})
		for _, id := range []string{"ok-0", "bad-0", "bad-1", "bad-2"} {
			e := usage(0)
			e.UniqueID = id
			require.NoError(t, b.Enqueue(context.Background(), e))
		}
		require.Error(t, b.Close(context.Background()))
		require.Equal(t, int64(3), b.Stats().Failed)
		return logs.String()
	}

	t.Run("neither OnFailure nor a logger", func(t *testing.T) {
		out := run(t, nil)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 1, "one record for the batch, not one per event: %s", out)
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
		require.Equal(t, "ERROR", rec["level"])
		require.EqualValues(t, 3, rec["events"])
		require.Contains(t, rec["error"], "rejected")
	})
	t.Run("with OnFailure", func(t *testing.T) {
		var f failures
		require.Empty(t, run(t, f.record))
		require.Equal(t, 3, f.count())
	})
	t.Run("with a logger", func(t *testing.T) {
		var own syncBuffer
		require.Empty(t, run(t, nil, alguna.WithLogger(slog.New(slog.NewTextHandler(&own, nil)))))
		require.Contains(t, own.String(), "events not ingested")
	})
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBatcherTakesPropertiesAtEnqueue checks that an event is taken as it is
// when Enqueue is called: a caller that reuses one map for successive events
// (a common loop) bills each with its own values, and a value put into the
// map after Enqueue returned changes nothing that was accepted.
func TestBatcherTakesPropertiesAtEnqueue(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spooled), func(t *testing.T) {
			r := newRawSink(t)
			o := alguna.BatcherOptions{MaxBatchSize: 7, FlushInterval: time.Hour}
			if spooled {
				o.SpoolDir = t.TempDir()
			}
			b := fastBatcher(t, r.client(t), o)
			ctx := context.Background()
			props := map[string]any{}
			for i := range 30 {
				delete(props, "late")
				props["tokens"] = i
				props["model"] = fmt.Sprintf("m-%d", i)
				require.NoError(t, b.Enqueue(ctx, alguna.Event{
					UniqueID: fmt.Sprintf("e-%02d", i), Account: "acc_1", EventName: "api_call", Properties: props,
				}))
				// Invalid, and put in after the event was accepted: if the
				// map were read when the batch is sent, Alguna would refuse
				// the whole batch.
				props["late"] = true
			}
			require.NoError(t, b.Close(ctx))
			require.Equal(t, alguna.BatcherStats{Enqueued: 30, Ingested: 30}, withoutSpool(b.Stats()))
			got := r.events()
			require.Len(t, got, 30)
			for i := range 30 {
				var e struct {
					Properties map[string]any `json:"properties"`
				}
				require.NoError(t, json.Unmarshal([]byte(got[fmt.Sprintf("e-%02d", i)]), &e))
				want := map[string]any{"tokens": float64(i), "model": fmt.Sprintf("m-%d", i)}
				require.Equal(t, want, e.Properties, "event %d", i)
			}
		})
	}
}

// withoutSpool drops the spool's own counters, which depend on the disk.
func withoutSpool(s alguna.BatcherStats) alguna.BatcherStats {
	s.SpooledBytes, s.Syncs = 0, 0
	return s
}

// TestOnFailureMayEnqueue checks that OnFailure can enqueue — to requeue,
// or to record a compensating event — while producers wait on a full queue
// and every batch in flight fails at once: the Batcher must not deadlock.
func TestOnFailureMayEnqueue(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spooled), func(t *testing.T) {
			s := newSink(t)
			s.mu.Lock()
			for i := range 200 {
				s.failIDs[fmt.Sprintf("bad-%03d", i)] = true
			}
			s.mu.Unlock()
			o := alguna.BatcherOptions{QueueSize: 8, MaxBatchSize: 4, Concurrency: 2, FlushInterval: time.Millisecond}
			if spooled {
				// Small enough that the spool's room binds before the queue's.
				o.SpoolDir, o.MaxSpoolBytes, o.SpoolSegmentBytes = t.TempDir(), 2<<10, 1<<10
			}
			var (
				mu           sync.Mutex
				compensating int
				enqueueErrs  []error
			)
			var b *alguna.Batcher
			o.OnFailure = func(events []alguna.Event, err error) {
				for _, e := range events {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					err := b.Enqueue(ctx, alguna.Event{
						UniqueID: "undo-" + e.UniqueID, Account: e.Account, EventName: "compensation",
					})
					cancel()
					mu.Lock()
					if err != nil {
						enqueueErrs = append(enqueueErrs, err)
					} else {
						compensating++
					}
					mu.Unlock()
				}
			}
			b = fastBatcher(t, s.client(t), o)

			var wg sync.WaitGroup
			for p := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						e := usage(i)
						if i%2 == 0 {
							e.UniqueID = fmt.Sprintf("bad-%03d", p*50+i)
						}
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						assert.NoError(t, b.Enqueue(ctx, e))
						cancel()
					}
				}()
			}
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			require.NoError(t, b.Flush(ctx), "every failure reported, every compensation enqueued")
			require.Error(t, b.Close(ctx), "Close says 100 events were not ingested")
			mu.Lock()
			defer mu.Unlock()
			require.Empty(t, enqueueErrs)
			require.Equal(t, 100, compensating)
			st := b.Stats()
			require.Equal(t, int64(300), st.Enqueued, "200 from producers, 100 from OnFailure")
			require.Equal(t, int64(200), st.Ingested)
			require.Equal(t, int64(100), st.Failed)
			require.Equal(t, 100, countPrefix(s, "undo-"))
		})
	}
}

func countPrefix(s *sink, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range s.seen {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

// TestBatcherEnqueueMany checks the all-or-nothing promise: invalid events
// or a slice the queue can never hold queue nothing, and accepted events get
// their ids and timestamps in the caller's slice, so a retry after an error
// sends the same events.
func TestBatcherEnqueueMany(t *testing.T) {
	ctx := context.Background()
	s := newSink(t)
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{QueueSize: 50, FlushInterval: time.Hour})

	events := make([]alguna.Event, 10)
	for i := range events {
		events[i] = usage(i)
	}
	events[3].EventName = ""
	events[7].Properties = map[string]any{"flag": true}
	err := b.EnqueueMany(ctx, events)
	var ve *alguna.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "events[3]: eventName is required")
	require.Contains(t, err.Error(), `events[7]: property "flag"`)
	for _, e := range events {
		require.Empty(t, e.UniqueID, "nothing is filled in when nothing is queued")
	}

	require.ErrorAs(t, b.EnqueueMany(ctx, make([]alguna.Event, 51)), &ve)
	require.Contains(t, ve.Error(), "QueueSize")
	require.Zero(t, b.Stats().Enqueued)

	events[3].EventName = "api_call"
	events[7].Properties = nil
	events[5].UniqueID = "mine-5"
	require.NoError(t, b.EnqueueMany(ctx, events))
	ids := map[string]bool{}
	for _, e := range events {
		require.NotEmpty(t, e.UniqueID)
		require.False(t, e.Timestamp.IsZero())
		ids[e.UniqueID] = true
	}
	require.Len(t, ids, 10)
	require.True(t, ids["mine-5"])
	require.NoError(t, b.Flush(ctx))
	// Sent again, as after an error the caller cannot judge: the same ids.
	require.NoError(t, b.EnqueueMany(ctx, events))
	require.NoError(t, b.Close(ctx))
	require.Equal(t, 10, s.distinct())
	require.Equal(t, int64(20), b.Stats().Enqueued)
}

func TestBatcherEnqueueManyOnAFullQueue(t *testing.T) {
	s := newSink(t)
	s.release = make(chan struct{})
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{QueueSize: 10, MaxBatchSize: 5, DropWhenFull: true, FlushInterval: time.Hour})
	require.NoError(t, b.EnqueueMany(context.Background(), []alguna.Event{usage(0), usage(1), usage(2), usage(3), usage(4), usage(5), usage(6)}))
	// Seven of ten places are taken: four more cannot all fit, so none is
	// queued.
	err := b.EnqueueMany(context.Background(), []alguna.Event{usage(7), usage(8), usage(9), usage(10)})
	require.ErrorIs(t, err, alguna.ErrQueueFull)
	st := b.Stats()
	require.Equal(t, int64(7), st.Enqueued)
	require.Equal(t, int64(4), st.Dropped)
	close(s.release)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 7, s.distinct())
}

// With a spool, a slice takes one fsync, however many events it holds.
func TestSpoolEnqueueManyTakesOneFsync(t *testing.T) {
	s := newSink(t)
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Hour})
	events := make([]alguna.Event, 100)
	for i := range events {
		events[i] = usage(i)
	}
	before := b.Stats().Syncs
	require.NoError(t, b.EnqueueMany(context.Background(), events))
	require.Equal(t, before+1, b.Stats().Syncs)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 100, s.distinct())
}

// OnIngested hears of every ingested event once, by uniqueId, and of no
// other.
func TestBatcherOnIngested(t *testing.T) {
	s := newSink(t)
	s.failIDs["bad-1"] = true
	var mu sync.Mutex
	got := map[string]int{}
	b := fastBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 3, FlushInterval: time.Hour,
		OnIngested: func(ids []string) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				got[id]++
			}
		}})
	for _, id := range []string{"ok-1", "bad-1", "ok-2", "ok-3", "ok-4"} {
		e := usage(0)
		e.UniqueID = id
		require.NoError(t, b.Enqueue(context.Background(), e))
	}
	require.NoError(t, b.Flush(context.Background()), "Flush returns once OnIngested has run")
	mu.Lock()
	require.Equal(t, map[string]int{"ok-1": 1, "ok-2": 1, "ok-3": 1, "ok-4": 1}, got)
	mu.Unlock()
	require.Error(t, b.Close(context.Background()))
}
