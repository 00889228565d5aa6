package alguna

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
)

// DefaultWebhookMaxBody is the largest body the handler reads: far above any
// Alguna event, far below what could exhaust memory.
const DefaultWebhookMaxBody int64 = 1 << 20

// WebhookHandlerOption configures a WebhookHandler. NewWebhookHandler
// returns no error, so an option given a wrong value panics when the handler
// is built, with a message naming the option: it is a mistake in the
// program, like registering a nil handler on an http.ServeMux, and failing
// at start-up beats keeping a default the caller did not ask for.
type WebhookHandlerOption func(*WebhookHandler)

// WithWebhookMaxBody sets the largest request body the handler reads
// (default DefaultWebhookMaxBody); larger requests are answered 413 unread.
// It must be positive.
func WithWebhookMaxBody(n int64) WebhookHandlerOption {
	return func(h *WebhookHandler) {
		if n <= 0 {
			panic(fmt.Sprintf("alguna: WithWebhookMaxBody: the limit must be positive, got %d", n))
		}
		h.maxBody = n
	}
}

// WithWebhookDeduper replaces the in-memory deduper, typically with one over
// a store shared by every instance that receives webhooks (the postgres
// module has one).
func WithWebhookDeduper(d WebhookDeduper) WebhookHandlerOption {
	return func(h *WebhookHandler) {
		if d == nil {
			panic("alguna: WithWebhookDeduper: the deduper is nil")
		}
		h.dedupe = d
	}
}

// WithWebhookLogger makes the handler log rejected deliveries, callback
// failures and panics. Log records carry the delivery id, event type and
// error, never the secret or the body. Without it the handler logs nothing
// but its own misconfiguration.
func WithWebhookLogger(l *slog.Logger) WebhookHandlerOption {
	return func(h *WebhookHandler) {
		if l == nil {
			panic("alguna: WithWebhookLogger: the logger is nil")
		}
		h.logger = l
	}
}

// WebhookHandler is an http.Handler that receives Alguna's webhooks:
// it verifies each delivery, skips duplicates, and runs the callback
// registered for its type.
//
// Status codes, chosen for how Alguna reacts to them (any non-2xx is retried
// with the same webhook-id):
//
//	204  handled, duplicate of a handled delivery, or no callback for the type
//	400  headers missing or malformed, or the body is not a valid event
//	401  bad signature or timestamp out of tolerance
//	405  not a POST (with Allow: POST)
//	409  the same delivery is being handled right now; retry later
//	413  body over the limit
//	500  the callback failed or panicked, or the deduper failed
//
// Callbacks get the request's context, so they end when Alguna stops
// waiting; Alguna expects an answer within 15 seconds, so slow work belongs
// in a queue. Register callbacks before serving: registering later is safe,
// but deliveries already being handled do not see the change.
type WebhookHandler struct {
	verifier *WebhookVerifier
	maxBody  int64
	dedupe   WebhookDeduper
	logger   *slog.Logger

	mu     sync.RWMutex
	routes map[string]webhookRoute
}

// webhookRoute is one registered callback. decode turns the event into the
// callback's payload before anything is claimed, so that a malformed payload
// is answered 400 without ever reaching the callback or the deduper.
type webhookRoute struct {
	decode func(*WebhookEvent) (any, error)
	call   func(context.Context, *WebhookEvent, any) error
}

// NewWebhookHandler returns a handler that verifies deliveries with v. It
// panics if v is nil, since such a handler could never accept anything.
func NewWebhookHandler(v *WebhookVerifier, opts ...WebhookHandlerOption) *WebhookHandler {
	if v == nil {
		panic("alguna: NewWebhookHandler with a nil verifier")
	}
	h := &WebhookHandler{
		verifier: v,
		maxBody:  DefaultWebhookMaxBody,
		routes:   make(map[string]webhookRoute),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(h)
		}
	}
	if h.dedupe == nil {
		h.dedupe = NewMemoryWebhookDeduper(0, 0)
	}
	return h
}

// On registers fn for eventType, replacing any callback registered for it
// before; one callback per type keeps "did this delivery succeed?" a single
// answer. fn gets the event undecoded, which suits types this SDK does not
// know. It panics if fn is nil.
func (h *WebhookHandler) On(eventType string, fn func(context.Context, *WebhookEvent) error) {
	if fn == nil {
		panic("alguna: WebhookHandler.On with a nil callback")
	}
	h.register(eventType, webhookRoute{
		call: func(ctx context.Context, e *WebhookEvent, _ any) error { return fn(ctx, e) },
	})
}

