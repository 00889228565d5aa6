package algunaotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	algunaotel "github.com/alguna/alguna-go/otel"
)

// testKey is the API key of the clients these tests make against their own
// servers: a distinctive string that no span may contain.
const testKey = "sk_test_NEVER_IN_A_SPAN_7f3a"

func traceparent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

func TestSpanPerCallNamedByRoute(t *testing.T) {
	spans, tp := tracing(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client(algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
	ctx := context.Background()

	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Email: "billing@acme.test", Alias: "user-42"})
	require.NoError(t, err)
	_, err = client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "trial",
	})
	require.NoError(t, err)
	_, err = client.Credits.Balance(ctx, acc.ID, alguna.CreditTypeUnits)
	require.NoError(t, err)
	id, err := client.Accounts.Lookup(ctx, "user-42")
	require.NoError(t, err)
	require.Equal(t, acc.ID, id)

	ended := spans.Ended()
	reqs := srv.Requests()
	require.Len(t, ended, 4)
	require.Len(t, reqs, 4)
	want := []struct{ name, method, route, path string }{
		{"POST /accounts", "POST", "/accounts", "/accounts"},
		{"POST /accounts/{id}/credits/grants", "POST", "/accounts/{id}/credits/grants", "/accounts/" + acc.ID + "/credits/grants"},
		{"GET /accounts/{id}/credits/balance", "GET", "/accounts/{id}/credits/balance", "/accounts/" + acc.ID + "/credits/balance"},
		{"GET /account-lookup", "GET", "/account-lookup", "/account-lookup"},
	}
	for i, w := range want {
		s := ended[i]
		require.Equal(t, w.name, s.Name())
		require.NotContains(t, s.Name(), acc.ID)
		require.NotContains(t, s.Name(), "user-42")
		require.Equal(t, trace.SpanKindClient, s.SpanKind())
		require.Equal(t, codes.Unset, s.Status().Code, w.name)
		require.False(t, s.Parent().IsValid(), "a call without a span in its context starts a trace")
		require.Equal(t, algunaotel.ScopeName, s.InstrumentationScope().Name)

		a := attrs(s.Attributes())
		require.Equal(t, w.method, a["http.request.method"].AsString())
		require.Equal(t, w.route, a["url.template"].AsString())
		require.Equal(t, w.path, a["url.path"].AsString())
		require.Equal(t, "127.0.0.1", a["server.address"].AsString())
		require.Equal(t, srv.URL, fmt.Sprintf("http://%s:%d", a["server.address"].AsString(), a["server.port"].AsInt64()))
		// The span tells what the server answered, and the server's own
		// request log agrees.
		require.Equal(t, w.path, reqs[i].Path)
		require.Equal(t, int64(reqs[i].Status), a["http.response.status_code"].AsInt64())
		require.NotEmpty(t, reqs[i].ID)
		require.Equal(t, reqs[i].ID, a[algunaotel.RequestIDKey].AsString())
		require.NotContains(t, a, attribute.Key("http.request.resend_count"), "a call sent once is no resend")
		require.NotContains(t, a, attribute.Key("error.type"))
		require.Empty(t, s.Events())
	}
	requireNoSecret(t, ended, srv.APIKey)
}

func TestSpanIsChildOfCallersSpan(t *testing.T) {
	spans, tp := tracing(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client(algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))

	ctx, parent := tp.Tracer("app").Start(context.Background(), "signup handler")
	_, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = client.Accounts.List(ctx, nil)
	require.NoError(t, err)
	parent.End()

	ended := spans.Ended()
	require.Len(t, ended, 3)
	require.Equal(t, "signup handler", ended[2].Name())
	for _, s := range ended[:2] {
		require.Equal(t, parent.SpanContext().TraceID(), s.SpanContext().TraceID(), s.Name())
		require.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID(), s.Name())
	}
	require.Equal(t, []string{"POST /accounts", "GET /accounts"}, []string{ended[0].Name(), ended[1].Name()})
}

