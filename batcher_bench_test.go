package alguna_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// answerTransport answers every request in memory, so that a benchmark
// counts the SDK's own work (and allocations) on the Enqueue→send path and
// nothing of a server's.
type answerTransport struct {
	events atomic.Int64
	answer []byte
}

func (t *answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	t.events.Add(int64(bytes.Count(body, []byte(`"uniqueId":`))))
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(t.answer)),
		Request:    r,
	}, nil
}

// minimalSink decodes each array and answers with the ingested ids, the
// least a real endpoint must do.
func minimalSink() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []struct {
			UniqueID string `json:"uniqueId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.UniqueID
		}
		_ = json.NewEncoder(w).Encode(map[string][]string{"ingested": ids, "failed": {}})
	})
}

// benchmarkBatcher enqueues b.N events from parallel producers and closes
// the Batcher; o's zero QueueSize and FlushInterval get the benchmarks'
// values. It returns the final stats.
func benchmarkBatcher(b *testing.B, c *alguna.Client, o alguna.BatcherOptions, delivered func() int64) alguna.BatcherStats {
	if o.QueueSize == 0 {
		o.QueueSize = 20000
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 10 * time.Millisecond
	}
	bt, err := c.Events.NewBatcher(o)
	require.NoError(b, err)
	props := map[string]any{"endpoint": "/v1/analyze", "tokens": 1500}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bt.Enqueue(ctx, alguna.Event{Account: "acc_abc123", EventName: "api_call", Properties: props}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	require.NoError(b, bt.Close(ctx))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if delivered != nil {
		require.Equal(b, int64(b.N), delivered())
	}
	st := bt.Stats()
	require.Equal(b, int64(b.N), st.Ingested)
	return st
}

// BenchmarkBatcherInMemory measures the SDK alone: validation, ids,
// batching, encoding and the request path, against an in-memory answer.
func BenchmarkBatcherInMemory(b *testing.B) {
	tr := &answerTransport{answer: []byte(`{"ingested":[],"failed":[]}`)}
	c, err := alguna.NewClient("k", alguna.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(b, err)
	benchmarkBatcher(b, c, alguna.BatcherOptions{}, tr.events.Load)
}

// BenchmarkBatcherMinimalSink sends over loopback HTTP to a handler that
// decodes every array and answers.
func BenchmarkBatcherMinimalSink(b *testing.B) {
	srv := httptest.NewServer(minimalSink())
	defer srv.Close()
	c, err := alguna.NewClient("k", alguna.WithBaseURL(srv.URL))
	require.NoError(b, err)
	benchmarkBatcher(b, c, alguna.BatcherOptions{}, nil)
}

// BenchmarkBatcherAlgunatest sends into the bundled fake, which validates,
// dedupes and stores every event: what a user's test suite pays per event.
func BenchmarkBatcherAlgunatest(b *testing.B) {
	fake := algunatest.NewServer()
	defer fake.Close()
	c := fake.Client()
	_, err := c.Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "acc_abc123"})
	require.NoError(b, err)
	benchmarkBatcher(b, c, alguna.BatcherOptions{}, func() int64 { return int64(len(fake.Events())) })
}

// BenchmarkEventEncoding measures encoding a full request of 100 events.
func BenchmarkEventEncoding(b *testing.B) {
	tr := &answerTransport{answer: []byte(`{"ingested":[],"failed":[]}`)}
	c, err := alguna.NewClient("k", alguna.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(b, err)
	events := make([]alguna.Event, alguna.MaxEventsPerRequest)
	for i := range events {
		events[i] = alguna.Event{
			UniqueID: strings.Repeat("x", 36), Account: "acc_abc123", EventName: "api_call",
			Timestamp:  time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC),
			Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Events.Ingest(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
}
