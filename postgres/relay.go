package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/alguna/alguna-go"
)

// Defaults of RelayOptions.
const (
	// DefaultRelayLease is how long a relay holds the rows it took to send
	// before another relay may take them; it renews the lease a third of
	// the way through for as long as it is still sending them.
	DefaultRelayLease = 30 * time.Second
	// DefaultPollInterval is how often the sending relay looks for rows
	// that came without a notification.
	DefaultPollInterval = time.Second
	// DefaultRelayFlushInterval is the longest a partly filled batch waits
	// for more events before it is sent.
	DefaultRelayFlushInterval = 50 * time.Millisecond
	// DefaultMaxInFlight is the most rows one relay holds at once.
	DefaultMaxInFlight = 1000
)

// RelayOptions configures a Relay. Zero values take the defaults.
type RelayOptions struct {
	// MaxEventsPerSecond paces sending (as BatcherOptions.MaxEventsPerSecond
	// does) and is the budget of every relay of the outbox together, not of
	// one: only one relay sends at a time. Give every relay the same value,
	// your Alguna account's ingestion limit less what other senders use.
	// Zero sends as fast as Alguna answers.
	MaxEventsPerSecond float64
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int
	// MaxInFlight bounds the rows the relay holds at once: taken from the
	// outbox and not yet settled. Default DefaultMaxInFlight.
	MaxInFlight int
	// FlushInterval is the longest a partly filled batch waits before it is
	// sent. Default DefaultRelayFlushInterval.
	FlushInterval time.Duration
	// PollInterval is how often the relay looks for rows when no
	// notification came: notifications are the fast path, polling the
	// fallback. Default DefaultPollInterval.
	PollInterval time.Duration
	// Lease is how long the rows a relay took stay its own before another
	// relay may take them; a relay killed mid-send leaves its rows to be
	// sent again after that. It is renewed while the rows are in flight.
	// At least a second; default DefaultRelayLease.
	Lease time.Duration
	// RetryWaitMin and RetryWaitMax bound the backoff between attempts at a
	// batch, as in BatcherOptions; zero takes the client's bounds.
	RetryWaitMin, RetryWaitMax time.Duration

	// OnFailure receives the events Alguna refused for good — named in the
	// "failed" list of its answer (alguna.ErrEventRejected), or pinned by a
	// 400, 413 or 422 — once each, after they were moved to the
	// usage_outbox_failed table. Rows written to the outbox by other means
	// than Add that are not events the SDK would send are moved there too,
	// unsent, and reported with an error matching ErrInvalidRow (with the
	// event if it could be read, none if not). Calls are never concurrent.
	// It must not block for long: the relay waits for it. Without it, each
	// such loss is logged at ERROR.
	OnFailure func(events []alguna.Event, err error)
	// Logger receives what the relay does not return: database errors it
	// retries, and when it starts and stops sending. Default slog.Default().
	Logger *slog.Logger
}

// RelayStats counts what a Relay did, over every term it was the sender.
type RelayStats struct {
	// Claimed counts rows taken from the outbox to send, each time taken.
	Claimed int64
	// Ingested counts rows Alguna ingested, deleted from the outbox.
	Ingested int64
	// Failed counts rows Alguna refused, moved to usage_outbox_failed.
	Failed int64
	// Retried counts requests sent again.
	Retried int64
	// InFlight is the rows held now: taken and not yet settled.
	InFlight int64
	// Terms counts the times this relay became the sender.
	Terms int64
	// Sending says whether this relay is the one sending now; the others
	// stand by.
	Sending bool
}

// Relay delivers the outbox's rows to Alguna. Run one in every replica:
// they elect one sender with a PostgreSQL advisory lock, so that together
// they stay within one rate budget and never send a row twice at the same
// time, and when the sender dies (its session ends) another takes over.
//
// The sender takes up to 100 rows at a time (FOR UPDATE SKIP LOCKED, with a
// lease), sends them through an alguna.Batcher — the same retries,
// Retry-After, pacing and bisection of refused batches — deletes what
// Alguna ingested, and moves what Alguna refuses for good to
// usage_outbox_failed. It wakes on the notification Add sends on commit,
// and polls as a fallback.
//
// An error about the caller rather than the events — a 401 or 403 for a
// wrong API key, any other refusal that is not pinned on an event — stops
// the relay: Run returns it and every row stays in the outbox.
//
// The relay needs a direct connection to PostgreSQL: through a pooler in
// transaction mode (PgBouncer's default) neither advisory locks nor
// LISTEN hold.
type Relay struct {
	outbox *Outbox
	client *alguna.Client
	opts   RelayOptions
	err    error // from the options, returned by Run
	logger *slog.Logger

	lockSQL, claimSQL, renewSQL, clearSQL, deleteSQL, moveSQL string

	running atomic.Bool
	// onFailure serializes calls to opts.OnFailure, made from the sending
	// loop and from the Batcher's callbacks.
	onFailure sync.Mutex

	claimed, ingested, failed, retried, terms atomic.Int64
	mu                                        sync.Mutex
	current                                   *leader // nil while standing by
}

