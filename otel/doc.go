// Package algunaotel reports what an alguna-go client does to
// OpenTelemetry: a span for every API call, the caller's trace context in
// every request, call durations, and a Batcher's counts as metrics.
//
// It is its own module, so that users of alguna-go who do not use
// OpenTelemetry never download it:
//
//	go get github.com/alguna/alguna-go/otel
//
// It needs Go 1.24 or newer.
//
// # Tracing
//
// One option wires a client:
//
//	import algunaotel "github.com/alguna/alguna-go/otel"
//
//	client, err := alguna.NewClient(os.Getenv("ALGUNA_API_KEY"), algunaotel.WithTelemetry())
//
// Every call of a service method, and every batch a Batcher delivers, is
// then one client span, a child of the span in the call's context. Its name
// is the method and the route template, such as
// "POST /accounts/{id}/credits/grants", never a concrete id, so that calls
// of one kind group together. Its attributes follow OpenTelemetry's HTTP
// client conventions where they fit: http.request.method, url.template,
// url.path, server.address, server.port, http.response.status_code of the
// last answer, and http.request.resend_count when the call was retried. The request id of
// the last answer is alguna.request_id. A failed call has the Error status,
// error.type (the status code, or "timeout", "canceled",
// "invalid_response", the type of a transport error, or "_OTHER") and an
// exception event with the error's message. The API key never appears: the
// SDK's errors do not hold it, and the query string a transport error
// quotes is cut.
//
// Each request of a call, retries included, carries the call's span in its
// headers through the propagator (the global one unless WithPropagator
// gives another), so that a traced server joins the trace. The global
// propagator sends nothing until the program sets one; most OpenTelemetry
// setups call otel.SetTextMapPropagator(propagation.TraceContext{}).
//
// A client's calls also feed the histogram alguna.client.call.duration, in
// seconds, with the method, route template, status code and error.type.
//
// Spans and metrics go to the global providers unless WithTracerProvider and
// WithMeterProvider give others. To combine this observer with one of your
// own, create it with NewObserver and call it from yours.
//
// The span covers the call as the SDK sees it, waits between retries
// included. The HTTP client's own instrumentation, such as an otelhttp
// transport given with alguna.WithHTTPClient, can add a span for each
// attempt beneath it.
//
// # Batcher metrics
//
// RegisterBatcher reports a Batcher's Stats as observable instruments read
// at collection time: the queue depth (alguna.batcher.events.pending), the
// events ingested, failed, dropped, enqueued, replayed and kept, the
// requests retried, and the spool's size, corrupt records and fsyncs. Its
// name argument tells several Batchers apart:
//
//	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{})
//	if err != nil {
//		return err
//	}
//	reg, err := algunaotel.RegisterBatcher(batcher, "usage")
//	if err != nil {
//		return err
//	}
//	defer reg.Unregister()
//	defer batcher.Close(ctx)
package algunaotel
