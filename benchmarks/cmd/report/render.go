package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Benchmark names, as the tests in the benchmarks package define them.
const (
	batchAlguna  = "Batching/client=alguna"
	batchPostHog = "Batching/client=posthog"
	batchPHFree  = "Batching/client=posthog-uncapped"
	batchWire    = "Batching/client=wire-limit"
	callAlguna   = "CreateAccount/client=alguna"
	callHand     = "CreateAccount/client=hand-written"
)

// verifyLibs are the rows of the webhook comparison, in order; the first is
// ours.
var verifyLibs = []struct{ key, label string }{
	{"alguna", "alguna-go `WebhookVerifier.Verify` (checks, then decodes the envelope)"},
	{"standardwebhooks", "Standard Webhooks `Webhook.Verify` (checks only)"},
	{"svix", "svix `Webhook.Verify` (checks only)"},
	{"standardwebhooks+decode", "Standard Webhooks `Verify` + `json.Unmarshal` of the same envelope"},
	{"svix+decode", "svix `Verify` + `json.Unmarshal` of the same envelope"},
}

var verifySizes = []string{"1KiB", "64KiB"}

func verifyName(size, lib string) string { return "Verify/size=" + size + "/lib=" + lib }

// cell formats a benchmark's median with its confidence interval.
func cell(r *results, name, unit string, format func(float64) string) string {
	s := r.stat(name, unit)
	if !s.ok {
		return "n/a"
	}
	if s.pct == "0%" {
		return format(s.median)
	}
	return format(s.median) + " ±" + s.pct
}

// goal is one line of the goals table.
type goal struct {
	what, target, measured string
	met                    bool
	known                  bool
}

func (g goal) status() string {
	switch {
	case !g.known:
		return "not measured"
	case g.met:
		return "met"
	default:
		return "**MISSED**"
	}
}

func goals(r *results) []goal {
	var gs []goal
	// posthog-go is judged in whichever of its two set-ups was faster, so
	// that the cap on its connections cannot flatter the Batcher.
	q := r.ratio(batchAlguna, batchPostHog, "events/s")
	if free := r.ratio(batchAlguna, batchPHFree, "events/s"); free.ok && (!q.ok || free.value < q.value) {
		q = free
	}
	gs = append(gs, goal{"Batcher events/s ÷ posthog-go events/s (its faster set-up)", "≥ 2.00×", q.String(), q.ok && q.value >= 2, q.ok})
	q = r.ratio(batchAlguna, batchWire, "events/s")
	gs = append(gs, goal{"Batcher events/s ÷ wire limit", "≥ 0.50×", q.String(), q.ok && q.value >= 0.5, q.ok})
	for _, size := range verifySizes {
		ours, peer := verifyName(size, "alguna"), verifyName(size, "standardwebhooks")
		q = r.ratio(ours, peer, "sec/op")
		gs = append(gs, goal{"`Verify` time ÷ Standard Webhooks `Verify`, " + size, "≤ 1.00×", q.String(), q.ok && q.value <= 1, q.ok})
		q = r.ratio(ours, verifyName(size, "standardwebhooks+decode"), "sec/op")
		gs = append(gs, goal{"`Verify` time ÷ Standard Webhooks `Verify` + the same envelope decode (like for like), " + size, "≤ 1.00×", q.String(), q.ok && q.value <= 1, q.ok})
		a, b := r.stat(ours, "allocs/op"), r.stat(peer, "allocs/op")
		ok := a.ok && b.ok
		measured := "n/a"
		if ok {
			measured = fmt.Sprintf("%s vs %s", fmtCount(a.median), fmtCount(b.median))
		}
		gs = append(gs, goal{"`Verify` allocs/op vs Standard Webhooks, " + size, "fewer", measured, ok && a.median < b.median, ok})
	}
	q = r.ratio(callAlguna, callHand, "sec/op")
	gs = append(gs, goal{"`Accounts.Create` time ÷ hand-written request", "≤ 1.15×", q.String(), q.ok && q.value <= 1.15, q.ok})
	return gs
}