func TestTraceparentReachesServer(t *testing.T) {
	spans, tp := tracing(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	rec := newHeaderRecorder(t)
	client := srv.Client(
		alguna.WithHTTPClient(&http.Client{Transport: rec}),
		algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp), algunaotel.WithPropagator(propagation.TraceContext{})),
	)

	ctx, parent := tp.Tracer("app").Start(context.Background(), "handler")
	_, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)
	parent.End()

	ended := spans.Ended()
	require.Len(t, ended, 2)
	call := ended[0]
	sent := rec.sent()
	require.Len(t, sent, 1)
	// The server sees the call's span, not the caller's: its work nests
	// beneath the client span.
	require.Equal(t, traceparent(call.SpanContext()), sent[0].Get("Traceparent"))
	require.NotEqual(t, traceparent(parent.SpanContext()), sent[0].Get("Traceparent"))
	// The SDK's own headers are still there.
	require.Equal(t, "Bearer "+srv.APIKey, sent[0].Get("Authorization"))
	require.NotEmpty(t, sent[0].Get("Idempotency-Key"))
}

// flaky answers 503 to the first request and then a valid account, and
// keeps every request's traceparent.
type flaky struct {
	n            atomic.Int32
	mu           sync.Mutex
	traceparents []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.traceparents = append(f.traceparents, r.Header.Get("Traceparent"))
	f.mu.Unlock()
	n := f.n.Add(1)
	w.Header().Set("X-Request-Id", fmt.Sprintf("req_%d", n))
	if n == 1 {
		http.Error(w, `{"detail":"try again"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"acc_1","name":"Acme"}`)
}

func TestRetriedCallIsOneSpanWithResendCount(t *testing.T) {
	spans, tp := tracing(t)
	reader, mp := metering(t)
	f := &flaky{}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	client, err := alguna.NewClient(testKey,
		alguna.WithBaseURL(ts.URL),
		alguna.WithRetryWait(time.Millisecond, time.Millisecond),
		algunaotel.WithTelemetry(
			algunaotel.WithTracerProvider(tp),
			algunaotel.WithMeterProvider(mp),
			algunaotel.WithPropagator(propagation.TraceContext{}),
		),
	)
	require.NoError(t, err)

	_, err = client.Accounts.Get(context.Background(), "acc_1")
	require.NoError(t, err)

	ended := spans.Ended()
	require.Len(t, ended, 1)
	s := ended[0]
	require.Equal(t, "GET /accounts/{id}", s.Name())
	require.Equal(t, codes.Unset, s.Status().Code, "the call succeeded in the end")
	a := attrs(s.Attributes())
	require.Equal(t, int64(1), a["http.request.resend_count"].AsInt64())
	require.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
	require.Equal(t, "req_2", a[algunaotel.RequestIDKey].AsString())

	// Both attempts carried the call's trace context.
	f.mu.Lock()
	tps := append([]string(nil), f.traceparents...)
	f.mu.Unlock()
	require.Equal(t, []string{traceparent(s.SpanContext()), traceparent(s.SpanContext())}, tps)

	// One call, so one duration: the retry is inside it.
	m, ok := findMetric(collect(t, reader), algunaotel.CallDurationName)
	require.True(t, ok)
	h := m.Data.(metricdata.Histogram[float64])
	require.Len(t, h.DataPoints, 1)
	dp := h.DataPoints[0]
	require.Equal(t, uint64(1), dp.Count)
	route, _ := dp.Attributes.Value("url.template")
	require.Equal(t, "/accounts/{id}", route.AsString())
	code, _ := dp.Attributes.Value("http.response.status_code")
	require.Equal(t, int64(200), code.AsInt64())
	requireNoSecret(t, ended, testKey)
}

func TestNotFoundIsAnErrorSpan(t *testing.T) {
	spans, tp := tracing(t)
	reader, mp := metering(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client(algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp), algunaotel.WithMeterProvider(mp)))

	_, err := client.Accounts.Get(context.Background(), "acc_missing")
	require.ErrorIs(t, err, alguna.ErrNotFound)

	ended := spans.Ended()
	require.Len(t, ended, 1)
	s := ended[0]
	require.Equal(t, "GET /accounts/{id}", s.Name())
	require.Equal(t, codes.Error, s.Status().Code)
	require.Equal(t, err.Error(), s.Status().Description)
	a := attrs(s.Attributes())
	require.Equal(t, int64(404), a["http.response.status_code"].AsInt64())
	require.Equal(t, "404", a["error.type"].AsString())
	require.Equal(t, srv.Requests()[0].ID, a[algunaotel.RequestIDKey].AsString())
	require.Len(t, s.Events(), 1)
	ev := s.Events()[0]
	require.Equal(t, "exception", ev.Name)
	ea := attrs(ev.Attributes)
	require.Equal(t, "*alguna.Error", ea["exception.type"].AsString())
	require.Equal(t, err.Error(), ea["exception.message"].AsString())
	requireNoSecret(t, ended, srv.APIKey)

	m, ok := findMetric(collect(t, reader), algunaotel.CallDurationName)
	require.True(t, ok)
	dp := m.Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, dp, 1)
	et, _ := dp[0].Attributes.Value("error.type")
	require.Equal(t, "404", et.AsString())
}

