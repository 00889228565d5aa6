package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alguna/alguna-go"
)

// Defaults of WebhookDeduper.
const (
	// DefaultClaimLease is how long a claim lasts unless WithClaimLease says
	// otherwise: well past the 15 seconds in which Alguna expects an
	// answer, so that only a replica that died mid-callback loses its claim.
	DefaultClaimLease = 2 * time.Minute
	// DefaultRetention is how long a completed id is remembered unless
	// WithRetention says otherwise: longer than Alguna's retry schedule,
	// which spans a little over a day, and as long as its uniqueId dedupe
	// window.
	DefaultRetention = 7 * 24 * time.Hour
)

// pruneEvery is how often, at most, one deduper deletes expired rows.
const pruneEvery = time.Minute

// pruneBatch bounds the rows one prune deletes, so that it never holds up a
// delivery for long; a backlog is worked off a batch a minute.
const pruneBatch = 1000

// ErrClaimLost is returned by Complete and Release when this deduper does
// not hold a claim of the id: its lease ran out and another delivery took
// it over, or it was never acquired here. The other delivery now runs the
// callback; nothing is recorded for this one.
var ErrClaimLost = errors.New("postgres: webhook claim is not held")

// WebhookDeduper is an alguna.WebhookDeduper over a PostgreSQL table, shared
// by every replica that receives webhooks: of all the deliveries of one id,
// on any replica, one at a time runs its callback, and once one succeeds the
// others are acknowledged without running it.
//
// A claim lasts a lease (WithClaimLease), so that a replica that dies
// mid-callback blocks the id only until then; each claim carries an owner
// token, so that a replica whose claim was taken over can no longer
// complete or release it. Completed ids are remembered for a retention
// (WithRetention), and expired rows are pruned as the deduper is used.
//
// Within one process a claim is also held in memory until its callback
// returns: another delivery of the id to the same process is answered busy
// even past the lease, since the process knows its callback is still
// running. Other replicas take the claim over once the lease ends.
//
// Safe for concurrent use. Create it with NewWebhookDeduper after Migrate.
type WebhookDeduper struct {
	pool             *pgxpool.Pool
	schema           string
	lease, retention time.Duration

	claimSQL, completeSQL, releaseSQL, pruneSQL string

	mu sync.Mutex
	// held maps each id claimed through this deduper, and not yet completed
	// or released, to its owner token; a zero token is a claim on its way
	// to the database.
	held map[string]token

	lastPrune atomic.Int64 // unix nanoseconds of the last prune
	pruning   atomic.Bool
}

// token is a claim's owner token, a random UUID.
type token [16]byte

func newToken() token {
	var t token
	// crypto/rand.Read never fails on the platforms Go supports.
	_, _ = rand.Read(t[:])
	t[6] = t[6]&0x0f | 0x40
	t[8] = t[8]&0x3f | 0x80
	return t
}

// uuid is the token as a query argument.
func (t token) uuid() pgtype.UUID { return pgtype.UUID{Bytes: t, Valid: true} }

var _ alguna.WebhookDeduper = (*WebhookDeduper)(nil)

// NewWebhookDeduper returns a deduper over the webhook_deliveries table that
// Migrate creates. Options: WithSchema, WithClaimLease, WithRetention.
func NewWebhookDeduper(pool *pgxpool.Pool, opts ...Option) (*WebhookDeduper, error) {
	if pool == nil {
		return nil, errors.New("postgres: NewWebhookDeduper: pool is nil")
	}
	c, err := newConfig("NewWebhookDeduper", opts)
	if err != nil {
		return nil, err
	}
	d := &WebhookDeduper{
		pool:      pool,
		schema:    c.schema,
		lease:     DefaultClaimLease,
		retention: DefaultRetention,
		held:      make(map[string]token),
	}
	if c.lease != 0 {
		d.lease = c.lease
	}
	if c.retention != 0 {
		d.retention = c.retention
	}
	t := c.table("webhook_deliveries")
	// One statement: the insert or takeover decides the claim atomically
	// (ON CONFLICT waits for a concurrent claim of the id and then sees
	// it), and the answer for a refused claim comes from the statement's
	// snapshot. That snapshot may not yet show a claim that a concurrent
	// delivery just made, or may show a running claim that has since
	// completed; both read as busy, which is safe: Alguna retries.
	d.claimSQL = `WITH claimed AS (
		INSERT INTO ` + t + ` AS d (id, owner, claimed_at, lease_until)
		VALUES ($1, $2, now(), now() + $3::interval)
		ON CONFLICT (id) DO UPDATE
			SET owner = excluded.owner, claimed_at = excluded.claimed_at, lease_until = excluded.lease_until
			WHERE d.completed_at IS NULL AND d.lease_until <= now()
		RETURNING 1
	)
	SELECT CASE
		WHEN EXISTS (SELECT 1 FROM claimed) THEN 1
		WHEN EXISTS (SELECT 1 FROM ` + t + ` WHERE id = $1 AND completed_at IS NOT NULL) THEN 3
		ELSE 2
	END`
	d.completeSQL = `UPDATE ` + t + ` SET completed_at = now() WHERE id = $1 AND owner = $2 AND completed_at IS NULL`
	d.releaseSQL = `DELETE FROM ` + t + ` WHERE id = $1 AND owner = $2 AND completed_at IS NULL`
	// Completed ids past the retention, and claims abandoned as long ago.
	d.pruneSQL = `DELETE FROM ` + t + ` WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM ` + t + ` WHERE completed_at < now() - $1::interval
		UNION ALL
		SELECT ctid FROM ` + t + ` WHERE completed_at IS NULL AND lease_until < now() - $1::interval
		LIMIT $2))`
	return d, nil
}