func render(in info, r *results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Benchmarks\n\n")
	w("alguna-go side by side with the libraries its users would otherwise pick, in one run on one machine, doing the same work. ")
	w("This file is written by `%s`; do not edit it by hand.\n\n", in.Command)

	w("## Goals\n\n")
	w("| Goal | Target | Measured | Status |\n|---|---|---|---|\n")
	var missed []string
	for _, g := range goals(r) {
		w("| %s | %s | %s | %s |\n", g.what, g.target, g.measured, g.status())
		if g.known && !g.met {
			missed = append(missed, g.what)
		}
	}
	w("\nRatios are of medians over %d runs; \"not significant\" means a Mann-Whitney U test could not tell the two samples apart (p > 0.05).\n", in.Count)
	if len(missed) > 0 {
		w("\n**%d goal(s) missed:** %s. See the analysis at the end.\n", len(missed), strings.Join(missed, "; "))
	} else {
		w("\nEvery measured goal is met.\n")
	}

	w("\n## Machine and run\n\n")
	w("| | |\n|---|---|\n")
	w("| CPU | %s |\n| Cores (logical, `runtime.NumCPU`) | %d |\n| Go | `%s` |\n| OS | %s, kernel %s |\n", in.CPU, in.Cores, in.GoVersion, in.OSArch, in.Kernel)
	w("| Commit measured | %s |\n", in.Commit)
	w("| Peers | %s |\n", peerList(in.Versions))
	w("| Run | %s to %s UTC |\n", in.Started.Format("2006-01-02 15:04:05"), in.Finished.Format("15:04:05"))
	w("| Load average (1, 5, 15 min) | before %s; after %s; highest 1-minute figure seen between passes %.2f |\n", in.LoadBefore, in.LoadAfter, in.LoadMax)
	w("| Runs | %d of each benchmark, interleaved; %d events per batching run; `-benchtime %s` otherwise |\n", in.Count, in.Events, in.Benchtime)

	w("\n## Reproduce\n\n")
	w("From the root of the repository:\n\n```sh\n%s\n```\n\n", in.Command)
	w("It builds the benchmarks module (`benchmarks/`, its own `go.mod`, so alguna-go's users never download the peers), runs every comparison %d times and rewrites this file, with the raw output in `%s`. ", in.Count, in.RawPath)
	w("`-max-load 1.5` first waits for a quieter machine; `-count`, `-events` and `-benchtime` change the run; `-rerender` rewrites this file from the saved results (`results.txt`, `results.json`) without measuring, for example after editing `benchmarks/analysis.md`. To compare with benchstat instead:\n\n")
	w("```sh\ncd benchmarks\ngo test -run '^$' -bench . -benchmem -count 6 | tee new.txt\ngo tool benchstat -filter '-.name:Verify' -col /client new.txt   # batching and per-call\ngo tool benchstat -filter '.name:Verify' -col /lib new.txt\n```\n")

	renderBatching(w, r, in)
	renderVerify(w, r)
	renderCall(w, r)

	w("\n## Noise\n\n")
	w("The machine is shared with other work. Each figure is the median of %d runs with its 95%% confidence interval (±), computed as benchstat does; the runs of all comparisons are interleaved, so a busy spell spreads over every client rather than landing on one. ", in.Count)
	w("The load average was %s before the run and %s after, on %d cores; the highest 1-minute figure seen between passes was %.2f, of which the run itself accounts for up to about 2 (the benchmark and sink processes can keep both cores busy). ", in.LoadBefore, in.LoadAfter, in.Cores, in.LoadMax)
	if name, unit, pct := r.widest(); name != "" {
		w("The widest interval is ±%.0f%% (%s, %s). ", pct, name, unit)
	}
	w("Elapsed times (events/s, time/op) move the most, as the benchmark and sink processes compete for the cores with everything else; CPU time per event or call, allocations and bytes move much less. Treat differences within the intervals as ties; the ratios say when a difference is not statistically significant.\n")

	if notes := analysis(in.modDir); notes != "" {
		w("\n## Analysis\n\n")
		w("Written by hand from profiles (`benchmarks/analysis.md`), not by the report command; check it against the figures above when they change.\n\n")
		w("%s\n", strings.TrimSpace(notes))
	}
	return b.String()
}

