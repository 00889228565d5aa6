package postgres_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	"github.com/alguna/alguna-go/postgres"
)

// TestDeduperTwoReplicasOneDelivery: two replicas, each with its own
// deduper and pool, get 50 concurrent deliveries each of one webhook: the
// callback runs once. While it runs every other delivery is answered 409
// (Alguna retries), and once it succeeded every retry is acknowledged
// without running it.
func TestDeduperTwoReplicasOneDelivery(t *testing.T) {
	_, schema, _ := migrated(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	require.NoError(t, err)

	var runs atomic.Int32
	running := make(chan struct{})
	release := make(chan struct{})
	var replicas []*alguna.WebhookHandler
	for range 2 {
		d, err := postgres.NewWebhookDeduper(newPool(t), schema)
		require.NoError(t, err)
		h := alguna.NewWebhookHandler(verifier, alguna.WithWebhookDeduper(d))
		h.On(alguna.WebhookInvoicePaid, func(context.Context, *alguna.WebhookEvent) error {
			if runs.Add(1) == 1 {
				close(running)
			}
			<-release
			return nil
		})
		replicas = append(replicas, h)
	}
	delivery := algunatest.Webhook{Type: alguna.WebhookInvoicePaid, ID: "msg_one_delivery"}
	deliver := func(h http.Handler) int {
		req, err := delivery.Request("http://app.example/webhooks", srv.WebhookSecret)
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}

	const perReplica = 50
	statuses := make(chan int, 2*perReplica)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, h := range replicas {
		for range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses <- deliver(h)
			}()
		}
	}
	close(start)
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery ran the callback")
	}
	// Every delivery but the running one answers while it runs.
	for i := range 2*perReplica - 1 {
		select {
		case code := <-statuses:
			require.Equal(t, http.StatusConflict, code, "delivery %d while the callback runs", i)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d deliveries answered while the callback ran, want %d", i, 2*perReplica-1)
		}
	}
	close(release)
	wg.Wait()
	require.Equal(t, http.StatusNoContent, <-statuses, "the delivery that ran")
	require.Equal(t, int32(1), runs.Load())

	for _, h := range replicas {
		require.Equal(t, http.StatusNoContent, deliver(h), "a retry after success is acknowledged")
	}
	require.Equal(t, int32(1), runs.Load(), "the callback ran again")
}

// TestDeduperLeaseTakeover: a replica that claims an id and dies holds it
// only for its lease; the replica that takes it over completes it, and the
// dead one's claim can then neither complete nor release.
func TestDeduperLeaseTakeover(t *testing.T) {
	_, schema, _ := migrated(t)
	ctx := context.Background()
	deadPool := newPool(t)
	dead, err := postgres.NewWebhookDeduper(deadPool, schema, postgres.WithClaimLease(time.Second))
	require.NoError(t, err)
	live, err := postgres.NewWebhookDeduper(newPool(t), schema, postgres.WithClaimLease(time.Second))
	require.NoError(t, err)

	claim, err := dead.Claim(ctx, "msg_a")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimAcquired, claim)
	claim, err = live.Claim(ctx, "msg_a")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimBusy, claim, "a live claim of another replica")

	// Taken over once the lease has run out.
	eventually(t, 30*time.Second, func() bool {
		claim, err = live.Claim(ctx, "msg_a")
		require.NoError(t, err)
		return claim == alguna.WebhookClaimAcquired
	}, "the claim was not taken over after its lease")

	require.ErrorIs(t, dead.Complete(ctx, "msg_a"), postgres.ErrClaimLost)
	require.NoError(t, live.Complete(ctx, "msg_a"))
	for _, d := range []*postgres.WebhookDeduper{dead, live} {
		claim, err = d.Claim(ctx, "msg_a")
		require.NoError(t, err)
		require.Equal(t, alguna.WebhookClaimDone, claim)
	}
}

// TestDeduperStaleReleaseKeepsNewClaim: the old owner's Release after a
// takeover must not free the id while the new owner's callback runs.
func TestDeduperStaleReleaseKeepsNewClaim(t *testing.T) {
	_, schema, _ := migrated(t)
	ctx := context.Background()
	old, err := postgres.NewWebhookDeduper(newPool(t), schema, postgres.WithClaimLease(time.Second))
	require.NoError(t, err)
	current, err := postgres.NewWebhookDeduper(newPool(t), schema, postgres.WithClaimLease(time.Minute))
	require.NoError(t, err)
	third, err := postgres.NewWebhookDeduper(newPool(t), schema)
	require.NoError(t, err)

	claim, err := old.Claim(ctx, "msg_b")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimAcquired, claim)
	eventually(t, 30*time.Second, func() bool {
		claim, err = current.Claim(ctx, "msg_b")
		require.NoError(t, err)
		return claim == alguna.WebhookClaimAcquired
	}, "the claim was not taken over after its lease")

	require.ErrorIs(t, old.Release(ctx, "msg_b"), postgres.ErrClaimLost)
	claim, err = third.Claim(ctx, "msg_b")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimBusy, claim, "the new owner's claim still holds")

	require.NoError(t, current.Release(ctx, "msg_b"))
	claim, err = third.Claim(ctx, "msg_b")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimAcquired, claim, "a released id runs again")
}