func (h *WebhookHandler) register(eventType string, r webhookRoute) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.routes == nil {
		// A handler not made by NewWebhookHandler answers 500 to every
		// delivery; registering on it must not crash as well.
		h.routes = make(map[string]webhookRoute)
	}
	h.routes[eventType] = r
}

// onTyped registers fn for eventType with its data decoded into a T first.
func onTyped[T any](h *WebhookHandler, eventType string, fn func(context.Context, *WebhookEvent, *T) error) {
	if fn == nil {
		panic("alguna: WebhookHandler callback for " + eventType + " is nil")
	}
	h.register(eventType, webhookRoute{
		decode: func(e *WebhookEvent) (any, error) { return decodeWebhookData[T](e) },
		call: func(ctx context.Context, e *WebhookEvent, payload any) error {
			return fn(ctx, e, payload.(*T))
		},
	})
}

// OnCreditsBalanceDepleted registers fn for account.credits.balance_depleted.
func (h *WebhookHandler) OnCreditsBalanceDepleted(fn func(context.Context, *WebhookEvent, *CreditsBalanceDepleted) error) {
	onTyped(h, WebhookCreditsBalanceDepleted, fn)
}

// OnCreditsGranted registers fn for account.credits.granted.
func (h *WebhookHandler) OnCreditsGranted(fn func(context.Context, *WebhookEvent, *CreditsGranted) error) {
	onTyped(h, WebhookCreditsGranted, fn)
}

// OnCheckoutSessionCompleted registers fn for checkout.session.completed.
func (h *WebhookHandler) OnCheckoutSessionCompleted(fn func(context.Context, *WebhookEvent, *CheckoutSessionCompleted) error) {
	onTyped(h, WebhookCheckoutSessionCompleted, fn)
}

// OnSubscriptionCreated registers fn for subscription.created, the guide's
// name for a new subscription. Register OnSubscriptionActivated too if your
// workspace sends Alguna's reference name.
func (h *WebhookHandler) OnSubscriptionCreated(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionCreated, fn)
}

// OnSubscriptionActivated registers fn for subscription.activated.
func (h *WebhookHandler) OnSubscriptionActivated(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionActivated, fn)
}

// OnSubscriptionStarted registers fn for subscription.started.
func (h *WebhookHandler) OnSubscriptionStarted(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionStarted, fn)
}

// OnSubscriptionUpdated registers fn for subscription.updated.
func (h *WebhookHandler) OnSubscriptionUpdated(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionUpdated, fn)
}

// OnSubscriptionVersionUpdated registers fn for subscription.version.updated.
func (h *WebhookHandler) OnSubscriptionVersionUpdated(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionVersionUpdated, fn)
}

// OnSubscriptionCancelationScheduled registers fn for
// subscription.cancelation_scheduled.
func (h *WebhookHandler) OnSubscriptionCancelationScheduled(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionCancelationScheduled, fn)
}

// OnSubscriptionCanceled registers fn for subscription.canceled.
func (h *WebhookHandler) OnSubscriptionCanceled(fn func(context.Context, *WebhookEvent, *Subscription) error) {
	onTyped(h, WebhookSubscriptionCanceled, fn)
}

// OnInvoiceIssued registers fn for invoice.issued.
func (h *WebhookHandler) OnInvoiceIssued(fn func(context.Context, *WebhookEvent, *Invoice) error) {
	onTyped(h, WebhookInvoiceIssued, fn)
}

// OnInvoicePaid registers fn for invoice.paid.
func (h *WebhookHandler) OnInvoicePaid(fn func(context.Context, *WebhookEvent, *Invoice) error) {
	onTyped(h, WebhookInvoicePaid, fn)
}

// OnPaymentCreated registers fn for payment.created.
func (h *WebhookHandler) OnPaymentCreated(fn func(context.Context, *WebhookEvent, *Payment) error) {
	onTyped(h, WebhookPaymentCreated, fn)
}

// OnPaymentUpdated registers fn for payment.updated.
func (h *WebhookHandler) OnPaymentUpdated(fn func(context.Context, *WebhookEvent, *Payment) error) {
	onTyped(h, WebhookPaymentUpdated, fn)
}

// OnRefundUpdated registers fn for refund.updated.
func (h *WebhookHandler) OnRefundUpdated(fn func(context.Context, *WebhookEvent, *Refund) error) {
	onTyped(h, WebhookRefundUpdated, fn)
}

// OnLineItemDeleted registers fn for line_item.deleted.
func (h *WebhookHandler) OnLineItemDeleted(fn func(context.Context, *WebhookEvent, *LineItemDeleted) error) {
	onTyped(h, WebhookLineItemDeleted, fn)
}

