package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one step of the schema, numbered from 1.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded steps in order. Their names are
// "NNNN_what.sql"; a step is never edited once released, only followed by
// a new one.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s is not named NNNN_what.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return out, nil
}

// Advisory lock keys, as (class, key) pairs: the class is this package's,
// the key a hash of what the lock guards.
const lockClass = 0x616c6775 // "algu"

// Migrate creates the tables, or brings them up to date, in the schema
// (DefaultSchema unless WithSchema names another), which it creates if
// missing. It is idempotent and safe to run from every replica at once:
// it works in one transaction under an advisory lock, so concurrent runs
// wait for each other and the later ones find nothing to do. A database
// migrated by a newer version of this package is left as it is.
//
// The role needs CREATE on the database to create the schema, or CREATE on
// an existing schema.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	if pool == nil {
		return errors.New("postgres: Migrate: pool is nil")
	}
	c, err := newConfig("Migrate", opts)
	if err != nil {
		return err
	}
	steps, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: Migrate: %w", err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return c.migrate(ctx, tx, steps)
	})
	if err != nil {
		return fmt.Errorf("postgres: migrating schema %q: %w", c.schema, err)
	}
	return nil
}

func (c *config) migrate(ctx context.Context, tx pgx.Tx, steps []migration) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext('migrate:' || $2))", lockClass, c.schema); err != nil {
		return err
	}
	// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
	// the schema exists; a role that only owns the schema must get by.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", c.schema).Scan(&exists); err != nil {
		return err
	}
	schema := pgx.Identifier{c.schema}.Sanitize()
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
	}
	versions := c.table("alguna_migrations")
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+versions+` (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+versions).Scan(&current); err != nil {
		return err
	}
	for _, m := range steps {
		if m.version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "{{schema}}", schema)); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+versions+" (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return err
		}
	}
	return nil
}
