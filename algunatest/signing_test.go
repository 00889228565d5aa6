package algunatest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Each of the types Alguna documents (and the guide's subscription.created)
// makes a delivery the SDK verifies and decodes into the type that event
// type promises, with its main fields filled in.
func TestSignedDeliveryOfEveryType(t *testing.T) {
	nonZero := func(t *testing.T, fields ...any) {
		t.Helper()
		for i, f := range fields {
			require.NotZero(t, f, "field %d", i)
		}
	}
	sub := func(t *testing.T, v any) {
		s := v.(*alguna.Subscription)
		nonZero(t, s.ID, s.AccountID, s.Name, s.Status, s.Currency, s.PlanID, s.ContractStartDate, s.CreatedAt, s.UpdatedAt)
	}
	inv := func(t *testing.T, v any) {
		i := v.(*alguna.Invoice)
		nonZero(t, i.ID, i.AccountID, i.Currency, i.Status, i.BillingPeriodStart, i.BillingPeriodEnd, i.CreatedAt)
		require.Equal(t, "49", i.Total.String())
	}
	pay := func(t *testing.T, v any) {
		p := v.(*alguna.Payment)
		nonZero(t, p.ID, p.AccountID, p.InvoiceID, p.Status, p.Currency, p.CreatedAt)
		require.Equal(t, "49", p.Amount.String())
	}
	tests := []struct {
		eventType string
		check     func(t *testing.T, v any)
	}{
		{alguna.WebhookCreditsBalanceDepleted, func(t *testing.T, v any) {
			d := v.(*alguna.CreditsBalanceDepleted)
			nonZero(t, d.AccountID, d.Type)
			require.True(t, d.Amount.IsZero())
		}},
		{alguna.WebhookCreditsGranted, func(t *testing.T, v any) {
			g := v.(*alguna.CreditsGranted)
			nonZero(t, g.ID, g.AccountID, g.Type, g.Reason, g.CreatedAt)
			require.Equal(t, "50", g.Amount.String())
		}},
		{alguna.WebhookCheckoutSessionCompleted, func(t *testing.T, v any) {
			c := v.(*alguna.CheckoutSessionCompleted)
			nonZero(t, c.ID, c.AccountID, c.Status, c.Currency, c.InvoiceID, c.PaymentID, c.PassThroughToken)
			require.Equal(t, "49", c.Amount.String())
		}},
		{alguna.WebhookSubscriptionCreated, sub},
		{alguna.WebhookSubscriptionActivated, func(t *testing.T, v any) {
			sub(t, v)
			require.NotNil(t, v.(*alguna.Subscription).ActivatedAt)
		}},
		{alguna.WebhookSubscriptionStarted, sub},
		{alguna.WebhookSubscriptionUpdated, sub},
		{alguna.WebhookSubscriptionVersionUpdated, sub},
		{alguna.WebhookSubscriptionCancelationScheduled, func(t *testing.T, v any) {
			sub(t, v)
			s := v.(*alguna.Subscription)
			require.Equal(t, alguna.SubscriptionStatusActive, s.Status, "still running until its end")
			require.NotNil(t, s.ContractEndDate)
		}},
		{alguna.WebhookSubscriptionCanceled, func(t *testing.T, v any) {
			sub(t, v)
			s := v.(*alguna.Subscription)
			require.Equal(t, alguna.SubscriptionStatusCanceled, s.Status)
			require.NotNil(t, s.ContractEndDate)
		}},
		{alguna.WebhookInvoiceIssued, func(t *testing.T, v any) {
			inv(t, v)
			require.Equal(t, alguna.InvoiceStatusIssued, v.(*alguna.Invoice).Status)
		}},
		{alguna.WebhookInvoicePaid, func(t *testing.T, v any) {
			inv(t, v)
			require.Equal(t, alguna.InvoiceStatusPaid, v.(*alguna.Invoice).Status)
		}},
		{alguna.WebhookPaymentCreated, pay},
		{alguna.WebhookPaymentUpdated, func(t *testing.T, v any) {
			pay(t, v)
			require.Equal(t, alguna.PaymentStatusCompleted, v.(*alguna.Payment).Status)
		}},
		{alguna.WebhookRefundUpdated, func(t *testing.T, v any) {
			r := v.(*alguna.Refund)
			nonZero(t, r.ID, r.AccountID, r.PaymentID, r.InvoiceID, r.Status, r.Currency, r.Reason, r.CreatedAt)
			require.Equal(t, "49", r.Amount.String())
		}},
		{alguna.WebhookLineItemDeleted, func(t *testing.T, v any) {
			l := v.(*alguna.LineItemDeleted)
			nonZero(t, l.ID, l.AccountID, l.InvoiceID, l.SubscriptionID)
		}},
	}
	var covered []string
	verifier, err := alguna.NewWebhookVerifier(testSecret)
	require.NoError(t, err)
	for _, tt := range tests {
		covered = append(covered, tt.eventType)
		t.Run(tt.eventType, func(t *testing.T) {
			req, err := algunatest.Webhook{Type: tt.eventType}.Request("/webhooks/alguna", testSecret)
			require.NoError(t, err)
			require.Equal(t, http.MethodPost, req.Method)
			require.Equal(t, "/webhooks/alguna", req.RequestURI)
			body, err := io.ReadAll(req.Body)
			require.NoError(t, err)

			ev, err := verifier.Verify(req.Header, body)
			require.NoError(t, err)
			require.Equal(t, tt.eventType, ev.Type)
			require.Regexp(t, `^msg_[a-z2-7]{16}$`, ev.ID)
			require.WithinDuration(t, time.Now(), ev.Timestamp, time.Minute)
			data, err := ev.Decode()
			require.NoError(t, err)
			tt.check(t, data)

			sample, err := algunatest.SampleWebhookData(tt.eventType)
			require.NoError(t, err)
			require.JSONEq(t, mustJSON(t, sample), string(ev.Data), "the delivery carries the sample")
			for k, v := range sample {
				if _, isString := v.(string); !isString {
					require.Contains(t, []string{"trialPeriodDays", "autoRenew"}, k, "%s: decimals and times travel as strings", k)
				}
			}
		})
	}
	require.ElementsMatch(t, covered, algunatest.WebhookEventTypes())
	require.Len(t, covered, 16)
}

// A user's handler test, end to end without a server: the SDK's handler
// verifies the delivery and hands the typed payload to its callback.
func TestSignedDeliveryThroughTheSDKHandler(t *testing.T) {
	verifier, err := alguna.NewWebhookVerifier(testSecret)
	require.NoError(t, err)
	h := alguna.NewWebhookHandler(verifier)
	var got *alguna.Invoice
	h.OnInvoicePaid(func(_ context.Context, _ *alguna.WebhookEvent, inv *alguna.Invoice) error {
		got = inv
		return nil
	})
	data, err := algunatest.SampleWebhookData(alguna.WebhookInvoicePaid)
	require.NoError(t, err)
	data["accountId"] = "acc_mytestaccount"
	req, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Data: data, ID: "msg_fixed"}.Request("https://app.example.com/hooks", testSecret)
	require.NoError(t, err)
	require.Equal(t, "app.example.com", req.Host)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	require.NotNil(t, got)
	require.Equal(t, "acc_mytestaccount", got.AccountID)

	// The same id again is a duplicate the handler skips.
	got = nil
	req, err = algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Data: data, ID: "msg_fixed"}.Request("/hooks", testSecret)
	require.NoError(t, err)
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.Nil(t, got)

	// A delivery signed long ago fails the receiver's tolerance; one signed
	// with another secret fails its signature check.
	old, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Time: time.Now().Add(-time.Hour)}.Request("/hooks", testSecret)
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, old)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	hdr, body, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid}.Sign("whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
	require.NoError(t, err)
	_, err = verifier.Verify(hdr, body)
	require.ErrorIs(t, err, alguna.ErrWebhookSignature)
	require.Equal(t, hdr.Get("webhook-signature"), hdr.Get("svix-signature"))
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
}

func TestSignedDeliveryErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		w    algunatest.Webhook
		key  string
		err  string
	}{
		{"no type", algunatest.Webhook{}, testSecret, "Webhook.Type is required"},
		{"bad secret", algunatest.Webhook{Type: alguna.WebhookInvoicePaid}, "whsec_***", "base64"},
		{"no sample for the type", algunatest.Webhook{Type: "invoice.exploded"}, testSecret, `no sample payload for webhook type "invoice.exploded"`},
		{"not an object", algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Data: []int{1}}, testSecret, "must encode to a JSON object"},
		{"not JSON", algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Data: make(chan int)}, testSecret, "encoding the invoice.paid payload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.w.Sign(tt.key)
			require.ErrorContains(t, err, tt.err)
		})
	}
	_, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid}.Request("http://[::1", testSecret)
	require.Error(t, err)

	// An unknown type with its own payload is fine: receivers must
	// acknowledge types they do not know.
	_, body, err := algunatest.Webhook{Type: "invoice.exploded", Data: map[string]string{"id": "x"}}.Sign(testSecret)
	require.NoError(t, err)
	require.Contains(t, string(body), `"data":{"id":"x"}`)

	sample, err := algunatest.SampleWebhookData(alguna.WebhookInvoicePaid)
	require.NoError(t, err)
	sample["total"] = "1.00"
	again, err := algunatest.SampleWebhookData(alguna.WebhookInvoicePaid)
	require.NoError(t, err)
	require.Equal(t, "49.00", again["total"], "every call returns the caller's own map")
}

