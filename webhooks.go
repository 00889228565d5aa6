package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/jsonscan"
	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// Webhook event types. Alguna's reference and the integration guide disagree
// on the name of the "new subscription" event, so both are listed; subscribe
// to whichever your workspace sends.
const (
	// WebhookCreditsBalanceDepleted fires when an account's credit balance of
	// one type reaches zero: the guide's cue to offer an upgrade.
	WebhookCreditsBalanceDepleted = "account.credits.balance_depleted"
	// WebhookCreditsGranted fires when credits are added to an account.
	WebhookCreditsGranted = "account.credits.granted"
	// WebhookCheckoutSessionCompleted fires when a customer pays on the
	// hosted checkout: the point to grant paid features.
	WebhookCheckoutSessionCompleted = "checkout.session.completed"
	// WebhookSubscriptionCreated is the integration guide's name for a new
	// subscription; Alguna's reference lists WebhookSubscriptionActivated.
	WebhookSubscriptionCreated = "subscription.created"
	// WebhookSubscriptionActivated fires when a subscription becomes active.
	WebhookSubscriptionActivated = "subscription.activated"
	// WebhookSubscriptionStarted fires when a subscription reaches its start date.
	WebhookSubscriptionStarted = "subscription.started"
	// WebhookSubscriptionUpdated fires when a top-level subscription attribute
	// changes.
	WebhookSubscriptionUpdated = "subscription.updated"
	// WebhookSubscriptionVersionUpdated fires when a subscription version
	// (where pricing changes live) is created, updated or published.
	WebhookSubscriptionVersionUpdated = "subscription.version.updated"
	// WebhookSubscriptionCancelationScheduled fires when a cancelation is
	// scheduled but the subscription is still running.
	WebhookSubscriptionCancelationScheduled = "subscription.cancelation_scheduled"
	// WebhookSubscriptionCanceled fires when a subscription ends.
	WebhookSubscriptionCanceled = "subscription.canceled"
	// WebhookInvoiceIssued fires when an invoice is finalized and sent.
	WebhookInvoiceIssued = "invoice.issued"
	// WebhookInvoicePaid fires when an invoice is fully paid.
	WebhookInvoicePaid = "invoice.paid"
	// WebhookPaymentCreated fires when a payment is initiated.
	WebhookPaymentCreated = "payment.created"
	// WebhookPaymentUpdated fires when a payment's status changes.
	WebhookPaymentUpdated = "payment.updated"
	// WebhookRefundUpdated fires when a refund's status changes.
	WebhookRefundUpdated = "refund.updated"
	// WebhookLineItemDeleted fires when a line item is removed.
	WebhookLineItemDeleted = "line_item.deleted"
)

// Errors returned (wrapped) by WebhookVerifier.Verify and WebhookEvent.Decode.
// They are distinct so that a receiver can tell a forged or replayed request
// (ErrWebhookSignature, ErrWebhookTimestamp) from a broken one.
var (
	// ErrWebhookHeaders means a signing header is missing or malformed.
	ErrWebhookHeaders = errors.New("alguna: webhook headers missing or malformed")
	// ErrWebhookSignature means no signature in the header matches the body
	// under any configured secret.
	ErrWebhookSignature = errors.New("alguna: webhook signature mismatch")
	// ErrWebhookTimestamp means the delivery was signed too long ago or too
	// far in the future, which is how replays of captured requests are refused.
	ErrWebhookTimestamp = errors.New("alguna: webhook timestamp outside tolerance")
	// ErrWebhookPayload means the signature was valid but the body is not an
	// event envelope (a JSON object with a "type"), or its data does not
	// decode into the payload its type promises.
	ErrWebhookPayload = errors.New("alguna: webhook payload malformed")
)

// Errors of the webhook types used without their constructors.
var (
	errNoVerifier = errors.New("alguna: the webhook verifier was not created with NewWebhookVerifier; use alguna.NewWebhookVerifier")
	errNoDeduper  = errors.New("alguna: the deduper was not created with NewMemoryWebhookDeduper; use alguna.NewMemoryWebhookDeduper")
	errNoHandler  = errors.New("alguna: the webhook handler was not created with NewWebhookHandler; use alguna.NewWebhookHandler")
)

