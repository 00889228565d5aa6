package postgres

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// DefaultSchema is the schema that holds the tables unless WithSchema names
// another.
const DefaultSchema = "alguna"

// Option configures Migrate, NewWebhookDeduper and NewOutbox. WithSchema
// applies to all three; the others name the one they apply to, and any
// other refuses them.
type Option func(*config) error

type config struct {
	schema string
	// Deduper settings; zero means unset.
	lease, retention time.Duration
	// Outbox settings.
	noNotify bool
}

// WithSchema puts the tables in the named schema instead of "alguna". Give
// Migrate, NewWebhookDeduper and NewOutbox the same schema. One database
// may hold several schemas, each with its own outbox and its own relays.
func WithSchema(name string) Option {
	return func(c *config) error {
		switch {
		case name == "":
			return errors.New("WithSchema: the schema name is empty")
		case len(name) > maxIdentifier:
			return fmt.Errorf("WithSchema: %q is longer than PostgreSQL's %d-byte names", name, maxIdentifier)
		case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
			return fmt.Errorf("WithSchema: %q is not a valid name", name)
		}
		c.schema = name
		return nil
	}
}

// WithClaimLease sets how long a webhook claim lasts before another delivery
// of the id may take it over: longer than a callback ever runs, and by
// default DefaultClaimLease. NewWebhookDeduper only.
func WithClaimLease(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("WithClaimLease: the lease must be at least 1ms, got %s", d)
		}
		c.lease = d
		return nil
	}
}

// WithRetention sets how long a completed webhook id is remembered: longer
// than Alguna goes on retrying a delivery, and by default DefaultRetention.
// NewWebhookDeduper only.
func WithRetention(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("WithRetention: the retention must be at least 1s, got %s", d)
		}
		c.retention = d
		return nil
	}
}

// WithoutNotify makes Outbox.Add record events without notifying the relays
// on commit; they then find new rows by polling (RelayOptions.PollInterval,
// which you will want shorter). PostgreSQL serializes the commits of
// transactions that NOTIFY (a lock taken at commit), which bounds how many
// transactions that add events can commit each second; without it, delivery
// waits for the next poll instead. NewOutbox only.
func WithoutNotify() Option {
	return func(c *config) error {
		c.noNotify = true
		return nil
	}
}

// maxIdentifier is PostgreSQL's limit on a name, in bytes (NAMEDATALEN-1).
const maxIdentifier = 63

// newConfig applies opts for caller, refusing those meant for another.
func newConfig(caller string, opts []Option) (*config, error) {
	c := &config{schema: DefaultSchema}
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("nil Option"))
			continue
		}
		if err := o(c); err != nil {
			errs = append(errs, err)
		}
	}
	if caller != "NewWebhookDeduper" && (c.lease != 0 || c.retention != 0) {
		errs = append(errs, errors.New("WithClaimLease and WithRetention apply to NewWebhookDeduper only"))
	}
	if caller != "NewOutbox" && c.noNotify {
		errs = append(errs, errors.New("WithoutNotify applies to NewOutbox only"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", caller, err)
	}
	return c, nil
}

// table is the quoted, schema-qualified name of one of the tables.
func (c *config) table(name string) string {
	return pgx.Identifier{c.schema, name}.Sanitize()
}
