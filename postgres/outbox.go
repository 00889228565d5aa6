package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alguna/alguna-go"
)

// notifyChannel is the channel Add notifies on commit; the payload is the
// schema, so that relays of other schemas in the database ignore it.
const notifyChannel = "alguna_usage_outbox"

// Outbox records usage events in the caller's transactions, in the
// usage_outbox table that Migrate creates, for a Relay to deliver: usage is
// recorded if and only if the business work commits, and it survives any
// process, since it lives in the database.
//
// Events Alguna refuses for good are moved to the usage_outbox_failed table
// (id, payload, created_at, failed_at, reason), where payload is the
// event's JSON as it was sent.
//
// Safe for concurrent use. Create it with NewOutbox after Migrate.
type Outbox struct {
	pool   *pgxpool.Pool
	cfg    *config
	schema string

	addSQL, pendingSQL string
}

// NewOutbox returns the outbox in the schema (WithSchema; DefaultSchema by
// default). Its relays connect through pool. Options: WithSchema,
// WithoutNotify.
func NewOutbox(pool *pgxpool.Pool, opts ...Option) (*Outbox, error) {
	if pool == nil {
		return nil, errors.New("postgres: NewOutbox: pool is nil")
	}
	c, err := newConfig("NewOutbox", opts)
	if err != nil {
		return nil, err
	}
	t := c.table("usage_outbox")
	o := &Outbox{pool: pool, cfg: c, schema: c.schema, pendingSQL: `SELECT count(*) FROM ` + t}
	insert := `INSERT INTO ` + t + ` (payload)
		SELECT p FROM unnest($1::bytea[]) WITH ORDINALITY AS e (p, n) ORDER BY n`
	if c.noNotify {
		o.addSQL = insert
	} else {
		// One round trip; the notification is sent only if the transaction
		// commits. The data-modifying CTE runs although nothing reads it.
		o.addSQL = `WITH added AS (` + insert + `) SELECT pg_notify('` + notifyChannel + `', $2)`
	}
	return o, nil
}

// Add records events in tx, the caller's transaction: they are delivered
// once tx commits, and never if it rolls back.
//
// Each event is validated exactly as alguna.Batcher's Enqueue validates it,
// and given its uniqueId and timestamp now, once, so that every attempt to
// deliver it sends the same event (Alguna counts a uniqueId once). Add is
// all or nothing: if any event is invalid it returns an
// *alguna.ValidationError naming each problem by index, sends nothing to
// the database, and leaves tx as it was. When the events are passed as a
// slice (Add(ctx, tx, events...)), their UniqueID and Timestamp are filled
// in that slice, as EnqueueMany does.
//
// Each event is stored as the exact bytes the SDK sends, so that no event
// Enqueue would accept can make the insert fail and abort tx. A database
// error (the connection lost, ctx ended) does abort tx, as any statement's
// would.
func (o *Outbox) Add(ctx context.Context, tx pgx.Tx, events ...alguna.Event) error {
	if o == nil || o.pool == nil {
		return errNoOutbox
	}
	if tx == nil {
		return errors.New("postgres: Outbox.Add: tx is nil")
	}
	if len(events) == 0 {
		return nil
	}
	payloads := make([][]byte, len(events))
	prepared := make([]alguna.Event, len(events))
	var problems []string
	for i := range events {
		// Prepared on a copy: the caller's events change only if all are
		// valid.
		prepared[i] = events[i]
		p, err := prepared[i].Prepare()
		if err != nil {
			var ve *alguna.ValidationError
			if !errors.As(err, &ve) {
				return err
			}
			for _, msg := range ve.Problems {
				problems = append(problems, fmt.Sprintf("events[%d]: %s", i, msg))
			}
			continue
		}
		payloads[i] = p
	}
	if len(problems) > 0 {
		return &alguna.ValidationError{Problems: problems}
	}
	args := []any{payloads}
	if !o.cfg.noNotify {
		args = append(args, o.schema)
	}
	if _, err := tx.Exec(ctx, o.addSQL, args...); err != nil {
		return fmt.Errorf("postgres: adding %d usage events to the outbox: %w", len(events), err)
	}
	for i := range events {
		events[i].UniqueID, events[i].Timestamp = prepared[i].UniqueID, prepared[i].Timestamp
	}
	return nil
}

// Pending returns the number of events in the outbox: waiting to be sent,
// or being sent now.
func (o *Outbox) Pending(ctx context.Context) (int64, error) {
	if o == nil || o.pool == nil {
		return 0, errNoOutbox
	}
	var n int64
	if err := o.pool.QueryRow(ctx, o.pendingSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: counting the outbox: %w", err)
	}
	return n, nil
}

var errNoOutbox = errors.New("postgres: the outbox was not created with NewOutbox")