// DefaultWebhookTolerance is how far a delivery's signing time may be from
// the receiver's clock, in either direction, as the Standard Webhooks spec
// recommends.
const DefaultWebhookTolerance = 5 * time.Minute

// maxWebhookIDLen bounds the webhook-id header. Ids are dedupe keys kept in
// memory, so an unbounded id would let one delivery pin a lot of memory;
// Alguna's ids are about 30 characters.
const maxWebhookIDLen = 255

// WebhookOption configures a WebhookVerifier.
type WebhookOption func(*WebhookVerifier) error

// WithWebhookSecrets adds secrets that are accepted besides the first one, so
// that a secret can be rotated without dropping deliveries signed with the
// old one.
func WithWebhookSecrets(more ...string) WebhookOption {
	return func(v *WebhookVerifier) error {
		for i, s := range more {
			key, err := standardwebhooks.ParseSecret(s)
			if err != nil {
				return fmt.Errorf("alguna: webhook secret %d: %w", i+2, err)
			}
			v.keys = append(v.keys, standardwebhooks.NewKey(key))
		}
		return nil
	}
}

// WithWebhookTolerance sets how far a delivery's webhook-timestamp may lie
// from now, in the past or in the future; it must be positive. A longer
// window tolerates clock skew, a shorter one narrows the replay window.
func WithWebhookTolerance(d time.Duration) WebhookOption {
	return func(v *WebhookVerifier) error {
		if d <= 0 {
			return fmt.Errorf("alguna: webhook tolerance must be positive, got %v", d)
		}
		v.tolerance = d
		return nil
	}
}

// WithWebhookClock replaces the wall clock used for the timestamp check,
// so that tests can verify recorded deliveries.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(v *WebhookVerifier) error {
		if now == nil {
			return errors.New("alguna: webhook clock must not be nil")
		}
		v.now = now
		return nil
	}
}

// WebhookVerifier checks that a delivery was signed by Alguna, recently,
// following the Standard Webhooks scheme. It is safe for concurrent use.
type WebhookVerifier struct {
	keys      []*standardwebhooks.Key
	tolerance time.Duration
	now       func() time.Time
}

