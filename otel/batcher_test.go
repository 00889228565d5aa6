package algunaotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	algunaotel "github.com/alguna/alguna-go/otel"
)

// batcherMetrics is what one collection reports for the Batcher of that
// name, by metric name. Counters must be monotonic sums and the two levels
// non-monotonic ones; anything else fails the test.
func batcherMetrics(t *testing.T, r *sdkmetric.ManualReader, name string) map[string]int64 {
	t.Helper()
	levels := map[string]bool{algunaotel.BatcherPendingName: true, algunaotel.BatcherSpoolSizeName: true}
	out := map[string]int64{}
	for _, sm := range collect(t, r).ScopeMetrics {
		require.Equal(t, algunaotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			require.Equal(t, !levels[m.Name], sum.IsMonotonic, m.Name)
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value(algunaotel.BatcherNameKey); ok && v.AsString() == name {
					require.Equal(t, 1, dp.Attributes.Len(), "only the name labels a Batcher's metrics")
					out[m.Name] = dp.Value
				}
			}
		}
	}
	return out
}

func TestBatcherMetrics(t *testing.T) {
	reader, mp := metering(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()
	ctx := context.Background()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)

	usage, err := client.Events.NewBatcher(alguna.BatcherOptions{FlushInterval: time.Hour})
	require.NoError(t, err)
	audit, err := client.Events.NewBatcher(alguna.BatcherOptions{FlushInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = audit.Close(context.Background()) })
	usageReg, err := algunaotel.RegisterBatcher(usage, "usage", algunaotel.WithMeterProvider(mp))
	require.NoError(t, err)
	auditReg, err := algunaotel.RegisterBatcher(audit, "audit", algunaotel.WithMeterProvider(mp))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, auditReg.Unregister()) })

	event := func() alguna.Event { return alguna.Event{Account: acc.ID, EventName: "api_call"} }
	for range 3 {
		require.NoError(t, usage.Enqueue(ctx, event()))
	}
	got := batcherMetrics(t, reader, "usage")
	require.Equal(t, int64(3), got[algunaotel.BatcherEnqueuedName])
	require.Equal(t, int64(3), got[algunaotel.BatcherPendingName], "nothing is sent before the flush")
	require.Equal(t, int64(0), got[algunaotel.BatcherIngestedName])
	require.Len(t, got, 11, "every instrument reports, zeros included")

	require.NoError(t, usage.Flush(ctx))
	got = batcherMetrics(t, reader, "usage")
	require.Equal(t, int64(0), got[algunaotel.BatcherPendingName])
	require.Equal(t, int64(3), got[algunaotel.BatcherIngestedName])
	require.Len(t, srv.Events(), 3)

	// Failing answers make the Batcher resend: the metric counts exactly
	// the requests the server refused.
	before := len(srv.Requests())
	srv.SetFaults(algunatest.Faults{ErrorRate: 0.5, Seed: 3})
	for range 4 {
		require.NoError(t, usage.Enqueue(ctx, event()))
		require.NoError(t, usage.Flush(ctx))
	}
	srv.SetFaults(algunatest.Faults{})
	refused := 0
	for _, r := range srv.Requests()[before:] {
		if r.Status == http.StatusInternalServerError {
			refused++
		}
	}
	require.Positive(t, refused, "the seed must fault some requests for this test to mean anything")
	got = batcherMetrics(t, reader, "usage")
	require.Equal(t, int64(refused), got[algunaotel.BatcherRetriedName])
	require.Equal(t, int64(7), got[algunaotel.BatcherIngestedName])
	require.Equal(t, int64(7), got[algunaotel.BatcherEnqueuedName])
	require.Equal(t, int64(0), got[algunaotel.BatcherFailedName])
	require.Equal(t, usage.Stats().Retried, got[algunaotel.BatcherRetriedName])

	// The other Batcher's metrics are its own.
	other := batcherMetrics(t, reader, "audit")
	require.Len(t, other, 11)
	for name, v := range other {
		require.Zero(t, v, name)
	}

	// Closed and unregistered, a Batcher is no longer reported.
	require.NoError(t, usage.Close(ctx))
	require.NoError(t, usageReg.Unregister())
	require.Empty(t, batcherMetrics(t, reader, "usage"))
	require.Len(t, batcherMetrics(t, reader, "audit"), 11)
}