func renderBatching(w func(string, ...any), r *results, in info) {
	w("\n## 1. Event batching throughput\n\n")
	if !r.has(batchAlguna) {
		w("Not measured in this run.\n")
		return
	}
	w("alguna-go's `Batcher` against posthog-go, each sending %d events per run to its own minimal sink, and the wire limit.\n\n", in.Events)
	w("| Client | Events/s | Time/event | Client CPU/event | Sink CPU/event | Allocs/event | Bytes allocated/event | Peak heap | Wire bytes/event | Events/request | alguna-go ÷ this (events/s) |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|\n")
	rows := []struct{ name, label string }{
		{batchAlguna, "alguna-go `Batcher`"},
		{batchPostHog, "posthog-go"},
		{batchPHFree, "posthog-go, connections not capped"},
		{batchWire, "wire limit (pre-encoded arrays, hand-written loop)"},
	}
	for _, row := range rows {
		q := "—"
		if row.name != batchAlguna {
			q = r.ratio(batchAlguna, row.name, "events/s").String()
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.label,
			cell(r, row.name, "events/s", fmtRate), cell(r, row.name, "sec/op", fmtDuration),
			cell(r, row.name, "client-cpu-sec/event", fmtDuration), cell(r, row.name, "sink-cpu-sec/event", fmtDuration),
			cell(r, row.name, "allocs/op", fmtCount), cell(r, row.name, "B/op", fmtBytes),
			cell(r, row.name, "peak-heap-B", fmtBytes), cell(r, row.name, "wire-B/event", fmtCount),
			cell(r, row.name, "events/req", fmtCount), q)
	}
	w("\nHow it is measured (`benchmarks/batching_test.go`):\n\n")
	w("- One op is one event; events are enqueued from GOMAXPROCS goroutines. The timer stops only after `Close` has returned, which for both clients means every event was sent and answered; the run then fails unless the sink decoded exactly that many events and the client reported every one delivered (Batcher `Stats`, posthog-go's success callback).\n")
	w("- The same event for both: one account or distinct id, one event name, two flat properties (a string and an integer), a new UUID and the current time. The Batcher makes the UUID and timestamp itself; for posthog-go the loop calls `uuid.NewString()` (it would otherwise send an empty uuid) and the library stamps the time. posthog-go adds its `$lib` and `$lib_version` properties, which is why its events are bigger on the wire.\n")
	w("- Batch size 100 for both, flush interval 100 ms for both (batches fill by size; the interval only flushes the tail).\n")
	w("- Concurrency: 4 requests in flight for every client. The Batcher has `Concurrency: 4`; posthog-go's concurrency is not configurable (it starts a goroutine per batch, up to 1000), so its transport is capped at 4 connections (`MaxConnsPerHost: 4`). The \"not capped\" row runs it without that cap, as it runs by default, so that the cap's effect can be seen: its goroutines then each hold a connection instead of queueing for one. The goal is judged against whichever of the two posthog-go rows is faster. Every client gets its own, identical keep-alive transport, so none pays for reconnecting where another does not.\n")
	w("- Sinks: `httptest` servers in a separate process (the same test binary, started by `TestMain`), so allocations, peak heap and CPU profiles in the benchmark process are the client's alone. Each sink decodes every body fully into typed structs (Alguna: the event array; posthog: `{api_key, batch: [...]}`), checks each event's required fields, and answers its protocol's success (Alguna: `{\"ingested\": [ids], \"failed\": []}`; posthog: `{\"status\": 1}`). Neither client compresses its bodies in the versions compared, so both sinks decode plain JSON; the sinks would accept gzip if a client sent it.\n")
	w("- Wire limit: %d goroutines post pre-encoded arrays of 100 events to the Alguna sink and discard the answer, with no validation, ids, encoding or answer decoding: the most any client could reach against this sink on this machine.\n", 4)
	w("- CPU/event: user + system CPU time of each process (getrusage) over the run, divided by the events. It is the cost of the work, which a busy machine disturbs much less than elapsed time; throughput on 2 cores is bounded by the sum of the two.\n")
	w("- Peak heap: the largest `/memory/classes/heap/objects:bytes` (runtime/metrics) sampled every millisecond during the run, in the client's process. The Batcher's is bounded by its `QueueSize` (default 10000 events; `Enqueue` waits for room). posthog-go's `Enqueue` does not wait while batches are in flight: it starts a goroutine per batch, so what it holds grows with the backlog, and its peak depends on the number of events sent (%d here).\n", in.Events)
}

