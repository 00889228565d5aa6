package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCommand runs the command as main does and returns its exit status and
// what it printed.
func runCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCommandRunsTheGuide is the README's first command: no flags, the
// bundled fake, the eight steps, exit 0.
func TestCommandRunsTheGuide(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	t.Setenv("SESSION_KEY", "")
	code, stdout, stderr := runCommand(t)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "8. Portal")
	require.True(t, strings.HasSuffix(stdout, "All eight steps of the guide done.\n"), stdout)
	require.Empty(t, stderr)
}

func TestCommandHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, arg)
			require.Equal(t, exitOK, code)
			require.Empty(t, stderr)
			require.True(t, strings.HasPrefix(stdout, "Usage: trial-to-upgrade [flags]\n"), stdout)
			for _, s := range []string{"-serve", "-addr host:port", "-public-url URL", "-v", "SESSION_KEY", "ALGUNA_API_KEY", "ALGUNA_WEBHOOK_SECRET"} {
				require.Contains(t, stdout, s)
			}
		})
	}
}

// TestCommandRefusesBadFlags: one line on stderr, exit status 2, and
// nothing started.
func TestCommandRefusesBadFlags(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-x"}, "flag provided but not defined: -x"},
		{"bad boolean", []string{"-serve=maybe"}, `invalid boolean value "maybe" for -serve`},
		{"missing value", []string{"-addr"}, "flag needs an argument: -addr"},
		{"address without a port", []string{"-addr", "localhost"}, `invalid value "localhost" for -addr: want host:port`},
		{"port out of range", []string{"-addr", "127.0.0.1:65536"}, `invalid value "127.0.0.1:65536" for -addr`},
		{"port not a number", []string{"-addr", "127.0.0.1:http"}, `invalid value "127.0.0.1:http" for -addr`},
		{"public URL not absolute", []string{"-public-url", "app.example.com"}, `invalid value "app.example.com" for -public-url: want an absolute http or https URL`},
		{"public URL of another scheme", []string{"-public-url", "ftp://app.example.com"}, `invalid value "ftp://app.example.com" for -public-url`},
		{"public URL with a query", []string{"-public-url", "https://app.example.com/?a=b"}, `for -public-url`},
		{"public URL with a line break", []string{"-public-url", "https://app.example.com\nX-Evil: 1"}, `invalid value "https://app.example.com\nX-Evil: 1" for -public-url`},
		{"invalid UTF-8", []string{"-addr", "\xff:80"}, `invalid value "\xff:80" for -addr`},
		{"an argument", []string{"serve"}, `unexpected argument "serve"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, tc.args...)
			require.Equal(t, exitUsage, code)
			require.Empty(t, stdout, "something started")
			require.Equal(t, 1, strings.Count(stderr, "\n"), "not one line: %q", stderr)
			require.True(t, strings.HasPrefix(stderr, "trial-to-upgrade: "), stderr)
			require.Contains(t, stderr, tc.want)
			require.True(t, strings.HasSuffix(stderr, "; see trial-to-upgrade -h\n"), stderr)
		})
	}
}

// TestCommandRefusesBadEnvironment: a setting the app cannot run with is
// refused with one line, before anything starts.
func TestCommandRefusesBadEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"short session key", map[string]string{"SESSION_KEY": "00112233"}, "trial-to-upgrade: SESSION_KEY is 4 bytes; it must be at least 32"},
		{"session key not hex", map[string]string{"SESSION_KEY": strings.Repeat("z", 64)}, "trial-to-upgrade: SESSION_KEY must be hex"},
		{"real Alguna without a webhook secret", map[string]string{"ALGUNA_API_KEY": "key", "ALGUNA_WEBHOOK_SECRET": ""}, "trial-to-upgrade: ALGUNA_WEBHOOK_SECRET is required with ALGUNA_API_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ALGUNA_API_KEY", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCommand(t)
			require.Equal(t, exitFailed, code)
			require.Empty(t, stdout, "something started")
			require.Equal(t, 1, strings.Count(stderr, "\n"), "not one line: %q", stderr)
			require.True(t, strings.HasPrefix(stderr, tc.want), stderr)
		})
	}
}

func TestCheckAddr(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", ":8080", "localhost:8080", "app-1.internal:443", "[::1]:8080", "[fe80::1%eth0]:80", "0.0.0.0:65535"} {
		require.NoError(t, checkAddr(addr), addr)
	}
	for _, addr := range []string{"", ":", "8080", "localhost", "host:-1", "host:65536", "host:http", "bad_host:80", "-host:80", "a..b:80", "\xff:80", "[::1:80", strings.Repeat("a", 64) + ":80"} {
		require.Error(t, checkAddr(addr), addr)
	}
}
