package alguna

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// eventsSink is a POST /events endpoint for the Batcher's internal tests:
// answer decides each response, by the request's number (from 0); every
// request is recorded with the clock's time when it was sent.
type eventsSink struct {
	t      *testing.T
	srv    *httptest.Server
	clock  clock
	answer func(n int, w http.ResponseWriter, ids []string)

	mu    sync.Mutex
	sent  []time.Time // by the client's clock, when each request went out
	sizes []int
	keys  []string
}

func newEventsSink(t *testing.T, clk clock, answer func(n int, w http.ResponseWriter, ids []string)) *eventsSink {
	s := &eventsSink{t: t, clock: clk, answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var events []struct {
			UniqueID string `json:"uniqueId"`
		}
		if err := json.Unmarshal(body, &events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.UniqueID
		}
		s.mu.Lock()
		n := len(s.sizes)
		s.sizes = append(s.sizes, len(ids))
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		s.mu.Unlock()
		s.answer(n, w, ids)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// ingestAll is the answer that ingests every event.
func ingestAll(w http.ResponseWriter, ids []string) {
	_ = json.NewEncoder(w).Encode(map[string][]string{"ingested": ids, "failed": {}})
}

// client returns a client of the sink whose waits go to clk.
func (s *eventsSink) client(opts ...Option) *Client {
	tr := &http.Transport{}
	s.t.Cleanup(tr.CloseIdleConnections)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		s.mu.Lock()
		s.sent = append(s.sent, s.clock.Now())
		s.mu.Unlock()
		return tr.RoundTrip(r)
	})
	c, err := NewClient(testKey, append([]Option{WithBaseURL(s.srv.URL), WithHTTPClient(&http.Client{Transport: rt})}, opts...)...)
	require.NoError(s.t, err)
	c.retry.clock = s.clock
	return c
}

func (s *eventsSink) requests() (sent []time.Time, sizes []int, keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.sent...), append([]int(nil), s.sizes...), append([]string(nil), s.keys...)
}

func enqueueN(t *testing.T, b *Batcher, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, b.Enqueue(context.Background(), Event{UniqueID: fmt.Sprintf("e-%04d", i), Account: "acc_1", EventName: "api_call"}))
	}
}

// A lone 429 with Retry-After: 2 delays its batch by at least 2 seconds and
// counts one retry.
func TestBatcherLoneRetryAfter(t *testing.T) {
	clk := &waits{}
	s := newEventsSink(t, clk, func(n int, w http.ResponseWriter, ids []string) {
		if n == 0 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ingestAll(w, ids)
	})
	b, err := s.client().Events.NewBatcher(BatcherOptions{FlushInterval: time.Hour})
	require.NoError(t, err)
	enqueueN(t, b, 1)
	require.NoError(t, b.Flush(testCtx(t)))
	require.NoError(t, b.Close(testCtx(t)))

	sent, sizes, _ := s.requests()
	require.Equal(t, []int{1, 1}, sizes)
	require.GreaterOrEqual(t, sent[1].Sub(sent[0]), 2*time.Second)
	st := b.Stats()
	require.Equal(t, int64(1), st.Retried)
	require.Equal(t, int64(1), st.Ingested)
}

// The Batcher has one retry loop: the client's WithMaxRetries neither bounds
// it nor nests a second loop inside it, and each request sent again counts
// once. It alone retries a malformed 2xx answer.
func TestBatcherOneRetryLoop(t *testing.T) {
	for _, maxRetries := range []int{0, 3} {
		t.Run(fmt.Sprint("WithMaxRetries=", maxRetries), func(t *testing.T) {
			s := newEventsSink(t, &waits{}, func(n int, w http.ResponseWriter, ids []string) {
				switch {
				case n < 4:
					w.WriteHeader(http.StatusServiceUnavailable)
				case n < 6:
					_, _ = io.WriteString(w, `<html>a proxy's page</html>`)
				default:
					ingestAll(w, ids)
				}
			})
			b, err := s.client(WithMaxRetries(maxRetries)).Events.NewBatcher(BatcherOptions{FlushInterval: time.Hour})
			require.NoError(t, err)
			enqueueN(t, b, 3)
			require.NoError(t, b.Close(testCtx(t)))
			_, sizes, keys := s.requests()
			require.Equal(t, []int{3, 3, 3, 3, 3, 3, 3}, sizes, "seven requests, no more")
			require.Equal(t, []string{"", "", "", "", "", "", ""}, keys, "POST /events carries no Idempotency-Key")
			require.Equal(t, BatcherStats{Enqueued: 3, Ingested: 3, Retried: 6}, b.Stats())
		})
	}
}

// Pacing: below a full batch a second, batches are cut to one second's
// worth, and every request, retries included, spends its events' tokens.
func TestBatcherPacing(t *testing.T) {
	clk := &waits{}
	s := newEventsSink(t, clk, func(n int, w http.ResponseWriter, ids []string) {
		if n == 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		ingestAll(w, ids)
	})
	// One worker, so that the test clock moves as one sender would.
	b, err := s.client().Events.NewBatcher(BatcherOptions{
		MaxEventsPerSecond: 50, Concurrency: 1, FlushInterval: time.Hour,
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
	})
	require.NoError(t, err)
	start := clk.Now()
	enqueueN(t, b, 500)
	require.NoError(t, b.Close(testCtx(t)))
	sent, sizes, _ := s.requests()
	require.Len(t, sizes, 11, "ten batches of 50, one of them sent twice")
	for _, n := range sizes {
		require.Equal(t, 50, n)
	}
	// The bucket starts full: the first batch goes at once, every later
	// request waits a second's worth of tokens.
	elapsed := sent[len(sent)-1].Sub(start)
	require.GreaterOrEqual(t, elapsed, 10*time.Second)
	require.Less(t, elapsed, 10*time.Second+100*time.Millisecond)
	require.Equal(t, int64(500), b.Stats().Ingested)
}

func TestNewBatcherRefusesBadRates(t *testing.T) {
	c, _ := newMockClient(t)
	for _, r := range []float64{-1, nan(), inf()} {
		_, err := c.Events.NewBatcher(BatcherOptions{MaxEventsPerSecond: r})
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, "%v", r)
		require.Contains(t, err.Error(), "MaxEventsPerSecond")
	}
	b, err := c.Events.NewBatcher(BatcherOptions{MaxEventsPerSecond: 0.5})
	require.NoError(t, err)
	require.Equal(t, 1, b.maxBatch, "half an event a second: one event a batch")
	require.NoError(t, b.Close(testCtx(t)))
}
