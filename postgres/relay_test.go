package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// TestRelayDelivers sends committed events and empties the outbox.
func TestRelayDelivers(t *testing.T) {
	pool, schema, name := migrated(t)
	srv, account := fakeWithAccount(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	events := usage(account, 250)
	addCommitted(t, pool, outbox, events...)
	require.Equal(t, 250, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")))

	relay := outbox.Relay(srv.Client(), postgres.RelayOptions{})
	runRelay(t, relay)
	eventually(t, 20*time.Second, func() bool { return len(srv.Events()) == 250 }, "the fake holds %d of 250 events", len(srv.Events()))
	eventually(t, 20*time.Second, func() bool {
		n, err := outbox.Pending(context.Background())
		return err == nil && n == 0
	}, "the outbox is not empty")
	got := map[string]bool{}
	for _, e := range srv.Events() {
		got[e.UniqueID] = true
	}
	for _, e := range events {
		require.True(t, got[e.UniqueID], "event %s not delivered", e.UniqueID)
	}
	s := relay.Stats()
	require.Equal(t, int64(250), s.Ingested)
	require.Equal(t, int64(250), s.Claimed)
	require.Zero(t, s.Failed)
	require.True(t, s.Sending)
	require.Equal(t, int64(1), s.Terms)
}

// TestRelayRolledBackNeverSent: events added in a transaction that rolls
// back are never sent; those of a later, committed one are.
func TestRelayRolledBackNeverSent(t *testing.T) {
	pool, schema, _ := migrated(t)
	srv, account := fakeWithAccount(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	runRelay(t, outbox.Relay(srv.Client(), postgres.RelayOptions{}))

	ctx := context.Background()
	rolledBack := usage(account, 20)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, outbox.Add(ctx, tx, rolledBack...))
	require.NoError(t, tx.Rollback(ctx))

	committed := usage(account, 5)
	addCommitted(t, pool, outbox, committed...)
	eventually(t, 20*time.Second, func() bool { return len(srv.Events()) == 5 }, "the committed events were not delivered")
	eventually(t, 20*time.Second, func() bool { n, _ := outbox.Pending(ctx); return n == 0 }, "the outbox is not empty")
	sent := map[string]bool{}
	for _, e := range srv.Events() {
		sent[e.UniqueID] = true
	}
	for _, e := range rolledBack {
		require.False(t, sent[e.UniqueID], "event %s of a rolled-back transaction was sent", e.UniqueID)
	}
	for _, e := range committed {
		require.True(t, sent[e.UniqueID])
	}
}

// TestRelayUnauthorizedKeepsRows: a wrong API key stops every relay with
// the 401, and every row stays in the outbox, none in the failed table.
func TestRelayUnauthorizedKeepsRows(t *testing.T) {
	pool, schema, name := migrated(t)
	srv, account := fakeWithAccount(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	addCommitted(t, pool, outbox, usage(account, 300)...)

	wrong, err := alguna.NewClient("not-the-key", alguna.WithBaseURL(srv.URL))
	require.NoError(t, err)
	var results []<-chan error
	for range 3 {
		results = append(results, runRelay(t, outbox.Relay(wrong, postgres.RelayOptions{})))
	}
	for i, res := range results {
		select {
		case err := <-res:
			require.Error(t, err, "relay %d", i)
			require.ErrorIs(t, err, alguna.ErrUnauthorized, "relay %d", i)
		case <-time.After(30 * time.Second):
			t.Fatalf("relay %d did not stop on a 401", i)
		}
	}
	require.Equal(t, 300, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")))
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox_failed")))
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")+" WHERE lease_owner IS NOT NULL"),
		"a stopped relay clears its leases")
	require.Empty(t, srv.Events())
}

// TestRelayRejectedEventsFail: events Alguna names in "failed" (here: an
// account it does not know) move to the failed table and reach OnFailure;
// the others are delivered.
func TestRelayRejectedEventsFail(t *testing.T) {
	pool, schema, name := migrated(t)
	srv, account := fakeWithAccount(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	all := append(append(usage(account, 10), usage("no-such-account", 3)...), usage(account, 20)...)
	addCommitted(t, pool, outbox, all...) // fills the ids in all
	bad := all[10:13]

	failures := make(chan failure, 10)
	runRelay(t, outbox.Relay(srv.Client(), postgres.RelayOptions{
		OnFailure: func(events []alguna.Event, err error) { failures <- failure{events, err} },
	}))
	var failed []alguna.Event
	for len(failed) < 3 {
		select {
		case f := <-failures:
			require.ErrorIs(t, f.err, alguna.ErrEventRejected)
			failed = append(failed, f.events...)
		case <-time.After(20 * time.Second):
			t.Fatalf("OnFailure heard of %d of 3 refused events", len(failed))
		}
	}
	ids := func(events []alguna.Event) []string {
		var out []string
		for _, e := range events {
			out = append(out, e.UniqueID)
		}
		return out
	}
	require.ElementsMatch(t, ids(bad), ids(failed))
	eventually(t, 20*time.Second, func() bool { return len(srv.Events()) == 30 }, "the good events were not delivered")
	eventually(t, 20*time.Second, func() bool {
		return count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")) == 0
	}, "the outbox is not empty")

	rows, err := pool.Query(context.Background(), "SELECT payload, reason FROM "+table(name, "usage_outbox_failed"))
	require.NoError(t, err)
	type failedRow struct {
		Payload []byte
		Reason  string
	}
	stored, err := pgx.CollectRows(rows, pgx.RowToStructByPos[failedRow])
	require.NoError(t, err)
	require.Len(t, stored, 3)
	for _, r := range stored {
		require.Equal(t, alguna.ErrEventRejected.Error(), r.Reason)
		var ev alguna.Event
		require.NoError(t, ev.UnmarshalJSON(r.Payload))
		require.Contains(t, ids(bad), ev.UniqueID)
	}
}

type failure struct {
	events []alguna.Event
	err    error
}

// TestRelayRecoversFromLostSession: when the session holding the sender's
// lock is killed (a failover, an administrator), the relay stands by
// again, takes the lock back, and goes on delivering.
func TestRelayRecoversFromLostSession(t *testing.T) {
	_, schema, name := migrated(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	admin := newPool(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	relay := outbox.Relay(sk.client(t), postgres.RelayOptions{})
	runRelay(t, relay)
	eventually(t, 20*time.Second, func() bool { return relay.Stats().Sending }, "the relay is not sending")

	var killed bool
	require.NoError(t, admin.QueryRow(ctx, `
		SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`, name).Scan(&killed))
	require.True(t, killed)
	eventually(t, 30*time.Second, func() bool { return relay.Stats().Terms == 2 && relay.Stats().Sending }, "the relay did not take the lock back")
	addCommitted(t, admin, outbox, usage("acme", 5)...)
	eventually(t, 20*time.Second, func() bool { return relay.Stats().Ingested == 5 }, "nothing delivered after the session was lost")
}
