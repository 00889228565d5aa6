package postgrestest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/postgres/postgrestest"
)

// TestServer starts a server, runs a query on it, and checks that Close
// removes what Start made.
func TestServer(t *testing.T) {
	t.Setenv(postgrestest.EnvDSN, "")
	ctx := context.Background()
	s, err := postgrestest.Start(ctx)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, s.DSN)
	require.NoError(t, err)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&n))
	require.Equal(t, 42, n)
	var enc string
	require.NoError(t, conn.QueryRow(ctx, "SHOW server_encoding").Scan(&enc))
	require.Equal(t, "UTF8", enc)
	require.NoError(t, conn.Close(ctx))

	cfg, err := pgx.ParseConfig(s.DSN)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = os.Stat(cfg.Host)
	require.ErrorIs(t, err, os.ErrNotExist, "Close must remove the server's directory")
	_, err = pgx.Connect(ctx, s.DSN)
	require.Error(t, err, "the server must be stopped after Close")
}

// TestServerDurable: Durable keeps PostgreSQL's fsync and synchronous
// commits, which the default turns off.
func TestServerDurable(t *testing.T) {
	t.Setenv(postgrestest.EnvDSN, "")
	ctx := context.Background()
	for _, tc := range []struct {
		opts []postgrestest.Option
		want string
	}{{nil, "off"}, {[]postgrestest.Option{postgrestest.Durable()}, "on"}} {
		s := postgrestest.New(t, tc.opts...)
		conn, err := pgx.Connect(ctx, s.DSN)
		require.NoError(t, err)
		for _, setting := range []string{"fsync", "synchronous_commit"} {
			var v string
			require.NoError(t, conn.QueryRow(ctx, "SHOW "+setting).Scan(&v))
			require.Equal(t, tc.want, v, setting)
		}
		require.NoError(t, conn.Close(ctx))
	}
}

// TestServerFromEnv hands out the server EnvDSN names, untouched.
func TestServerFromEnv(t *testing.T) {
	t.Setenv(postgrestest.EnvDSN, "postgres://example.invalid/db")
	s, err := postgrestest.Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, "postgres://example.invalid/db", s.DSN)
	require.NoError(t, s.Close())
}
