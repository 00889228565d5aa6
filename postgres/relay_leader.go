package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alguna/alguna-go"
)

// This file is a relay's term as the sender: the loop that takes rows from
// the outbox and hands them to a Batcher, and the Batcher's callbacks that
// settle them.

// ErrInvalidRow is passed to OnFailure for an outbox row that is not an
// event Outbox.Add would have stored (written to the table by other means);
// it is moved to usage_outbox_failed unsent.
var ErrInvalidRow = errors.New("postgres: outbox row is not an event added by Outbox.Add")

// errLostLock ends a term whose session is gone, and with it the lock.
var errLostLock = errors.New("postgres: relay: lost the connection that holds the sender's lock")

// Bounds on the end of a term. What is in flight gets up to
// min(Lease/3, maxDrain) to be delivered — short of what is left of the
// rows' leases, which were renewed at most Lease/3 ago, so that no other
// sender can have taken them meanwhile — and the Batcher's callbacks then
// get callbackGrace more to record what Alguna answered. Past either, rows
// are sent again by the next sender, which uniqueIds make harmless.
const (
	maxDrain      = 5 * time.Second
	callbackGrace = 5 * time.Second
)

// leader is one term of a relay as the sender.
type leader struct {
	r       *Relay
	conn    *pgx.Conn // holds the lock; used by the loop alone
	batcher *alguna.Batcher
	term    token // owns the leases taken in this term

	// cbCtx bounds the callbacks' database work; it ends callbackGrace
	// after the term's drain does.
	cbCtx    context.Context
	cancelCb context.CancelFunc

	mu sync.Mutex
	// rows maps each uniqueId in flight to its rows (more than one when an
	// event was added twice).
	rows map[string][]int64
	// held is every row this term took and has not deleted or moved: the
	// rows whose leases it renews, and clears at the end.
	held     map[int64]struct{}
	inflight int
	fatal    error
	// woken records a signal since the loop last looked; cancelWait ends
	// the loop's wait for a notification.
	woken      bool
	cancelWait context.CancelFunc
}

func newLeader(r *Relay, conn *pgx.Conn) *leader {
	l := &leader{r: r, conn: conn, term: newToken(), rows: make(map[string][]int64), held: make(map[int64]struct{})}
	l.cbCtx, l.cancelCb = context.WithCancel(context.Background())
	return l
}

