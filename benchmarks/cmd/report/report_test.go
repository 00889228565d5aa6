package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRun writes benchmark output in the testing package's format: each
// benchmark's value repeated over n runs with a little spread.
func fakeRun(n int, lines map[string]string) string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/alguna/alguna-go/benchmarks\ncpu: Test CPU\n")
	for i := range n {
		for name, metrics := range lines {
			// Scale the first metric slightly per run so samples differ.
			f := strings.Fields(metrics)
			var v float64
			if _, err := fmt.Sscan(f[0], &v); err != nil {
				panic(err)
			}
			f[0] = fmt.Sprint(v * (1 + float64(i)/1000))
			fmt.Fprintf(&b, "Benchmark%s-2 \t 1000\t %s\n", name, strings.Join(f, " "))
		}
	}
	return b.String()
}

func TestGoalsAndReport(t *testing.T) {
	raw := fakeRun(6, map[string]string{
		"Batching/client=alguna":                        "5000 ns/op 200000 events/s 1200 client-cpu-ns/event 700 B/op 3 allocs/op",
		"Batching/client=posthog":                       "10000 ns/op 90000 events/s 7000 client-cpu-ns/event 2600 B/op 22 allocs/op",
		"Batching/client=posthog-uncapped":              "10000 ns/op 95000 events/s 7000 client-cpu-ns/event 2600 B/op 22 allocs/op",
		"Batching/client=wire-limit":                    "4000 ns/op 250000 events/s 1000 client-cpu-ns/event 225 B/op 0 allocs/op",
		"Call/call=Accounts.Create/client=alguna":       "80000 ns/op 60000 client-cpu-ns/op 7500 B/op 98 allocs/op",
		"Call/call=Accounts.Create/client=hand-written": "75000 ns/op 58000 client-cpu-ns/op 7200 B/op 87 allocs/op",
		"Call/call=Invoices.List/client=alguna":         "900000 ns/op 500000 client-cpu-ns/op 19000 B/op 360 allocs/op",
		"Call/call=Invoices.List/client=hand-written":   "500000 ns/op 300000 client-cpu-ns/op 20000 B/op 210 allocs/op",
		"Call/call=Refunds.Create/client=alguna":        "100000 ns/op 70000 client-cpu-ns/op 7000 B/op 90 allocs/op",
		"Call/call=Refunds.Create/client=hand-written":  "100000 ns/op 70000 client-cpu-ns/op 7000 B/op 90 allocs/op",
		"Spool/producers=1":                             "0.9 of-disk-bound 4000 durable-events/s 1 events/fsync",
		"Spool/producers=16":                            "0.85 of-disk-bound 30000 durable-events/s 8 events/fsync",
		"Spool/producers=128":                           "0.7 of-disk-bound 130000 durable-events/s 64 events/fsync",
		"Spool/enqueue-many=100":                        "150000 durable-events/s 0.5 of-disk-bound 100 events/fsync",
		"RateLimit/pacing=off":                          "4.2 deliver-s 19 429-% 0 sent-in-hold/op 0 lost-events 1.0 min-wait-after-429-s 62 requests/op",
		"RateLimit/pacing=on":                           "4.1 deliver-s 1.9 429-% 0 sent-in-hold/op 0 lost-events 0.1 min-wait-after-429-s 51 requests/op",
		"Verify/size=1KiB/lib=alguna":                   "8000 ns/op 1944 B/op 16 allocs/op",
		"Verify/size=1KiB/lib=standardwebhooks":         "3500 ns/op 3024 B/op 17 allocs/op",
		"Verify/size=1KiB/lib=standardwebhooks+decode":  "10000 ns/op 4400 B/op 26 allocs/op",
		"Outbox/path=outbox":                            "20000 events/s 40 p50-ms 95 p99-ms 60 events/req 120 allocs/op",
		"Outbox/path=spool":                             "30000 events/s 55 p50-ms 70 p99-ms 80 events/req 30 allocs/op",
		"OutboxLatency/path=outbox":                     "300 events/s 3.2 p50-ms 6.5 p99-ms 1 events/req 200 allocs/op",
	})
	// One paced run sent a request during a hold: the goal is missed even
	// though the median is zero.
	raw += "BenchmarkRateLimit/pacing=on-2 \t 1\t 4.3 deliver-s 2.0 429-% 3 sent-in-hold/op 0 lost-events 0.1 min-wait-after-429-s 51 requests/op\n"
	r, err := parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !r.has("Batching/client=alguna") || r.has("Batching/client=alguna-2") {
		t.Fatal("names must be kept without the GOMAXPROCS suffix")
	}
	want := map[string]string{
		"Batcher events/s ÷ posthog-go events/s (its faster set-up)":                                                     "met",
		"Batcher client CPU per event (the sink in its own process)":                                                     "met",
		"Batcher events/s ÷ wire limit (pre-encoded poster, same run)":                                                   "**MISSED**",
		"`Verify` time ÷ Standard Webhooks `Verify`, 1KiB":                                                               "**MISSED**",
		"`Verify` allocs/op vs Standard Webhooks, 1KiB":                                                                  "met",
		"`Verify` time ÷ Standard Webhooks `Verify`, 64KiB":                                                              "not measured",
		"`Verify` time ÷ Standard Webhooks `Verify` + the same envelope decode (like for like), 1KiB":                    "met",
		"`Accounts.Create` time ÷ hand-written request":                                                                  "met",
		"`Invoices.List` time ÷ hand-written request":                                                                    "**MISSED**",
		"`Accounts.Get` time ÷ hand-written request":                                                                     "not measured",
		"`Refunds.Create` time ÷ hand-written request":                                                                   "met",
		"Spool, `Enqueue`, 1 producer: durable events/s ÷ what the disk's fsync rate allows at its group-commit size":    "met",
		"Spool, `Enqueue`, 16 producers: durable events/s ÷ what the disk's fsync rate allows at its group-commit size":  "met",
		"Spool, `Enqueue`, 128 producers: durable events/s ÷ what the disk's fsync rate allows at its group-commit size": "**MISSED**",
		"Spool, `EnqueueMany`, slices of 100, 1 goroutine: durable events/s":                                             "met",
		"At the limit, paced: share of requests answered 429":                                                            "met",
		"At the limit, paced: time to deliver 5000 events (ideal ≈ 4 s)":                                                 "met",
		"At the limit, unpaced: requests sent while a 429's Retry-After held":                                            "met",
		"At the limit, paced: requests sent while a 429's Retry-After held":                                              "**MISSED**",
		"At the limit, paced and unpaced: events lost":                                                                   "met",
	}
	got := map[string]string{}
	for _, g := range goals(r) {
		got[g.what] = g.status()
	}
	for what, status := range want {
		if got[what] != status {
			t.Errorf("%s: status %q, want %q", what, got[what], status)
		}
	}
	if q := r.ratio("Batching/client=alguna", "Batching/client=posthog", "events/s"); q.value < 2.2 || q.value > 2.23 || !q.significant() {
		t.Errorf("alguna/posthog ratio %+v, want about 2.22 and significant", q)
	}

	out := render(info{CPU: "Test CPU", Cores: 2, GoVersion: "go version test", Count: 6, Command: reproduce}, r)
	for _, s := range []string{
		"| Batcher events/s ÷ posthog-go events/s (its faster set-up) | ≥ 2.00× | 2.11× | met |",
		"| Batcher client CPU per event (the sink in its own process) | ≤ 1.30 µs | 1.20 µs | met |",
		"| `Invoices.List` | 902.25 µs | 501.25 µs | 1.80× |",
		"| `Refunds.Create` |",
		"## 4. The durable spool against the disk",
		"| `Enqueue`, 128 producers | 130.0 k | 64 |",
		"## 5. At Alguna's ingestion limit",
		"(most in a run: 3) |",
		"## 6. The PostgreSQL outbox beside the file spool",
		"| outbox (`postgres.Outbox.Add` in a transaction, commit notifies the relay) | 20.1 k | 40.00 ms | 95.00 ms | 60 | 120 |",
		"| Batcher with `SpoolDir` (`Enqueue` returns once fsynced) | 30.1 k | 55.00 ms |",
		"| outbox (`postgres.Outbox.Add` in a transaction, commit notifies the relay) | 301 | 3.20 ms | 6.50 ms | 1 | 200 |",
		"Test CPU", reproduce, "goal(s) missed",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// TestReportWithoutNewSections checks that results of an older run, which
// lack the newer comparisons, still render, saying what was not measured.
func TestReportWithoutNewSections(t *testing.T) {
	r, err := parse([]byte(fakeRun(3, map[string]string{
		"Batching/client=alguna": "5000 ns/op 200000 events/s 1200 client-cpu-ns/event 700 B/op 3 allocs/op",
	})))
	if err != nil {
		t.Fatal(err)
	}
	out := render(info{Count: 3, Command: reproduce}, r)
	if n := strings.Count(out, "Not measured in this run."); n != 3 {
		t.Errorf("%d sections say they were not measured, want 3 (calls, spool, rate limit)", n)
	}
	if !strings.Contains(out, "Not measured in this run: the outbox benchmarks need PostgreSQL") {
		t.Error("the outbox section does not say why it was not measured")
	}
	for _, g := range goals(r) {
		if strings.HasPrefix(g.what, "Spool") && g.known {
			t.Errorf("%s: judged without results", g.what)
		}
	}
}

// TestCommitIgnoresReportOutputs checks that the commit measured is marked
// as changed by changes to code, not by the files the report writes.
func TestCommitIgnoresReportOutputs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	ctx := t.Context()
	gitIn := func(args ...string) {
		t.Helper()
		cmd := command(ctx, dir, "git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gitIn("init", "-q")
	for _, name := range append([]string{"code.go"}, outputs...) {
		write(name, "first\n")
	}
	gitIn("add", ".")
	gitIn("commit", "-qm", "first")

	for _, name := range outputs {
		write(name, "second\n")
	}
	if c := commit(ctx, dir); strings.Contains(c, "uncommitted") || c == "unknown" {
		t.Errorf("with only the report's files changed, commit is %q", c)
	}
	write("code.go", "second\n")
	if c := commit(ctx, dir); !strings.HasSuffix(c, " (with uncommitted changes)") {
		t.Errorf("with code changed, commit is %q", c)
	}
}
