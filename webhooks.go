package alguna

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// This file is the vocabulary of Alguna's webhooks: event types, errors,
// the delivered event and its payloads. Verifying a delivery is in
// webhooks_verify.go, dedupe in webhooks_dedupe.go, the http.Handler in
// webhooks_handler.go.

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