// Relay returns a relay that delivers this outbox's rows through client.
// Nothing starts until Run; invalid options are Run's error.
func (o *Outbox) Relay(client *alguna.Client, opts RelayOptions) *Relay {
	r := &Relay{outbox: o, client: client, opts: opts}
	if o == nil || o.pool == nil {
		r.err = errNoOutbox
		return r
	}
	r.err = r.normalize()
	r.logger = opts.Logger
	if r.logger == nil {
		r.logger = slog.Default()
	}
	t, f := o.cfg.table("usage_outbox"), o.cfg.table("usage_outbox_failed")
	r.lockSQL = `SELECT pg_advisory_lock($1, hashtext('relay:' || $2))`
	r.claimSQL = `UPDATE ` + t + ` AS o
		SET lease_owner = $1, lease_until = now() + $2::interval, attempts = o.attempts + 1
		FROM (
			SELECT id FROM ` + t + `
			WHERE lease_until IS NULL OR lease_until <= now()
			ORDER BY id LIMIT $3
			FOR UPDATE SKIP LOCKED
		) AS c
		WHERE o.id = c.id
		RETURNING o.id, o.payload`
	r.renewSQL = `UPDATE ` + t + ` SET lease_until = now() + $2::interval WHERE id = ANY($3) AND lease_owner = $1`
	r.clearSQL = `UPDATE ` + t + ` SET lease_owner = NULL, lease_until = NULL WHERE id = ANY($2) AND lease_owner = $1`
	r.deleteSQL = `DELETE FROM ` + t + ` WHERE id = ANY($1)`
	r.moveSQL = `WITH refused AS (
			SELECT * FROM unnest($1::bigint[], $2::text[]) AS r (id, reason)
		), moved AS (
			DELETE FROM ` + t + ` AS o USING refused
			WHERE o.id = refused.id
			RETURNING o.id, o.payload, o.created_at, refused.reason
		)
		INSERT INTO ` + f + ` (id, payload, created_at, reason)
		SELECT id, payload, created_at, reason FROM moved
		ON CONFLICT (id) DO UPDATE
			SET payload = excluded.payload, created_at = excluded.created_at,
				failed_at = excluded.failed_at, reason = excluded.reason
		RETURNING id`
	return r
}

func (r *Relay) normalize() error {
	o := &r.opts
	var problems []string
	if r.client == nil {
		problems = append(problems, "client is nil")
	}
	if v := o.MaxEventsPerSecond; v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		problems = append(problems, fmt.Sprintf("MaxEventsPerSecond must be zero (unpaced) or a positive number, got %v", v))
	}
	if o.Concurrency < 0 {
		problems = append(problems, fmt.Sprintf("Concurrency must be positive, got %d", o.Concurrency))
	}
	switch {
	case o.MaxInFlight == 0:
		o.MaxInFlight = DefaultMaxInFlight
	case o.MaxInFlight < 0:
		problems = append(problems, fmt.Sprintf("MaxInFlight must be positive, got %d", o.MaxInFlight))
	}
	switch {
	case o.FlushInterval == 0:
		o.FlushInterval = DefaultRelayFlushInterval
	case o.FlushInterval < 0:
		problems = append(problems, fmt.Sprintf("FlushInterval must be positive, got %s", o.FlushInterval))
	}
	switch {
	case o.PollInterval == 0:
		o.PollInterval = DefaultPollInterval
	case o.PollInterval < 0:
		problems = append(problems, fmt.Sprintf("PollInterval must be positive, got %s", o.PollInterval))
	}
	switch {
	case o.Lease == 0:
		o.Lease = DefaultRelayLease
	case o.Lease < time.Second:
		problems = append(problems, fmt.Sprintf("Lease must be at least 1s, got %s", o.Lease))
	}
	if o.RetryWaitMin < 0 || o.RetryWaitMax < 0 || (o.RetryWaitMax != 0 && o.RetryWaitMax < o.RetryWaitMin) {
		problems = append(problems, fmt.Sprintf("retry waits must satisfy 0 <= RetryWaitMin <= RetryWaitMax, got %s and %s", o.RetryWaitMin, o.RetryWaitMax))
	}
	if len(problems) > 0 {
		return fmt.Errorf("postgres: RelayOptions: %s", strings.Join(problems, "; "))
	}
	return nil
}