// run sends until ctx ends (its error), the lock is lost (a database error)
// or a callback found an error that stops the relay (a *stopError).
func (l *leader) run(ctx context.Context) error {
	o := &l.r.opts
	renewEvery := o.Lease / 3
	renewAt := time.Now().Add(renewEvery)
	pollAt := time.Now()
	// The batch the loop takes, and the room it waits for before taking
	// one, so that batches go out full: a request's worth, or what one
	// second of pacing allows, as the Batcher cuts them.
	batch := min(alguna.MaxEventsPerRequest, o.MaxInFlight)
	if r := o.MaxEventsPerSecond; r > 0 {
		batch = min(batch, max(1, int(r)))
	}
	var feed pacer
	// What tells the loop to look at the table: a full batch last time
	// (more rows are likely waiting), a notification of a commit, or the
	// poll. Notifications come one per commit; answered at most every
	// gap, a claim takes what many commits added, while the Batcher's
	// FlushInterval, not the claim, decides when a partial batch goes.
	full, notified := true, false
	gap := o.FlushInterval / 5
	var lastLook time.Time
	for {
		l.mu.Lock()
		l.woken = false
		room, fatal := o.MaxInFlight-l.inflight, l.fatal
		l.mu.Unlock()
		if fatal != nil {
			return stop(fatal)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		if !now.Before(renewAt) {
			if err := l.renew(ctx, renewEvery); err != nil {
				return err
			}
			renewAt = now.Add(renewEvery)
		}
		due := pollAt
		if notified {
			due = earliest(due, lastLook.Add(gap))
		}
		if full {
			due = now
		}
		if feed.next.After(due) {
			due = feed.next // never faster than the pace
		}
		if room >= batch && !now.Before(due) {
			n, err := l.claim(ctx, batch, renewEvery)
			if err != nil {
				return err
			}
			feed.took(now, n, o.MaxEventsPerSecond)
			lastLook, pollAt = now, now.Add(o.PollInterval)
			full, notified = n == batch, false
			continue
		}
		deadline := renewAt
		if room >= batch {
			deadline = earliest(deadline, due)
		}
		got, err := l.wait(ctx, deadline)
		if err != nil {
			return err
		}
		notified = notified || got
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// pacer spaces out taking rows at the paced rate, a batch at a time. The
// Batcher paces too (retries included), but its bucket starts full and
// holds a second's worth: fed all at once it would send a second's worth
// at once and then keep Alguna's own bucket empty, where any jitter in
// arrival is answered 429. Rows taken at the rate arrive at the rate, and
// leave Alguna's bucket nearly full.
type pacer struct {
	next time.Time // the earliest time to take more
}

// took records n rows taken at now.
func (p *pacer) took(now time.Time, n int, rate float64) {
	if rate <= 0 || n == 0 {
		return
	}
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(float64(n) / rate * float64(time.Second)))
}

// wait waits for a notification, a signal from a callback, or deadline. It
// reports whether a notification for this outbox came.
func (l *leader) wait(ctx context.Context, deadline time.Time) (bool, error) {
	l.mu.Lock()
	if l.woken {
		l.mu.Unlock()
		return false, nil
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	l.cancelWait = cancel
	l.mu.Unlock()

	n, err := l.conn.WaitForNotification(wctx)

	l.mu.Lock()
	l.cancelWait = nil
	l.mu.Unlock()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case wctx.Err() != nil && !l.conn.IsClosed():
			// A timeout leaves the connection usable.
			return false, nil
		}
		return false, fmt.Errorf("%w: %w", errLostLock, err)
	}
	ours := n.Payload == l.r.outbox.schema
	// Notifications that arrived meanwhile are all answered by one look at
	// the table: they are drained without waiting.
	for {
		n, err := l.conn.WaitForNotification(doneCtx)
		if err != nil || n == nil {
			break
		}
		ours = ours || n.Payload == l.r.outbox.schema
	}
	return ours, nil
}

// doneCtx is a context that has ended: WaitForNotification with it answers
// only what is already received.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// signal wakes the loop: room was freed, or the relay must stop.
func (l *leader) signal() {
	l.mu.Lock()
	l.woken = true
	if l.cancelWait != nil {
		l.cancelWait()
	}
	l.mu.Unlock()
}

// renew extends the leases of every row this term holds.
func (l *leader) renew(ctx context.Context, timeout time.Duration) error {
	ids := l.heldRows()
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := l.conn.Exec(ctx, l.r.renewSQL, l.term.uuid(), l.r.opts.Lease, ids); err != nil {
		return dbError(fmt.Errorf("renewing leases: %w", err))
	}
	return nil
}

// outboxRow is a row taken from the outbox.
type outboxRow struct {
	id      int64
	payload []byte
}

// claim takes up to limit rows and enqueues them, and returns how many it
// took.
func (l *leader) claim(ctx context.Context, limit int, timeout time.Duration) (int, error) {
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rows, err := l.conn.Query(qctx, l.r.claimSQL, l.term.uuid(), l.r.opts.Lease, limit)
	if err != nil {
		return 0, dbError(fmt.Errorf("taking rows: %w", err))
	}
	taken, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var r outboxRow
		err := row.Scan(&r.id, &r.payload)
		return r, err
	})
	if err != nil {
		return 0, dbError(fmt.Errorf("taking rows: %w", err))
	}
	if len(taken) == 0 {
		return 0, nil
	}
	l.r.claimed.Add(int64(len(taken)))
	l.mu.Lock()
	for _, row := range taken {
		l.held[row.id] = struct{}{}
	}
	l.mu.Unlock()
	// Oldest first, as they were added.
	slices.SortFunc(taken, func(a, b outboxRow) int { return int(min(max(a.id-b.id, -1), 1)) })

	ids := make([]int64, 0, len(taken))
	events := make([]alguna.Event, 0, len(taken))
	var bad []settled
	for _, row := range taken {
		ev, err := decodeRow(row)
		if err != nil {
			bad = append(bad, settled{row: row.id, err: err})
			continue
		}
		ids = append(ids, row.id)
		events = append(events, ev)
	}
	l.track(ids, events)
	if err := l.batcher.EnqueueMany(ctx, events); err != nil {
		var ve *alguna.ValidationError
		if !errors.As(err, &ve) {
			l.untrack(events)
			l.release(len(events))
			return 0, err
		}
		// One event the SDK refuses (a row written by other means) must not
		// hold up the others: they are enqueued one by one.
		for i := range events {
			if err := l.batcher.Enqueue(ctx, events[i]); err != nil {
				l.untrack(events[i : i+1])
				l.release(1)
				if !errors.As(err, &ve) {
					return 0, err
				}
				bad = append(bad, settled{row: ids[i], event: events[i], hasEvent: true,
					err: fmt.Errorf("%w: %w", ErrInvalidRow, err)})
			}
		}
	}
	l.refuse(bad)
	return len(taken), nil
}

