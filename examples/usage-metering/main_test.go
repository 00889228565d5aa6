package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCommand runs the command as main does and returns its exit status and
// what it printed.
func runCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestMeteringThroughFaults sends events through a fake that fails a tenth
// of the requests: every event must arrive, exactly once.
func TestMeteringThroughFaults(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	code, out, stderr := runCommand(t, "-n", "3000", "-faults", "0.1")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	require.Contains(t, out, "3000 ingested, 0 failed")
	require.Contains(t, out, "the fake holds 3000 distinct events; units left on the account: 3000")
}

// TestMeteringWithSpool meters through the disk spool; it must end empty.
func TestMeteringWithSpool(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	dir := t.TempDir()
	code, out, stderr := runCommand(t, "-n", "2000", "-producers", "8", "-spool", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	require.Contains(t, out, "2000 ingested, 0 failed")
	require.Contains(t, out, "spool: 0 events replayed from an earlier run, 0 kept for the next")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotEqual(t, ".seg", filepath.Ext(e.Name()), "segment %s left behind", e.Name())
	}
}

// TestProgressIsPlainLinesOffATerminal: output to a file or a pipe gets whole
// lines, no carriage returns, and the last progress line counts what was
// ingested, not merely enqueued.
func TestProgressIsPlainLinesOffATerminal(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	code, out, stderr := runCommand(t, "-n", "1500", "-faults", "0")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	require.NotContains(t, out, "\r")
	var progress []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "progress: ") {
			progress = append(progress, l)
		}
	}
	require.NotEmpty(t, progress, out)
	require.Regexp(t, `^progress: 1500/1500 ingested, 1500 enqueued, 0 pending, 0 failed, \d+ retried, \d+ events/s$`, progress[len(progress)-1])
}

// TestProgressOnATerminal rewrites one line, and ends it before the summary.
func TestProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	st := progressStats{total: 10, ingested: 4, enqueued: 7, pending: 3}
	writeProgress(&out, st, true, false)
	writeProgress(&out, progressStats{total: 10, ingested: 10, enqueued: 10}, true, true)
	require.Equal(t, "\r4/10 ingested, 7 enqueued, 3 pending, 0 failed, 0 retried, 0 events/s\x1b[K"+
		"\r10/10 ingested, 10 enqueued, 0 pending, 0 failed, 0 retried, 0 events/s\x1b[K\n", out.String())
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, arg)
			require.Equal(t, exitOK, code)
			require.Empty(t, stderr)
			require.True(t, strings.HasPrefix(stdout, "Usage: usage-metering [flags]\n"), stdout)
			for _, s := range []string{"-n count", "-producers", "-faults", "-close-within", "-spool", "-account", "ALGUNA_API_KEY", "ALGUNA_BASE_URL"} {
				require.Contains(t, stdout, s)
			}
		})
	}
}

// TestBadFlags: one line on stderr, exit status 2, and nothing started.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		real bool // with ALGUNA_API_KEY set
		want string
	}{
		{"unknown flag", []string{"-x"}, false, "flag provided but not defined: -x"},
		{"not a number", []string{"-n", "many"}, false, `invalid value "many" for flag -n`},
		{"negative count", []string{"-n", "-1"}, false, "-n must be between 0 and 1000000000"},
		{"huge count", []string{"-n", "9223372036854775807"}, false, "-n must be between 0 and 1000000000"},
		{"count past int", []string{"-n", "99999999999999999999"}, false, `invalid value "99999999999999999999" for flag -n`},
		{"no producers", []string{"-producers", "0"}, false, "-producers must be between 1 and 1024"},
		{"too many producers", []string{"-producers", "1000000"}, false, "-producers must be between 1 and 1024"},
		{"faults above 1", []string{"-faults", "2"}, false, "-faults must be at least 0 and less than 1"},
		{"faults of 1", []string{"-faults", "1"}, false, "-faults must be at least 0 and less than 1"},
		{"negative faults", []string{"-faults", "-1"}, false, "-faults must be at least 0 and less than 1"},
		{"NaN faults", []string{"-faults", "NaN"}, false, "-faults must be at least 0 and less than 1"},
		{"infinite faults", []string{"-faults", "+Inf"}, false, "-faults must be at least 0 and less than 1"},
		{"no time to close", []string{"-close-within", "0s"}, false, "-close-within must be positive"},
		{"negative time to close", []string{"-close-within", "-1s"}, false, "-close-within must be positive"},
		{"time without a unit", []string{"-close-within", "30"}, false, `invalid value "30" for flag -close-within`},
		{"an argument", []string{"200"}, false, `unexpected argument "200"`},
		{"account on the fake", []string{"-account", "acc_1"}, false, "-account names an account of a real Alguna"},
		{"faults on a real Alguna", []string{"-account", "acc_1", "-faults", "0.1"}, true, "-faults applies only to the bundled fake"},
		{"no account on a real Alguna", nil, true, "-account is required with ALGUNA_API_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := ""
			if tc.real {
				key = "not-used"
			}
			t.Setenv("ALGUNA_API_KEY", key)
			code, stdout, stderr := runCommand(t, tc.args...)
			require.Equal(t, exitUsage, code, "stderr: %s", stderr)
			require.Empty(t, stdout, "something started")
			require.Equal(t, 1, strings.Count(stderr, "\n"), "not one line: %q", stderr)
			require.True(t, strings.HasPrefix(stderr, "usage-metering: "), stderr)
			require.Contains(t, stderr, tc.want)
			require.True(t, strings.HasSuffix(stderr, "; see usage-metering -h\n"), stderr)
		})
	}
}