// A full queue refuses events; the metric counts each refusal. The server
// holds the first batch until the test has filled the queue behind it.
func TestBatcherMetricsCountDrops(t *testing.T) {
	reader, mp := metering(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ingested":[],"failed":[]}`)
	}))
	t.Cleanup(ts.Close)
	client, err := alguna.NewClient(testKey, alguna.WithBaseURL(ts.URL))
	require.NoError(t, err)
	ctx := context.Background()
	b, err := client.Events.NewBatcher(alguna.BatcherOptions{
		FlushInterval: time.Millisecond, QueueSize: 2, DropWhenFull: true, Concurrency: 1,
	})
	require.NoError(t, err)
	reg, err := algunaotel.RegisterBatcher(b, "small", algunaotel.WithMeterProvider(mp))
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })

	event := alguna.Event{Account: "user-1", EventName: "api_call"}
	require.NoError(t, b.Enqueue(ctx, event))
	require.NoError(t, b.Enqueue(ctx, event))
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch never reached the server")
	}
	// Both accepted events are in flight, unsettled: no room is left.
	for range 3 {
		require.ErrorIs(t, b.Enqueue(ctx, event), alguna.ErrQueueFull)
	}
	got := batcherMetrics(t, reader, "small")
	require.Equal(t, int64(3), got[algunaotel.BatcherDroppedName])
	require.Equal(t, int64(2), got[algunaotel.BatcherEnqueuedName])
	require.Equal(t, int64(2), got[algunaotel.BatcherPendingName])

	close(release)
	require.NoError(t, b.Close(ctx))
	got = batcherMetrics(t, reader, "small")
	require.Equal(t, int64(0), got[algunaotel.BatcherPendingName])
	require.Equal(t, int64(2), got[algunaotel.BatcherIngestedName])
}

func TestBatcherMetricsSpool(t *testing.T) {
	reader, mp := metering(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client()
	ctx := context.Background()
	_, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Alias: "user-1"})
	require.NoError(t, err)
	b, err := client.Events.NewBatcher(alguna.BatcherOptions{FlushInterval: time.Hour, SpoolDir: t.TempDir()})
	require.NoError(t, err)
	reg, err := algunaotel.RegisterBatcher(b, "spooled", algunaotel.WithMeterProvider(mp))
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })
	require.NoError(t, b.Enqueue(ctx, alguna.Event{Account: "user-1", EventName: "api_call"}))

	got := batcherMetrics(t, reader, "spooled")
	s := b.Stats()
	require.Positive(t, s.SpooledBytes)
	require.Positive(t, s.Syncs)
	require.Equal(t, s.SpooledBytes, got[algunaotel.BatcherSpoolSizeName])
	require.Equal(t, s.Syncs, got[algunaotel.BatcherSpoolSyncsName])
	require.NoError(t, b.Close(ctx))
}

func TestRegisterBatcherRefusesBadInput(t *testing.T) {
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	b, err := srv.Client().Events.NewBatcher(alguna.BatcherOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	_, mp := metering(t)
	tests := []struct {
		name    string
		b       *alguna.Batcher
		label   string
		wantErr string
	}{
		{"nil batcher", nil, "usage", "the Batcher is nil"},
		{"empty name", b, "", "the name is empty"},
		{"invalid UTF-8", b, "usage\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := algunaotel.RegisterBatcher(tt.b, tt.label, algunaotel.WithMeterProvider(mp))
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, reg)
		})
	}
}
