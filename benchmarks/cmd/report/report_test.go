package main

import (
	"fmt"
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
		"Batching/client=alguna":                       "5000 ns/op 200000 events/s 2000 client-cpu-ns/event 700 B/op 3 allocs/op",
		"Batching/client=posthog":                      "10000 ns/op 90000 events/s 7000 client-cpu-ns/event 2600 B/op 22 allocs/op",
		"Batching/client=posthog-uncapped":             "10000 ns/op 95000 events/s 7000 client-cpu-ns/event 2600 B/op 22 allocs/op",
		"Batching/client=wire-limit":                   "4000 ns/op 250000 events/s 1000 client-cpu-ns/event 225 B/op 0 allocs/op",
		"CreateAccount/client=alguna":                  "80000 ns/op 7500 B/op 98 allocs/op",
		"CreateAccount/client=hand-written":            "75000 ns/op 7200 B/op 87 allocs/op",
		"Verify/size=1KiB/lib=alguna":                  "8000 ns/op 1944 B/op 16 allocs/op",
		"Verify/size=1KiB/lib=standardwebhooks":        "3500 ns/op 3024 B/op 17 allocs/op",
		"Verify/size=1KiB/lib=standardwebhooks+decode": "10000 ns/op 4400 B/op 26 allocs/op",
	})
	r, err := parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !r.has("Batching/client=alguna") || r.has("Batching/client=alguna-2") {
		t.Fatal("names must be kept without the GOMAXPROCS suffix")
	}
	want := map[string]string{
		"Batcher events/s ÷ posthog-go events/s (its faster set-up)":                                  "met",
		"Batcher events/s ÷ wire limit":                                                               "met",
		"`Verify` time ÷ Standard Webhooks `Verify`, 1KiB":                                            "**MISSED**",
		"`Verify` allocs/op vs Standard Webhooks, 1KiB":                                               "met",
		"`Accounts.Create` time ÷ hand-written request":                                               "met",
		"`Verify` time ÷ Standard Webhooks `Verify`, 64KiB":                                           "not measured",
		"`Verify` time ÷ Standard Webhooks `Verify` + the same envelope decode (like for like), 1KiB": "met",
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
	for _, s := range []string{"| Batcher events/s ÷ posthog-go events/s (its faster set-up) | ≥ 2.00× | 2.11× | met |", "Test CPU", reproduce, "goal(s) missed"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q", s)
		}
	}
}
