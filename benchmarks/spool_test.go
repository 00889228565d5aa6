package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alguna/alguna-go"
)

// spoolProducers are the numbers of goroutines that enqueue at once.
var spoolProducers = []int{1, 16, 128}

// manySlice is the length of the slices given to EnqueueMany.
const manySlice = 100

// spoolHeader is what the spool writes before each record's payload: the
// magic, the length and a CRC-32C (see the package doc of internal/spool).
const spoolHeader = 12

// BenchmarkSpool measures the durable spool against the disk it writes to.
// One op is one event, enqueued with the spool on; the timer stops once
// every Enqueue (or EnqueueMany) has returned, that is once every event is
// fsynced. Delivery is in memory (memTransport), so that what is measured is
// the SDK and the disk, not a network.
//
// The baseline is a hand-written loop on the same filesystem that appends a
// write and fsyncs, again and again (fsyncRate). It runs just before and
// just after each run, for as long as the run takes, because this disk's
// fsync rate drifts within seconds: before, at the group-commit size the
// spool is expected to reach (half the producers, see expectedPerSync),
// after, at the size it did reach (its events per fsync, from
// Stats().Syncs, times one record's size on disk). The mean of the two
// rates times the spool's events per fsync is the most this disk allows at
// that group-commit size; the spool's durable events/s divided by that
// bound is reported as of-disk-bound, and how far the two rates were apart
// as disk-drift.
func BenchmarkSpool(b *testing.B) {
	for _, n := range spoolProducers {
		b.Run(fmt.Sprintf("producers=%d", n), func(b *testing.B) { benchSpool(b, n, false) })
	}
	b.Run(fmt.Sprintf("enqueue-many=%d", manySlice), func(b *testing.B) { benchSpool(b, 1, true) })
}

// memTransport answers every POST /events in memory with a success that
// names no failure, and counts the events it was sent.
type memTransport struct{ events atomic.Int64 }

func (t *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	t.events.Add(int64(bytes.Count(body, []byte(`"uniqueId":`))))
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"ingested":[],"failed":[]}`)),
		Request:    r,
	}, nil
}

// benchEvent is the event every spool benchmark enqueues; Enqueue fills
// its id and time.
func benchEvent() alguna.Event {
	return alguna.Event{Account: eventAccount, EventName: eventName, Properties: algunaProps}
}

// recordSize is the bytes one event takes in a spool segment: its JSON as
// the Batcher encodes it, and the record header.
func recordSize(tb testing.TB) int {
	e := benchEvent()
	data, err := e.Prepare()
	if err != nil {
		tb.Fatal(err)
	}
	return len(data) + spoolHeader
}

func benchSpool(b *testing.B, producers int, many bool) {
	dir := b.TempDir()
	tr := &memTransport{}
	c := newBenchClient(b, "http://127.0.0.1:1", &http.Client{Transport: tr})
	bt, err := c.Events.NewBatcher(alguna.BatcherOptions{
		MaxBatchSize: batchSize, FlushInterval: 10 * time.Millisecond, Concurrency: inFlight,
		SpoolDir: filepath.Join(dir, "spool"),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The run's length is not known before it; the last one's is the best
	// guess (the benchmark framework runs it with a growing b.N).
	guess := lastSpoolRun[spoolKey{producers, many}]
	before := fsyncRate(b, dir, int(math.Round(expectedPerSync(producers, many)*float64(recordSize(b)))), baselineTime(guess))
	errs := make(chan error, producers)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if many {
				errs <- enqueueSlices(ctx, bt, b.N)
				return
			}
			for next.Add(1) <= int64(b.N) {
				if err := bt.Enqueue(ctx, benchEvent()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	syncs := bt.Stats().Syncs
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := bt.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if s := bt.Stats(); s.Enqueued != int64(b.N) || s.Ingested != int64(b.N) || tr.events.Load() != int64(b.N) {
		b.Fatalf("%d events: batcher enqueued %d and ingested %d, transport got %d", b.N, s.Enqueued, s.Ingested, tr.events.Load())
	}
	if syncs < 1 {
		b.Fatalf("%d events took no fsync", b.N)
	}

	lastSpoolRun[spoolKey{producers, many}] = elapsed
	perSync := float64(b.N) / float64(syncs)
	after := fsyncRate(b, dir, int(math.Round(perSync*float64(recordSize(b)))), baselineTime(elapsed))
	disk := (before + after) / 2
	durable := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(durable, "durable-events/s")
	b.ReportMetric(perSync, "events/fsync")
	b.ReportMetric(float64(syncs)/elapsed.Seconds(), "spool-fsyncs/s")
	b.ReportMetric(disk, "disk-fsyncs/s")
	b.ReportMetric(disk*perSync, "disk-bound-events/s")
	b.ReportMetric(durable/(disk*perSync), "of-disk-bound")
	b.ReportMetric(math.Abs(before-after)/disk, "disk-drift")
}

// spoolKey names one spool benchmark.
type spoolKey struct {
	producers int
	many      bool
}

// lastSpoolRun is how long each spool benchmark's last run took.
var lastSpoolRun = map[spoolKey]time.Duration{}

// baselineTime is how long the fsync loop runs beside a run of d: as long,
// within bounds that keep it measurable and the benchmark short.
func baselineTime(d time.Duration) time.Duration {
	return min(max(d, 100*time.Millisecond), time.Second)
}

// expectedPerSync is the group-commit size the spool reaches with this many
// producers, each waiting for its own event: while one group is written and
// fsynced, the producers it does not hold gather into the next, so groups
// settle at about half the producers. EnqueueMany's slice takes one fsync.
func expectedPerSync(producers int, many bool) float64 {
	if many {
		return manySlice
	}
	return max(1, float64(producers)/2)
}

// enqueueSlices enqueues n events from one goroutine, manySlice at a time.
func enqueueSlices(ctx context.Context, bt *alguna.Batcher, n int) error {
	events := make([]alguna.Event, manySlice)
	for sent := 0; sent < n; {
		k := min(manySlice, n-sent)
		for i := range events[:k] {
			// EnqueueMany fills ids and times in the slice; each round
			// sends new events.
			events[i] = benchEvent()
		}
		if err := bt.EnqueueMany(ctx, events[:k]); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// fsyncRate is the disk's baseline: it appends size bytes to a new file in
// dir and fsyncs, as the spool does for each group commit, until d has
// passed, and returns the fsyncs per second. Like a spool segment, the file
// is created and its directory fsynced first, outside the timing.
func fsyncRate(tb testing.TB, dir string, size int, d time.Duration) float64 {
	tb.Helper()
	name := filepath.Join(dir, "fsync-loop.seg")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: a file in the benchmark's temp dir
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(name)
	}()
	if err := syncDir(dir); err != nil {
		tb.Fatal(err)
	}
	record := bytes.Repeat([]byte{'e'}, max(size, 1))
	var off int64
	n := 0
	start := time.Now()
	for n == 0 || time.Since(start) < d {
		if _, err := f.WriteAt(record, off); err != nil {
			tb.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			tb.Fatal(err)
		}
		off += int64(len(record))
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // G304: the benchmark's temp dir
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
