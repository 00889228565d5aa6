package algunaotel

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/alguna/alguna-go"
)

// RequestIDKey is the span attribute that holds the request id of the
// call's last answer: the id Alguna's support asks for.
const RequestIDKey = attribute.Key("alguna.request_id")

// CallDurationName is the histogram of how long each call took, in seconds,
// from its start to its end: every attempt and every wait between attempts
// included. It is not http.client.request.duration, which times one request.
const CallDurationName = "alguna.client.call.duration"

const (
	// maxRequestID and maxDescription bound what an answer can put into a
	// span: the request id and the error message come from the server, and
	// a misbehaving one must not be able to bloat every trace.
	maxRequestID   = 256
	maxDescription = 1024
)

// callDurationBuckets suit a call that may take one quick request or
// several retries with backoff between them.
var callDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120}

// Observer is an alguna.Observer that records each API call as an
// OpenTelemetry span, writes the call's trace context into the headers of
// every request it sends, and records the call's duration.
//
// Create one with NewObserver, or use WithTelemetry to make a client with
// one. The zero Observer reports to the global providers. An Observer is
// safe for concurrent use, and one may serve any number of clients.
type Observer struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	duration   metric.Float64Histogram
}

var _ alguna.Observer = (*Observer)(nil)

// NewObserver returns an Observer that reports to the providers and
// propagator opts give, and to the global ones for the rest.
func NewObserver(opts ...Option) *Observer {
	c := newConfig(opts)
	duration, err := c.meter().Float64Histogram(CallDurationName,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of Alguna API calls, retries and the waits between them included."),
		metric.WithExplicitBucketBoundaries(callDurationBuckets...),
	)
	if err != nil {
		// Telemetry must not fail the program: OpenTelemetry reports such
		// errors through its own handler.
		otel.Handle(err)
	}
	if duration == nil {
		duration = metricnoop.Float64Histogram{}
	}
	return &Observer{tracer: c.tracer(), propagator: c.propagator, duration: duration}
}

// WithTelemetry is the one-line setup: an alguna.Option that makes the
// client report to OpenTelemetry through NewObserver(opts...).
//
//	client, err := alguna.NewClient(apiKey, algunaotel.WithTelemetry())
func WithTelemetry(opts ...Option) alguna.Option {
	return alguna.WithObserver(NewObserver(opts...))
}

// defaultObserver serves the zero Observer. The globals it reads delegate to
// whatever the program installs later, so building it once is enough.
var defaultObserver = sync.OnceValue(func() *Observer { return NewObserver() })

func (o *Observer) ready() *Observer {
	if o == nil || o.tracer == nil {
		return defaultObserver()
	}
	return o
}

// spanKey holds the span StartCall began, so that EndCall ends that span
// and never one of the caller's.
type spanKey struct{}

// StartCall starts the call's span, a client span named by the method and
// the route template ("POST /accounts/{id}/credits/grants"), as a child of
// the span in ctx.
func (o *Observer) StartCall(ctx context.Context, call alguna.CallInfo) context.Context {
	o = o.ready()
	ctx, span := o.tracer.Start(ctx, spanName(call),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			methodAttr(call.Method),
			semconv.URLTemplate(call.Route),
			semconv.URLPath(call.Path),
			semconv.ServerAddress(call.Host),
			semconv.ServerPort(call.Port),
		),
	)
	return context.WithValue(ctx, spanKey{}, span)
}

// Attempt writes the trace context of ctx into the request's headers. Every
// attempt of a call carries the call's span, so that the server's side of
// each retry joins the same trace.
func (o *Observer) Attempt(ctx context.Context, _ alguna.CallInfo, _ int, header http.Header) {
	if header == nil {
		return
	}
	o.ready().propagator.Inject(ctx, propagation.HeaderCarrier(header))
}