// Claim implements alguna.WebhookDeduper: WebhookClaimAcquired when no
// other delivery of id holds a live claim and none has completed,
// WebhookClaimDone when one has completed, WebhookClaimBusy otherwise.
func (d *WebhookDeduper) Claim(ctx context.Context, id string) (alguna.WebhookClaim, error) {
	if d == nil || d.held == nil {
		return 0, errNoDeduper
	}
	d.mu.Lock()
	if _, ok := d.held[id]; ok {
		d.mu.Unlock()
		return alguna.WebhookClaimBusy, nil
	}
	d.held[id] = token{} // reserved while the database decides
	d.mu.Unlock()

	d.maybePrune(ctx)
	tok := newToken()
	var answer int
	err := d.pool.QueryRow(ctx, d.claimSQL, []byte(id), tok.uuid(), d.lease).Scan(&answer)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil || answer != int(alguna.WebhookClaimAcquired) {
		delete(d.held, id)
	} else {
		d.held[id] = tok
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: claiming webhook %q: %w", id, err)
	}
	switch alguna.WebhookClaim(answer) {
	case alguna.WebhookClaimAcquired, alguna.WebhookClaimBusy, alguna.WebhookClaimDone:
		return alguna.WebhookClaim(answer), nil
	}
	return 0, fmt.Errorf("postgres: claiming webhook %q: unexpected answer %d", id, answer)
}

// Complete implements alguna.WebhookDeduper: later Claims of id, on any
// replica, answer WebhookClaimDone. It returns an error matching
// ErrClaimLost if this deduper's claim was taken over.
func (d *WebhookDeduper) Complete(ctx context.Context, id string) error {
	return d.finish(ctx, id, d.completeSQL, "completing")
}

// Release implements alguna.WebhookDeduper: the next delivery of id runs
// its callback again. It returns an error matching ErrClaimLost if this
// deduper's claim was taken over.
func (d *WebhookDeduper) Release(ctx context.Context, id string) error {
	return d.finish(ctx, id, d.releaseSQL, "releasing")
}

func (d *WebhookDeduper) finish(ctx context.Context, id, sql, verb string) error {
	if d == nil || d.held == nil {
		return errNoDeduper
	}
	d.mu.Lock()
	tok, ok := d.held[id]
	if ok && tok != (token{}) {
		// Forgotten whatever the database answers: a claim whose outcome
		// could not be recorded expires with its lease.
		delete(d.held, id)
	}
	d.mu.Unlock()
	if !ok || tok == (token{}) {
		return fmt.Errorf("%w: %s webhook %q, which this deduper has not claimed", ErrClaimLost, verb, id)
	}
	tag, err := d.pool.Exec(ctx, sql, []byte(id), tok.uuid())
	if err != nil {
		return fmt.Errorf("postgres: %s webhook %q: %w", verb, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s webhook %q: its lease ran out and another delivery took it over", ErrClaimLost, verb, id)
	}
	return nil
}

// Prune deletes completed ids older than the retention, and claims
// abandoned as long ago, up to limit rows (at least 1), and returns how
// many it deleted. Claim prunes by itself at most once a minute, a batch
// at a time; call Prune to work off a backlog at a time of your choosing.
func (d *WebhookDeduper) Prune(ctx context.Context, limit int) (int64, error) {
	if d == nil || d.held == nil {
		return 0, errNoDeduper
	}
	tag, err := d.pool.Exec(ctx, d.pruneSQL, d.retention, max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("postgres: pruning webhook deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

// maybePrune prunes a batch if a minute has passed since this deduper last
// did. A failure is not the delivery's concern: the next minute tries again.
func (d *WebhookDeduper) maybePrune(ctx context.Context) {
	now := time.Now().UnixNano()
	if now-d.lastPrune.Load() < int64(pruneEvery) || !d.pruning.CompareAndSwap(false, true) {
		return
	}
	defer d.pruning.Store(false)
	d.lastPrune.Store(now)
	_, _ = d.Prune(ctx, pruneBatch)
}

var errNoDeduper = errors.New("postgres: the deduper was not created with NewWebhookDeduper")
