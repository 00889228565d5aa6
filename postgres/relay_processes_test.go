package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// TestRelaysInProcessesSurviveKill runs three relays in three processes on
// one outbox of 30,000 events, SIGKILLs the one sending half-way and starts
// it again: the fake, which dedupes by uniqueId, must end up holding each
// of the 30,000 exactly once, and the outbox empty.
func TestRelaysInProcessesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes and sends 30,000 events")
	}
	const total = 30000
	pool, schema, name := migrated(t)
	srv, account := fakeWithAccount(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	ctx := context.Background()

	// Half before the relays start, half while they run.
	added := make([]alguna.Event, 0, total)
	add := func(n int) {
		for range n / 1000 {
			events := usage(account, 1000)
			require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, events...) }))
			added = append(added, events...)
		}
	}
	add(total / 2)

	prefix := fmt.Sprintf("%s-relay-", name)
	cfg := func(i int) childConfig {
		return childConfig{
			DSN: dsn, Schema: name, Name: fmt.Sprintf("%s%d", prefix, i),
			AlgunaURL: srv.URL, APIKey: srv.APIKey,
			// Paced, so that the kill lands half-way.
			EventsPerSecond: 5000, Lease: 2 * time.Second,
		}
	}
	children := map[string]*child{}
	for i := range 3 {
		c := cfg(i)
		children[c.Name] = startChild(t, c)
	}
	add(total / 2)

	// Kill the sender once a third of the events are in.
	eventually(t, 2*time.Minute, func() bool { return len(srv.Events()) >= total/3 }, "the relays did not start sending")
	var sender string
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE $1 || '%'`, prefix).Scan(&sender))
	victim := children[sender]
	require.NotNil(t, victim, "the lock is held by %q", sender)
	before := len(srv.Events())
	require.Less(t, before, total, "every event was in before the kill; the test proves nothing")
	victim.kill(t)
	t.Logf("killed %s with %d of %d events ingested", sender, before, total)

	// Another relay takes over; the killed one comes back as a standby.
	for i := range 3 {
		if c := cfg(i); c.Name == sender {
			children[sender] = startChild(t, c)
		}
	}

	eventually(t, 3*time.Minute, func() bool { return len(srv.Events()) >= total }, "the fake holds %d of %d events", len(srv.Events()), total)
	eventually(t, time.Minute, func() bool {
		return count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")) == 0
	}, "the outbox is not empty")
	held := srv.Events()
	require.Len(t, held, total, "the fake holds each uniqueId once")
	seen := make(map[string]bool, total)
	for _, e := range held {
		seen[e.UniqueID] = true
	}
	for _, e := range added {
		require.True(t, seen[e.UniqueID], "event %s is missing", e.UniqueID)
	}
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox_failed")))
}

// TestRelaysShareTheRateBudget: three relays paced at 1000 events/s in
// total, against a fake that enforces 1000 events/s, are almost never
// answered 429.
func TestRelaysShareTheRateBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("sends for several seconds")
	}
	const total = 6000
	pool, schema, _ := migrated(t)
	srv, account := fakeWithAccount(t)
	srv.SetRateLimit(algunatestRate(1000))
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	addCommitted(t, pool, outbox, usage(account, total)...)

	for range 3 {
		// A pool each, as three replicas would have.
		o, err := postgres.NewOutbox(newPool(t), schema)
		require.NoError(t, err)
		runRelay(t, o.Relay(srv.Client(), postgres.RelayOptions{MaxEventsPerSecond: 1000}))
	}
	eventually(t, time.Minute, func() bool { return len(srv.Events()) == total }, "the fake holds %d of %d events", len(srv.Events()), total)
	var posts, limited int
	for _, r := range srv.Requests() {
		if r.Path != "/events" {
			continue
		}
		posts++
		if r.Status == 429 {
			limited++
		}
	}
	t.Logf("%d of %d requests answered 429", limited, posts)
	require.LessOrEqual(t, float64(limited), 0.02*float64(posts), "%d of %d requests answered 429", limited, posts)
}