// recorder is an app's webhook endpoint that remembers what its handler
// decoded, by event type.
type recorder struct {
	mu     sync.Mutex
	events []*alguna.WebhookEvent
}

func (r *recorder) add(e *alguna.WebhookEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// types lists the types of one account's events, in the order they came.
func (r *recorder) types(t *testing.T, accountID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		var owner struct{ AccountID string }
		require.NoError(t, json.Unmarshal(e.Data, &owner))
		if owner.AccountID == accountID {
			out = append(out, e.Type)
		}
	}
	return out
}

func TestEmitReachesTheSDKHandler(t *testing.T) {
	srv := algunatest.NewServer()
	defer srv.Close()
	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	require.NoError(t, err)
	h := alguna.NewWebhookHandler(verifier)
	var rec recorder
	for _, typ := range algunatest.WebhookEventTypes() {
		h.On(typ, func(_ context.Context, e *alguna.WebhookEvent) error {
			if _, err := e.Decode(); err != nil {
				return err
			}
			rec.add(e)
			return nil
		})
	}
	var (
		mu   sync.Mutex
		mine *alguna.Refund
	)
	h.On(alguna.WebhookRefundUpdated, func(_ context.Context, e *alguna.WebhookEvent) error {
		v, err := e.Decode()
		if r, ok := v.(*alguna.Refund); ok && r.AccountID == "acc_other" {
			mu.Lock()
			mine = r
			mu.Unlock()
		}
		rec.add(e)
		return err
	})
	app := httptest.NewServer(h)
	defer app.Close()
	srv.AddWebhookEndpoint(app.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, typ := range algunatest.WebhookEventTypes() {
		require.NoError(t, srv.Emit(ctx, typ, nil))
	}
	require.NoError(t, srv.Emit(ctx, alguna.WebhookRefundUpdated, map[string]any{
		"id": "ref_mine", "accountId": "acc_other", "status": "succeeded", "amount": "5.00", "currency": "EUR",
	}))
	require.NoError(t, srv.FlushWebhooks(ctx))

	require.Equal(t, algunatest.WebhookEventTypes(), rec.types(t, "acc_ujzdegxdncf32epf"), "one account's events, in order")
	require.Equal(t, []string{alguna.WebhookRefundUpdated}, rec.types(t, "acc_other"))
	mu.Lock()
	require.NotNil(t, mine, "the payload given to Emit arrived")
	require.Equal(t, "ref_mine", mine.ID)
	require.Equal(t, "5", mine.Amount.String())
	mu.Unlock()
	deliveries := srv.Deliveries()
	require.Len(t, deliveries, 17)
	for _, d := range deliveries {
		require.Equal(t, algunatest.DeliverySucceeded, d.Status, d.Type)
	}
	require.Equal(t, "acc_ujzdegxdncf32epf", deliveries[0].AccountID, "the sample's account")
	require.Equal(t, "acc_other", deliveries[16].AccountID)
	require.Empty(t, srv.Panics())

	require.ErrorContains(t, srv.Emit(ctx, "", nil), "needs an event type")
	require.ErrorContains(t, srv.Emit(ctx, alguna.WebhookInvoicePaid, "text"), "must encode to a JSON object")
	done, stop := context.WithCancel(context.Background())
	stop()
	require.ErrorIs(t, srv.Emit(done, alguna.WebhookInvoicePaid, nil), context.Canceled)
	srv.Close()
	require.ErrorContains(t, srv.Emit(ctx, alguna.WebhookInvoicePaid, nil), "closed server")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
