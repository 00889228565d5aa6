package alguna

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestZeroValuesSayWhichConstructorToUse checks that the SDK's types used
// without their constructors return an error naming the constructor,
// instead of crashing deep inside.
func TestZeroValuesSayWhichConstructorToUse(t *testing.T) {
	ctx := context.Background()
	var c Client
	calls := map[string]func() error{
		"Accounts.Get": func() error { _, err := c.Accounts.Get(ctx, "acc_1"); return err },
		"Accounts.Create": func() error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"})
			return err
		},
		"Accounts.All": func() error {
			for _, err := range c.Accounts.All(ctx, nil) {
				return err
			}
			return nil
		},
		"Credits.Balance": func() error { _, err := c.Credits.Balance(ctx, "acc_1", CreditTypeUnits); return err },
		"Credits.Grant": func() error {
			_, err := c.Credits.Grant(ctx, "acc_1", &CreditGrantParams{CreditType: CreditTypeUnits, Amount: decimal.NewFromInt(1)})
			return err
		},
		"Checkout.CreateSession": func() error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1"})
			return err
		},
		"Checkout.FlowURL": func() error { _, err := c.Checkout.FlowURL("flow_1", "acc_1", ""); return err },
		"Portal.CreateSession": func() error {
			_, err := c.Portal.CreateSession(ctx, &PortalSessionParams{AccountID: "acc_1"})
			return err
		},
		"Events.Ingest":        func() error { _, err := c.Events.Ingest(ctx, []Event{{Account: "a", EventName: "e"}}); return err },
		"Events.NewBatcher":    func() error { _, err := c.Events.NewBatcher(BatcherOptions{}); return err },
		"new(AccountsService)": func() error { _, err := new(AccountsService).Get(ctx, "acc_1"); return err },
		"new(EventsService)":   func() error { _, err := new(EventsService).NewBatcher(BatcherOptions{}); return err },
		"new(CheckoutService)": func() error { _, err := new(CheckoutService).FlowURL("f", "a", ""); return err },
		"new(CreditsService)":  func() error { _, err := new(CreditsService).Balance(ctx, "a", CreditTypeUnits); return err },
		"new(PortalService)": func() error {
			_, err := new(PortalService).CreateSession(ctx, &PortalSessionParams{AccountID: "a"})
			return err
		},
		"Client{}.Accounts nil": func() error { _, err := (&Client{}).Accounts.Lookup(ctx, "alias"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = call() })
			require.ErrorContains(t, err, "NewClient")
		})
	}

	t.Run("Batcher", func(t *testing.T) {
		var b Batcher
		require.NotPanics(t, func() {
			require.ErrorContains(t, b.Enqueue(ctx, Event{Account: "a", EventName: "e"}), "NewBatcher")
			require.ErrorContains(t, b.Flush(ctx), "NewBatcher")
			require.ErrorContains(t, b.Close(ctx), "NewBatcher")
			require.Equal(t, BatcherStats{}, b.Stats())
		})
	})
	t.Run("nil Batcher", func(t *testing.T) {
		var b *Batcher
		require.NotPanics(t, func() {
			require.ErrorContains(t, b.Enqueue(ctx, Event{Account: "a", EventName: "e"}), "NewBatcher")
			require.ErrorContains(t, b.Close(ctx), "NewBatcher")
		})
	})
	t.Run("MemoryWebhookDeduper", func(t *testing.T) {
		var d MemoryWebhookDeduper
		require.NotPanics(t, func() {
			_, err := d.Claim(ctx, "msg_1")
			require.ErrorContains(t, err, "NewMemoryWebhookDeduper")
			require.ErrorContains(t, d.Complete(ctx, "msg_1"), "NewMemoryWebhookDeduper")
			require.ErrorContains(t, d.Release(ctx, "msg_1"), "NewMemoryWebhookDeduper")
			require.Zero(t, d.Len())
		})
	})
	t.Run("WebhookVerifier", func(t *testing.T) {
		var v WebhookVerifier
		require.NotPanics(t, func() {
			_, err := v.Verify(http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1"}, "Webhook-Signature": {"v1,x"}}, []byte(`{}`))
			require.ErrorContains(t, err, "NewWebhookVerifier")
		})
	})
	t.Run("WebhookHandler", func(t *testing.T) {
		var logs bytes.Buffer
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
		defer slog.SetDefault(prev)

		var h WebhookHandler
		require.NotPanics(t, func() {
			h.On("invoice.paid", func(context.Context, *WebhookEvent) error { return nil })
			h.OnInvoicePaid(func(context.Context, *WebhookEvent, *Invoice) error { return nil })
		})
		rec := httptest.NewRecorder()
		require.NotPanics(t, func() {
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(`{}`)))
		})
		require.Equal(t, http.StatusInternalServerError, rec.Code)
		require.Contains(t, logs.String(), "NewWebhookHandler")
	})
}