func renderVerify(w func(string, ...any), r *results) {
	w("\n## 2. Webhook verification\n\n")
	if !r.has(verifyName("1KiB", "alguna")) {
		w("Not measured in this run: the benchmark needs `alguna.WebhookVerifier`, which this commit does not have yet.\n")
		return
	}
	w("One verification of a signed delivery per op, with a fresh timestamp, so every library runs its full check including the timestamp tolerance.\n\n")
	for _, size := range verifySizes {
		w("### %s payload\n\n", strings.Replace(size, "KiB", " KiB", 1))
		w("| Library | Time/op | Allocs/op | Bytes/op | alguna-go ÷ this (time) |\n|---|---|---|---|---|\n")
		ours := verifyName(size, "alguna")
		for _, lib := range verifyLibs {
			name := verifyName(size, lib.key)
			if !r.has(name) {
				continue
			}
			q := "—"
			if name != ours {
				q = r.ratio(ours, name, "sec/op").String()
			}
			w("| %s | %s | %s | %s | %s |\n", lib.label, cell(r, name, "sec/op", fmtDuration),
				cell(r, name, "allocs/op", fmtCount), cell(r, name, "B/op", fmtBytes), q)
		}
		w("\n")
	}
	w("How it is measured (`benchmarks/webhooks_test.go`): every library verifies the same body, id and `v1` signature under the same secret. ")
	w("The timestamp is taken when the benchmark starts and the signature made then, well inside every library's 5-minute tolerance, so all of them parse and check it (none is given its ignore-the-timestamp path). ")
	w("alguna-go's `Verify` also decodes the JSON envelope into a `WebhookEvent` and returns it; the peers only check the signature, so the \"+ decode\" rows add a `json.Unmarshal` of the same body into an equivalent envelope struct for a like-for-like comparison. ")
	w("Each op checks that verification succeeded, and a test checks that every verifier refuses a tampered body. The goals table judges `Verify` both against the official library as it is (the goal as stated) and like for like.\n")
}

func renderCall(w func(string, ...any), r *results) {
	w("\n## 3. Per-call overhead\n\n")
	if !r.has(callAlguna) {
		w("Not measured in this run.\n")
		return
	}
	w("One `POST /accounts` per op to the same sink over loopback.\n\n")
	w("| Client | Time/call | Client CPU/call | Sink CPU/call | Allocs/call | Bytes/call | alguna-go ÷ this (time) | alguna-go ÷ this (client CPU) |\n|---|---|---|---|---|---|---|---|\n")
	rows := []struct{ name, label string }{
		{callAlguna, "alguna-go `Accounts.Create`"},
		{callHand, "hand-written `net/http` + `encoding/json`"},
	}
	for _, row := range rows {
		q, qc := "—", "—"
		if row.name != callAlguna {
			q = r.ratio(callAlguna, row.name, "sec/op").String()
			qc = r.ratio(callAlguna, row.name, "client-cpu-sec/op").String()
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", row.label, cell(r, row.name, "sec/op", fmtDuration),
			cell(r, row.name, "client-cpu-sec/op", fmtDuration), cell(r, row.name, "sink-cpu-sec/op", fmtDuration),
			cell(r, row.name, "allocs/op", fmtCount), cell(r, row.name, "B/op", fmtBytes), q, qc)
	}
	w("\nHow it is measured (`benchmarks/call_test.go`): both put the same bytes on the wire — the same JSON body and the same headers (`Authorization`, `Accept`, `User-Agent`, `Content-Type` and a random `Idempotency-Key`) — through identical keep-alive transports, one call at a time, and decode the same account answer. ")
	w("What differs is the SDK's own work: validating the parameters, its retrying request path (go-retryablehttp) and its error handling. Each call checks the answer, and the sink must have answered exactly one request per call, so no retry hides in the figures. ")
	w("The sink runs in its own process and its work is the same for both.\n")
}

// analysis returns the hand-written analysis kept beside this command's
// module, or "" when there is none.
func analysis(modDir string) string {
	data, err := os.ReadFile(filepath.Join(modDir, "analysis.md")) //nolint:gosec // G304: a file of this module
	if err != nil {
		return ""
	}
	return string(data)
}

// peerList names the peer modules with their versions.
func peerList(versions map[string]string) string {
	if len(versions) == 0 {
		return "unknown"
	}
	var parts []string
	for _, p := range peers {
		if v, ok := versions[p]; ok {
			parts = append(parts, "`"+p+"` "+v)
		}
	}
	return strings.Join(parts, ", ")
}
