package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// TestAddValidatesAllOrNothing: an invalid event refuses the whole call
// with every problem by index, sends nothing, leaves the caller's events as
// they were, and leaves the transaction usable.
func TestAddValidatesAllOrNothing(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()

	events := []alguna.Event{
		{Account: "acme", EventName: "api_call"},
		{EventName: "api_call"},
		{Account: "acme", EventName: "api_call", Properties: map[string]any{"ok": true}},
	}
	err = outbox.Add(ctx, tx, events...)
	var ve *alguna.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, []string{
		"events[1]: account is required",
		`events[2]: property "ok": bool values are not accepted; send "true" or 1`,
	}, ve.Problems)
	require.Empty(t, events[0].UniqueID, "a refused call fills nothing in")
	require.True(t, events[0].Timestamp.IsZero())

	// The transaction was not aborted: it still works, and commits.
	require.NoError(t, outbox.Add(ctx, tx, events[0]))
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")))
	require.NoError(t, outbox.Add(ctx, tx), "no events is nothing to do")
	require.ErrorContains(t, outbox.Add(ctx, nil, events[0]), "tx is nil")
}

// TestAddStoresTheBytesTheSDKSends: each row holds exactly the JSON the SDK
// sends, ids and timestamps are filled once in the caller's slice, and
// strings jsonb refuses are kept.
func TestAddStoresTheBytesTheSDKSends(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	events := []alguna.Event{
		{Account: "acme", EventName: "api_call", Properties: map[string]any{
			"nul":    "a\x00b",
			"sep":    "line\u2028break",
			"amount": decimal.RequireFromString("12345678901234567890.123456789"),
			"big":    json.Number("1e400"),
		}},
		{UniqueID: "my-own-id", Account: "acme", EventName: "api_call", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
	}
	addCommitted(t, pool, outbox, events...)
	require.Len(t, events[0].UniqueID, 36, "an empty id is filled in the caller's slice")
	require.False(t, events[0].Timestamp.IsZero())
	require.Equal(t, "my-own-id", events[1].UniqueID)

	rows, err := pool.Query(context.Background(), "SELECT payload FROM "+table(name, "usage_outbox")+" ORDER BY id")
	require.NoError(t, err)
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	require.Len(t, payloads, 2)
	for i, e := range events {
		want, err := e.Prepare() // filled already: the same JSON again
		require.NoError(t, err)
		require.Equal(t, string(want), string(payloads[i]))
	}
	require.Contains(t, string(payloads[0]), `"nul":"a\u0000b"`)
	require.Contains(t, string(payloads[0]), `12345678901234567890.123456789`)
}

// sink is a minimal Alguna: it records each POST /events body and ingests
// every event, except that a batch holding an event named "refuse" is
// answered 400, as Alguna answers a malformed one.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var events []struct {
			UniqueID  string `json:"uniqueId"`
			EventName string `json:"eventName"`
		}
		if err := json.Unmarshal(body, &events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := []string{}
		for _, e := range events {
			if e.EventName == "refuse" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"status":400,"detail":"eventName refuse is refused"}`)
				return
			}
			ids = append(ids, e.UniqueID)
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ingested": ids, "failed": []string{}})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) client(t *testing.T) *alguna.Client {
	c, err := alguna.NewClient("key", alguna.WithBaseURL(s.srv.URL), alguna.WithRetryWait(time.Millisecond, 10*time.Millisecond))
	require.NoError(t, err)
	return c
}

// ingested returns the bodies of the requests that were ingested.
func (s *sink) ingested() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// TestRelaySendsTheStoredBytes: what goes on the wire is the stored JSON,
// byte for byte.
func TestRelaySendsTheStoredBytes(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	events := []alguna.Event{
		{Account: "acme", EventName: "api_call", Properties: map[string]any{"amount": decimal.RequireFromString("0.1000"), "s": "é\x00"}},
		{Account: "acme", EventName: "api_call", Properties: map[string]any{"n": json.Number("123456789012345678901234567890")}},
	}
	addCommitted(t, pool, outbox, events...)
	rows, err := pool.Query(context.Background(), "SELECT payload FROM "+table(name, "usage_outbox")+" ORDER BY id")
	require.NoError(t, err)
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)

	runRelay(t, outbox.Relay(sk.client(t), postgres.RelayOptions{}))
	eventually(t, 20*time.Second, func() bool { return len(sk.ingested()) == 1 }, "nothing was sent")
	want := "[" + string(bytes.Join(payloads, []byte(","))) + "]"
	require.Equal(t, want, string(sk.ingested()[0]))
}

// TestRelayRefusedBatchIsBisected: a 400 is pinned on the event that causes
// it, which moves to the failed table with Alguna's reason; its neighbours
// are delivered.
func TestRelayRefusedBatchIsBisected(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	events := usage("acme", 40)
	events[17].EventName = "refuse"
	addCommitted(t, pool, outbox, events...)

	failures := make(chan failure, 1)
	relay := outbox.Relay(sk.client(t), postgres.RelayOptions{
		OnFailure: func(events []alguna.Event, err error) { failures <- failure{events, err} },
	})
	runRelay(t, relay)
	var f failure
	select {
	case f = <-failures:
	case <-time.After(20 * time.Second):
		t.Fatal("OnFailure was not called")
	}
	require.ErrorIs(t, f.err, alguna.ErrBadRequest)
	require.Len(t, f.events, 1)
	require.Equal(t, events[17].UniqueID, f.events[0].UniqueID)
	eventually(t, 20*time.Second, func() bool {
		return count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")) == 0
	}, "the outbox is not empty")
	var reason string
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT reason FROM "+table(name, "usage_outbox_failed")).Scan(&reason))
	require.Contains(t, reason, "eventName refuse is refused")
	var delivered int
	for _, b := range sk.ingested() {
		delivered += strings.Count(string(b), `"uniqueId"`)
	}
	require.Equal(t, 39, delivered)
	s := relay.Stats()
	require.Equal(t, int64(39), s.Ingested)
	require.Equal(t, int64(1), s.Failed)
	require.Zero(t, s.InFlight)
}

// TestRelayRowsNotAddedByAdd: rows written by other means that are not
// events the SDK would send are moved to the failed table unsent, with
// ErrInvalidRow, and hold up nothing.
func TestRelayRowsNotAddedByAdd(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	ctx := context.Background()
	for _, payload := range []string{
		`not json`,
		`{"account":"acme","eventName":"api_call"}`, // no uniqueId, no timestamp
		`{"uniqueId":"x","account":"","eventName":"api_call","timestamp":"2026-01-01T00:00:00Z"}`,
	} {
		_, err := pool.Exec(ctx, "INSERT INTO "+table(name, "usage_outbox")+" (payload) VALUES ($1)", []byte(payload))
		require.NoError(t, err)
	}
	addCommitted(t, pool, outbox, usage("acme", 2)...)

	var mu sync.Mutex
	var reported []error
	runRelay(t, outbox.Relay(sk.client(t), postgres.RelayOptions{
		OnFailure: func(events []alguna.Event, err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		},
	}))
	eventually(t, 20*time.Second, func() bool {
		return count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")) == 0
	}, "the outbox is not empty")
	require.Equal(t, 3, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox_failed")))
	eventually(t, 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(reported) == 3 }, "OnFailure did not hear of the 3 rows")
	for _, err := range reported {
		require.ErrorIs(t, err, postgres.ErrInvalidRow)
	}
	require.Len(t, sk.ingested(), 1)
	require.Equal(t, 2, strings.Count(string(sk.ingested()[0]), `"uniqueId"`))
}

// TestRelayWakesOnCommit: with polling all but off, a committed event is
// delivered at once: the commit's notification wakes the relay.
func TestRelayWakesOnCommit(t *testing.T) {
	pool, schema, _ := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	relay := outbox.Relay(sk.client(t), postgres.RelayOptions{PollInterval: time.Hour})
	runRelay(t, relay)
	eventually(t, 20*time.Second, func() bool { return relay.Stats().Sending }, "the relay is not sending")
	// The first look at the table is done, so only a notification can wake
	// the relay within the hour.
	for i := range 3 {
		addCommitted(t, pool, outbox, usage("acme", 1)...)
		eventually(t, 20*time.Second, func() bool { return len(sk.ingested()) == i+1 }, "event %d was not delivered", i)
	}
}

// TestRelayPollsWithoutNotification: a row inserted without a notification
// is found by polling.
func TestRelayPollsWithoutNotification(t *testing.T) {
	pool, schema, name := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	relay := outbox.Relay(sk.client(t), postgres.RelayOptions{PollInterval: 50 * time.Millisecond})
	runRelay(t, relay)
	eventually(t, 20*time.Second, func() bool { return relay.Stats().Sending }, "the relay is not sending")
	e := alguna.Event{Account: "acme", EventName: "api_call"}
	payload, err := e.Prepare()
	require.NoError(t, err)
	_, err = pool.Exec(context.Background(), "INSERT INTO "+table(name, "usage_outbox")+" (payload) VALUES ($1)", payload)
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() bool { return len(sk.ingested()) == 1 }, "the row was not found by polling")
}

// TestRelayStandbyTakesOver: of two relays one sends; when it stops the
// other takes over at once, with the rows it left.
func TestRelayStandbyTakesOver(t *testing.T) {
	pool, schema, _ := migrated(t)
	outbox, err := postgres.NewOutbox(pool, schema)
	require.NoError(t, err)
	sk := newSink(t)
	first := outbox.Relay(sk.client(t), postgres.RelayOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	eventually(t, 20*time.Second, func() bool { return first.Stats().Sending }, "the first relay is not sending")

	second := outbox.Relay(sk.client(t), postgres.RelayOptions{})
	runRelay(t, second)
	addCommitted(t, pool, outbox, usage("acme", 10)...)
	eventually(t, 20*time.Second, func() bool { return first.Stats().Ingested == 10 }, "the first relay did not deliver")
	require.False(t, second.Stats().Sending, "two relays send at once")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a relay stopped by its context returns nil")
	case <-time.After(20 * time.Second):
		t.Fatal("the first relay did not stop")
	}
	require.False(t, first.Stats().Sending)
	eventually(t, 20*time.Second, func() bool { return second.Stats().Sending }, "the standby did not take over")
	addCommitted(t, pool, outbox, usage("acme", 5)...)
	eventually(t, 20*time.Second, func() bool { return second.Stats().Ingested == 5 }, "the second relay did not deliver")
}

// TestRelayWithoutTables: a relay on a schema Migrate never made stops at
// once with the database's error, rather than retrying for ever.
func TestRelayWithoutTables(t *testing.T) {
	outbox, err := postgres.NewOutbox(newPool(t), postgres.WithSchema(schemaName(t)))
	require.NoError(t, err)
	sk := newSink(t)
	select {
	case err := <-runRelay(t, outbox.Relay(sk.client(t), postgres.RelayOptions{})):
		require.ErrorContains(t, err, "does not exist")
	case <-time.After(20 * time.Second):
		t.Fatal("the relay did not stop")
	}
}

// TestRelayOptions: invalid options are Run's error, before anything runs.
func TestRelayOptions(t *testing.T) {
	outbox, err := postgres.NewOutbox(newPool(t))
	require.NoError(t, err)
	sk := newSink(t)
	for _, tc := range []struct {
		name string
		opts postgres.RelayOptions
		want string
	}{
		{"negative rate", postgres.RelayOptions{MaxEventsPerSecond: -1}, "MaxEventsPerSecond"},
		{"short lease", postgres.RelayOptions{Lease: time.Millisecond}, "Lease must be at least 1s"},
		{"negative in flight", postgres.RelayOptions{MaxInFlight: -1}, "MaxInFlight"},
		{"negative concurrency", postgres.RelayOptions{Concurrency: -1}, "Concurrency"},
		{"retry waits", postgres.RelayOptions{RetryWaitMin: time.Second, RetryWaitMax: time.Millisecond}, "retry waits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := outbox.Relay(sk.client(t), tc.opts).Run(context.Background())
			require.ErrorContains(t, err, tc.want)
		})
	}
	require.ErrorContains(t, outbox.Relay(nil, postgres.RelayOptions{}).Run(context.Background()), "client is nil")
	var zero postgres.Outbox
	require.ErrorContains(t, zero.Relay(sk.client(t), postgres.RelayOptions{}).Run(context.Background()), "NewOutbox")
}

// TestAddWithoutNotify: with WithoutNotify, a commit notifies nobody, and
// the relay finds the rows by polling.
func TestAddWithoutNotify(t *testing.T) {
	pool, schema, _ := migrated(t)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer func() { require.NoError(t, listener.Close(ctx)) }()
	_, err = listener.Exec(ctx, "LISTEN alguna_usage_outbox")
	require.NoError(t, err)

	silent, err := postgres.NewOutbox(pool, schema, postgres.WithoutNotify())
	require.NoError(t, err)
	addCommitted(t, pool, silent, usage("acme", 3)...)
	// Notifications arrive in commit order: the first one must be this.
	_, err = pool.Exec(ctx, "SELECT pg_notify('alguna_usage_outbox', 'marker')")
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	require.NoError(t, err)
	require.Equal(t, "marker", n.Payload, "a commit with WithoutNotify sent a notification")

	sk := newSink(t)
	runRelay(t, silent.Relay(sk.client(t), postgres.RelayOptions{PollInterval: 20 * time.Millisecond}))
	eventually(t, 20*time.Second, func() bool { n, _ := silent.Pending(ctx); return n == 0 }, "the rows were not delivered")
	require.Equal(t, 3, strings.Count(string(bytes.Join(sk.ingested(), nil)), `"uniqueId"`))

	_, err = postgres.NewWebhookDeduper(pool, postgres.WithoutNotify())
	require.ErrorContains(t, err, "NewOutbox only")
	require.ErrorContains(t, postgres.Migrate(ctx, pool, postgres.WithoutNotify()), "NewOutbox only")
}
