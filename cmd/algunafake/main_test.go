package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain runs the real main when the test binary is re-executed by
// TestSignals, so that signal handling is tested in a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv("ALGUNAFAKE_RUN_MAIN") == "1" {
		os.Args = append([]string{"algunafake"}, strings.Fields(os.Getenv("ALGUNAFAKE_ARGS"))...)
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// banner reads the startup lines up to "Stop with Ctrl+C." and returns the
// NAME=value settings among them.
func banner(t *testing.T, r io.Reader) (map[string]string, *bufio.Scanner) {
	t.Helper()
	settings := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if name, value, ok := strings.Cut(line, "="); ok && strings.HasPrefix(name, "ALGUNA_") {
			settings[name] = value
		}
		if line == "Stop with Ctrl+C." {
			return settings, sc
		}
	}
	t.Fatalf("no banner: %v", sc.Err())
	return nil, nil
}

func createAccount(t *testing.T, baseURL, apiKey string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/accounts", strings.NewReader(`{"name":"Acme"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestRunServesUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-api-key", "sk_test_cli", "-metric", "minutes:sum:duration",
			"-webhook", "http://127.0.0.1:9/hooks"}, w, io.Discard)
		_ = w.Close()
	}()

	settings, rest := banner(t, out)
	require.Equal(t, "sk_test_cli", settings["ALGUNA_API_KEY"])
	require.True(t, strings.HasPrefix(settings["ALGUNA_WEBHOOK_SECRET"], "whsec_"))
	require.True(t, strings.HasPrefix(settings["ALGUNA_BASE_URL"], "http://127.0.0.1:"))
	require.Equal(t, http.StatusCreated, createAccount(t, settings["ALGUNA_BASE_URL"], "sk_test_cli"))
	require.Equal(t, http.StatusUnauthorized, createAccount(t, settings["ALGUNA_BASE_URL"], "sk_test_other"))

	cancel()
	var tail []string
	for rest.Scan() {
		tail = append(tail, rest.Text())
	}
	require.NoError(t, <-done)
	require.Equal(t, []string{"Stopped."}, tail)
}

func TestRunRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stray argument", []string{"serve"}, "unexpected arguments: serve"},
		{"unknown flag", []string{"-port", "1"}, "flag provided but not defined"},
		{"bad metric", []string{"-metric", "a:b:c:d"}, "want event[:aggregation:property]"},
		{"unknown aggregation", []string{"-metric", "minutes:median:duration"}, `unknown Metric.Aggregation "median"`},
		{"sum without property", []string{"-metric", "minutes:sum"}, "Property is required"},
		{"relative webhook", []string{"-webhook", "/hooks"}, "absolute http or https URL"},
		{"bad secret", []string{"-webhook-secret", "whsec_***"}, "not valid base64"},
		{"bad address", []string{"-addr", "8080"}, "listen address"},
		{"bad public URL", []string{"-public-url", "localhost:8089"}, "public URL"},
		{"rate not a number", []string{"-events-per-second", "fast"}, `invalid value "fast" for flag -events-per-second: want a number, zero or more`},
		{"negative rate", []string{"-requests-per-second", "-1"}, `invalid value "-1" for flag -requests-per-second`},
		{"NaN rate", []string{"-requests-per-second", "NaN"}, "want a number, zero or more"},
		{"infinite rate", []string{"-events-per-second", "+Inf"}, "want a number, zero or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, tt.args...), io.Discard, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRunWithRateLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-api-key", "sk_test_cli", "-requests-per-second", "1", "-events-per-second", "1000"}, w, io.Discard)
		_ = w.Close()
	}()
	settings, rest := banner(t, out)
	require.Equal(t, http.StatusCreated, createAccount(t, settings["ALGUNA_BASE_URL"], "sk_test_cli"))
	require.Equal(t, http.StatusTooManyRequests, createAccount(t, settings["ALGUNA_BASE_URL"], "sk_test_cli"))
	cancel()
	for rest.Scan() {
	}
	require.NoError(t, <-done)
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), []string{"-h"}, &stdout, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Empty(t, stderr.String())
	for _, want := range []string{"Usage: algunafake [flags]", "-events-per-second", "-requests-per-second", "-metric", "-webhook"} {
		require.Contains(t, stdout.String(), want)
	}
}

// What a shell sees: -h succeeds with the usage on stdout; a mistake is one
// line on stderr and status 2.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   string
		status int
		stdout string
		stderr []string // whole lines
	}{
		{"help", "-h", 0, "Usage: algunafake [flags]", nil},
		{"help, long form", "-help", 0, "-requests-per-second", nil},
		{"bad value", "-events-per-second lots", 2, "", []string{
			`algunafake: invalid value "lots" for flag -events-per-second: want a number, zero or more (algunafake -h lists the flags)`}},
		{"unknown flag", "-port 8080", 2, "", []string{
			"algunafake: flag provided but not defined: -port (algunafake -h lists the flags)"}},
		{"stray argument", "-addr 127.0.0.1:0 serve", 2, "", []string{"algunafake: unexpected arguments: serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "ALGUNAFAKE_RUN_MAIN=1", "ALGUNAFAKE_ARGS="+tt.args, "GORACE=atexit_sleep_ms=0")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				status = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.status, status, "stderr: %s", stderr.String())
			require.Contains(t, stdout.String(), tt.stdout)
			var lines []string
			if e := strings.TrimSuffix(stderr.String(), "\n"); e != "" {
				lines = strings.Split(e, "\n")
			}
			require.Equal(t, tt.stderr, lines)
		})
	}
}

// The built program stops cleanly, with status 0, on SIGINT and SIGTERM.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			// GORACE: a -race binary otherwise sleeps a second at exit.
			cmd.Env = append(os.Environ(), "ALGUNAFAKE_RUN_MAIN=1", "ALGUNAFAKE_ARGS=-addr 127.0.0.1:0", "GORACE=atexit_sleep_ms=0")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			settings, rest := banner(t, stdout)
			require.Equal(t, http.StatusCreated, createAccount(t, settings["ALGUNA_BASE_URL"], settings["ALGUNA_API_KEY"]))

			require.NoError(t, cmd.Process.Signal(sig))
			var tail []string
			for rest.Scan() {
				tail = append(tail, rest.Text())
			}
			require.NoError(t, cmd.Wait(), "exit status")
			require.Equal(t, []string{"Stopped."}, tail, fmt.Sprint(sig))
		})
	}
}