// decodeRow reads a row's event back. A row without a uniqueId or a
// timestamp is refused rather than filled: it would be a new event on
// every attempt.
func decodeRow(row outboxRow) (alguna.Event, error) {
	var ev alguna.Event
	if err := json.Unmarshal(row.payload, &ev); err != nil {
		return ev, fmt.Errorf("%w: row %d: %w", ErrInvalidRow, row.id, err)
	}
	if ev.UniqueID == "" || ev.Timestamp.IsZero() {
		return ev, fmt.Errorf("%w: row %d has no uniqueId or no timestamp", ErrInvalidRow, row.id)
	}
	return ev, nil
}

// settled is a row the relay is done with, and why.
type settled struct {
	row      int64
	event    alguna.Event
	hasEvent bool
	err      error
}

// track records rows handed to the Batcher.
func (l *leader) track(ids []int64, events []alguna.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range ids {
		uid := events[i].UniqueID
		l.rows[uid] = append(l.rows[uid], id)
	}
	l.inflight += len(ids)
}

// untrack takes the rows of events back, one row per event, in the order
// of events; 0 for an event with no row in flight.
func (l *leader) untrack(events []alguna.Event) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, len(events))
	for i := range events {
		out[i] = l.pop(events[i].UniqueID)
	}
	return out
}

// pop takes one row of uniqueId uid; l.mu is held.
func (l *leader) pop(uid string) int64 {
	ids := l.rows[uid]
	if len(ids) == 0 {
		return 0
	}
	id := ids[0]
	if len(ids) == 1 {
		delete(l.rows, uid)
	} else {
		l.rows[uid] = ids[1:]
	}
	return id
}

// forget drops rows that left the outbox from the held set.
func (l *leader) forget(ids []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.held, id)
	}
}

// heldRows lists the rows this term holds.
func (l *leader) heldRows() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]int64, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	return ids
}

// release frees room for n rows and wakes the loop to fill it.
func (l *leader) release(n int) {
	if n == 0 {
		return
	}
	l.mu.Lock()
	l.inflight -= n
	l.mu.Unlock()
	l.signal()
}

// onIngested is the Batcher's OnIngested: the rows go.
func (l *leader) onIngested(uids []string) {
	l.mu.Lock()
	ids := make([]int64, 0, len(uids))
	for _, uid := range uids {
		if id := l.pop(uid); id != 0 {
			ids = append(ids, id)
		}
	}
	l.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	err := l.retry("deleting ingested rows", func(ctx context.Context) error {
		_, err := l.r.outbox.pool.Exec(ctx, l.r.deleteSQL, ids)
		return err
	})
	if err == nil {
		l.forget(ids)
		l.r.ingested.Add(int64(len(ids)))
	}
	l.release(len(ids))
}

// onFailure is the Batcher's OnFailure.
func (l *leader) onFailure(events []alguna.Event, err error) {
	ids := l.untrack(events)
	defer l.release(len(ids))
	switch {
	case errors.Is(err, alguna.ErrBatcherClosed):
		// The term ended first: the rows stay, and their leases are
		// cleared for the next sender.
	case refusedEvents(err):
		done := make([]settled, 0, len(ids))
		for i, id := range ids {
			if id != 0 {
				done = append(done, settled{row: id, event: events[i], hasEvent: true, err: err})
			}
		}
		l.refuse(done)
	default:
		// About the caller, not the events: a wrong key, a wrong URL.
		// Moving the rows to the failed table would drain the outbox.
		l.mu.Lock()
		if l.fatal == nil {
			l.fatal = fmt.Errorf("postgres: relay stopped; the events stay in the outbox: %w", err)
		}
		l.mu.Unlock()
		l.signal()
	}
}

// refusedEvents tells a refusal of the events themselves from one of the
// caller: the Batcher bisects a refused batch until the refusal is pinned
// on one event, so a 400, 413 or 422 it reports is that event's.
func refusedEvents(err error) bool {
	if errors.Is(err, alguna.ErrEventRejected) {
		return true
	}
	var apiErr *alguna.Error
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return true
		}
	}
	return false
}