// ErrRelayRunning is returned by Run while the same Relay already runs.
var ErrRelayRunning = errors.New("postgres: the relay is already running")

// Run stands by until this relay may send, sends until ctx ends, and
// returns nil then. Database errors are logged and retried: the relay
// stands by again until it can reconnect. It returns an error only for
// invalid options, a database error that retrying cannot cure (a missing
// table: Migrate was not run; a permission denied), or an answer from
// Alguna about the caller rather than the events (errors.Is(err,
// alguna.ErrUnauthorized) for a wrong API key); then every row that was not
// delivered stays in the outbox, free for the next relay.
func (r *Relay) Run(ctx context.Context) error {
	if r == nil {
		return errNoOutbox
	}
	if r.err != nil {
		return r.err
	}
	if !r.running.CompareAndSwap(false, true) {
		return ErrRelayRunning
	}
	defer r.running.Store(false)
	wait := minReconnectWait
	for {
		led, err := r.term(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if led {
			wait = minReconnectWait
		}
		r.logger.LogAttrs(ctx, slog.LevelWarn, "alguna outbox relay: database error; standing by again",
			slog.String("schema", r.outbox.schema), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if sleep(ctx, wait) != nil {
			return nil
		}
		wait = min(2*wait, maxReconnectWait)
	}
}

// Bounds of the wait before a relay tries the database again.
const (
	minReconnectWait = 100 * time.Millisecond
	maxReconnectWait = 10 * time.Second
)

// stopError is an error that ends Run instead of being retried.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

func stop(err error) error { return &stopError{err: err} }

// term is one turn of the relay: it waits for the advisory lock on a
// connection of its own and, once it holds it, sends until it loses it,
// ctx ends or an error stops it. led says whether it held the lock.
func (r *Relay) term(ctx context.Context) (led bool, err error) {
	pc, err := r.outbox.pool.Acquire(ctx)
	if err != nil {
		return false, dbError(err)
	}
	// The lock lives as long as this session: the connection is the relay's
	// own, out of the pool, and closing it hands the lock on.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, r.lockSQL, int32(lockClass), r.outbox.schema); err != nil {
		return false, dbError(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return true, dbError(err)
	}
	l := newLeader(r, conn)
	b, err := r.client.Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize:       alguna.MaxEventsPerRequest,
		FlushInterval:      r.opts.FlushInterval,
		QueueSize:          r.opts.MaxInFlight,
		Concurrency:        r.opts.Concurrency,
		MaxEventsPerSecond: r.opts.MaxEventsPerSecond,
		RetryWaitMin:       r.opts.RetryWaitMin,
		RetryWaitMax:       max(r.opts.RetryWaitMax, r.opts.RetryWaitMin),
		OnFailure:          l.onFailure,
		OnIngested:         l.onIngested,
	})
	if err != nil {
		return true, stop(fmt.Errorf("postgres: relay: %w", err))
	}
	l.batcher = b
	r.mu.Lock()
	r.current = l
	r.mu.Unlock()
	r.terms.Add(1)
	r.logger.LogAttrs(ctx, slog.LevelInfo, "alguna outbox relay: sending", slog.String("schema", r.outbox.schema))
	err = l.run(ctx)
	l.stop(ctx)
	r.mu.Lock()
	r.retried.Add(l.batcher.Stats().Retried)
	r.current = nil
	r.mu.Unlock()
	r.logger.LogAttrs(ctx, slog.LevelInfo, "alguna outbox relay: standing by", slog.String("schema", r.outbox.schema))
	return true, err
}

// Stats returns the relay's counters.
func (r *Relay) Stats() RelayStats {
	if r == nil {
		return RelayStats{}
	}
	s := RelayStats{
		Claimed:  r.claimed.Load(),
		Ingested: r.ingested.Load(),
		Failed:   r.failed.Load(),
		Retried:  r.retried.Load(),
		Terms:    r.terms.Load(),
	}
	r.mu.Lock()
	if l := r.current; l != nil {
		s.Sending = true
		s.Retried += l.batcher.Stats().Retried
		l.mu.Lock()
		s.InFlight = int64(l.inflight)
		l.mu.Unlock()
	}
	r.mu.Unlock()
	return s
}

// dbError marks database errors that retrying cannot cure as stopping Run:
// SQLSTATE class 42 (a missing table, a permission denied) and 3F (a
// missing schema) mean Migrate was not run, or the role lacks a grant.
func dbError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 && (pgErr.Code[:2] == "42" || pgErr.Code[:2] == "3F") {
		return stop(fmt.Errorf("postgres: relay: %w", err))
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
