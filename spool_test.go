package alguna_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/alguna/alguna-go"
)

// spoolFiles lists the segment and ack files in dir.
func spoolFiles(t testing.TB, dir string) (segs, acks []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".seg":
			segs = append(segs, filepath.Join(dir, e.Name()))
		case ".ack":
			acks = append(acks, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(segs)
	return segs, acks
}

// snapshotSpool copies a live spool's files: what a process killed at this
// moment would leave behind, since everything Enqueue acknowledged is
// already in its files.
func snapshotSpool(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	segs, acks := spoolFiles(t, dir)
	for _, p := range append(segs, acks...) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o600))
	}
	return dst
}

func requireSpoolEmpty(t testing.TB, dir string) {
	t.Helper()
	segs, acks := spoolFiles(t, dir)
	require.Empty(t, segs, "segments left")
	require.Empty(t, acks, "ack files left")
}

// closeQuickly closes a Batcher whose server refuses everything.
func closeQuickly(t testing.TB, b *alguna.Batcher) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	return b.Close(ctx)
}

// spooledWhileRefused enqueues n events with ids e-00, e-01, … into a spool
// while the server refuses them, and returns a snapshot of the spool taken
// as if the process had been killed then.
func spooledWhileRefused(t *testing.T, n int) string {
	t.Helper()
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Hour})
	for i := range n {
		e := usage(i)
		e.UniqueID = fmt.Sprintf("e-%02d", i)
		require.NoError(t, b.Enqueue(context.Background(), e))
	}
	segs, _ := spoolFiles(t, dir)
	require.NotEmpty(t, segs)
	snap := snapshotSpool(t, dir)
	require.Error(t, closeQuickly(t, b))
	return snap
}

// spoolBatcher is fastBatcher with a spool, in a new directory unless o
// names one.
func spoolBatcher(t testing.TB, c *alguna.Client, o alguna.BatcherOptions) *alguna.Batcher {
	t.Helper()
	if o.SpoolDir == "" {
		o.SpoolDir = t.TempDir()
	}
	return fastBatcher(t, c, o)
}

func TestSpoolDeliversAndCleansUp(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSink(t)
	s.release = make(chan struct{}) // requests wait until the spool is looked at
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, SpoolSegmentBytes: 2 << 10, MaxBatchSize: 25, FlushInterval: time.Hour})
	ctx := context.Background()
	for i := range 300 {
		require.NoError(t, b.Enqueue(ctx, usage(i)))
	}
	segs, _ := spoolFiles(t, dir)
	require.Greater(t, len(segs), 10, "300 events roll over many 2 KiB segments")
	st := b.Stats()
	require.Positive(t, st.SpooledBytes)
	require.Positive(t, st.Syncs)

	close(s.release)
	require.NoError(t, b.Flush(ctx))
	segs, _ = spoolFiles(t, dir)
	require.LessOrEqual(t, len(segs), 1, "only the segment still being written may stay once everything is delivered")

	require.NoError(t, b.Close(ctx))
	requireSpoolEmpty(t, dir)
	st = b.Stats()
	require.Equal(t, int64(300), st.Ingested)
	require.Zero(t, st.SpooledBytes)
	require.Zero(t, st.Pending)
	require.Equal(t, 300, s.distinct())
	s.close()
	goleak.VerifyNone(t, ignore)
}

func TestSpoolConcurrentProducersShareFsyncs(t *testing.T) {
	s := newSink(t)
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{FlushInterval: time.Millisecond})
	produce(t, b, 16, 100)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 1600, s.distinct())
	st := b.Stats()
	require.Equal(t, int64(1600), st.Ingested)
	t.Logf("%d fsyncs for %d events", st.Syncs, st.Enqueued)
	require.Less(t, st.Syncs, st.Enqueued, "concurrent Enqueue calls share fsyncs")
}

// rawSink records each event exactly as it arrives on the wire.
type rawSink struct {
	srv    *httptest.Server
	refuse atomic.Bool
	mu     sync.Mutex
	raw    map[string]string
}