func TestErrorType(t *testing.T) {
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	tests := []struct {
		name    string
		handler http.HandlerFunc
		ctx     func() (context.Context, context.CancelFunc)
		want    string
		status  int64 // 0: no answer arrived
	}{
		{
			name: "status of a refused call",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"detail":"amount must be positive"}`, http.StatusUnprocessableEntity)
			},
			want: "422", status: 422,
		},
		{
			name: "server error after the retries",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			want: "500", status: 500,
		},
		{
			name: "2xx that is not an account",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{}`)
			},
			want: "invalid_response", status: 200,
		},
		{
			name: "context canceled before sending",
			handler: func(http.ResponseWriter, *http.Request) {
				t.Error("a canceled call must not be sent")
			},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			want: "canceled",
		},
		{
			name: "deadline while waiting for the answer",
			handler: func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-blocked:
				}
			},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			want: "timeout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans, tp := tracing(t)
			ts := httptest.NewServer(tt.handler)
			t.Cleanup(ts.Close)
			client, err := alguna.NewClient(testKey, alguna.WithBaseURL(ts.URL), alguna.WithMaxRetries(1),
				alguna.WithRetryWait(time.Millisecond, time.Millisecond),
				algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
			require.NoError(t, err)
			ctx := context.Background()
			if tt.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tt.ctx()
				defer cancel()
			}
			_, err = client.Accounts.Get(ctx, "acc_1")
			require.Error(t, err)

			ended := spans.Ended()
			require.Len(t, ended, 1)
			s := ended[0]
			require.Equal(t, codes.Error, s.Status().Code)
			a := attrs(s.Attributes())
			require.Equal(t, tt.want, a["error.type"].AsString())
			if tt.status == 0 {
				require.NotContains(t, a, attribute.Key("http.response.status_code"))
			} else {
				require.Equal(t, tt.status, a["http.response.status_code"].AsInt64())
			}
			requireNoSecret(t, ended, testKey)
		})
	}
}

// A transport error quotes the whole URL, query included; the span must not
// carry the alias or email a lookup sends there.
func TestTransportErrorKeepsQueryOutOfSpan(t *testing.T) {
	spans, tp := tracing(t)
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there now: the connection is refused
	client, err := alguna.NewClient(testKey, alguna.WithBaseURL(url), alguna.WithMaxRetries(0),
		algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
	require.NoError(t, err)

	_, err = client.Accounts.Lookup(context.Background(), "someone@example.com")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "someone", "the SDK cuts the query from transport errors; the span cuts it too, whatever the error says")

	ended := spans.Ended()
	require.Len(t, ended, 1)
	s := ended[0]
	require.Equal(t, "GET /account-lookup", s.Name())
	require.Equal(t, codes.Error, s.Status().Code)
	require.Contains(t, s.Status().Description, url+"/account-lookup")
	require.Equal(t, "*net.OpError", attrs(s.Attributes())["error.type"].AsString())
	require.Len(t, s.Events(), 1)
	require.Equal(t, "*url.Error", attrs(s.Events()[0].Attributes)["exception.type"].AsString())
	text := spanText(s)
	require.NotContains(t, text, "someone")
	require.NotContains(t, text, "example.com")
	require.NotContains(t, text, "alias=")
	requireNoSecret(t, ended, testKey)
}

