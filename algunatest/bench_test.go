package algunatest

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alguna/alguna-go"
)

// BenchmarkIngest measures how fast users' test suites can push usage
// events into the fake: one op is one event, sent in batches of 100 from
// parallel senders, metered against a count metric; it reports events/s.
func BenchmarkIngest(b *testing.B) {
	setup := func(b *testing.B) (*Server, string) {
		s := newServer(b)
		s.SetMetric(Metric{EventName: "api_call"})
		id := createAccount(b, s, "Bench", "bench")
		grantCreditsRaw(b, s, id, "units", "1000000000")
		return s, id
	}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	}

	b.Run("raw", func(b *testing.B) {
		s, id := setup(b)
		client := httpClient(b)
		var seq atomic.Int64
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 100*160)
			n := 0
			flush := func() {
				if n == 0 {
					return
				}
				buf = append(buf, ']')
				req, err := http.NewRequest(http.MethodPost, s.URL+"/events", bytes.NewReader(buf))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+s.APIKey)
				req.Header.Set("Content-Type", "application/json")
				r, err := trySend(client, req)
				if err != nil || r.status != http.StatusOK {
					b.Errorf("ingest: %v %d %s", err, r.status, r.body)
				}
				buf, n = buf[:0], 0
			}
			for pb.Next() {
				if n == 0 {
					buf = append(buf, '[')
				} else {
					buf = append(buf, ',')
				}
				buf = append(buf, `{"uniqueId":"e`...)
				buf = strconv.AppendInt(buf, seq.Add(1), 10)
				buf = append(buf, `","account":"`...)
				buf = append(buf, id...)
				buf = append(buf, `","eventName":"api_call","timestamp":"2025-03-09T15:03:17Z","properties":{"endpoint":"/v1/analyze","tokens":1500}}`...)
				if n++; n == 100 {
					flush()
				}
			}
			flush()
		})
		report(b, start)
	})

	b.Run("sdk", func(b *testing.B) {
		s, id := setup(b)
		c := s.Client()
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			batch := make([]alguna.Event, 0, 100)
			flush := func() {
				if len(batch) == 0 {
					return
				}
				if _, err := c.Events.Ingest(ctx, batch); err != nil {
					b.Error(err)
				}
				batch = batch[:0]
			}
			for pb.Next() {
				batch = append(batch, alguna.Event{
					Account:    id,
					EventName:  "api_call",
					Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
				})
				if len(batch) == 100 {
					flush()
				}
			}
			flush()
		})
		report(b, start)
	})
}
