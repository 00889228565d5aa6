package alguna_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// TestBatcherThroughFaultsDeliversExactlyOnce sends 20,000 events from four
// goroutines through a fake that answers 500s, 429s with Retry-After and
// drops connections: every event must arrive exactly once, and nothing may
// be reported lost.
func TestBatcherThroughFaultsDeliversExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 20,000 events")
	}
	srv := algunatest.NewServer()
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()
	_, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "acme"})
	require.NoError(t, err)
	srv.SetFaults(algunatest.Faults{ErrorRate: 0.05, RateLimitRate: 0.02, ResetRate: 0.05, RetryAfter: time.Second, Seed: 42})

	var f failures
	b, err := c.Events.NewBatcher(alguna.BatcherOptions{
		QueueSize: 2000, FlushInterval: 5 * time.Millisecond, OnFailure: f.record,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	const producers, each = 4, 5000
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := alguna.Event{
					UniqueID: fmt.Sprintf("g%d-%05d", g, i), Account: "acme", EventName: "api_call",
					Properties: map[string]any{"tokens": i},
				}
				if err := b.Enqueue(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, b.Close(closeCtx))

	require.Zero(t, f.count(), "no event may be reported lost")
	got := map[string]int{}
	for _, e := range srv.Events() {
		got[e.UniqueID]++
	}
	require.Len(t, got, producers*each)
	st := b.Stats()
	require.Equal(t, int64(producers*each), st.Enqueued)
	require.Equal(t, st.Enqueued, st.Ingested+st.Failed)
	require.Zero(t, st.Failed)
	require.Zero(t, st.Pending)
	require.Positive(t, st.Retried, "the faults were felt")
}

// TestBatcherCloseAgainstRefusingFake gives Close two seconds against a fake
// that answers every request with 500: Close gives up with an error, and
// each event reaches OnFailure exactly once.
func TestBatcherCloseAgainstRefusingFake(t *testing.T) {
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetFaults(algunatest.Faults{ErrorRate: 1, Seed: 1})
	var f failures
	b, err := srv.Client().Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize: 50, FlushInterval: time.Millisecond, OnFailure: f.record,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	for i := range 500 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = b.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "500 of 500 events not ingested")
	require.Equal(t, 500, f.count())
	for id, n := range f.byID {
		require.Equal(t, 1, n, "event %s reported %d times", id, n)
	}
	st := b.Stats()
	require.Equal(t, int64(500), st.Failed)
	require.Equal(t, st.Enqueued, st.Ingested+st.Failed)
	require.Empty(t, srv.Events())
}
