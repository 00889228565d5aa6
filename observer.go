package alguna

import (
	"context"
	"net/http"
	"time"
)

// Observer watches every API call a Client makes, for tracing and metrics;
// set one with WithObserver. The otel module
// (github.com/alguna/alguna-go/otel) implements it with OpenTelemetry
// spans. A call is one method of a service, or one batch the Batcher
// delivers, with all of its attempts.
//
// Observers run on the calling goroutine, inside the call: keep them quick,
// and make them safe for concurrent use.
type Observer interface {
	// StartCall runs before the call's first request. The context it
	// returns is the one the call's requests carry and EndCall receives,
	// so that it can hold a span.
	StartCall(ctx context.Context, call CallInfo) context.Context
	// Attempt runs before each request of the call, with the request's
	// headers, so that it can add trace context to them (traceparent).
	Attempt(ctx context.Context, call CallInfo, attempt int, header http.Header)
	// EndCall runs once when the call is over, whether it succeeded or not.
	EndCall(ctx context.Context, call CallInfo, result CallResult)
}

// CallInfo names an API call.
type CallInfo struct {
	// Method is the HTTP method.
	Method string
	// Route is the path as the API reference writes it, with placeholders
	// for ids: "/accounts/{id}/credits/grants". It never holds an id, so it
	// suits span names and metric labels.
	Route string
	// Path is the concrete path, without the query string.
	Path string
	// Host is the API's host name, and Port its port (443 for https unless
	// the base URL names another), as the client's base URL gives them.
	Host string
	Port int
}

// CallResult is how an API call ended.
type CallResult struct {
	// StatusCode is the status of the last answer, or 0 when none arrived.
	StatusCode int
	// Attempts is how many requests were sent.
	Attempts int
	// RequestID is the last answer's request id, when it had one.
	RequestID string
	// Duration is the time from StartCall to EndCall, waits between
	// attempts included.
	Duration time.Duration
	// Err is what the call returned: nil on success.
	Err error
}

// nopObserver is the observer of a client without one.
type nopObserver struct{}

func (nopObserver) StartCall(ctx context.Context, _ CallInfo) context.Context { return ctx }
func (nopObserver) Attempt(context.Context, CallInfo, int, http.Header)       {}
func (nopObserver) EndCall(context.Context, CallInfo, CallResult)             {}