// EndCall ends the call's span with the status of the last answer, the
// number of resends and the request id, and marks it failed when the call
// returned an error. It records the call's duration too.
func (o *Observer) EndCall(ctx context.Context, call alguna.CallInfo, res alguna.CallResult) {
	o = o.ready()
	// outcome is shared by the span and the duration metric; the
	// metric's other labels are the span's name parts, never the path.
	outcome := make([]attribute.KeyValue, 0, 2)
	if res.StatusCode != 0 {
		outcome = append(outcome, semconv.HTTPResponseStatusCode(res.StatusCode))
	}
	if res.Err != nil {
		outcome = append(outcome, semconv.ErrorTypeKey.String(errorType(res.Err)))
	}
	o.duration.Record(ctx, res.Duration.Seconds(),
		metric.WithAttributes(methodAttr(call.Method), semconv.URLTemplate(call.Route)),
		metric.WithAttributes(outcome...))

	span, ok := ctx.Value(spanKey{}).(trace.Span)
	if !ok {
		return
	}
	span.SetAttributes(outcome...)
	if res.Attempts > 1 {
		span.SetAttributes(semconv.HTTPRequestResendCount(res.Attempts - 1))
	}
	if res.RequestID != "" {
		span.SetAttributes(RequestIDKey.String(clean(res.RequestID, maxRequestID)))
	}
	if res.Err != nil {
		msg := describe(res.Err)
		span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
			semconv.ExceptionType(exceptionType(res.Err)),
			semconv.ExceptionMessage(msg),
		))
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

// spanName follows the HTTP conventions: "{method} {url.template}". The
// concrete path is never used, since it holds ids.
func spanName(call alguna.CallInfo) string {
	m := call.Method
	if !knownMethod(m) {
		m = "HTTP"
	}
	if call.Route == "" {
		return m
	}
	return m + " " + call.Route
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return true
	}
	return false
}

// methodAttr is http.request.method, which the conventions limit to the
// known methods so that it stays a small set.
func methodAttr(m string) attribute.KeyValue {
	if knownMethod(m) {
		return semconv.HTTPRequestMethodKey.String(m)
	}
	return semconv.HTTPRequestMethodOther
}

// errorType is error.type: a small set of values, fit for a metric label.
// A call that ended with its context says so first, since that, not the
// last answer, is why it stopped.
func errorType(err error) string {
	var (
		apiErr *alguna.Error
		netErr net.Error
		urlErr *url.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.StatusCode)
	case errors.Is(err, alguna.ErrInvalidResponse):
		return "invalid_response"
	case errors.As(err, &urlErr) && urlErr.Err != nil:
		// No answer arrived: what broke is the connection, named by type
		// (*net.OpError, say).
		return typeName(urlErr.Err)
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// typeName is the Go type of err, as exception.type wants it.
func typeName(err error) string {
	return semconv.ErrorType(err).Value.AsString()
}

// exceptionType is the type of the first error in err's tree that is not
// one of fmt's wrappers: *alguna.Error, or *url.Error for a transport
// failure, rather than a wrapper that says nothing.
func exceptionType(err error) string {
	found := typeName(err)
	done := false
	walk(err, func(e error) {
		if t := typeName(e); !done && !strings.HasPrefix(t, "*fmt.") {
			found, done = t, true
		}
	})
	return found
}

// describe is err's message as a span may hold it. The SDK's own errors
// leave queries out of paths, since a query can hold an email or an alias,
// but a transport error quotes the whole URL: its query is cut here.
func describe(err error) string {
	msg := err.Error()
	walk(err, func(e error) {
		var ue *url.Error
		if !errors.As(e, &ue) || ue == nil {
			return
		}
		if cut := withoutQuery(ue.URL); cut != ue.URL {
			msg = strings.ReplaceAll(msg, strconv.Quote(ue.URL), strconv.Quote(cut))
			// In case something quoted it otherwise, the bare URL too.
			msg = strings.ReplaceAll(msg, ue.URL, cut)
		}
	})
	return clean(msg, maxDescription)
}

// walk calls f on err and on every error it wraps.
func walk(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch u := err.(type) { //nolint:errorlint // walking the tree by hand is the point
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, f)
		}
	}
}

func withoutQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// clean makes s valid UTF-8 (exporters refuse or mangle anything else) and
// at most limit bytes long, cut at a character boundary.
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
