package alguna

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	depletedBody = `{"type":"account.credits.balance_depleted","timestamp":"2025-03-03T17:06:07.473879Z","data":{"accountId":"acc_abc123","amount":"0","type":"units"}}`
	invoiceBody  = `{"type":"invoice.paid","timestamp":"2025-03-03T17:06:07Z","data":{"id":"inv_1","accountId":"acc_1","currency":"USD","status":"paid","total":"200.00","createdAt":"2025-03-03T17:06:07Z","updatedAt":"2025-03-03T17:06:07Z"}}`
)

// waitTimeout bounds every wait on another goroutine, so a broken handler
// fails the test instead of hanging it.
const waitTimeout = 10 * time.Second

func testVerifier(t testing.TB) *WebhookVerifier {
	t.Helper()
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(vectorTS)))
	require.NoError(t, err)
	return v
}

// delivery builds a signed POST of body, as Alguna would send it.
func delivery(t testing.TB, id, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/alguna", strings.NewReader(body))
	for k, v := range signedHeader(t, vectorSecret, id, vectorTS, body) {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWebhookHandlerStatus(t *testing.T) {
	var calls atomic.Int32
	ok := func(context.Context, *WebhookEvent, *CreditsBalanceDepleted) error { calls.Add(1); return nil }

	tests := []struct {
		name    string
		opts    []WebhookHandlerOption
		request func(t *testing.T) *http.Request
		want    int
		calls   int32
	}{
		{
			name:    "handled",
			request: func(t *testing.T) *http.Request { return delivery(t, "msg_ok", depletedBody) },
			want:    http.StatusNoContent, calls: 1,
		},
		{
			name: "GET",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_get", depletedBody)
				r.Method = http.MethodGet
				return r
			},
			want: http.StatusMethodNotAllowed,
		},
		{
			name: "PUT",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_put", depletedBody)
				r.Method = http.MethodPut
				return r
			},
			want: http.StatusMethodNotAllowed,
		},
		{
			name:    "no callback for the type",
			request: func(t *testing.T) *http.Request { return delivery(t, "msg_inv", invoiceBody) },
			want:    http.StatusNoContent,
		},
		{
			name: "unknown type",
			request: func(t *testing.T) *http.Request {
				return delivery(t, "msg_unknown", `{"type":"usage.alert","data":{"x":1}}`)
			},
			want: http.StatusNoContent,
		},
		{
			name: "missing header",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_nohdr", depletedBody)
				r.Header.Del("webhook-signature")
				return r
			},
			want: http.StatusBadRequest,
		},
		{
			name: "non-numeric timestamp",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_ts", depletedBody)
				r.Header.Set("webhook-timestamp", "now")
				return r
			},
			want: http.StatusBadRequest,
		},
		{
			name: "bad signature",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_sig", depletedBody)
				r.Header.Set("webhook-id", "msg_sig_other")
				return r
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "tampered body",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_tamper", depletedBody)
				r.Body = io.NopCloser(strings.NewReader(strings.Replace(depletedBody, "acc_abc123", "acc_evil", 1)))
				return r
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "stale timestamp",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_old", depletedBody)
				for k, v := range signedHeader(t, vectorSecret, "msg_old", vectorTS-301, depletedBody) {
					r.Header[k] = v
				}
				return r
			},
			want: http.StatusUnauthorized,
		},
		{
			name:    "verified body not an envelope",
			request: func(t *testing.T) *http.Request { return delivery(t, "msg_junk", `not json`) },
			want:    http.StatusBadRequest,
		},
		{
			name: "verified envelope with undecodable data",
			request: func(t *testing.T) *http.Request {
				return delivery(t, "msg_baddata", `{"type":"account.credits.balance_depleted","data":{"amount":"lots"}}`)
			},
			want: http.StatusBadRequest,
		},
		{
			name: "verified envelope without data",
			request: func(t *testing.T) *http.Request {
				return delivery(t, "msg_nodata", `{"type":"account.credits.balance_depleted"}`)
			},
			want: http.StatusBadRequest,
		},
		{
			name: "body over the limit, length known",
			opts: []WebhookHandlerOption{WithWebhookMaxBody(int64(len(depletedBody) - 1))},
			request: func(t *testing.T) *http.Request {
				return delivery(t, "msg_big", depletedBody)
			},
			want: http.StatusRequestEntityTooLarge,
		},
		{
			name: "body over the limit, chunked",
			opts: []WebhookHandlerOption{WithWebhookMaxBody(int64(len(depletedBody) - 1))},
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_big_chunked", depletedBody)
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(depletedBody))
				return r
			},
			want: http.StatusRequestEntityTooLarge,
		},
		{
			name: "body exactly at the limit",
			opts: []WebhookHandlerOption{WithWebhookMaxBody(int64(len(depletedBody)))},
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_limit", depletedBody)
				r.ContentLength = -1
				return r
			},
			want: http.StatusNoContent, calls: 1,
		},
		{
			name: "body read fails",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, "msg_readerr", depletedBody)
				r.ContentLength = -1
				r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"type":`), errReader{}))
				return r
			},
			want: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			h := NewWebhookHandler(testVerifier(t), tt.opts...)
			h.OnCreditsBalanceDepleted(ok)
			w := serve(h, tt.request(t))
			require.Equal(t, tt.want, w.Code, w.Body.String())
			require.Equal(t, tt.calls, calls.Load(), "callbacks run")
			if tt.want == http.StatusMethodNotAllowed {
				require.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestWebhookHandlerTypedPayload(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var got *CreditsBalanceDepleted
	var gotEvent *WebhookEvent
	h.OnCreditsBalanceDepleted(func(_ context.Context, e *WebhookEvent, p *CreditsBalanceDepleted) error {
		gotEvent, got = e, p
		return nil
	})
	w := serve(h, delivery(t, "msg_typed", depletedBody))
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Empty(t, w.Body.String())
	require.Equal(t, "msg_typed", gotEvent.ID)
	require.Equal(t, WebhookCreditsBalanceDepleted, gotEvent.Type)
	require.Equal(t, "acc_abc123", got.AccountID)
	require.Equal(t, CreditTypeUnits, got.Type)
	require.True(t, got.Amount.IsZero())
}

// Every typed registration must route its own event type to a callback with
// the payload type Decode gives for it.
func TestWebhookHandlerTypedRegistrations(t *testing.T) {
	type reg struct {
		eventType string
		register  func(h *WebhookHandler, done func(payload any))
	}
	on := func(eventType string, register func(h *WebhookHandler, done func(payload any))) reg {
		return reg{eventType, register}
	}
	regs := []reg{
		on(WebhookCreditsBalanceDepleted, func(h *WebhookHandler, done func(any)) {
			h.OnCreditsBalanceDepleted(func(_ context.Context, _ *WebhookEvent, p *CreditsBalanceDepleted) error { done(p); return nil })
		}),
		on(WebhookCreditsGranted, func(h *WebhookHandler, done func(any)) {
			h.OnCreditsGranted(func(_ context.Context, _ *WebhookEvent, p *CreditsGranted) error { done(p); return nil })
		}),
		on(WebhookCheckoutSessionCompleted, func(h *WebhookHandler, done func(any)) {
			h.OnCheckoutSessionCompleted(func(_ context.Context, _ *WebhookEvent, p *CheckoutSessionCompleted) error { done(p); return nil })
		}),
		on(WebhookSubscriptionCreated, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionCreated(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionActivated, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionActivated(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionStarted, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionStarted(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionUpdated, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionUpdated(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionVersionUpdated, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionVersionUpdated(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionCancelationScheduled, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionCancelationScheduled(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookSubscriptionCanceled, func(h *WebhookHandler, done func(any)) {
			h.OnSubscriptionCanceled(func(_ context.Context, _ *WebhookEvent, p *Subscription) error { done(p); return nil })
		}),
		on(WebhookInvoiceIssued, func(h *WebhookHandler, done func(any)) {
			h.OnInvoiceIssued(func(_ context.Context, _ *WebhookEvent, p *Invoice) error { done(p); return nil })
		}),
		on(WebhookInvoicePaid, func(h *WebhookHandler, done func(any)) {
			h.OnInvoicePaid(func(_ context.Context, _ *WebhookEvent, p *Invoice) error { done(p); return nil })
		}),
		on(WebhookPaymentCreated, func(h *WebhookHandler, done func(any)) {
			h.OnPaymentCreated(func(_ context.Context, _ *WebhookEvent, p *Payment) error { done(p); return nil })
		}),
		on(WebhookPaymentUpdated, func(h *WebhookHandler, done func(any)) {
			h.OnPaymentUpdated(func(_ context.Context, _ *WebhookEvent, p *Payment) error { done(p); return nil })
		}),
		on(WebhookRefundUpdated, func(h *WebhookHandler, done func(any)) {
			h.OnRefundUpdated(func(_ context.Context, _ *WebhookEvent, p *Refund) error { done(p); return nil })
		}),
		on(WebhookLineItemDeleted, func(h *WebhookHandler, done func(any)) {
			h.OnLineItemDeleted(func(_ context.Context, _ *WebhookEvent, p *LineItemDeleted) error { done(p); return nil })
		}),
	}
	for _, r := range regs {
		t.Run(r.eventType, func(t *testing.T) {
			h := NewWebhookHandler(testVerifier(t))
			var got []any
			r.register(h, func(p any) { got = append(got, p) })
			body := `{"type":"` + r.eventType + `","data":{"id":"obj_1","accountId":"acc_1"}}`
			require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_"+r.eventType, body)).Code)
			require.Len(t, got, 1)
			want, err := (&WebhookEvent{Type: r.eventType, Data: []byte(`{}`)}).Decode()
			require.NoError(t, err)
			require.IsType(t, want, got[0])

			// Another type does not reach it.
			other := `{"type":"usage.alert","data":{}}`
			require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_other_"+r.eventType, other)).Code)
			require.Len(t, got, 1)
		})
	}
}

func TestWebhookHandlerOnReplaces(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var first, second int
	h.On(WebhookInvoicePaid, func(context.Context, *WebhookEvent) error { first++; return nil })
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error { second++; return nil })
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_1", invoiceBody)).Code)
	require.Equal(t, 0, first)
	require.Equal(t, 1, second)
}

func TestWebhookHandlerOnRaw(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var got *WebhookEvent
	h.On("usage.alert", func(_ context.Context, e *WebhookEvent) error { got = e; return nil })
	body := `{"type":"usage.alert","data":"not even an object"}`
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_raw", body)).Code)
	require.Equal(t, `"not even an object"`, string(got.Data))
}

func TestWebhookHandlerRetriesAfterFailure(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var calls int
	fail := true
	h.OnCreditsBalanceDepleted(func(context.Context, *WebhookEvent, *CreditsBalanceDepleted) error {
		calls++
		if fail {
			return errors.New("database unavailable")
		}
		return nil
	})

	require.Equal(t, http.StatusInternalServerError, serve(h, delivery(t, "msg_retry", depletedBody)).Code)
	require.Equal(t, 1, calls)
	// Alguna redelivers with the same id: the failed one runs again.
	fail = false
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_retry", depletedBody)).Code)
	require.Equal(t, 2, calls)
	// Once it succeeded, further deliveries are acknowledged without running.
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_retry", depletedBody)).Code)
	require.Equal(t, 2, calls)
	// Another id runs.
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_retry_2", depletedBody)).Code)
	require.Equal(t, 3, calls)
}

func TestWebhookHandlerDedupeSequential(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var calls int
	h.On(WebhookInvoicePaid, func(context.Context, *WebhookEvent) error { calls++; return nil })
	for range 5 {
		require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_dup", invoiceBody)).Code)
	}
	require.Equal(t, 1, calls)
}

func TestWebhookHandlerRejectedDeliveryDoesNotClaim(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var calls int
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error { calls++; return nil })
	forged := delivery(t, "msg_forged", invoiceBody)
	forged.Header.Set("webhook-signature", signedHeader(t, otherSecret, "msg_forged", vectorTS, invoiceBody).Get("webhook-signature"))
	require.Equal(t, http.StatusUnauthorized, serve(h, forged).Code)
	// The genuine delivery with the same id still runs.
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_forged", invoiceBody)).Code)
	require.Equal(t, 1, calls)
}

func TestWebhookHandlerPanicRecovered(t *testing.T) {
	var logs bytes.Buffer
	h := NewWebhookHandler(testVerifier(t), WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	var calls int
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error {
		calls++
		if calls == 1 {
			panic("nil map in invoice sync")
		}
		return nil
	})
	require.Equal(t, http.StatusInternalServerError, serve(h, delivery(t, "msg_panic", invoiceBody)).Code)
	require.Contains(t, logs.String(), "nil map in invoice sync")
	require.Contains(t, logs.String(), "msg_panic")
	// The id was released, so the redelivery runs.
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_panic", invoiceBody)).Code)
	require.Equal(t, 2, calls)
}

type ctxKey struct{}

func TestWebhookHandlerPassesRequestContext(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	var got any
	var typedGot any
	h.On(WebhookInvoicePaid, func(ctx context.Context, _ *WebhookEvent) error { got = ctx.Value(ctxKey{}); return nil })
	h.OnCreditsBalanceDepleted(func(ctx context.Context, _ *WebhookEvent, _ *CreditsBalanceDepleted) error {
		typedGot = ctx.Value(ctxKey{})
		return nil
	})

	r := delivery(t, "msg_ctx", invoiceBody)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "request-scoped"))
	require.Equal(t, http.StatusNoContent, serve(h, r).Code)
	require.Equal(t, "request-scoped", got)

	r = delivery(t, "msg_ctx_typed", depletedBody)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "typed"))
	require.Equal(t, http.StatusNoContent, serve(h, r).Code)
	require.Equal(t, "typed", typedGot)
}

// A callback that fails because Alguna hung up (its context ended) must be
// retried: the release is recorded even though the request context is gone.
func TestWebhookHandlerCanceledContext(t *testing.T) {
	d := &recordingDeduper{WebhookDeduper: NewMemoryWebhookDeduper(0, 0)}
	h := NewWebhookHandler(testVerifier(t), WithWebhookDeduper(d))
	var calls int
	h.On(WebhookInvoicePaid, func(ctx context.Context, _ *WebhookEvent) error {
		calls++
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Equal(t, http.StatusInternalServerError, serve(h, delivery(t, "msg_gone", invoiceBody).WithContext(ctx)).Code)
	require.Equal(t, []error{nil}, d.releaseCtxErrs, "Release must get a live context")
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_gone", invoiceBody)).Code)
	require.Equal(t, 2, calls)
}

type recordingDeduper struct {
	WebhookDeduper
	releaseCtxErrs []error
}

func (d *recordingDeduper) Release(ctx context.Context, id string) error {
	d.releaseCtxErrs = append(d.releaseCtxErrs, ctx.Err())
	return d.WebhookDeduper.Release(ctx, id)
}

// Two deliveries of one id at once: the second is answered 409 while the
// first's callback runs, the callback runs once, and after it succeeded the
// id is acknowledged.
func TestWebhookHandlerDedupeConcurrent(t *testing.T) {
	h := NewWebhookHandler(testVerifier(t))
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error {
		if calls.Add(1) == 1 {
			close(entered)
		}
		<-release
		return nil
	})

	first := make(chan int, 1)
	go func() { first <- serve(h, delivery(t, "msg_conc", invoiceBody)).Code }()
	waitFor(t, entered, "first callback to start")

	require.Equal(t, http.StatusConflict, serve(h, delivery(t, "msg_conc", invoiceBody)).Code)
	close(release)
	require.Equal(t, http.StatusNoContent, receive(t, first, "first delivery"))
	require.Equal(t, http.StatusNoContent, serve(h, delivery(t, "msg_conc", invoiceBody)).Code)
	require.Equal(t, int32(1), calls.Load())
}

// Many deliveries of one id at once, through a real server: exactly one runs
// the callback, and never two at the same time.
func TestWebhookHandlerDedupeConcurrentMany(t *testing.T) {
	const n = 16
	h := NewWebhookHandler(testVerifier(t))
	release := make(chan struct{})
	var calls, running, maxRunning atomic.Int32
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error {
		calls.Add(1)
		r := running.Add(1)
		for {
			m := maxRunning.Load()
			if r <= m || maxRunning.CompareAndSwap(m, r) {
				break
			}
		}
		<-release
		running.Add(-1)
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := delivery(t, "msg_many", invoiceBody)
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(invoiceBody))
			if err != nil {
				statuses <- -1
				return
			}
			req.Header = r.Header
			resp, err := srv.Client().Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// All but the one running the callback are turned away while it blocks.
	for range n - 1 {
		require.Equal(t, http.StatusConflict, receive(t, statuses, "a duplicate delivery"))
	}
	close(release)
	require.Equal(t, http.StatusNoContent, receive(t, statuses, "the delivery that ran"))
	wg.Wait()
	require.Equal(t, int32(1), calls.Load())
	require.Equal(t, int32(1), maxRunning.Load())
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// stubDeduper answers with fixed results, to drive the handler's handling of
// a user's store.
type stubDeduper struct {
	claim       WebhookClaim
	claimErr    error
	completeErr error
	completed   []string
}

func (d *stubDeduper) Claim(context.Context, string) (WebhookClaim, error) {
	return d.claim, d.claimErr
}

func (d *stubDeduper) Complete(_ context.Context, id string) error {
	d.completed = append(d.completed, id)
	return d.completeErr
}

func (d *stubDeduper) Release(context.Context, string) error { return nil }

func TestWebhookHandlerCustomDeduper(t *testing.T) {
	tests := []struct {
		name  string
		d     *stubDeduper
		want  int
		calls int
	}{
		{"acquired", &stubDeduper{claim: WebhookClaimAcquired}, http.StatusNoContent, 1},
		{"done elsewhere", &stubDeduper{claim: WebhookClaimDone}, http.StatusNoContent, 0},
		{"busy elsewhere", &stubDeduper{claim: WebhookClaimBusy}, http.StatusConflict, 0},
		{"claim fails", &stubDeduper{claimErr: errors.New("db down")}, http.StatusInternalServerError, 0},
		{"unknown answer", &stubDeduper{claim: WebhookClaim(42)}, http.StatusInternalServerError, 0},
		// The callback succeeded: answering 500 would only run it again.
		{"complete fails", &stubDeduper{claim: WebhookClaimAcquired, completeErr: errors.New("db down")}, http.StatusNoContent, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := NewWebhookHandler(testVerifier(t), WithWebhookDeduper(tt.d), WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			var calls int
			h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error { calls++; return nil })
			require.Equal(t, tt.want, serve(h, delivery(t, "msg_custom", invoiceBody)).Code)
			require.Equal(t, tt.calls, calls)
			if tt.calls == 1 {
				require.Equal(t, []string{"msg_custom"}, tt.d.completed)
			}
			if tt.d.claimErr != nil || tt.d.completeErr != nil {
				require.Contains(t, logs.String(), "db down")
			}
		})
	}
}

func TestWebhookHandlerLogsNoSecretsOrBodies(t *testing.T) {
	var logs bytes.Buffer
	h := NewWebhookHandler(testVerifier(t), WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error { return errors.New("sync failed") })
	h.OnCreditsBalanceDepleted(func(context.Context, *WebhookEvent, *CreditsBalanceDepleted) error { panic("boom") })
	h.OnSubscriptionCanceled(func(context.Context, *WebhookEvent, *Subscription) error { return nil })

	const marker = "acc_1"
	bad := delivery(t, "msg_log_bad", invoiceBody)
	bad.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	stale := delivery(t, "msg_log_stale", invoiceBody)
	stale.Header.Set("webhook-timestamp", strconv.FormatInt(vectorTS-1000, 10))
	for _, r := range []*http.Request{
		delivery(t, "msg_log_fail", invoiceBody),
		delivery(t, "msg_log_panic", depletedBody),
		bad, stale,
		delivery(t, "msg_log_junk", "junk "+marker),
		delivery(t, "msg_log_amount", `{"type":"invoice.paid","data":{"total":"`+marker+`"}}`),
		delivery(t, "msg_log_time", `{"type":"invoice.paid","timestamp":"`+marker+`","data":{}}`),
		delivery(t, "msg_log_sub", `{"type":"subscription.canceled","data":{"createdAt":"`+marker+`"}}`),
	} {
		serve(h, r)
	}
	out := logs.String()
	require.Contains(t, out, "sync failed")
	require.Contains(t, out, "boom")
	require.Contains(t, out, "msg_log_fail")
	require.Contains(t, out, "msg_log_amount")
	require.Contains(t, out, "msg_log_bad")
	require.Contains(t, out, ErrWebhookPayload.Error())
	require.NotContains(t, out, marker)
	require.NotContains(t, out, "acc_abc123")
	require.NotContains(t, out, vectorSecret[len("whsec_"):])
}

func TestNewWebhookHandlerPanicsOnNil(t *testing.T) {
	require.Panics(t, func() { NewWebhookHandler(nil) })
	h := NewWebhookHandler(testVerifier(t))
	require.Panics(t, func() { h.On(WebhookInvoicePaid, nil) })
	require.Panics(t, func() { h.OnInvoicePaid(nil) })
}

func TestMemoryWebhookDeduper(t *testing.T) {
	ctx := context.Background()
	claim := func(t *testing.T, d *MemoryWebhookDeduper, id string) WebhookClaim {
		t.Helper()
		c, err := d.Claim(ctx, id)
		require.NoError(t, err)
		return c
	}

	t.Run("lifecycle", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(0, 0)
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "a"))
		require.Equal(t, WebhookClaimBusy, claim(t, d, "a"))
		require.NoError(t, d.Release(ctx, "a"))
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "a"))
		require.NoError(t, d.Complete(ctx, "a"))
		require.Equal(t, WebhookClaimDone, claim(t, d, "a"))
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "b"))
		require.Equal(t, 1, d.Len())
	})

	t.Run("size bound forgets the oldest", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(3, time.Hour)
		for _, id := range []string{"1", "2", "3", "4", "5"} {
			require.Equal(t, WebhookClaimAcquired, claim(t, d, id))
			require.NoError(t, d.Complete(ctx, id))
		}
		require.Equal(t, 3, d.Len())
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "1"))
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "2"))
		for _, id := range []string{"3", "4", "5"} {
			require.Equal(t, WebhookClaimDone, claim(t, d, id))
		}
	})

	t.Run("age bound", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(100, time.Hour)
		now := time.Unix(vectorTS, 0)
		d.now = func() time.Time { return now }
		require.NoError(t, d.Complete(ctx, "old"))
		now = now.Add(30 * time.Minute)
		require.NoError(t, d.Complete(ctx, "young"))
		now = now.Add(30*time.Minute - time.Nanosecond)
		require.Equal(t, WebhookClaimDone, claim(t, d, "old"))
		now = now.Add(time.Nanosecond)
		require.Equal(t, WebhookClaimAcquired, claim(t, d, "old"))
		require.Equal(t, WebhookClaimDone, claim(t, d, "young"))
		require.Equal(t, 1, d.Len())
	})

	t.Run("memory stays bounded", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(10, time.Hour)
		for i := range 10_000 {
			id := strconv.Itoa(i)
			require.Equal(t, WebhookClaimAcquired, claim(t, d, id))
			require.NoError(t, d.Complete(ctx, id))
		}
		require.Equal(t, 10, d.Len())
		require.LessOrEqual(t, len(d.order)-d.head, 10)
		require.LessOrEqual(t, cap(d.order), 64)
		require.Empty(t, d.running)
	})

	t.Run("complete twice is harmless", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(2, time.Hour)
		require.NoError(t, d.Complete(ctx, "a"))
		require.NoError(t, d.Complete(ctx, "a"))
		require.NoError(t, d.Complete(ctx, "b"))
		require.Equal(t, 2, d.Len())
		require.Equal(t, WebhookClaimDone, claim(t, d, "a"))
	})

	t.Run("concurrent claims acquire once", func(t *testing.T) {
		d := NewMemoryWebhookDeduper(0, 0)
		const n = 64
		var acquired atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := d.Claim(ctx, "same")
				if err == nil && c == WebhookClaimAcquired {
					acquired.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Equal(t, int32(1), acquired.Load())
	})
}

// A wrong handler option is a mistake in the program: NewWebhookHandler
// panics at once with the option's name, rather than keep a default the
// caller did not ask for.
func TestWrongHandlerOptionsPanicAtConstruction(t *testing.T) {
	v, err := NewWebhookVerifier(vectorSecret)
	require.NoError(t, err)
	for name, opt := range map[string]WebhookHandlerOption{
		"WithWebhookMaxBody": WithWebhookMaxBody(0),
		"WithWebhookDeduper": WithWebhookDeduper(nil),
		"WithWebhookLogger":  WithWebhookLogger(nil),
	} {
		require.Contains(t, panicMessage(t, func() { NewWebhookHandler(v, opt) }), "alguna: "+name+":")
	}
	require.Contains(t, panicMessage(t, func() { NewMemoryWebhookDeduper(-1, 0) }), "maxIDs must not be negative")
	require.Contains(t, panicMessage(t, func() { NewMemoryWebhookDeduper(0, -time.Second) }), "maxAge must not be negative")
	require.NotPanics(t, func() { NewWebhookHandler(v, nil, WithWebhookMaxBody(1)) })
}

func panicMessage(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		msg, _ = recover().(string)
	}()
	f()
	t.Fatal("no panic")
	return ""
}
