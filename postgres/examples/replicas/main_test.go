package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/postgres/postgrestest"
)

// TestWalkthrough runs the example against a throwaway PostgreSQL server:
// usage through both replicas is delivered once each, the depletion webhook
// runs its callback once however often it is delivered, and the second
// replica's relay takes over when the first stops. The run's schema is
// dropped at the end.
func TestWalkthrough(t *testing.T) {
	pg := postgrestest.New(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-dsn", pg.DSN}, &out, &errOut)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	got := out.String()
	t.Log("\n" + got)

	require.Regexp(t, `3\. 12 metered calls through the load balancer: 6 served by replica-a, 6 by replica-b`, got)
	require.Regexp(t, `4\. replica-[ab]'s relay sent them .*; Alguna holds 12 events`, got)
	require.Regexp(t, `5\. the credits ran out: Alguna sent account\.credits\.balance_depleted once, and replica-[ab] handled it`, got)
	require.Contains(t, got, "6. the same delivery again, to both replicas at once: answered 204 and 204; the callback ran 1 time(s) in all")
	require.Regexp(t, `7\. replica-[ab] stopped; 6 more calls went to the other replica, whose relay took over: Alguna holds 18 events, each once`, got)
	require.Contains(t, got, "8. done: 0 events left in the outbox")
	// The replica that stopped is the one that was sending.
	sender := regexp.MustCompile(`4\. (replica-[ab])'s relay`).FindStringSubmatch(got)[1]
	require.Contains(t, got, "7. "+sender+" stopped")

	conn, err := pgx.Connect(context.Background(), pg.DSN)
	require.NoError(t, err)
	defer func() { require.NoError(t, conn.Close(context.Background())) }()
	var left int
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'alguna_example_%'").Scan(&left))
	require.Zero(t, left, "the run's schema is dropped")
	require.False(t, strings.Contains(errOut.String(), "level=ERROR"), "errors logged:\n%s", errOut.String())
}

// TestNeedsADSN: without a server to use, the example says how to give one.
func TestNeedsADSN(t *testing.T) {
	t.Setenv("ALGUNA_POSTGRES_DSN", "")
	t.Setenv("DATABASE_URL", "")
	var out, errOut bytes.Buffer
	require.Equal(t, exitUsage, run(context.Background(), nil, &out, &errOut))
	require.Contains(t, errOut.String(), "give -dsn, or set ALGUNA_POSTGRES_DSN or DATABASE_URL")
	require.Equal(t, exitUsage, run(context.Background(), []string{"-nope"}, &out, &errOut))
}