// TestDeduperWithoutClaim: Complete and Release of an id this deduper did
// not claim are refused, and record nothing.
func TestDeduperWithoutClaim(t *testing.T) {
	_, schema, _ := migrated(t)
	ctx := context.Background()
	d, err := postgres.NewWebhookDeduper(newPool(t), schema)
	require.NoError(t, err)
	require.ErrorIs(t, d.Complete(ctx, "msg_c"), postgres.ErrClaimLost)
	require.ErrorIs(t, d.Release(ctx, "msg_c"), postgres.ErrClaimLost)
	claim, err := d.Claim(ctx, "msg_c")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimAcquired, claim)
	// A second delivery to the same process, while the first runs.
	claim, err = d.Claim(ctx, "msg_c")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimBusy, claim)
}

// TestDeduperAnyID: an id is stored as bytes, so one that text columns
// refuse (a NUL, invalid UTF-8) works like any other.
func TestDeduperAnyID(t *testing.T) {
	_, schema, _ := migrated(t)
	ctx := context.Background()
	d, err := postgres.NewWebhookDeduper(newPool(t), schema)
	require.NoError(t, err)
	for _, id := range []string{"msg_\x00", "msg_\xff\xfe", "", "msg_" + string(make([]byte, 10000))} {
		claim, err := d.Claim(ctx, id)
		require.NoError(t, err, "%q", id)
		require.Equal(t, alguna.WebhookClaimAcquired, claim)
		require.NoError(t, d.Complete(ctx, id))
		claim, err = d.Claim(ctx, id)
		require.NoError(t, err)
		require.Equal(t, alguna.WebhookClaimDone, claim)
	}
}

// TestDeduperPrune: a completed id is forgotten after the retention, and a
// delivery of it then runs again.
func TestDeduperPrune(t *testing.T) {
	pool, schema, name := migrated(t)
	ctx := context.Background()
	d, err := postgres.NewWebhookDeduper(pool, schema, postgres.WithRetention(time.Second))
	require.NoError(t, err)
	for _, id := range []string{"msg_old", "msg_kept"} {
		claim, err := d.Claim(ctx, id)
		require.NoError(t, err)
		require.Equal(t, alguna.WebhookClaimAcquired, claim)
	}
	completed := time.Now()
	require.NoError(t, d.Complete(ctx, "msg_old"))
	n, err := d.Prune(ctx, 100)
	require.NoError(t, err)
	if time.Since(completed) < time.Second {
		require.Zero(t, n, "nothing is older than the retention yet")
	}

	pruned := n
	eventually(t, 30*time.Second, func() bool {
		n, err := d.Prune(ctx, 100)
		require.NoError(t, err)
		pruned += n
		return pruned == 1
	}, "the completed id was not pruned")
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM "+table(name, "webhook_deliveries")))
	claim, err := d.Claim(ctx, "msg_old")
	require.NoError(t, err)
	require.Equal(t, alguna.WebhookClaimAcquired, claim, "a pruned id runs again")
}

// TestDeduperOptions: bad options are refused with the reason.
func TestDeduperOptions(t *testing.T) {
	pool := newPool(t)
	for _, tc := range []struct {
		name string
		opts []postgres.Option
		want string
	}{
		{"lease too short", []postgres.Option{postgres.WithClaimLease(0)}, "at least 1ms"},
		{"retention too short", []postgres.Option{postgres.WithRetention(time.Millisecond)}, "at least 1s"},
		{"empty schema", []postgres.Option{postgres.WithSchema("")}, "empty"},
		{"long schema", []postgres.Option{postgres.WithSchema(string(make([]byte, 64)))}, "longer than"},
		{"nil option", []postgres.Option{nil}, "nil Option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.NewWebhookDeduper(pool, tc.opts...)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := postgres.NewWebhookDeduper(nil)
	require.ErrorContains(t, err, "pool is nil")
	_, err = postgres.NewOutbox(pool, postgres.WithClaimLease(time.Minute))
	require.ErrorContains(t, err, "NewWebhookDeduper only")

	var zero postgres.WebhookDeduper
	_, err = zero.Claim(context.Background(), "msg")
	require.ErrorContains(t, err, "NewWebhookDeduper")
}
