package algunatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// Webhook is one webhook event to sign the way Alguna (and this fake) sign
// their deliveries, for testing a webhook handler without a running server:
//
//	req, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid}.Request("/webhooks/alguna", secret)
//	rec := httptest.NewRecorder()
//	handler.ServeHTTP(rec, req)
//
// The zero values of ID, Data and Time are filled in, so that the type alone
// makes a realistic delivery.
type Webhook struct {
	// Type is the event type, such as alguna.WebhookInvoicePaid; required.
	Type string
	// Data is the event's payload, encoded as JSON; it must encode to a
	// JSON object. Nil means SampleWebhookData(Type).
	Data any
	// ID is the webhook-id header, the delivery's idempotency key; empty
	// means a fresh "msg_…" id.
	ID string
	// Time is when the event happened and when the delivery is signed: the
	// envelope's timestamp and the webhook-timestamp header. Zero means
	// now; a time well in the past tests a receiver's tolerance.
	Time time.Time
}

// Sign returns the delivery's body and headers, signed with secret (a
// "whsec_…" secret, such as a Server's WebhookSecret): the Standard Webhooks
// headers under both their webhook- and svix- names, and Content-Type.
func (w Webhook) Sign(secret string) (http.Header, []byte, error) {
	key, err := standardwebhooks.ParseSecret(secret)
	if err != nil {
		return nil, nil, fmt.Errorf("algunatest: %w", err)
	}
	if w.Type == "" {
		return nil, nil, errors.New("algunatest: Webhook.Type is required")
	}
	data, err := webhookData(w.Type, w.Data)
	if err != nil {
		return nil, nil, err
	}
	at := w.Time
	if at.IsZero() {
		at = time.Now()
	}
	id := w.ID
	if id == "" {
		id = newID("msg")
	}
	body, err := json.Marshal(envelope{Type: w.Type, Timestamp: formatTime(at), Data: data})
	if err != nil {
		return nil, nil, fmt.Errorf("algunatest: encoding the webhook: %w", err)
	}
	h := make(http.Header)
	setWebhookHeaders(h, key, id, at.Unix(), body)
	return h, body, nil
}

// Request returns the signed delivery as a request arriving at target (a
// path such as "/webhooks/alguna", or an absolute URL), ready for an
// http.Handler's ServeHTTP, as httptest.NewRequest makes one. It is a
// server-side request; to send the delivery over the network, build a
// request from Sign's headers and body instead.
func (w Webhook) Request(target, secret string) (*http.Request, error) {
	h, body, err := w.Sign(secret)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("algunatest: %w", err)
	}
	req.Header = h
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = "192.0.2.1:1234"
	if req.Host == "" {
		req.Host = "example.com"
	}
	return req, nil
}

// setWebhookHeaders signs one delivery attempt. Alguna delivers through
// Svix, which sends each header under both names; receivers may read either.
func setWebhookHeaders(h http.Header, key []byte, id string, unix int64, body []byte) {
	ts := strconv.FormatInt(unix, 10)
	sig := standardwebhooks.Sign(key, id, unix, body)
	h.Set("Content-Type", "application/json")
	for _, prefix := range []string{"webhook-", "svix-"} {
		h.Set(prefix+"id", id)
		h.Set(prefix+"timestamp", ts)
		h.Set(prefix+"signature", sig)
	}
}