// NewWebhookVerifier returns a verifier for the endpoint secret shown in
// Alguna's dashboard ("whsec_<base64>", or the bare base64 part). It fails on
// an empty or undecodable secret rather than accepting nothing later.
func NewWebhookVerifier(secret string, opts ...WebhookOption) (*WebhookVerifier, error) {
	key, err := standardwebhooks.ParseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("alguna: webhook secret: %w", err)
	}
	v := &WebhookVerifier{
		keys:      []*standardwebhooks.Key{standardwebhooks.NewKey(key)},
		tolerance: DefaultWebhookTolerance,
		now:       time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// String describes the verifier without its keys, so that logging or
// printing one by mistake does not leak a secret.
func (v *WebhookVerifier) String() string {
	return fmt.Sprintf("alguna.WebhookVerifier{secrets: %d, tolerance: %v}", len(v.keys), v.tolerance)
}

// GoString is String for %#v, for the same reason.
func (v *WebhookVerifier) GoString() string { return v.String() }

// Verify checks one delivery and returns its event. body must be the raw
// request body exactly as received: re-encoded JSON has different bytes and
// fails the signature.
//
// Checks run cheapest and most telling first: the headers (the webhook-*
// names, each falling back to its svix-* twin), then the timestamp, then the
// signature, and only then is the body parsed, so that nothing an attacker
// sends is decoded before it is authenticated. Verify reads the envelope's
// type and timestamp and checks the structure of data; the contents of data
// are checked by Decode, when the payload is wanted.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) (*WebhookEvent, error) {
	if v == nil || v.now == nil {
		return nil, errNoVerifier
	}
	id := webhookID(h)
	ts := webhookHeader(h, "Webhook-Timestamp", "webhook-timestamp", "Svix-Timestamp", "svix-timestamp")
	sig := webhookHeader(h, "Webhook-Signature", "webhook-signature", "Svix-Signature", "svix-signature")
	switch {
	case id == "":
		return nil, fmt.Errorf("%w: webhook-id is missing", ErrWebhookHeaders)
	case len(id) > maxWebhookIDLen:
		return nil, fmt.Errorf("%w: webhook-id is longer than %d bytes", ErrWebhookHeaders, maxWebhookIDLen)
	case ts == "":
		return nil, fmt.Errorf("%w: webhook-timestamp is missing", ErrWebhookHeaders)
	case !isDigits(ts):
		return nil, fmt.Errorf("%w: webhook-timestamp is not a number of seconds", ErrWebhookHeaders)
	case strings.TrimSpace(sig) == "":
		return nil, fmt.Errorf("%w: webhook-signature is missing", ErrWebhookHeaders)
	}

	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		// All digits, so the only failure left is a value past int64:
		// a time absurdly far away rather than a malformed header.
		return nil, fmt.Errorf("%w: webhook-timestamp is out of range", ErrWebhookTimestamp)
	}
	// Whole seconds on both sides, as the signer sees them, so that the
	// window is exactly ±tolerance whatever the sub-second part of now.
	now := v.now().Unix()
	if age := time.Unix(now, 0).Sub(time.Unix(unix, 0)); age > v.tolerance {
		return nil, fmt.Errorf("%w: signed %ds ago", ErrWebhookTimestamp, now-unix)
	} else if age < -v.tolerance {
		return nil, fmt.Errorf("%w: signed %ds in the future", ErrWebhookTimestamp, unix-now)
	}

	if !standardwebhooks.MatchKeys(v.keys, id, ts, body, sig) {
		return nil, ErrWebhookSignature
	}

	e := &WebhookEvent{ID: id}
	if err := e.parseEnvelope(body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWebhookPayload, err)
	}
	if e.Type == "" {
		return nil, fmt.Errorf("%w: the envelope has no type", ErrWebhookPayload)
	}
	return e, nil
}

// parseEnvelope reads type, timestamp and data from a verified body. It
// walks the envelope's top level and passes data on as it is: a full
// encoding/json pass over data cost four times the signature check, and
// Decode checks data when the payload is wanted.
func (e *WebhookEvent) parseEnvelope(body []byte) error {
	return jsonscan.Object(body, func(key, value []byte) error {
		switch {
		case jsonscan.KeyIs(key, "type"):
			e.Type = ""
			if jsonscan.IsNull(value) {
				return nil
			}
			t, err := jsonscan.Unquote(value)
			if err != nil {
				return errors.New("type is not a string")
			}
			e.Type = t
		case jsonscan.KeyIs(key, "timestamp"):
			e.Timestamp = time.Time{}
			if err := e.Timestamp.UnmarshalJSON(value); err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
		case jsonscan.KeyIs(key, "data"):
			// A copy: the caller may reuse the body's buffer.
			e.Data = append(json.RawMessage(nil), value...)
		}
		return nil
	})
}

func webhookID(h http.Header) string {
	return webhookHeader(h, "Webhook-Id", "webhook-id", "Svix-Id", "svix-id")
}

