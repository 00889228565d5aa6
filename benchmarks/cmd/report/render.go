package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Benchmark names, as the tests in the benchmarks package define them.
const (
	batchAlguna  = "Batching/client=alguna"
	batchPostHog = "Batching/client=posthog"
	batchPHFree  = "Batching/client=posthog-uncapped"
	batchWire    = "Batching/client=wire-limit"
	limitOff     = "RateLimit/pacing=off"
	limitOn      = "RateLimit/pacing=on"
)

// calls are the SDK's calls the per-call comparison measures, in the order
// the report shows them (the order of call_test.go's table).
var calls = []string{
	"Accounts.Create", "Accounts.Get", "Accounts.Update", "Accounts.List", "Accounts.Lookup",
	"Credits.Grant", "Credits.Balance", "Credits.Availability", "Credits.ListGrants", "Credits.GetGrant",
	"Checkout.CreateSession", "Portal.CreateSession", "Events.Ingest",
	"Subscriptions.List", "Subscriptions.Get", "Invoices.List", "Invoices.Get", "Plans.List", "Plans.Get",
}

func callName(call, client string) string { return "Call/call=" + call + "/client=" + client }

// measuredCalls is calls, followed by any other call found in the results
// (sorted), so that a call added to the benchmarks is never left out of the
// report.
func measuredCalls(r *results) []string {
	known := map[string]bool{}
	for _, c := range calls {
		known[c] = true
	}
	out := slices.Clone(calls)
	var extra []string
	for name := range r.values {
		rest, ok := strings.CutPrefix(name, "Call/call=")
		if !ok {
			continue
		}
		if c, ok := strings.CutSuffix(rest, "/client=alguna"); ok && !known[c] {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

// spoolRows are the rows of the spool comparison: the goal's producer
// counts, then EnqueueMany.
var spoolRows = []struct{ key, label string }{
	{"producers=1", "`Enqueue`, 1 producer"},
	{"producers=16", "`Enqueue`, 16 producers"},
	{"producers=128", "`Enqueue`, 128 producers"},
	{"enqueue-many=100", "`EnqueueMany`, slices of 100, 1 goroutine"},
}

func spoolName(key string) string { return "Spool/" + key }

// The targets of the goals that the tables refer to as well.
const (
	batchCPUTarget     = 1.3e-6 // seconds of client CPU per event
	wireTarget         = 0.85
	callTarget         = 1.10
	spoolTarget        = 0.80
	manyTarget         = 50000 // durable events/s
	limitShareTarget   = 2.0   // percent of requests answered 429
	limitTimeTarget    = 4.5   // seconds to deliver the events, paced
	limitIdealSeconds  = 4.0
	limitEventsPerRun  = 5000
	limitEventsAllowed = 1000 // per second
	pageItems          = 10   // items in each list the sink answers
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
	cpu := r.stat(batchAlguna, "client-cpu-sec/event")
	gs = append(gs, goal{"Batcher client CPU per event (the sink in its own process)", "≤ " + fmtDuration(batchCPUTarget),
		statString(cpu, fmtDuration), cpu.ok && cpu.median <= batchCPUTarget, cpu.ok})
	q = r.ratio(batchAlguna, batchWire, "events/s")
	gs = append(gs, goal{"Batcher events/s ÷ wire limit (pre-encoded poster, same run)", fmt.Sprintf("≥ %.2f×", wireTarget), q.String(), q.ok && q.value >= wireTarget, q.ok})
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
	for _, call := range measuredCalls(r) {
		q = r.ratio(callName(call, "alguna"), callName(call, "hand-written"), "sec/op")
		gs = append(gs, goal{"`" + call + "` time ÷ hand-written request", fmt.Sprintf("≤ %.2f×", callTarget), q.String(), q.ok && q.value <= callTarget, q.ok})
	}
	for _, row := range spoolRows[:3] {
		st := r.stat(spoolName(row.key), "of-disk-bound")
		gs = append(gs, goal{"Spool, " + row.label + ": durable events/s ÷ what the disk's fsync rate allows at its group-commit size",
			fmt.Sprintf("≥ %.2f×", spoolTarget), statString(st, fmtRatio), st.ok && st.median >= spoolTarget, st.ok})
	}
	st := r.stat(spoolName(spoolRows[3].key), "durable-events/s")
	gs = append(gs, goal{"Spool, " + spoolRows[3].label + ": durable events/s", "≥ " + fmtRate(manyTarget),
		statString(st, fmtRate), st.ok && st.median >= manyTarget, st.ok})
	st = r.stat(limitOn, "429-%")
	gs = append(gs, goal{"At the limit, paced: share of requests answered 429", fmt.Sprintf("≤ %.0f%%", limitShareTarget),
		statString(st, fmtPercent), st.ok && st.median <= limitShareTarget, st.ok})
	st = r.stat(limitOn, "deliver-s")
	gs = append(gs, goal{fmt.Sprintf("At the limit, paced: time to deliver %d events (ideal ≈ %.0f s)", limitEventsPerRun, limitIdealSeconds),
		fmt.Sprintf("≤ %.1f s", limitTimeTarget), statString(st, fmtSeconds), st.ok && st.median <= limitTimeTarget, st.ok})
	for _, l := range []struct{ name, label string }{{limitOff, "unpaced"}, {limitOn, "paced"}} {
		st = r.stat(l.name, "sent-in-hold/op")
		gs = append(gs, goal{"At the limit, " + l.label + ": requests sent while a 429's Retry-After held", "0",
			statString(st, fmtCount), st.ok && r.max(l.name, "sent-in-hold/op") == 0, st.ok})
	}
	lost := r.max(limitOff, "lost-events") + r.max(limitOn, "lost-events")
	known := r.has(limitOff) && r.has(limitOn)
	gs = append(gs, goal{"At the limit, paced and unpaced: events lost", "0", fmtCount(lost), known && lost == 0, known})
	return gs
}

// statString formats a median, or "n/a".
func statString(s stat, format func(float64) string) string {
	if !s.ok {
		return "n/a"
	}
	return format(s.median)
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
	w("| Runs | %d of each benchmark, interleaved; %d events per batching run; one delivery of %d events per rate-limit run; `-benchtime %s` otherwise |\n", in.Count, in.Events, limitEventsPerRun, in.Benchtime)

	w("\n## Reproduce\n\n")
	w("From the root of the repository:\n\n```sh\n%s\n```\n\n", in.Command)
	w("It builds the benchmarks module (`benchmarks/`, its own `go.mod`, so alguna-go's users never download the peers), runs every comparison %d times and rewrites this file, with the raw output in `%s`. ", in.Count, in.RawPath)
	w("`-max-load 1.5` first waits for a quieter machine; `-count`, `-events` and `-benchtime` change the run; `-rerender` rewrites this file from the saved results (`results.txt`, `results.json`) without measuring, for example after editing `benchmarks/analysis.md`. To compare with benchstat instead:\n\n")
	w("```sh\ncd benchmarks\ngo test -run '^$' -bench . -benchmem -count 6 | tee new.txt\ngo tool benchstat -filter '.name:Batching' -col /client new.txt\ngo tool benchstat -filter '.name:Call' -col /client new.txt      # per call, SDK against hand-written\ngo tool benchstat -filter '.name:Verify' -col /lib new.txt\n```\n")

	renderBatching(w, r, in)
	renderVerify(w, r)
	renderCall(w, r)
	renderSpool(w, r)
	renderLimit(w, r)
	renderOutbox(w, r)

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
	w("\n## 3. Per-call overhead: every call against hand-written code\n\n")
	if !r.has(callName(calls[0], "alguna")) {
		w("Not measured in this run.\n")
		return
	}
	w("One call per op to the Alguna sink over loopback, through the SDK and through a hand-written `net/http` + `encoding/json` request that puts the same bytes on the wire. Time is elapsed time per call (the goal's measure); client CPU is the benchmark process's CPU time per call.\n\n")
	w("| Call | alguna-go time | hand-written time | alguna-go ÷ hand-written (time) | alguna-go client CPU | hand-written client CPU | alguna-go ÷ hand-written (client CPU) | Allocs (alguna-go / hand-written) | Bytes (alguna-go / hand-written) |\n")
	w("|---|---|---|---|---|---|---|---|---|\n")
	for _, call := range measuredCalls(r) {
		ours, hand := callName(call, "alguna"), callName(call, "hand-written")
		w("| `%s` | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s |\n", call,
			cell(r, ours, "sec/op", fmtDuration), cell(r, hand, "sec/op", fmtDuration),
			r.ratio(ours, hand, "sec/op").String(),
			cell(r, ours, "client-cpu-sec/op", fmtDuration), cell(r, hand, "client-cpu-sec/op", fmtDuration),
			r.ratio(ours, hand, "client-cpu-sec/op").String(),
			cell(r, ours, "allocs/op", fmtCount), cell(r, hand, "allocs/op", fmtCount),
			cell(r, ours, "B/op", fmtBytes), cell(r, hand, "B/op", fmtBytes))
	}
	w("\nHow it is measured (`benchmarks/call_test.go`):\n\n")
	w("- Both clients put the same bytes on the wire: the same method, path and query, the same headers (`Authorization`, `Accept`, `User-Agent`, `Content-Type` with a body, and a random `Idempotency-Key` on every POST and PATCH except `POST /events`, whose key is each event's `uniqueId`) and the same JSON body. `TestCallsSendTheSameRequest` checks this call by call, comparing what a recording server receives from each (keys and event ids by form, as they are random).\n")
	w("- The hand-written side is what a careful program would write without the SDK: one helper that marshals the body, sets the headers, checks the status code and decodes the answer with `encoding/json` into its own structs with the same fields (money as `decimal.Decimal`, times as `time.Time`, a plan's prices kept raw as the SDK keeps them).\n")
	w("- The sink (`benchmarks/internal/sink`, in its own process) answers each call with a body of the shape Alguna's reference shows and the bundled fake answers: full accounts with address and contacts, grants, balances, sessions, subscriptions, invoices with line items, plans with prices; lists hold %d items. It checks the API key, `Accept`, the path's ids, the query parameters each call needs, a JSON body with its required fields, and the `Idempotency-Key`, so that a client that sent less would fail.\n", pageItems)
	w("- One call at a time, through identical keep-alive transports; one call outside the timer opens the connection. Each op checks the answer (an id, an amount, a page of %d), and the sink must have answered exactly one request with success per op, so no retry hides in the figures.\n", pageItems)
	w("- What differs is the SDK's own work: validating the parameters, its request path (the retry loop, the observer, the pooled answer buffer) and its answer checks (a list item that is null, or of another account than the filter, fails the call; an answer without its key field is an error).\n")
}

func renderSpool(w func(string, ...any), r *results) {
	w("\n## 4. The durable spool against the disk\n\n")
	if !r.has(spoolName(spoolRows[0].key)) {
		w("Not measured in this run.\n")
		return
	}
	w("Events enqueued with `SpoolDir` set, so that each `Enqueue` returns only once its event is fsynced, against what this disk allows in the same run.\n\n")
	w("| Producer | Durable events/s | Events per fsync | Spool fsyncs/s | Disk fsyncs/s at the same write size | Disk drift (before vs after) | Disk bound (events/s) | Spool ÷ disk bound | Allocs/event |\n")
	w("|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range spoolRows {
		name := spoolName(row.key)
		if !r.has(name) {
			continue
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.label,
			cell(r, name, "durable-events/s", fmtRate), cell(r, name, "events/fsync", fmtCount),
			cell(r, name, "spool-fsyncs/s", fmtRate), cell(r, name, "disk-fsyncs/s", fmtRate),
			cell(r, name, "disk-drift", fmtPercentOf),
			cell(r, name, "disk-bound-events/s", fmtRate), cell(r, name, "of-disk-bound", fmtRatio),
			cell(r, name, "allocs/op", fmtCount))
	}
	w("\nHow it is measured (`benchmarks/spool_test.go`):\n\n")
	w("- One op is one event. 1, 16 or 128 goroutines call `Enqueue` (or one goroutine calls `EnqueueMany` with slices of 100) until b.N events are accepted; the timer stops when the last call returns, when every event is on disk and fsynced. Durable events/s is b.N over that time. Delivery runs meanwhile through an in-memory transport that answers success, so the figures are the SDK's and the disk's, not a network's; after the timer, `Close` must deliver every event.\n")
	w("- The spool commits in groups: appends that arrive while a write and fsync are under way share the next one. Events per fsync is b.N over `Stats().Syncs` for the run.\n")
	w("- The baseline is a hand-written loop in the same temp directory (same filesystem): it creates a file, fsyncs the directory, then appends a write and fsyncs, again and again, for as long as a run takes (at least 100 ms, at most 1 s). It runs right before and right after each run of the spool: before, at the group-commit size the spool is expected to reach; after, at the size it reached in that run (events per fsync × one record, the event's JSON plus the 12-byte record header). The mean of the two rates times the spool's events per fsync is the most this disk allows at that group-commit size: the disk bound. The spool ÷ bound column is the median of each run's ratio, which is the spool's fsyncs/s over the disk's.\n")
	w("- The disk is a virtual disk shared with other work, and its fsync rate moves by a factor of two or more from one second to the next; disk drift is how far the rates measured before and after a run were apart, relative to their mean. The ratio is taken within each run, around it, for that reason, and is only as steady as the drift allows.\n")
	w("- With `Enqueue`, each producer waits for its own event, so while one group is being written and fsynced the producers it does not hold gather into the next: groups settle at about half the producers (the events per fsync column), and the expected size the loop uses before a run is that half.\n")
}

func renderLimit(w func(string, ...any), r *results) {
	w("\n## 5. At Alguna's ingestion limit\n\n")
	if !r.has(limitOff) {
		w("Not measured in this run.\n")
		return
	}
	w("%d events through the Batcher, enqueued as fast as it takes them, to the bundled fake enforcing %d events/s with 429 and `Retry-After: 1` (`algunatest.WithRateLimit`). Ideal: %d events at once (the limit's one-second burst), then %d a second, so about %.0f s.\n\n",
		limitEventsPerRun, limitEventsAllowed, limitEventsAllowed, limitEventsAllowed, limitIdealSeconds)
	w("| Batcher | Time to deliver all | Requests | Answered 429 | Shortest wait after a 429 | Requests sent while a Retry-After held | Events lost |\n")
	w("|---|---|---|---|---|---|---|\n")
	for _, row := range []struct{ name, label string }{
		{limitOff, "unpaced"},
		{limitOn, fmt.Sprintf("paced, `MaxEventsPerSecond: %d`", limitEventsAllowed)},
	} {
		w("| %s | %s | %s | %s | %s | %s (most in a run: %s) | %s |\n", row.label,
			cell(r, row.name, "deliver-s", fmtSeconds), cell(r, row.name, "requests/op", fmtCount),
			cell(r, row.name, "429-%", fmtPercent), cell(r, row.name, "min-wait-after-429-s", fmtSeconds),
			cell(r, row.name, "sent-in-hold/op", fmtCount), fmtCount(r.max(row.name, "sent-in-hold/op")),
			fmtCount(r.max(row.name, "lost-events")))
	}
	w("\nHow it is measured (`benchmarks/ratelimit_test.go`):\n\n")
	w("- One op is one delivery of all %d events: batches of 100, 4 requests in flight, to a fresh fake whose bucket is full. The timer runs from the first `Enqueue` until `Close` returns with every event delivered.\n", limitEventsPerRun)
	w("- 429 share: the fake's request log (`Requests`) of `POST /events`. Events lost: the events the fake holds must carry every uniqueId exactly once, the Batcher must count all of them ingested and none failed, or the run fails; the column is the most lost in any run.\n")
	w("- Waits are seen from the client's side of the wire, by a transport that records when each request left and when its answer arrived: for every 429, the time from its arrival to the next request sent, and the requests sent before its `Retry-After` had passed (requests already in flight when the 429 arrived do not count). The waiting column is the median over runs of each run's shortest wait; the held column is the median over runs, with the most seen in any run.\n")
	w("- The fake runs in the benchmark's process; what is measured is time, which its CPU hardly affects at 1000 events a second.\n")
}

// outboxPaths are the rows of the outbox comparison, in order.
var outboxPaths = []struct{ key, label string }{
	{"outbox", "outbox (`postgres.Outbox.Add` in a transaction, commit notifies the relay)"},
	{"outbox-polling", "outbox, `WithoutNotify` (the relay polls every 20 ms)"},
	{"spool", "Batcher with `SpoolDir` (`Enqueue` returns once fsynced)"},
}

func outboxName(bench, key string) string { return bench + "/path=" + key }

func renderOutbox(w func(string, ...any), r *results) {
	w("\n## 6. The PostgreSQL outbox beside the file spool\n\n")
	if !r.has(outboxName("Outbox", outboxPaths[0].key)) {
		w("Not measured in this run: the outbox benchmarks need PostgreSQL's server programs (`initdb`, `postgres`) on this machine.\n")
		return
	}
	w("The two durable paths for usage events, on the same machine: an event committed to the outbox and delivered by a `postgres.Relay`, and an event enqueued on a Batcher with a spool. Latency is from the commit (or `Enqueue`) to the event's arrival at the sink.\n\n")
	for _, t := range []struct{ bench, title string }{
		{"Outbox", fmt.Sprintf("Throughput: %d producers, one event per commit", 16)},
		{"OutboxLatency", "One event at a time, each waited for at the sink before the next"},
	} {
		w("### %s\n\n", t.title)
		w("| Path | Events/s | Latency p50 | Latency p99 | Events/request | Allocs/event |\n|---|---|---|---|---|---|\n")
		for _, p := range outboxPaths {
			name := outboxName(t.bench, p.key)
			if !r.has(name) {
				continue
			}
			ms := func(v float64) string { return fmtDuration(v / 1e3) }
			w("| %s | %s | %s | %s | %s | %s |\n", p.label,
				cell(r, name, "events/s", fmtRate), cell(r, name, "p50-ms", ms), cell(r, name, "p99-ms", ms),
				cell(r, name, "events/req", fmtCount), cell(r, name, "allocs/op", fmtCount))
		}
		w("\n")
	}
	w("How it is measured (`benchmarks/outbox_test.go`):\n\n")
	w("- PostgreSQL is a throwaway cluster (`postgrestest`) with its durable settings (`postgrestest.Durable`: fsync and synchronous commit on), so a commit costs what it costs in production; the spool writes to a temp directory on the same disk.\n")
	w("- Throughput: 16 goroutines, like request handlers each committing its own work, add b.N events, one per transaction (outbox) or per `Enqueue` (spool); the timer stops once the sink holds every event. Both deliver in batches of up to 100 with 4 requests in flight, and cut a partly filled batch after the relay's default flush interval.\n")
	w("- One at a time: each event is added, then waited for at the sink before the next, and both paths cut a partly filled batch after 5 ms, so that the latency is the path's own cost rather than a timer's.\n")
	w("- The sink is an `httptest` server in the benchmark's process that ingests every event and records, once per uniqueId, the time since the event's `t` property (set just before the commit or `Enqueue`).\n")
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