// A server's answer must not be able to put invalid UTF-8 or an unbounded
// message into a span.
func TestHostileAnswerIsBoundedInSpan(t *testing.T) {
	spans, tp := tracing(t)
	huge := strings.Repeat("é", 100_000)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["X-Request-Id"] = []string{"req_\xff\xfe" + strings.Repeat("x", 10_000)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"detail":"`+huge+`"}`)
	}))
	t.Cleanup(ts.Close)
	client, err := alguna.NewClient(testKey, alguna.WithBaseURL(ts.URL),
		algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
	require.NoError(t, err)

	_, err = client.Accounts.Get(context.Background(), "acc_1")
	require.ErrorIs(t, err, alguna.ErrBadRequest)

	ended := spans.Ended()
	require.Len(t, ended, 1)
	s := ended[0]
	id := attrs(s.Attributes())[algunaotel.RequestIDKey].AsString()
	require.True(t, utf8.ValidString(id))
	require.True(t, strings.HasPrefix(id, "req_\uFFFD"), id[:10])
	require.LessOrEqual(t, len(id), 300)
	desc := s.Status().Description
	require.True(t, utf8.ValidString(desc))
	require.True(t, strings.HasPrefix(desc, "alguna: GET /accounts/acc_1: 400 Bad Request: éé"), desc[:60])
	require.LessOrEqual(t, len(desc), 1100)
	msg := attrs(s.Events()[0].Attributes)["exception.message"].AsString()
	require.Equal(t, desc, msg)
}

func TestConcurrentCallsEachGetTheirSpan(t *testing.T) {
	spans, tp := tracing(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	rec := newHeaderRecorder(t)
	client := srv.Client(
		alguna.WithHTTPClient(&http.Client{Transport: rec}),
		algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp), algunaotel.WithPropagator(propagation.TraceContext{})),
	)
	const n = 20
	parents := make([]trace.SpanContext, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, parent := tp.Tracer("app").Start(context.Background(), fmt.Sprintf("job %d", i))
			defer parent.End()
			parents[i] = parent.SpanContext()
			_, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: fmt.Sprintf("Acme %d", i)})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	byParent := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		if s.Name() == "POST /accounts" {
			byParent[s.Parent().SpanID()] = s
		}
	}
	require.Len(t, byParent, n)
	sent := map[string]bool{}
	for _, h := range rec.sent() {
		sent[h.Get("Traceparent")] = true
	}
	for _, p := range parents {
		s, ok := byParent[p.SpanID()]
		require.True(t, ok, "no call span under %s", p.SpanID())
		require.Equal(t, p.TraceID(), s.SpanContext().TraceID())
		require.True(t, sent[traceparent(s.SpanContext())], "the request of %s carried another trace context", s.SpanContext().SpanID())
	}
}

// The Batcher's deliveries are calls too: each batch is a POST /events span,
// the root of its own trace, since no caller waits on it.
func TestBatchesAreSpans(t *testing.T) {
	spans, tp := tracing(t)
	srv := algunatest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.Client(algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
	ctx := context.Background()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)
	b, err := client.Events.NewBatcher(alguna.BatcherOptions{FlushInterval: time.Hour})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, b.Enqueue(ctx, alguna.Event{Account: acc.ID, EventName: "api_call", Properties: map[string]any{"n": i}}))
	}
	require.NoError(t, b.Close(ctx))

	var batches []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Name() == "POST /events" {
			batches = append(batches, s)
		}
	}
	require.Len(t, batches, 1)
	require.False(t, batches[0].Parent().IsValid())
	a := attrs(batches[0].Attributes())
	require.Equal(t, "/events", a["url.template"].AsString())
	require.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
	require.Len(t, srv.Events(), 3)
}

// Observer's methods are safe on input the SDK never gives: a nil header,
// a context without the observer's span.
func TestObserverToleratesOddInput(t *testing.T) {
	spans, tp := tracing(t)
	o := algunaotel.NewObserver(algunaotel.WithTracerProvider(tp), algunaotel.WithPropagator(propagation.TraceContext{}))
	call := alguna.CallInfo{Method: "BREW", Route: "", Path: "/pot"}
	ctx := o.StartCall(context.Background(), call)
	o.Attempt(ctx, call, 0, nil)
	// EndCall with a context that holds no span of the observer ends
	// nothing, and above all not a span of the caller's.
	callerCtx, callerSpan := tp.Tracer("app").Start(context.Background(), "caller")
	o.EndCall(callerCtx, call, alguna.CallResult{Err: errors.New("odd")})
	require.True(t, callerSpan.IsRecording(), "the caller's span must stay open")
	callerSpan.End()
	o.EndCall(ctx, call, alguna.CallResult{Attempts: 1})

	ended := spans.Ended()
	require.Len(t, ended, 2)
	require.Equal(t, "caller", ended[0].Name())
	require.Equal(t, "HTTP", ended[1].Name(), "an unknown method and no route: the conventions' fallback")
	require.Equal(t, "_OTHER", attrs(ended[1].Attributes())["http.request.method"].AsString())
}