// webhookHeader returns the first non-empty value among the canonical and
// lower-case spellings of the primary header, then of the fallback. Servers
// canonicalise header names, but headers built by hand in a map literal
// (tests, other frameworks) often keep the lower-case spelling the spec uses.
func webhookHeader(h http.Header, canon, lower, fallbackCanon, fallbackLower string) string {
	for _, k := range [...]string{canon, lower, fallbackCanon, fallbackLower} {
		if vs := h[k]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// WebhookEvent is one verified delivery: the envelope Alguna sends, with the
// delivery id from the webhook-id header.
type WebhookEvent struct {
	// ID is the webhook-id header. It stays the same on every retry of one
	// event, so it is the key for skipping duplicates.
	ID string `json:"-"`
	// Type is the event type, one of the Webhook* constants for the types
	// Alguna documents.
	Type string `json:"type"`
	// Timestamp is when the event happened, which can be well before a
	// retried delivery was signed.
	Timestamp time.Time `json:"timestamp"`
	// Data is the type-specific payload, undecoded until Decode is called.
	Data json.RawMessage `json:"data"`
}

// Decode returns the event's payload as the type its event type promises:
// *CreditsBalanceDepleted, *CreditsGranted, *CheckoutSessionCompleted,
// *Subscription (every subscription.* type), *Invoice (invoice.*), *Payment
// (payment.*), *Refund (refund.*) or *LineItemDeleted. For a type this SDK
// does not know it returns Data as a json.RawMessage and no error, so that a
// new event type never breaks a receiver. Errors wrap ErrWebhookPayload.
func (e *WebhookEvent) Decode() (any, error) {
	switch t := e.Type; {
	case t == WebhookCreditsBalanceDepleted:
		return decodeWebhookData[CreditsBalanceDepleted](e)
	case t == WebhookCreditsGranted:
		return decodeWebhookData[CreditsGranted](e)
	case t == WebhookCheckoutSessionCompleted:
		return decodeWebhookData[CheckoutSessionCompleted](e)
	case t == WebhookLineItemDeleted:
		return decodeWebhookData[LineItemDeleted](e)
	case strings.HasPrefix(t, "subscription."):
		return decodeWebhookData[Subscription](e)
	case strings.HasPrefix(t, "invoice."):
		return decodeWebhookData[Invoice](e)
	case strings.HasPrefix(t, "payment."):
		return decodeWebhookData[Payment](e)
	case strings.HasPrefix(t, "refund."):
		return decodeWebhookData[Refund](e)
	default:
		return e.Data, nil
	}
}

// decodeWebhookData decodes the event's data into a T. A known type without
// data is an error: a typed callback handed an all-zero payload would act on
// an account id of "".
func decodeWebhookData[T any](e *WebhookEvent) (*T, error) {
	if len(e.Data) == 0 || string(e.Data) == "null" {
		return nil, fmt.Errorf("%w: %s event has no data", ErrWebhookPayload, e.Type)
	}
	out := new(T)
	if err := json.Unmarshal(e.Data, out); err != nil {
		return nil, fmt.Errorf("%w: %s data: %w", ErrWebhookPayload, e.Type, err)
	}
	return out, nil
}

// CreditsBalanceDepleted is the payload of account.credits.balance_depleted.
type CreditsBalanceDepleted struct {
	AccountID string          `json:"accountId"`
	Amount    decimal.Decimal `json:"amount"` // the balance left: "0"
	Type      CreditType      `json:"type"`
}

// CreditsGranted is the payload of account.credits.granted. Alguna does not
// publish its fields; these mirror a credit grant, and the credit type is
// read from "type" (as in the depletion event) or from "creditType" (as in
// the grants API), whichever is present.
type CreditsGranted struct {
	ID        string          `json:"id,omitempty"` // the grant's id
	AccountID string          `json:"accountId"`
	Amount    decimal.Decimal `json:"amount"`
	Type      CreditType      `json:"type"`
	Reason    string          `json:"reason,omitempty"`
	ExpiresAt *time.Time      `json:"expiresAt,omitempty"`
	CreatedAt *time.Time      `json:"createdAt,omitempty"`
}

// UnmarshalJSON accepts the credit type under either name, because the
// event's documentation and the grants API spell it differently.
func (g *CreditsGranted) UnmarshalJSON(b []byte) error {
	type plain CreditsGranted
	var aux struct {
		plain
		CreditType CreditType `json:"creditType"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*g = CreditsGranted(aux.plain)
	if g.Type == "" {
		g.Type = aux.CreditType
	}
	return nil
}

// CheckoutSessionCompleted is the payload of checkout.session.completed.
type CheckoutSessionCompleted struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId"`
	Status    string          `json:"status"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	InvoiceID string          `json:"invoiceId"`
	PaymentID string          `json:"paymentId"`
	// PassThroughToken is the token given when the checkout was started,
	// returned untouched so the receiver can tie the payment to its own
	// records.
	PassThroughToken string `json:"passThroughToken"`
}

// SubscriptionStatus is a subscription's lifecycle state.
type SubscriptionStatus string

// The subscription statuses Alguna documents.
const (
	// SubscriptionStatusDraft is a subscription not yet activated.
	SubscriptionStatusDraft SubscriptionStatus = "draft"
	// SubscriptionStatusActive is a running subscription.
	SubscriptionStatusActive SubscriptionStatus = "active"
	// SubscriptionStatusCanceled is a subscription that has ended.
	SubscriptionStatusCanceled SubscriptionStatus = "canceled"
)

// Subscription is the payload of every subscription.* event.
type Subscription struct {
	ID                string             `json:"id"`
	AccountID         string             `json:"accountId"`
	Name              string             `json:"name"`
	Status            SubscriptionStatus `json:"status"`
	Currency          string             `json:"currency"`
	PlanID            string             `json:"planId,omitempty"`
	ContractStartDate *time.Time         `json:"contractStartDate,omitempty"`
	ContractEndDate   *time.Time         `json:"contractEndDate,omitempty"` // nil while open-ended
	ActivatedAt       *time.Time         `json:"activatedAt,omitempty"`     // nil until activated
	CreatedAt         time.Time          `json:"createdAt"`
	UpdatedAt         time.Time          `json:"updatedAt"`
}

// Invoice is the payload of every invoice.* event.
type Invoice struct {
	ID                 string          `json:"id"`
	AccountID          string          `json:"accountId"`
	Currency           string          `json:"currency"`
	Description        string          `json:"description,omitempty"`
	BillingPeriodStart *time.Time      `json:"billingPeriodStart,omitempty"` // nil on one-off invoices
	BillingPeriodEnd   *time.Time      `json:"billingPeriodEnd,omitempty"`
	Status             string          `json:"status"`
	Total              decimal.Decimal `json:"total"`
	CreatedAt          time.Time       `json:"createdAt"`
	UpdatedAt          time.Time       `json:"updatedAt"`
}

// UnmarshalJSON accepts contract dates as RFC 3339 times or as bare dates
// ("2025-03-01", read as midnight UTC): billing systems often send dates
// without a time, and a payload that fails to decode is retried for days.
func (s *Subscription) UnmarshalJSON(b []byte) error {
	type plain Subscription
	raw := struct {
		*plain
		ContractStartDate lenientTime `json:"contractStartDate"`
		ContractEndDate   lenientTime `json:"contractEndDate"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.ContractStartDate, s.ContractEndDate = raw.ContractStartDate.t, raw.ContractEndDate.t
	return nil
}

// UnmarshalJSON accepts billing period bounds as RFC 3339 times or as bare
// dates, like Subscription's contract dates.
func (inv *Invoice) UnmarshalJSON(b []byte) error {
	type plain Invoice
	raw := struct {
		*plain
		BillingPeriodStart lenientTime `json:"billingPeriodStart"`
		BillingPeriodEnd   lenientTime `json:"billingPeriodEnd"`
	}{plain: (*plain)(inv)}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	inv.BillingPeriodStart, inv.BillingPeriodEnd = raw.BillingPeriodStart.t, raw.BillingPeriodEnd.t
	return nil
}

// lenientTime decodes an RFC 3339 time, a bare date, or null.
type lenientTime struct{ t *time.Time }

func (l *lenientTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		l.t = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			l.t = &t
			return nil
		}
	}
	return fmt.Errorf("%q is neither an RFC 3339 time nor a date", s)
}

// PaymentStatus is a payment's processing state.
type PaymentStatus string

// The payment statuses Alguna documents.
const (
	// PaymentStatusPendingClientAction waits on an action by the customer.
	PaymentStatusPendingClientAction PaymentStatus = "pending_client_action"
	// PaymentStatusPendingAuthorization waits on the card issuer or bank.
	PaymentStatusPendingAuthorization PaymentStatus = "pending_authorization"
	// PaymentStatusProcessing is under way; the outcome follows in a
	// payment.updated event.
	PaymentStatusProcessing PaymentStatus = "processing"
	// PaymentStatusCompleted means the money was collected.
	PaymentStatusCompleted PaymentStatus = "completed"
	// PaymentStatusFailed means the payment will not complete.
	PaymentStatusFailed PaymentStatus = "failed"
)

// Payment is the payload of every payment.* event. Alguna documents only its
// statuses; the other fields follow its other payloads and may be empty.
type Payment struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId"`
	InvoiceID string          `json:"invoiceId,omitempty"`
	Status    PaymentStatus   `json:"status"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	CreatedAt *time.Time      `json:"createdAt,omitempty"`
	UpdatedAt *time.Time      `json:"updatedAt,omitempty"`
}

// Refund is the payload of refund.updated. Alguna does not publish its
// fields; these follow its other payloads and may be empty.
type Refund struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId,omitempty"`
	PaymentID string          `json:"paymentId,omitempty"`
	InvoiceID string          `json:"invoiceId,omitempty"`
	Status    string          `json:"status"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	Reason    string          `json:"reason,omitempty"`
	CreatedAt *time.Time      `json:"createdAt,omitempty"`
	UpdatedAt *time.Time      `json:"updatedAt,omitempty"`
}

// LineItemDeleted is the payload of line_item.deleted. Alguna does not
// publish its fields; the id is always there, the owners when known.
type LineItemDeleted struct {
	ID             string `json:"id"`
	AccountID      string `json:"accountId,omitempty"`
	InvoiceID      string `json:"invoiceId,omitempty"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
}

