package algunaotel_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	algunaotel "github.com/alguna/alguna-go/otel"
)

// globals are the providers installed as OpenTelemetry's globals, once per
// process: the globals delegate to the first ones installed for good, so a
// test cannot put them back.
var globals = sync.OnceValues(func() (*tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return spans, reader
})

func callCount(t *testing.T, reader *sdkmetric.ManualReader) uint64 {
	t.Helper()
	m, ok := findMetric(collect(t, reader), algunaotel.CallDurationName)
	if !ok {
		return 0
	}
	var calls uint64
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		calls += dp.Count
	}
	return calls
}

// This is the only test that sets OpenTelemetry's globals.
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

	// The first time in a process, the clients above were made before
	// the globals were installed.
	spans, reader := globals()
	spans.Reset()
	before := callCount(t, reader)

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

	require.Equal(t, before+2, callCount(t, reader))
}
