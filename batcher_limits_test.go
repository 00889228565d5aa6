package alguna_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// These tests run at Alguna's documented ingestion limit, 1000 events a
// second, against the fake enforcing it with 429 and Retry-After: 1. They
// take a few real seconds, because the limit is a rate; they assert what
// was sent and answered, never how long it took (benchmarks/ measures that).

// atTheLimit sends n events through a Batcher into a fake that enforces
// 1000 events/s, and returns the fake's log of POST /events.
func atTheLimit(t *testing.T, n int, o alguna.BatcherOptions) []algunatest.Request {
	t.Helper()
	srv := algunatest.NewServer(algunatest.WithRateLimit(algunatest.RateLimit{EventsPerSecond: 1000}))
	defer srv.Close()
	acc, err := srv.Client().Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme", Alias: "user-1"})
	require.NoError(t, err)
	o.FlushInterval = 10 * time.Millisecond
	b, err := srv.Client().Events.NewBatcher(o)
	require.NoError(t, err)
	events := make([]alguna.Event, 100)
	for i := 0; i < n; i += len(events) {
		for j := range events {
			events[j] = alguna.Event{UniqueID: fmt.Sprintf("e-%05d", i+j), Account: acc.ID, EventName: "api_call"}
		}
		require.NoError(t, b.EnqueueMany(context.Background(), events))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, b.Close(ctx), "nothing is lost")
	require.Equal(t, int64(n), b.Stats().Ingested)
	require.Len(t, srv.Events(), n, "each event once")
	var log []algunatest.Request
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Path == "/events" {
			log = append(log, r)
		}
	}
	return log
}

// Unpaced, the Batcher meets the limit with 429s; once a 429 has arrived,
// no new request goes out before its Retry-After has passed, from any of
// its workers.
func TestBatcherHoldsEveryWorkerOnRetryAfter(t *testing.T) {
	log := atTheLimit(t, 3000, alguna.BatcherOptions{Concurrency: 4})
	refused := 0
	for _, r := range log {
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		refused++
		require.Equal(t, time.Second, r.RetryAfter)
		// Requests already on their way when the 429 was answered may
		// still arrive just after it; none may be sent once it has been
		// read, until its second has passed.
		quiet := r.At.Add(250 * time.Millisecond)
		until := r.At.Add(r.RetryAfter)
		for _, other := range log {
			if other.At.After(quiet) && other.At.Before(until) {
				t.Fatalf("a request arrived %v after a 429 that asked for %v", other.At.Sub(r.At), r.RetryAfter)
			}
		}
	}
	require.Positive(t, refused, "unpaced, the Batcher reaches the limit")
}

// Paced at the limit, almost no request is refused.
func TestBatcherPacedAtTheLimit(t *testing.T) {
	log := atTheLimit(t, 5000, alguna.BatcherOptions{MaxEventsPerSecond: 1000})
	refused := 0
	for _, r := range log {
		if r.Status == http.StatusTooManyRequests {
			refused++
		}
	}
	require.LessOrEqual(t, float64(refused), 0.02*float64(len(log)), "%d of %d requests refused", refused, len(log))
}