// WebhookClaim is a deduper's answer to "may this delivery run?".
type WebhookClaim int

// The answers a WebhookDeduper gives to Claim.
const (
	// WebhookClaimAcquired means this delivery now owns the id and runs the
	// callback; the handler reports the outcome with Complete or Release.
	WebhookClaimAcquired WebhookClaim = iota + 1
	// WebhookClaimBusy means another delivery of the id is running right now.
	// The handler answers 409 so that Alguna retries later, by when the
	// first delivery has either completed (and the retry is acknowledged) or
	// released the id (and the retry runs).
	WebhookClaimBusy
	// WebhookClaimDone means the id was handled successfully before; the
	// handler acknowledges it again without running the callback.
	WebhookClaimDone
)

// WebhookDeduper records which deliveries were handled, so that a retried or
// duplicated delivery runs its callback at most once successfully and never
// twice at the same time. Implement it over a shared database or cache when
// several instances receive webhooks; the default, MemoryWebhookDeduper, only
// sees one process.
//
// Implementations must be safe for concurrent use, and Claim must be atomic:
// of two concurrent Claims of one id, at most one may return
// WebhookClaimAcquired. A durable store should let an acquired claim expire
// (after longer than a callback can run) so that a process that died
// mid-callback does not block the id for good.
type WebhookDeduper interface {
	// Claim reserves id for this delivery, or tells why it must not run.
	Claim(ctx context.Context, id string) (WebhookClaim, error)
	// Complete records that the callback for id succeeded; later Claims of
	// id answer WebhookClaimDone.
	Complete(ctx context.Context, id string) error
	// Release gives up a claim after a failed callback, so that the next
	// delivery of id runs again.
	Release(ctx context.Context, id string) error
}