// ServeHTTP handles one delivery; see WebhookHandler for the status codes.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h == nil || h.verifier == nil {
		// Nobody configured a logger on a handler nobody constructed, so
		// the mistake goes to the default logger rather than nowhere.
		slog.Default().LogAttrs(ctx, slog.LevelError, "alguna webhook: delivery not handled", slog.Any("error", errNoHandler))
		http.Error(w, "webhook handler is not configured", http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}

	body, status := h.readBody(w, r)
	if status != 0 {
		h.log(ctx, slog.LevelWarn, "alguna webhook: body not read", slog.Int("status", status))
		http.Error(w, http.StatusText(status), status)
		return
	}

	e, err := h.verifier.Verify(r.Header, body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrWebhookSignature) || errors.Is(err, ErrWebhookTimestamp) {
			status = http.StatusUnauthorized
		}
		attrs := []slog.Attr{slog.Int("status", status), slog.Any("error", loggable(err))}
		if id := webhookID(r.Header); id != "" && len(id) <= maxWebhookIDLen {
			// Unverified, but it is what finds the delivery in Alguna's log.
			attrs = append(attrs, slog.String("webhook_id", id))
		}
		h.log(ctx, slog.LevelWarn, "alguna webhook: rejected", attrs...)
		http.Error(w, "webhook rejected", status)
		return
	}

	h.mu.RLock()
	route, ok := h.routes[e.Type]
	h.mu.RUnlock()
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var payload any
	if route.decode != nil {
		if payload, err = route.decode(e); err != nil {
			h.log(ctx, slog.LevelWarn, "alguna webhook: payload not decoded", eventAttrs(e, loggable(err))...)
			http.Error(w, "webhook payload malformed", http.StatusBadRequest)
			return
		}
	}

	claim, err := h.dedupe.Claim(ctx, e.ID)
	if err != nil {
		h.log(ctx, slog.LevelError, "alguna webhook: deduper claim failed", eventAttrs(e, err)...)
		http.Error(w, "webhook not handled", http.StatusInternalServerError)
		return
	}
	switch claim {
	case WebhookClaimDone:
		w.WriteHeader(http.StatusNoContent)
		return
	case WebhookClaimBusy:
		http.Error(w, "webhook delivery in progress", http.StatusConflict)
		return
	case WebhookClaimAcquired:
	default:
		h.log(ctx, slog.LevelError, "alguna webhook: deduper answered an unknown claim", eventAttrs(e, fmt.Errorf("claim %d", claim))...)
		http.Error(w, "webhook not handled", http.StatusInternalServerError)
		return
	}

	err = h.run(ctx, route, e, payload)
	// The outcome must be recorded even when Alguna has hung up: losing a
	// Complete means running the callback again on the next delivery.
	storeCtx := context.WithoutCancel(ctx)
	if err != nil {
		h.log(ctx, slog.LevelError, "alguna webhook: callback failed", eventAttrs(e, err)...)
		if rerr := h.dedupe.Release(storeCtx, e.ID); rerr != nil {
			h.log(ctx, slog.LevelError, "alguna webhook: deduper release failed", eventAttrs(e, rerr)...)
		}
		http.Error(w, "webhook not handled", http.StatusInternalServerError)
		return
	}
	if cerr := h.dedupe.Complete(storeCtx, e.ID); cerr != nil {
		// The work is done; answering 500 would only make it run again.
		h.log(ctx, slog.LevelError, "alguna webhook: deduper complete failed", eventAttrs(e, cerr)...)
	}
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads the whole body once, raw, or returns the status to answer.
func (h *WebhookHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if r.ContentLength > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	return body, 0
}

// run calls the route's callback, turning a panic into an error so that one
// bad event answers 500 (and is retried) instead of killing the connection.
func (h *WebhookHandler) run(ctx context.Context, route webhookRoute, e *WebhookEvent, payload any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("alguna: webhook callback panicked: %v", p)
			h.log(ctx, slog.LevelError, "alguna webhook: callback panicked",
				slog.String("webhook_id", e.ID), slog.String("type", e.Type),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}
	}()
	return route.call(ctx, e, payload)
}

func (h *WebhookHandler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.logger != nil {
		h.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

// loggable drops the detail of a payload error: decoders quote the values
// they choke on, and the body must never reach the logs. The delivery id
// finds the full body in Alguna's message log.
func loggable(err error) error {
	if errors.Is(err, ErrWebhookPayload) {
		return ErrWebhookPayload
	}
	return err
}

func eventAttrs(e *WebhookEvent, err error) []slog.Attr {
	return []slog.Attr{
		slog.String("webhook_id", e.ID),
		slog.String("type", e.Type),
		slog.Any("error", err),
	}
}
