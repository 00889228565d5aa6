package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// Tests that need processes of their own (so that SIGKILL is real) run
// this test binary again with childEnv naming the role; TestMain then runs
// the role instead of the tests.
const childEnv = "ALGUNA_POSTGRES_TEST_CHILD"

// childConfig is what a child process is told, through its environment.
type childConfig struct {
	DSN, Schema, Name string // Name: the application_name of its sessions
	AlgunaURL, APIKey string
	EventsPerSecond   float64
	Lease             time.Duration
}

func (c childConfig) env() []string {
	return append(os.Environ(),
		childEnv+"=relay",
		"CHILD_DSN="+c.DSN,
		"CHILD_SCHEMA="+c.Schema,
		"CHILD_NAME="+c.Name,
		"CHILD_ALGUNA_URL="+c.AlgunaURL,
		"CHILD_API_KEY="+c.APIKey,
		"CHILD_EVENTS_PER_SECOND="+strconv.FormatFloat(c.EventsPerSecond, 'g', -1, 64),
		"CHILD_LEASE="+c.Lease.String(),
	)
}

// child is a relay running in a process of its own.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
	err    error         // what Wait returned, once exited is closed
}

// startChild starts a relay in a process of its own. It is stopped with
// SIGTERM when t ends, and must then exit cleanly.
func startChild(t *testing.T, c childConfig) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), exited: make(chan struct{})}
	ch.cmd.Env = c.env()
	ch.cmd.Stdout, ch.cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, ch.cmd.Start())
	go func() {
		ch.err = ch.cmd.Wait()
		close(ch.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-ch.exited:
			return // killed by the test
		default:
		}
		_ = ch.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-ch.exited:
			if ch.err != nil {
				t.Errorf("relay %s: %v", c.Name, ch.err)
			}
		case <-time.After(30 * time.Second):
			_ = ch.cmd.Process.Kill()
			<-ch.exited
			t.Errorf("relay %s did not stop within 30s of SIGTERM", c.Name)
		}
	})
	return ch
}

// kill kills the child with SIGKILL and waits for it to exit.
func (ch *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, ch.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-ch.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the killed relay did not exit")
	}
}

// runChild runs a role and returns the exit status.
func runChild(role string) int {
	if role != "relay" {
		fmt.Fprintln(os.Stderr, "unknown child role", role)
		return 2
	}
	if err := runRelayChild(); err != nil {
		fmt.Fprintln(os.Stderr, "relay child:", err)
		return 1
	}
	return 0
}

// runRelayChild runs a relay until SIGTERM.
func runRelayChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rate, err := strconv.ParseFloat(os.Getenv("CHILD_EVENTS_PER_SECOND"), 64)
	if err != nil {
		return err
	}
	lease, err := time.ParseDuration(os.Getenv("CHILD_LEASE"))
	if err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(os.Getenv("CHILD_DSN"))
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = os.Getenv("CHILD_NAME")
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	client, err := alguna.NewClient(os.Getenv("CHILD_API_KEY"),
		alguna.WithBaseURL(os.Getenv("CHILD_ALGUNA_URL")), alguna.WithRetryWait(time.Millisecond, 50*time.Millisecond))
	if err != nil {
		return err
	}
	outbox, err := postgres.NewOutbox(pool, postgres.WithSchema(os.Getenv("CHILD_SCHEMA")))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return outbox.Relay(client, postgres.RelayOptions{MaxEventsPerSecond: rate, Lease: lease, Logger: logger}).Run(ctx)
}