// Defaults of MemoryWebhookDeduper. A delivery that succeeded is not retried,
// so the duplicates it guards against (at-least-once delivery, a resend from
// the dashboard) come soon after the original: a day covers them.
const (
	// DefaultWebhookDedupeSize is how many completed ids are remembered.
	DefaultWebhookDedupeSize = 10000
	// DefaultWebhookDedupeAge is how long a completed id is remembered.
	DefaultWebhookDedupeAge = 24 * time.Hour
)

// MemoryWebhookDeduper is the in-process WebhookDeduper the handler uses by
// default. It remembers at most a fixed number of completed ids, each for at
// most a fixed age, forgetting the oldest first, so its memory stays bounded
// whatever the traffic.
type MemoryWebhookDeduper struct {
	mu      sync.Mutex
	maxIDs  int
	maxAge  time.Duration
	now     func() time.Time
	running map[string]struct{}
	done    map[string]struct{}
	// order holds the done ids oldest first, from head on; completion times
	// only grow, so expiry and eviction both pop from the front.
	order []webhookDone
	head  int
}

type webhookDone struct {
	id string
	at time.Time
}

// NewMemoryWebhookDeduper returns an in-memory deduper that remembers up to
// maxIDs completed ids for up to maxAge each. Zero or negative values take
// DefaultWebhookDedupeSize and DefaultWebhookDedupeAge.
func NewMemoryWebhookDeduper(maxIDs int, maxAge time.Duration) *MemoryWebhookDeduper {
	if maxIDs <= 0 {
		maxIDs = DefaultWebhookDedupeSize
	}
	if maxAge <= 0 {
		maxAge = DefaultWebhookDedupeAge
	}
	return &MemoryWebhookDeduper{
		maxIDs:  maxIDs,
		maxAge:  maxAge,
		now:     time.Now,
		running: make(map[string]struct{}),
		done:    make(map[string]struct{}),
	}
}

