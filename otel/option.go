package algunaotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span and metric this
// package records: filter on it to find the SDK's telemetry.
const ScopeName = "github.com/alguna/alguna-go/otel"

// Option configures NewObserver, WithTelemetry and RegisterBatcher. Each
// function reads the options that concern it and ignores the rest, so that
// one list can be shared between them.
type Option func(*config)

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
}

// WithTracerProvider records spans with tp instead of the global
// TracerProvider. A nil tp keeps the global one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider records metrics with mp instead of the global
// MeterProvider. A nil mp keeps the global one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithPropagator writes trace context into each request's headers with p
// instead of the global propagator. A nil p keeps the global one.
//
// The global propagator sends nothing until the program sets one with
// otel.SetTextMapPropagator, as most OpenTelemetry setups do; give
// propagation.TraceContext{} here to send traceparent regardless.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// newConfig applies opts over the globals. The globals are read once, here:
// they delegate to whatever provider the program installs later, so a
// client made before the OpenTelemetry setup still reports to it.
func newConfig(opts []Option) config {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.propagator == nil {
		c.propagator = otel.GetTextMapPropagator()
	}
	return c
}

func (c *config) tracer() trace.Tracer {
	return c.tracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
}

func (c *config) meter() metric.Meter {
	return c.meterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
}
