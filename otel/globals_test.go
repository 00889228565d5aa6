package algunaotel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	algunaotel "github.com/alguna/alguna-go/otel"
)

// This is the only test that sets OpenTelemetry's globals: they delegate
// to the first providers installed, for the life of the process.
//
// A program typically makes its clients before, or without knowing about,
// its OpenTelemetry setup; the telemetry must still reach the providers it
// installs later. The zero Observer reports to the globals as well.
func TestGlobalsInstalledAfterTheClient(t *testing.T) {
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	rec := newHeaderRecorder(t)
	hc := &http.Client{Transport: rec}
	client := srv.Client(alguna.WithHTTPClient(hc), algunaotel.WithTelemetry())
	zero := srv.Client(alguna.WithHTTPClient(hc), alguna.WithObserver(&algunaotel.Observer{}))

	spans, tp := tracing(t)
	reader, mp := metering(t)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	ctx := context.Background()
	_, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = zero.Accounts.List(ctx, nil)
	require.NoError(t, err)

	ended := spans.Ended()
	require.Len(t, ended, 2)
	require.Equal(t, "POST /accounts", ended[0].Name())
	require.Equal(t, "GET /accounts", ended[1].Name())
	sent := rec.sent()
	require.Len(t, sent, 2)
	for i, s := range ended {
		require.Equal(t, traceparent(s.SpanContext()), sent[i].Get("Traceparent"))
	}

	m, ok := findMetric(collect(t, reader), algunaotel.CallDurationName)
	require.True(t, ok)
	var calls uint64
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		calls += dp.Count
	}
	require.Equal(t, uint64(2), calls)
}
