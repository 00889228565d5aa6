package benchmarks

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// Alguna's ingestion limit, as the fake enforces it, and the events sent
// against it.
const (
	limitEventsPerSecond = 1000
	limitEvents          = 5000
)

// BenchmarkRateLimit sends limitEvents events through the Batcher, as fast
// as Enqueue takes them, to the bundled fake enforcing 1000 events/s with
// 429 and Retry-After, once unpaced and once paced at the limit
// (MaxEventsPerSecond). One op is one delivery of all limitEvents: the
// timer runs from the first Enqueue until Close has returned with every
// event delivered. It reports the share of requests answered 429 (the
// fake's request log), the seconds to deliver, the events lost (the fake
// must hold every uniqueId exactly once and the Batcher must count all of
// them ingested), and, from the client's side of the wire, the shortest
// time between a 429 reaching the client and its next request, and how many
// requests went out while a 429's Retry-After still held.
//
// The fake runs in this process: what is measured here is time, which the
// fake's CPU hardly affects at 1000 events a second.
func BenchmarkRateLimit(b *testing.B) {
	b.Run("pacing=off", func(b *testing.B) { benchRateLimit(b, 0) })
	b.Run("pacing=on", func(b *testing.B) { benchRateLimit(b, limitEventsPerSecond) })
}

func benchRateLimit(b *testing.B, pace float64) {
	var sum limitRun
	minWait := time.Duration(-1)
	for range b.N {
		r := deliverAtLimit(b, pace)
		sum.requests += r.requests
		sum.limited += r.limited
		sum.lost += r.lost
		sum.inHold += r.inHold
		sum.took += r.took
		if r.minWait >= 0 && (minWait < 0 || r.minWait < minWait) {
			minWait = r.minWait
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(sum.requests)/n, "requests/op")
	b.ReportMetric(100*float64(sum.limited)/float64(sum.requests), "429-%")
	b.ReportMetric(sum.took.Seconds()/n, "deliver-s")
	b.ReportMetric(float64(sum.lost)/n, "lost-events")
	b.ReportMetric(float64(sum.inHold)/n, "sent-in-hold/op")
	if minWait >= 0 {
		b.ReportMetric(minWait.Seconds(), "min-wait-after-429-s")
	}
}

// limitRun is what one delivery of limitEvents came to.
type limitRun struct {
	requests, limited int
	lost              int
	inHold            int
	took              time.Duration
	// minWait is the shortest time from a 429 reaching the client to the
	// client's next request; -1 when no request followed a 429.
	minWait time.Duration
}

// exchange is one request as the client saw it.
type exchange struct {
	sent, answered time.Time
	status         int
	retryAfter     time.Duration
}

// wireLog is a transport that records when each request left and when its
// answer came back.
type wireLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (w *wireLog) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := w.next.RoundTrip(r)
	x := exchange{sent: sent, answered: time.Now()}
	if err == nil {
		x.status = resp.StatusCode
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
			x.retryAfter = time.Duration(s) * time.Second
		}
	}
	w.mu.Lock()
	w.log = append(w.log, x)
	w.mu.Unlock()
	return resp, err
}

// holds reports how many requests left while the Retry-After of a 429
// already received still held, and the shortest time from a 429's arrival
// to the next request sent (-1 if none followed one).
func (w *wireLog) holds() (inHold int, minWait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	minWait = -1
	for _, x := range w.log {
		if x.status != http.StatusTooManyRequests {
			continue
		}
		until := x.answered.Add(x.retryAfter)
		next := time.Duration(-1)
		for _, y := range w.log {
			if !y.sent.After(x.answered) {
				continue
			}
			if y.sent.Before(until) {
				inHold++
			}
			if d := y.sent.Sub(x.answered); next < 0 || d < next {
				next = d
			}
		}
		if next >= 0 && (minWait < 0 || next < minWait) {
			minWait = next
		}
	}
	return inHold, minWait
}

func deliverAtLimit(b *testing.B, pace float64) limitRun {
	b.StopTimer()
	fake := algunatest.NewServer(algunatest.WithRateLimit(algunatest.RateLimit{EventsPerSecond: limitEventsPerSecond}))
	defer fake.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := fake.Client().Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Inc", Alias: eventAccount}); err != nil {
		b.Fatal(err)
	}
	wl := &wireLog{next: newTransport()}
	c, err := alguna.NewClient(fake.APIKey, alguna.WithBaseURL(fake.URL), alguna.WithHTTPClient(&http.Client{Transport: wl, Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	bt, err := c.Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize: batchSize, FlushInterval: flushInterval, Concurrency: inFlight, MaxEventsPerSecond: pace,
		OnFailure: func(events []alguna.Event, err error) { b.Errorf("%d events failed: %v", len(events), err) },
	})
	if err != nil {
		b.Fatal(err)
	}
	// The fake's bucket is full by now, as it would be for a client that
	// has not sent for a second.
	b.StartTimer()
	start := time.Now()
	for range limitEvents {
		if err := bt.Enqueue(ctx, benchEvent()); err != nil {
			b.Fatal(err)
		}
	}
	if err := bt.Close(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.StopTimer()

	r := limitRun{took: took}
	for _, req := range fake.Requests() {
		if req.Method != http.MethodPost || req.Path != "/events" {
			continue
		}
		r.requests++
		if req.Status == http.StatusTooManyRequests {
			r.limited++
		}
	}
	ids := map[string]int{}
	for _, e := range fake.Events() {
		ids[e.UniqueID]++
	}
	st := bt.Stats()
	r.lost = limitEvents - len(ids)
	if st.Ingested != limitEvents || st.Failed != 0 {
		b.Fatalf("batcher ingested %d of %d events, %d failed", st.Ingested, limitEvents, st.Failed)
	}
	for id, n := range ids {
		if n != 1 {
			b.Fatalf("the fake holds event %s %d times", id, n)
		}
	}
	if len(wl.log) != r.requests {
		b.Fatalf("the client sent %d requests, the fake logged %d", len(wl.log), r.requests)
	}
	r.inHold, r.minWait = wl.holds()
	b.StartTimer()
	return r
}
