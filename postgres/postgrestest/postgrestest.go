// Package postgrestest runs a throwaway PostgreSQL server for tests, the way
// net/http/httptest runs an HTTP server: a fresh cluster in a temporary
// directory, reachable over a Unix socket there, removed on Close.
//
// It needs PostgreSQL's server programs (initdb and postgres; on Debian and
// Ubuntu the postgresql package). PostgreSQL refuses to run as root, so when
// the test runs as root the cluster belongs to the "postgres" user, or to
// "nobody" where there is none. Setting ALGUNA_POSTGRES_DSN (EnvDSN) skips
// all of that and hands out the given server instead.
//
// The cluster is tuned for tests, not for keeping data: fsync is off, so a
// crash of the machine may lose what it holds (Durable turns it back on).
package postgrestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// EnvDSN names the environment variable that points tests at an existing
// server instead of a throwaway one, e.g.
// "postgres://user:pass@localhost:5432/test?sslmode=disable".
const EnvDSN = "ALGUNA_POSTGRES_DSN"

// startTimeout bounds initdb and the server's start-up together.
const startTimeout = 2 * time.Minute

// Server is a running PostgreSQL server.
type Server struct {
	// DSN connects to the server's "postgres" database as a superuser.
	DSN string

	dir     string // the temporary directory; empty for a server from EnvDSN
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the server process has exited
	waitErr error
}

// Option configures Start and New.
type Option func(*options)

type options struct {
	durable bool
}

// Durable keeps PostgreSQL's own durability settings (fsync,
// synchronous_commit, full_page_writes), which the server otherwise turns
// off for speed: for benchmarks that must pay for commits what production
// pays. It has no effect on a server from EnvDSN.
func Durable() Option {
	return func(o *options) { o.durable = true }
}

// New starts a server for tb, or fails tb with the reason, and stops it when
// tb ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(context.Background(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// Start starts a throwaway server, or returns the one EnvDSN names. Its
// error says what is missing when the server cannot be started.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return &Server{DSN: dsn}, nil
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	as, err := serverUser()
	if err != nil {
		return nil, err
	}
	// A short path: a Unix socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "alguna-pg-")
	if err != nil {
		return nil, fmt.Errorf("postgrestest: %w", err)
	}
	s := &Server{dir: dir}
	if err := s.start(ctx, bin, as, o); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string, as *runAs, o options) error {
	if err := as.own(s.dir); err != nil {
		return fmt.Errorf("postgrestest: handing %s to the server's user: %w", s.dir, err)
	}
	data := filepath.Join(s.dir, "data")
	//nolint:gosec // G204: the program is PostgreSQL's, found by findBinaries; the arguments are fixed
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Env = serverEnv()
	initdb.SysProcAttr = as.procAttr(false)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("postgrestest: initdb: %w\n%s", err, out)
	}

	logPath := filepath.Join(s.dir, "server.log")
	logFile, err := os.Create(logPath) //nolint:gosec // G304: a file in the directory Start made
	if err != nil {
		return fmt.Errorf("postgrestest: %w", err)
	}
	// The server holds its own copy of the descriptor.
	defer func() { _ = logFile.Close() }()
	args := []string{"-D", data, "-k", s.dir,
		"-c", "listen_addresses=",
		"-c", "unix_socket_permissions=0777",
		"-c", "max_connections=300",
		"-c", "shared_buffers=64MB",
	}
	if !o.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	// Not ended by ctx: the server must outlive Start.
	//nolint:gosec // G204: as for initdb above
	s.cmd = exec.CommandContext(context.WithoutCancel(ctx), filepath.Join(bin, "postgres"), args...)
	s.cmd.Env = serverEnv()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = as.procAttr(true)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("postgrestest: starting postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	s.DSN = fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", s.dir)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgconn.Connect(ctx, s.DSN)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgrestest: postgres exited at start (%w)\n%s", s.waitErr, tail(logPath))
		case <-ctx.Done():
			return fmt.Errorf("postgrestest: postgres did not accept connections in time: %w\n%s", err, tail(logPath))
		case <-tick.C:
		}
	}
}

// Close stops the server and removes its directory. A server from EnvDSN is
// left as it is.
func (s *Server) Close() error {
	if s.dir == "" {
		return nil
	}
	var err error
	if s.exited != nil {
		// SIGINT is PostgreSQL's fast shutdown: sessions are ended at once.
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = errors.New("postgrestest: postgres did not stop within 30s and was killed")
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// findBinaries returns the directory holding initdb and postgres: the one
// on PATH, or else the newest of the packaged versions.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if target, err := filepath.EvalSymlinks(p); err == nil {
			p = target
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/opt/postgresql*/bin", "/opt/homebrew/opt/postgresql*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	// The newest version first: sorted by the version number in the path.
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("postgrestest: PostgreSQL's initdb was not found on PATH or under /usr/lib/postgresql; "+
		"install the server (Debian: apt-get install postgresql) or set %s to a server to use", EnvDSN)
}

// versionOf is the first number in a path such as /usr/lib/postgresql/15/bin.
func versionOf(path string) int {
	digits := strings.FieldsFunc(path, func(r rune) bool { return r < '0' || r > '9' })
	if len(digits) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(digits[0])
	return n
}

// serverEnv is the environment of initdb and postgres: this process's, in
// the C locale, with HOME where the server's user can read it.
func serverEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "PG")
	})
	return append(env, "LC_ALL=C", "HOME=/", "TZ=UTC")
}

// tail is the end of the server's log, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the server's log, in the directory Start made
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