// Claim implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Claim(_ context.Context, id string) (WebhookClaim, error) {
	if d == nil || d.running == nil {
		return 0, errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evict(d.now())
	if _, ok := d.running[id]; ok {
		return WebhookClaimBusy, nil
	}
	if _, ok := d.done[id]; ok {
		return WebhookClaimDone, nil
	}
	d.running[id] = struct{}{}
	return WebhookClaimAcquired, nil
}

// Complete implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Complete(_ context.Context, id string) error {
	if d == nil || d.running == nil {
		return errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.running, id)
	if _, ok := d.done[id]; !ok {
		d.done[id] = struct{}{}
		d.order = append(d.order, webhookDone{id: id, at: d.now()})
	}
	d.evict(d.now())
	return nil
}

// Release implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Release(_ context.Context, id string) error {
	if d == nil || d.running == nil {
		return errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.running, id)
	return nil
}

// Len reports how many completed ids are remembered, for metrics and tests.
func (d *MemoryWebhookDeduper) Len() int {
	if d == nil || d.running == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evict(d.now())
	return len(d.done)
}

// evict forgets completed ids past the size or age bound. d.mu must be held.
func (d *MemoryWebhookDeduper) evict(now time.Time) {
	for d.head < len(d.order) {
		oldest := d.order[d.head]
		if len(d.done) <= d.maxIDs && now.Sub(oldest.at) < d.maxAge {
			break
		}
		delete(d.done, oldest.id)
		d.order[d.head] = webhookDone{}
		d.head++
	}
	// Reclaim the dead prefix once it is at least half the slice, so the
	// backing array stays within twice the live entries.
	if d.head > 0 && d.head*2 >= len(d.order) {
		n := copy(d.order, d.order[d.head:])
		clear(d.order[n:])
		d.order = d.order[:n]
		d.head = 0
	}
}

// DefaultWebhookMaxBody is the largest body the handler reads: far above any
// Alguna event, far below what could exhaust memory.
const DefaultWebhookMaxBody int64 = 1 << 20

// WebhookHandlerOption configures a WebhookHandler.
type WebhookHandlerOption func(*WebhookHandler)

// WithWebhookMaxBody sets the largest request body the handler reads; larger
// requests are answered 413 unread. Zero or negative keeps the default.
func WithWebhookMaxBody(n int64) WebhookHandlerOption {
	return func(h *WebhookHandler) {
		if n > 0 {
			h.maxBody = n
		}
	}
}

// WithWebhookDeduper replaces the in-memory deduper, typically with one over
// a store shared by every instance that receives webhooks. nil keeps the
// default.
func WithWebhookDeduper(d WebhookDeduper) WebhookHandlerOption {
	return func(h *WebhookHandler) {
		if d != nil {
			h.dedupe = d
		}
	}
}

// WithWebhookLogger makes the handler log rejected deliveries, callback
// failures and panics. Log records carry the delivery id, event type and
// error, never the secret or the body.
func WithWebhookLogger(l *slog.Logger) WebhookHandlerOption {
	return func(h *WebhookHandler) { h.logger = l }
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