func newRawSink(t *testing.T) *rawSink {
	r := &rawSink{raw: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var events []json.RawMessage
		if err := json.NewDecoder(req.Body).Decode(&events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := make([]string, 0, len(events))
		r.mu.Lock()
		for _, raw := range events {
			var e struct {
				UniqueID string `json:"uniqueId"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				r.mu.Unlock()
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.raw[e.UniqueID] = string(raw)
			ids = append(ids, e.UniqueID)
		}
		r.mu.Unlock()
		if r.refuse.Load() {
			http.Error(w, `{"status":503,"detail":"down"}`, http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string][]string{"ingested": ids, "failed": {}})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rawSink) client(t *testing.T) *alguna.Client {
	c, err := alguna.NewClient("k", alguna.WithBaseURL(r.srv.URL),
		alguna.WithRetryWait(time.Millisecond, 2*time.Millisecond), alguna.WithMaxRetries(1))
	require.NoError(t, err)
	return c
}

func (r *rawSink) events() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.raw)
}

func TestSpoolReplaySendsTheSameEvents(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	events := []alguna.Event{
		{UniqueID: "evt_fixed", Account: "acc_1", EventName: "api_call",
			Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 123456789, berlin)},
		{Account: "acc_2", EventName: "tokens", Properties: map[string]any{
			"big": int64(1) << 62, "max": ^uint64(0), "neg": -7, "f64": 0.1, "f32": float32(2.5),
			"tiny": 1e-9, "num": json.Number("12.500"), "dec": decimal.RequireFromString("1234.5678"),
			"text": "naïve \"quoted\" \n line", "u2028": "a\u2028b",
		}},
		{Account: "acc_3", EventName: "api_call"},
	}

	// First run: the server is down, so the events stay in the spool.
	down := newRawSink(t)
	down.refuse.Store(true)
	dir := t.TempDir()
	b1 := spoolBatcher(t, down.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Millisecond})
	for _, e := range events {
		require.NoError(t, b1.Enqueue(context.Background(), e))
	}
	require.Eventually(t, func() bool { return len(down.events()) == len(events) }, 10*time.Second, time.Millisecond,
		"every event was attempted once")
	snap := snapshotSpool(t, dir)
	require.Error(t, closeQuickly(t, b1))

	// Second run, as after a crash: the events go out byte for byte as the
	// first run sent them: same ids, timestamps and property digits.
	up := newRawSink(t)
	var f failures
	b2 := spoolBatcher(t, up.client(t), alguna.BatcherOptions{SpoolDir: snap, FlushInterval: time.Millisecond, OnFailure: f.record})
	require.Equal(t, int64(len(events)), b2.Stats().Replayed)
	require.NoError(t, b2.Close(context.Background()))
	require.Equal(t, down.events(), up.events())
	require.Contains(t, up.events()["evt_fixed"], `"timestamp":"2025-03-09T14:03:17.123456789Z"`)
	require.Contains(t, up.events()["evt_fixed"], `"account":"acc_1"`)
	require.Zero(t, f.count())
	requireSpoolEmpty(t, snap)
	st := b2.Stats()
	require.Equal(t, st.Enqueued+st.Replayed, st.Ingested+st.Failed)
}

func TestSpoolReplayedEventsKeepTheirValuesInOnFailure(t *testing.T) {
	ts := time.Date(2025, 3, 9, 15, 3, 17, 5, time.UTC)
	snapSink := newSink(t)
	snapSink.status.Store(http.StatusServiceUnavailable)
	dir := t.TempDir()
	b1 := spoolBatcher(t, snapSink.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Hour})
	require.NoError(t, b1.Enqueue(context.Background(), alguna.Event{
		UniqueID: "evt_1", Account: "acc_1", EventName: "api_call", Timestamp: ts,
		Properties: map[string]any{"tokens": 1500, "model": "small", "cost": decimal.RequireFromString("0.0031")},
	}))
	snap := snapshotSpool(t, dir)
	require.Error(t, closeQuickly(t, b1))

	// A server that refuses the request for good hands the replayed event
	// to OnFailure, where the caller sees what was spooled.
	s := newSink(t)
	s.status.Store(http.StatusUnauthorized)
	var got []alguna.Event
	b2 := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: snap, OnFailure: func(events []alguna.Event, err error) {
		got = append(got, events...)
	}})
	require.NoError(t, b2.Flush(context.Background()))
	require.Error(t, b2.Close(context.Background()))
	require.Len(t, got, 1)
	e := got[0]
	require.Equal(t, "evt_1", e.UniqueID)
	require.True(t, ts.Equal(e.Timestamp), "%s != %s", ts, e.Timestamp)
	require.Equal(t, map[string]any{"tokens": json.Number("1500"), "model": "small", "cost": json.Number("0.0031")}, e.Properties)
	requireSpoolEmpty(t, snap)
}

func TestSpoolCleanRestartReplaysNothing(t *testing.T) {
	s := newSink(t)
	s.failIDs["rejected"] = true
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Hour})
	for i := range 30 {
		e := usage(i)
		if i == 7 {
			e.UniqueID = "rejected"
		}
		require.NoError(t, b.Enqueue(context.Background(), e))
	}
	require.Error(t, b.Close(context.Background()), "one event was reported failed")
	requireSpoolEmpty(t, dir)

	s.mu.Lock()
	requests := s.requests
	s.mu.Unlock()
	var f failures
	b2 := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, OnFailure: f.record})
	require.NoError(t, b2.Close(context.Background()))
	require.Zero(t, b2.Stats().Replayed)
	require.Zero(t, f.count())
	s.mu.Lock()
	require.Equal(t, requests, s.requests, "nothing sent again")
	s.mu.Unlock()
}

func TestSpoolSettledEventsAreNotReplayedAfterACrash(t *testing.T) {
	s := newSink(t)
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Hour})
	ctx := context.Background()
	for i := range 30 {
		e := usage(i)
		e.UniqueID = fmt.Sprintf("early-%d", i)
		require.NoError(t, b.Enqueue(ctx, e))
	}
	require.NoError(t, b.Flush(ctx))
	s.status.Store(http.StatusServiceUnavailable)
	for i := range 20 {
		e := usage(i)
		e.UniqueID = fmt.Sprintf("late-%d", i)
		require.NoError(t, b.Enqueue(ctx, e))
	}
	snap := snapshotSpool(t, dir)
	require.Error(t, closeQuickly(t, b))

	// The next process talks to a sink of its own: a request of the first
	// one that its server is still handling must not count for it.
	s2 := newSink(t)
	b2 := spoolBatcher(t, s2.client(t), alguna.BatcherOptions{SpoolDir: snap})
	require.NoError(t, b2.Close(ctx))
	require.Equal(t, int64(20), b2.Stats().Replayed, "only the unsettled events come back")
	s2.mu.Lock()
	defer s2.mu.Unlock()
	for i := range 30 {
		require.Zero(t, s2.seen[fmt.Sprintf("early-%d", i)], "early-%d sent again", i)
	}
	for i := range 20 {
		require.Equal(t, 1, s2.seen[fmt.Sprintf("late-%d", i)], "late-%d", i)
	}
}

func TestSpoolTornTailIsIgnored(t *testing.T) {
	snap := spooledWhileRefused(t, 20)
	segs, _ := spoolFiles(t, snap)
	last := segs[len(segs)-1]
	data, err := os.ReadFile(last)
	require.NoError(t, err)
	// A crash in the middle of a write leaves the start of a record.
	torn := append(slices.Clone(data), data[:40]...)
	require.NoError(t, os.WriteFile(last, torn, 0o600))

	s := newSink(t)
	s.release = make(chan struct{})
	var f failures
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: snap, OnFailure: f.record})
	after, err := os.ReadFile(last)
	require.NoError(t, err)
	require.Equal(t, data, after, "the torn record is cut off")
	close(s.release)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 20, s.distinct())
	require.Zero(t, f.count())
	st := b.Stats()
	require.Equal(t, int64(20), st.Replayed)
	require.Zero(t, st.Corrupt)
	requireSpoolEmpty(t, snap)
}

func TestSpoolCorruptRecordIsSkippedAndReported(t *testing.T) {
	flip := func(data []byte, payload int) {
		i := bytes.Index(data[payload:], []byte(`"acc_1"`))
		data[payload+i+5] = '9'
	}
	for _, tc := range []struct {
		name    string
		id      string
		damage  func(data []byte, payload int)
		salvage bool
	}{
		{"payload byte flipped", "e-05", flip, true},
		{"header and payload start overwritten", "e-05", func(data []byte, payload int) {
			for i := payload - 12; i < payload+8; i++ {
				data[i] = 0
			}
		}, false},
		// The last record of the newest file is complete, so it was
		// acknowledged: damage there is reported, not taken for a write
		// that a crash cut short.
		{"last record's payload byte flipped", "e-19", flip, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := spooledWhileRefused(t, 20)
			segs, _ := spoolFiles(t, snap)
			data, err := os.ReadFile(segs[0])
			require.NoError(t, err)
			payload := bytes.Index(data, []byte(`{"uniqueId":"`+tc.id+`"`))
			require.Positive(t, payload)
			tc.damage(data, payload)
			require.NoError(t, os.WriteFile(segs[0], data, 0o600))

			s := newSink(t)
			var f failures
			b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: snap, OnFailure: f.record})
			// Close errs about events not ingested; with nothing salvaged,
			// none was.
			if err := b.Close(context.Background()); tc.salvage {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, 19, s.distinct(), "every other event is delivered")
			s.mu.Lock()
			require.Zero(t, s.seen[tc.id], "the damaged event is not sent")
			s.mu.Unlock()
			require.Len(t, f.errors, 1)
			err = f.errors[0]
			require.ErrorIs(t, err, alguna.ErrSpoolCorrupt)
			require.Contains(t, err.Error(), filepath.Base(segs[0]))
			// The record's 12-byte header comes just before its payload.
			require.Contains(t, err.Error(), fmt.Sprintf("offset %d", payload-12))
			st := b.Stats()
			require.Equal(t, int64(1), st.Corrupt)
			if tc.salvage {
				require.Equal(t, map[string]int{tc.id: 1}, f.byID, "what could be read is handed over")
				require.Equal(t, int64(20), st.Replayed)
				require.Equal(t, int64(1), st.Failed)
			} else {
				require.Empty(t, f.byID)
				require.Equal(t, int64(19), st.Replayed)
				require.Zero(t, st.Failed)
			}
			require.Equal(t, st.Enqueued+st.Replayed, st.Ingested+st.Failed)
			requireSpoolEmpty(t, snap)
		})
	}
}

func TestSpoolSecondBatcherIsLockedOut(t *testing.T) {
	s := newSink(t)
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir})
	_, err := s.client(t).Events.NewBatcher(alguna.BatcherOptions{SpoolDir: dir})
	require.ErrorIs(t, err, alguna.ErrSpoolLocked)
	require.Contains(t, err.Error(), dir)
	require.Contains(t, err.Error(), fmt.Sprint(os.Getpid()), "the error names the holder")
	require.NoError(t, b.Close(context.Background()))

	// Close releases the directory.
	b2 := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir})
	require.NoError(t, b2.Close(context.Background()))
}

func TestSpoolBoundDropsWhenFull(t *testing.T) {
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	const limit = 4 << 10
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{
		MaxSpoolBytes: limit, SpoolSegmentBytes: 1 << 10, DropWhenFull: true, FlushInterval: time.Millisecond,
	})
	accepted := 0
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the spool never filled up")
		err := b.Enqueue(context.Background(), usage(i))
		if err != nil {
			require.ErrorIs(t, err, alguna.ErrQueueFull)
			break
		}
		accepted++
		require.LessOrEqual(t, b.Stats().SpooledBytes, int64(limit))
	}
	require.Positive(t, accepted)
	st := b.Stats()
	require.Equal(t, int64(1), st.Dropped)
	require.Greater(t, st.SpooledBytes, int64(limit-300), "the bound is the disk, not the queue")

	s.status.Store(0)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, accepted, s.distinct())
	st = b.Stats()
	require.Equal(t, int64(accepted), st.Ingested)
	require.Zero(t, st.SpooledBytes)
}

func TestSpoolBoundMakesEnqueueWait(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	const limit = 4 << 10
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{
		MaxSpoolBytes: limit, SpoolSegmentBytes: 1 << 10, FlushInterval: time.Millisecond,
	})
	accepted := 0
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the spool never filled up")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := b.Enqueue(ctx, usage(i))
		cancel()
		if err != nil {
			// Only the wait for disk room heeds ctx, so this is the bound.
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Contains(t, err.Error(), "room in the spool")
			break
		}
		accepted++
	}
	require.LessOrEqual(t, b.Stats().SpooledBytes, int64(limit))

	// Once the server is back, delivery frees segments and the waiting
	// Enqueue gets in.
	done := make(chan error, 1)
	go func() { done <- b.Enqueue(context.Background(), usage(-1)) }()
	s.status.Store(0)
	require.NoError(t, <-done)
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, accepted+1, s.distinct())
	require.Zero(t, b.Stats().Dropped)
	s.close()
	goleak.VerifyNone(t, ignore)
}

func TestSpoolCloseWakesEnqueueWaitingForDisk(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSink(t)
	s.status.Store(http.StatusServiceUnavailable)
	var f failures
	dir := t.TempDir()
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{
		SpoolDir: dir, MaxSpoolBytes: 1 << 10, FlushInterval: time.Millisecond, OnFailure: f.record,
	})
	accepted := 0
	for i := 0; ; i++ {
		require.Less(t, i, 100, "the spool never filled up")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := b.Enqueue(ctx, usage(i))
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			break
		}
		accepted++
	}
	done := make(chan error, 1)
	go func() { done <- b.Enqueue(context.Background(), usage(-1)) }()
	require.Error(t, closeQuickly(t, b))
	require.ErrorIs(t, <-done, alguna.ErrBatcherClosed)
	require.Zero(t, f.count(), "kept events are not lost, so not reported")
	st := b.Stats()
	require.Equal(t, alguna.BatcherStats{Enqueued: int64(accepted), Kept: int64(accepted), Retried: st.Retried, SpooledBytes: st.SpooledBytes, Syncs: st.Syncs}, st)
	requireDeliveredOnRestart(t, dir, accepted)
	s.close()
	goleak.VerifyNone(t, ignore)
}

// requireDeliveredOnRestart opens a Batcher on dir against a healthy server
// and closes it: the n events an earlier Batcher kept must all arrive, and
// the spool must end empty.
func requireDeliveredOnRestart(t *testing.T, dir string, n int) {
	t.Helper()
	s := newSink(t)
	var f failures
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Millisecond, OnFailure: f.record})
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, n, s.distinct())
	require.Zero(t, f.count())
	st := b.Stats()
	require.Equal(t, alguna.BatcherStats{Replayed: int64(n), Ingested: int64(n), Syncs: st.Syncs}, st)
	requireSpoolEmpty(t, dir)
	s.close()
}

func TestSpoolSmallerThanASegmentDoesNotWedge(t *testing.T) {
	s := newSink(t)
	// Room for about ten events, in a segment that could hold thousands:
	// the segment must be recycled once delivered, not wait to fill up.
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{MaxSpoolBytes: 2 << 10, FlushInterval: time.Millisecond})
	for i := range 200 {
		require.NoError(t, b.Enqueue(context.Background(), usage(i)))
	}
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, 200, s.distinct())
}

func TestSpoolEventTooLargeForTheSpool(t *testing.T) {
	s := newSink(t)
	b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{MaxSpoolBytes: 1 << 10})
	e := usage(1)
	e.Properties["blob"] = strings.Repeat("x", 2<<10)
	err := b.Enqueue(context.Background(), e)
	require.ErrorContains(t, err, "do not fit in the spool")
	require.NoError(t, b.Close(context.Background()))
	require.Equal(t, alguna.BatcherStats{}, b.Stats())
}

func TestSpoolBacklogLargerThanTheQueue(t *testing.T) {
	t.Run("delivered", func(t *testing.T) {
		snap := spooledWhileRefused(t, 50)
		ignore := goleak.IgnoreCurrent()
		s := newSink(t)
		b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: snap, QueueSize: 8, FlushInterval: time.Millisecond})
		require.NoError(t, b.Enqueue(context.Background(), usage(-1)), "new events are taken during the replay")
		require.NoError(t, b.Flush(context.Background()))
		require.Equal(t, 51, s.distinct())
		require.NoError(t, b.Close(context.Background()))
		require.Equal(t, int64(50), b.Stats().Replayed)
		requireSpoolEmpty(t, snap)
		s.close()
		goleak.VerifyNone(t, ignore)
	})
	t.Run("server down until Close gives up: the backlog waits for the next start", func(t *testing.T) {
		snap := spooledWhileRefused(t, 50)
		ignore := goleak.IgnoreCurrent()
		s := newSink(t)
		s.status.Store(http.StatusServiceUnavailable)
		var f failures
		b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: snap, QueueSize: 8, FlushInterval: time.Millisecond, OnFailure: f.record})
		err := closeQuickly(t, b)
		require.ErrorContains(t, err, "50 of 50 events not ingested (50 kept in the spool for the next start)")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, f.count())
		st := b.Stats()
		require.Equal(t, alguna.BatcherStats{Replayed: 50, Kept: 50, Retried: st.Retried, SpooledBytes: st.SpooledBytes, Syncs: st.Syncs}, st)
		requireDeliveredOnRestart(t, snap, 50)
		s.close()
		goleak.VerifyNone(t, ignore)
	})
}

func TestSpoolGuaranteesOfTheBatcherHold(t *testing.T) {
	t.Run("dead server: Close keeps every event for the next start", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		s := newSink(t)
		s.status.Store(http.StatusServiceUnavailable)
		var f failures
		dir := t.TempDir()
		b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{SpoolDir: dir, MaxBatchSize: 10, FlushInterval: time.Millisecond, OnFailure: f.record})
		for i := range 95 {
			require.NoError(t, b.Enqueue(context.Background(), usage(i)))
		}
		err := closeQuickly(t, b)
		require.ErrorContains(t, err, "95 of 95 events not ingested (95 kept in the spool for the next start)")
		require.Zero(t, f.count())
		st := b.Stats()
		require.Equal(t, alguna.BatcherStats{Enqueued: 95, Kept: 95, Retried: st.Retried, SpooledBytes: st.SpooledBytes, Syncs: st.Syncs}, st)
		require.Positive(t, st.SpooledBytes, "the kept events are still on disk")
		require.ErrorIs(t, b.Enqueue(context.Background(), usage(1)), alguna.ErrBatcherClosed)
		requireDeliveredOnRestart(t, dir, 95)
		s.close()
		goleak.VerifyNone(t, ignore)
	})
	t.Run("memory bound still applies", func(t *testing.T) {
		s := newSink(t)
		s.release = make(chan struct{})
		s.arrived = make(chan struct{}, 10)
		b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 1, QueueSize: 2, Concurrency: 1, DropWhenFull: true})
		require.NoError(t, b.Enqueue(context.Background(), usage(1)))
		require.NoError(t, b.Enqueue(context.Background(), usage(2)))
		<-s.arrived
		require.ErrorIs(t, b.Enqueue(context.Background(), usage(3)), alguna.ErrQueueFull)
		close(s.release)
		require.NoError(t, b.Close(context.Background()))
		st := b.Stats()
		require.Equal(t, alguna.BatcherStats{Enqueued: 2, Ingested: 2, Dropped: 1, Syncs: st.Syncs}, st)
	})
	t.Run("outage that ends", func(t *testing.T) {
		s := newSink(t)
		s.status.Store(http.StatusBadGateway)
		b := spoolBatcher(t, s.client(t), alguna.BatcherOptions{MaxBatchSize: 25, FlushInterval: time.Millisecond})
		for i := range 100 {
			require.NoError(t, b.Enqueue(context.Background(), usage(i)))
		}
		s.waitRequests(t, 8)
		s.status.Store(0)
		require.NoError(t, b.Close(context.Background()))
		require.Equal(t, 100, s.distinct())
	})
}

func TestSpoolOptionsAreValidated(t *testing.T) {
	c, err := alguna.NewClient("k")
	require.NoError(t, err)
	for _, o := range []alguna.BatcherOptions{
		{MaxSpoolBytes: 1 << 20},
		{SpoolSegmentBytes: 1 << 20},
		{SpoolDir: t.TempDir(), MaxSpoolBytes: -1},
		{SpoolDir: t.TempDir(), SpoolSegmentBytes: -1},
	} {
		_, err := c.Events.NewBatcher(o)
		var ve *alguna.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", o)
	}
}

// The crash test runs this as a child process: it enqueues from several
// goroutines into the spool and prints each id that Enqueue acknowledged,
// until it is killed.
const (
	crashDirEnv = "ALGUNA_SPOOL_CRASH_DIR"
	crashURLEnv = "ALGUNA_SPOOL_CRASH_URL"
)

func TestSpoolCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run as a child process by TestSpoolCrashLosesNothing")
	}
	c, err := alguna.NewClient("k", alguna.WithBaseURL(os.Getenv(crashURLEnv)),
		alguna.WithRetryWait(time.Millisecond, 2*time.Millisecond), alguna.WithMaxRetries(1))
	require.NoError(t, err)
	b, err := c.Events.NewBatcher(alguna.BatcherOptions{
		SpoolDir: dir, SpoolSegmentBytes: 8 << 10, QueueSize: 100000, MaxBatchSize: 20,
		FlushInterval: time.Millisecond, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	var mu sync.Mutex
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				e := usage(i)
				e.UniqueID = fmt.Sprintf("g%d-%d", g, i)
				if err := b.Enqueue(context.Background(), e); err != nil {
					fmt.Fprintln(os.Stderr, "enqueue:", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", e.UniqueID)
				mu.Unlock()
			}
		}()
	}
	// Should the parent die without killing us, its end of stdin closes.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(2)
}

func TestSpoolCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, tc := range []struct {
		mode string // how the server treats the child: "refuse" or "flaky"
		acks int    // acknowledgements to wait for before the kill
	}{
		{"refuse", 1}, {"refuse", 37}, {"refuse", 500}, {"refuse", 2500},
		{"flaky", 60}, {"flaky", 1200},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.mode, tc.acks), func(t *testing.T) {
			s := newSink(t)
			var flaky atomic.Bool
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if flaky.Load() && calls.Add(1)%2 == 0 {
					http.Error(w, `{"status":503,"detail":"flaky"}`, http.StatusServiceUnavailable)
					return
				}
				s.serve(w, r)
			}))
			defer srv.Close()
			switch tc.mode {
			case "refuse":
				s.status.Store(http.StatusServiceUnavailable)
			case "flaky":
				flaky.Store(true)
			}

			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashURLEnv+"="+srv.URL)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			defer func() { _ = stdin.Close() }()
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())

			acked := make(map[string]bool, tc.acks)
			lines := bufio.NewScanner(stdout)
			for len(acked) < tc.acks && lines.Scan() {
				if id, ok := strings.CutPrefix(lines.Text(), "ack "); ok {
					acked[id] = true
				}
			}
			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			require.Len(t, acked, tc.acks, "the child stopped early: %s", stderr.String())

			// A new process on the same directory, with Alguna healthy.
			s.status.Store(0)
			flaky.Store(false)
			c, err := alguna.NewClient("k", alguna.WithBaseURL(srv.URL))
			require.NoError(t, err)
			var f failures
			b, err := c.Events.NewBatcher(alguna.BatcherOptions{SpoolDir: dir, FlushInterval: time.Millisecond, OnFailure: f.record})
			require.NoError(t, err)
			require.NoError(t, b.Close(context.Background()))

			s.mu.Lock()
			lost := 0
			for id := range acked {
				if s.seen[id] == 0 {
					lost++
				}
			}
			s.mu.Unlock()
			require.Zero(t, lost, "acknowledged events lost")
			st := b.Stats()
			require.Zero(t, f.count())
			require.Zero(t, st.Corrupt)
			if tc.mode == "refuse" {
				require.GreaterOrEqual(t, st.Replayed, int64(tc.acks))
			}
			t.Logf("acknowledged %d, replayed %d, delivered %d distinct", tc.acks, st.Replayed, s.distinct())
			requireSpoolEmpty(t, dir)
		})
	}
}
