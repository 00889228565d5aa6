package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/postgres"
)

// TestMigrateConcurrentAndIdempotent: replicas starting together migrate
// one fresh schema at once without a race, and a later run changes nothing.
func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	schema := schemaName(t) + ` "quoted" name`
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = postgres.Migrate(ctx, pool, postgres.WithSchema(schema))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "run %d", i)
	}
	require.NoError(t, postgres.Migrate(ctx, pool, postgres.WithSchema(schema)))

	rows, err := pool.Query(ctx, "SELECT version, name FROM "+table(schema, "alguna_migrations")+" ORDER BY version")
	require.NoError(t, err)
	type step struct {
		Version int
		Name    string
	}
	steps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[step])
	require.NoError(t, err)
	require.Equal(t, []step{{1, "0001_init.sql"}}, steps, "each step is applied once")

	rows, err = pool.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", schema)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"alguna_migrations", "usage_outbox", "usage_outbox_failed", "webhook_deliveries"}, tables)
}

// TestMigrateExistingSchemaWithoutCreate: a role that may not create
// schemas in the database (no role may, by default), but owns the schema,
// can still migrate it.
func TestMigrateExistingSchemaWithoutCreate(t *testing.T) {
	admin := newPool(t)
	ctx := context.Background()
	name := schemaName(t)
	role := name + "_role"
	quotedRole, quotedSchema := pgx.Identifier{role}.Sanitize(), pgx.Identifier{name}.Sanitize()
	for _, stmt := range []string{
		"CREATE ROLE " + quotedRole + " LOGIN",
		"CREATE SCHEMA " + quotedSchema + " AUTHORIZATION " + quotedRole,
	} {
		_, err := admin.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP SCHEMA " + quotedSchema + " CASCADE", "DROP ROLE " + quotedRole} {
			_, err := admin.Exec(context.Background(), stmt)
			require.NoError(t, err, stmt)
		}
	})
	cfg := admin.Config().Copy()
	cfg.ConnConfig.User = role
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, postgres.Migrate(ctx, pool, postgres.WithSchema(name)))
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+table(name, "usage_outbox")))

	err = postgres.Migrate(ctx, pool, postgres.WithSchema(name+"_new"))
	require.ErrorContains(t, err, "permission denied", "a role without CREATE cannot make a new schema")
}

// TestMigrateOptions: bad options are refused before any work.
func TestMigrateOptions(t *testing.T) {
	require.ErrorContains(t, postgres.Migrate(context.Background(), nil), "pool is nil")
	require.ErrorContains(t, postgres.Migrate(context.Background(), newPool(t), postgres.WithSchema("")), "empty")
	require.ErrorContains(t, postgres.Migrate(context.Background(), newPool(t), postgres.WithRetention(0)), "at least 1s")
}