// webhookData encodes a payload, or the type's sample when data is nil,
// and checks it is a JSON object, as every Alguna payload is.
func webhookData(eventType string, data any) (json.RawMessage, error) {
	if data == nil {
		sample, err := sampleWebhookData(eventType)
		if err != nil {
			return nil, err
		}
		data = sample
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("algunatest: encoding the %s payload: %w", eventType, err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("algunatest: the %s payload must encode to a JSON object, got %.40s", eventType, raw)
	}
	return raw, nil
}

// Emit sends one webhook event of any type to the registered endpoints
// through the server's normal delivery path: signed with WebhookSecret,
// retried on failure, in order with the account's other events (the
// payload's "accountId", when it has one), and listed by Deliveries. Nil
// data sends SampleWebhookData(eventType). Emit only sends: it changes none
// of the fake's accounts, subscriptions or invoices. It returns once the
// event is queued; FlushWebhooks waits for its delivery.
func (s *Server) Emit(ctx context.Context, eventType string, data any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if eventType == "" {
		return errors.New("algunatest: Emit needs an event type")
	}
	raw, err := webhookData(eventType, data)
	if err != nil {
		return err
	}
	var owner struct {
		AccountID any `json:"accountId"`
	}
	_ = json.Unmarshal(raw, &owner) // raw is an object; a field of another type just has no owner
	accountID, _ := owner.AccountID.(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.closed {
		return errors.New("algunatest: Emit on a closed server")
	}
	s.emitLocked(accountID, eventType, raw)
	return nil
}

// WebhookEventTypes returns the event types SampleWebhookData has samples
// for: every type Alguna documents, and the guide's subscription.created.
func WebhookEventTypes() []string {
	return []string{
		alguna.WebhookCreditsBalanceDepleted,
		alguna.WebhookCreditsGranted,
		alguna.WebhookCheckoutSessionCompleted,
		alguna.WebhookSubscriptionCreated,
		alguna.WebhookSubscriptionActivated,
		alguna.WebhookSubscriptionStarted,
		alguna.WebhookSubscriptionUpdated,
		alguna.WebhookSubscriptionVersionUpdated,
		alguna.WebhookSubscriptionCancelationScheduled,
		alguna.WebhookSubscriptionCanceled,
		alguna.WebhookInvoiceIssued,
		alguna.WebhookInvoicePaid,
		alguna.WebhookPaymentCreated,
		alguna.WebhookPaymentUpdated,
		alguna.WebhookRefundUpdated,
		alguna.WebhookLineItemDeleted,
	}
}

// SampleWebhookData returns a realistic payload of one event type, in the
// JSON the fake itself sends (camelCase fields, decimals as strings, RFC
// 3339 times): one account's Pro subscription at 49.00 USD, its invoice,
// payment, refund and credits. The ids and times are fixed, so a test can
// compare against them; change what the test needs in the returned map,
// which is the caller's own. It fails for a type outside
// WebhookEventTypes.
func SampleWebhookData(eventType string) (map[string]any, error) {
	v, err := sampleWebhookData(eventType)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// The sample's ids and times: one account's story.
const (
	sampleAccountID      = "acc_ujzdegxdncf32epf"
	sampleGrantID        = "cgr_3dhodzdocis2jhtl"
	sampleCheckoutID     = "chk_gmxgedn73u55xtpl"
	sampleInvoiceID      = "inv_pft7v4seh2kvj72c"
	samplePaymentID      = "pay_euvw75efr6edt4sy"
	sampleSubscriptionID = "sub_wb5wkh7dnsipzz7f"
	sampleRefundID       = "ref_k4zri3r2wyojfljo"
	sampleLineItemID     = "li_oa7lqsaj2xuid5zz"
)

var sampleTime = time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC)

type paymentJSON struct {
	ID        string               `json:"id"`
	AccountID string               `json:"accountId"`
	InvoiceID string               `json:"invoiceId"`
	Status    alguna.PaymentStatus `json:"status"`
	Amount    string               `json:"amount"`
	Currency  string               `json:"currency"`
	CreatedAt string               `json:"createdAt"`
	UpdatedAt string               `json:"updatedAt"`
}

type refundJSON struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
	PaymentID string `json:"paymentId"`
	InvoiceID string `json:"invoiceId"`
	Status    string `json:"status"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reason    string `json:"reason"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

type lineItemDeletedJSON struct {
	ID             string `json:"id"`
	AccountID      string `json:"accountId"`
	InvoiceID      string `json:"invoiceId"`
	SubscriptionID string `json:"subscriptionId"`
}

// sampleWebhookData builds the sample from the fake's own types, so that a
// sample is exactly what the fake would send.
func sampleWebhookData(eventType string) (any, error) {
	price := decimal.RequireFromString("49.00")
	later := sampleTime.Add(time.Minute)
	sub := subscription{
		id:                sampleSubscriptionID,
		accountID:         sampleAccountID,
		name:              "Pro",
		description:       defaultPlan().Description,
		planID:            defaultPlan().ID,
		status:            alguna.SubscriptionStatusActive,
		currency:          defaultCurrency,
		amount:            price,
		interval:          IntervalMonth,
		contractStartDate: sampleTime,
		activatedAt:       sampleTime,
		createdAt:         sampleTime,
		updatedAt:         sampleTime,
	}
	inv := invoice{
		id:                 sampleInvoiceID,
		accountID:          sampleAccountID,
		subscriptionID:     sampleSubscriptionID,
		currency:           defaultCurrency,
		description:        "Pro subscription",
		billingPeriodStart: sampleTime,
		billingPeriodEnd:   periodEnd(sampleTime, IntervalMonth),
		status:             invoicePaid,
		total:              price,
		createdAt:          sampleTime,
		updatedAt:          sampleTime,
	}
	pay := paymentJSON{
		ID:        samplePaymentID,
		AccountID: sampleAccountID,
		InvoiceID: sampleInvoiceID,
		Status:    alguna.PaymentStatusCompleted,
		Amount:    formatMoney(price),
		Currency:  defaultCurrency,
		CreatedAt: formatTime(sampleTime),
		UpdatedAt: formatTime(later),
	}

	switch eventType {
	case alguna.WebhookCreditsBalanceDepleted:
		return depletedJSON{AccountID: sampleAccountID, Amount: "0", Type: alguna.CreditTypeUnits}, nil
	case alguna.WebhookCreditsGranted:
		g := grant{
			id:         sampleGrantID,
			accountID:  sampleAccountID,
			creditType: alguna.CreditTypeUnits,
			amount:     decimal.NewFromInt(50),
			remaining:  decimal.NewFromInt(50),
			reason:     "Welcome credits",
			createdAt:  sampleTime,
		}
		return g.json(sampleTime), nil
	case alguna.WebhookCheckoutSessionCompleted:
		return checkoutCompletedJSON{
			ID:               sampleCheckoutID,
			AccountID:        sampleAccountID,
			Status:           checkoutCompleted,
			Amount:           formatMoney(price),
			Currency:         defaultCurrency,
			InvoiceID:        sampleInvoiceID,
			PaymentID:        samplePaymentID,
			PassThroughToken: "your-internal-reference",
		}, nil
	case alguna.WebhookSubscriptionCreated, alguna.WebhookSubscriptionActivated,
		alguna.WebhookSubscriptionStarted, alguna.WebhookSubscriptionUpdated,
		alguna.WebhookSubscriptionVersionUpdated:
		return sub.json(), nil
	case alguna.WebhookSubscriptionCancelationScheduled:
		j := sub.json()
		j.ContractEndDate = formatTime(periodEnd(sampleTime, IntervalMonth)) // at the end of the paid period
		j.AutoRenew = false
		j.CancelationReason = "Switching to another product"
		j.UpdatedAt = formatTime(later)
		return j, nil
	case alguna.WebhookSubscriptionCanceled:
		sub.status = alguna.SubscriptionStatusCanceled
		sub.canceledAt, sub.contractEndDate, sub.updatedAt = later, later, later
		sub.cancelationReason = "Switching to another product"
		return sub.json(), nil
	case alguna.WebhookInvoiceIssued:
		inv.status = invoiceIssued
		return inv.json(), nil
	case alguna.WebhookInvoicePaid:
		inv.updatedAt = later
		return inv.json(), nil
	case alguna.WebhookPaymentCreated:
		pay.Status = alguna.PaymentStatusProcessing
		pay.UpdatedAt = pay.CreatedAt
		return pay, nil
	case alguna.WebhookPaymentUpdated:
		return pay, nil
	case alguna.WebhookRefundUpdated:
		return refundJSON{
			ID:        sampleRefundID,
			AccountID: sampleAccountID,
			PaymentID: samplePaymentID,
			InvoiceID: sampleInvoiceID,
			Status:    "succeeded",
			Amount:    formatMoney(price),
			Currency:  defaultCurrency,
			Reason:    "requested_by_customer",
			CreatedAt: formatTime(later),
			UpdatedAt: formatTime(later.Add(time.Minute)),
		}, nil
	case alguna.WebhookLineItemDeleted:
		return lineItemDeletedJSON{
			ID:             sampleLineItemID,
			AccountID:      sampleAccountID,
			InvoiceID:      sampleInvoiceID,
			SubscriptionID: sampleSubscriptionID,
		}, nil
	}
	return nil, fmt.Errorf("algunatest: no sample payload for webhook type %q; the types with samples are %s",
		eventType, strings.Join(WebhookEventTypes(), ", "))
}