// refuse moves rows to the failed table, each with its reason, and reports
// them to OnFailure, a call per reason. Rows that cannot be moved now stay
// in the outbox, to be sent and refused again.
func (l *leader) refuse(rows []settled) {
	if len(rows) == 0 {
		return
	}
	ids := make([]int64, len(rows))
	reasons := make([]string, len(rows))
	for i, s := range rows {
		ids[i], reasons[i] = s.row, errorText(s.err)
	}
	var moved []int64
	merr := l.retry("moving refused rows", func(ctx context.Context) error {
		r, err := l.r.outbox.pool.Query(ctx, l.r.moveSQL, ids, reasons)
		if err != nil {
			return err
		}
		moved, err = pgx.CollectRows(r, pgx.RowTo[int64])
		return err
	})
	if merr != nil {
		return
	}
	l.forget(moved)
	l.r.failed.Add(int64(len(moved)))
	for i := 0; i < len(rows); {
		// A run of rows refused for the same reason is one report.
		j := i + 1
		for j < len(rows) && errors.Is(rows[j].err, rows[i].err) {
			j++
		}
		var report []alguna.Event
		hit := false
		for _, s := range rows[i:j] {
			if slices.Contains(moved, s.row) {
				hit = true
				if s.hasEvent {
					report = append(report, s.event)
				}
			}
		}
		if hit {
			l.report(report, rows[i].err)
		}
		i = j
	}
}

// report passes refused events to OnFailure, or logs them without one.
func (l *leader) report(events []alguna.Event, err error) {
	if l.r.opts.OnFailure == nil {
		l.r.logger.LogAttrs(context.Background(), slog.LevelError, "alguna outbox relay: events refused, moved to the failed table",
			slog.String("schema", l.r.outbox.schema), slog.Int("events", max(len(events), 1)), slog.String("error", err.Error()))
		return
	}
	l.r.onFailure.Lock()
	defer l.r.onFailure.Unlock()
	l.r.opts.OnFailure(events, err)
}

// errorText is err's message as the failed table's reason column holds it:
// valid UTF-8, no NUL, bounded.
func errorText(err error) string {
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) > 4000 {
		s = strings.ToValidUTF8(s[:4000], "") + "…"
	}
	return s
}

// retry runs a callback's database work until it succeeds, the relay must
// stop, or the term's grace ends.
func (l *leader) retry(what string, fn func(context.Context) error) error {
	wait := minReconnectWait
	for {
		ctx, cancel := context.WithTimeout(l.cbCtx, l.r.opts.Lease)
		err := fn(ctx)
		cancel()
		if err == nil {
			return nil
		}
		var stopErr *stopError
		if errors.As(dbError(err), &stopErr) {
			l.mu.Lock()
			if l.fatal == nil {
				l.fatal = stopErr.err
			}
			l.mu.Unlock()
			l.signal()
			return err
		}
		if l.cbCtx.Err() != nil {
			return err
		}
		l.r.logger.LogAttrs(ctx, slog.LevelWarn, "alguna outbox relay: database error; retrying",
			slog.String("schema", l.r.outbox.schema), slog.String("doing", what), slog.String("error", err.Error()))
		if sleep(l.cbCtx, wait) != nil {
			return err
		}
		wait = min(2*wait, maxReconnectWait)
	}
}

// stop ends the term. What is queued or in flight is sent for a little
// longer (unless the relay must stop: a wrong key would only be refused
// again), then given up, its rows left in the outbox; the rows' leases are
// cleared, so that the next sender takes them without waiting for the
// leases to run out.
func (l *leader) stop(ctx context.Context) {
	drain := min(l.r.opts.Lease/3, maxDrain)
	l.mu.Lock()
	if l.fatal != nil {
		drain = 0
	}
	l.mu.Unlock()
	grace := time.AfterFunc(drain+callbackGrace, l.cancelCb)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	_ = l.batcher.Close(closeCtx)
	cancel()
	grace.Stop()
	l.cancelCb()

	ids := l.heldRows()
	if len(ids) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	if !l.conn.IsClosed() {
		_, err = l.conn.Exec(cctx, l.r.clearSQL, l.term.uuid(), ids)
	} else {
		_, err = l.r.outbox.pool.Exec(cctx, l.r.clearSQL, l.term.uuid(), ids)
	}
	if err != nil {
		l.r.logger.LogAttrs(cctx, slog.LevelWarn, "alguna outbox relay: leases not cleared; the rows wait for them to run out",
			slog.String("schema", l.r.outbox.schema), slog.String("error", err.Error()))
	}
}
