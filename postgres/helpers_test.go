package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	"github.com/alguna/alguna-go/postgres"
	"github.com/alguna/alguna-go/postgres/postgrestest"
)

// dsn is the test server's, shared by every test; each test works in a
// schema of its own.
var dsn string

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	// The relays' notes on starting and stopping would drown the output.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	s, err := postgrestest.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dsn = s.DSN
	code := m.Run()
	if err := s.Close(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var schemaSeq atomic.Int64

// schemaName is a fresh schema name for t.
func schemaName(t *testing.T) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d_%s", schemaSeq.Add(1), name)
}

// newPool connects to the test server and closes the pool when t ends.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// migrated returns a pool and the option naming a freshly migrated schema;
// the schema is dropped when t ends.
func migrated(t *testing.T) (*pgxpool.Pool, postgres.Option, string) {
	t.Helper()
	pool := newPool(t)
	schema := schemaName(t)
	require.NoError(t, postgres.Migrate(context.Background(), pool, postgres.WithSchema(schema)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	return pool, postgres.WithSchema(schema), schema
}

// count runs a count query.
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// table is schema.name, quoted.
func table(schema, name string) string {
	return pgx.Identifier{schema, name}.Sanitize()
}

// fakeWithAccount starts the fake with one account, whose alias it returns.
func fakeWithAccount(t *testing.T, opts ...algunatest.Option) (*algunatest.Server, string) {
	t.Helper()
	srv := algunatest.NewServer(opts...)
	t.Cleanup(srv.Close)
	_, err := srv.Client().Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme", Alias: "acme"})
	require.NoError(t, err)
	return srv, "acme"
}

// addCommitted adds events in one committed transaction.
func addCommitted(t *testing.T, pool *pgxpool.Pool, outbox *postgres.Outbox, events ...alguna.Event) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return outbox.Add(ctx, tx, events...)
	}))
}

// usage returns n events for account, named by i.
func usage(account string, n int) []alguna.Event {
	events := make([]alguna.Event, n)
	for i := range events {
		events[i] = alguna.Event{Account: account, EventName: "api_call", Properties: map[string]any{"n": i}}
	}
	return events
}

// runRelay runs r until t ends, and returns a channel that gets what Run
// returned.
func runRelay(t *testing.T, r *postgres.Relay) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		result <- r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Error("the relay did not stop within 30s of its context ending")
		}
	})
	return result
}

// eventually waits for cond, checking it on the test's goroutine every
// 10ms for up to d, and fails t with msg if it never holds.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+msg, append([]any{d}, args...)...)
		}
		<-tick.C
	}
}

// algunatestRate is a limit on ingestion alone.
func algunatestRate(eventsPerSecond float64) algunatest.RateLimit {
	return algunatest.RateLimit{EventsPerSecond: eventsPerSecond}
}
