package algunatest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// A user's test of the trial flow: an account gets trial credits, uses them
// up, and the app's webhook endpoint hears that the balance is depleted.
func Example() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetMetric(algunatest.Metric{EventName: "api_call"}) // each event uses one unit

	// The app's webhook endpoint, verifying with the fake's secret.
	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	handler := alguna.NewWebhookHandler(verifier)
	depleted := make(chan *alguna.CreditsBalanceDepleted, 1)
	handler.OnCreditsBalanceDepleted(func(_ context.Context, _ *alguna.WebhookEvent, d *alguna.CreditsBalanceDepleted) error {
		depleted <- d
		return nil
	})
	app := httptest.NewServer(handler)
	defer app.Close()
	srv.AddWebhookEndpoint(app.URL, alguna.WebhookCreditsBalanceDepleted)

	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(3), Reason: "Welcome credits",
	}); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if _, err := client.Events.Ingest(ctx, []alguna.Event{{Account: "user-123", EventName: "api_call"}}); err != nil {
			log.Fatal(err)
		}
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		log.Fatal(err)
	}

	d := <-depleted
	fmt.Println("depleted account is ours:", d.AccountID == acc.ID)
	fmt.Println("credit type:", d.Type)
	fmt.Println("balance:", srv.Balance(acc.ID, alguna.CreditTypeUnits))
	fmt.Println("events counted:", len(srv.Events()))
	// Output:
	// depleted account is ours: true
	// credit type: units
	// balance: 0
	// events counted: 3
}

// Faults are seeded, so a test of retries fails, or passes, the same way on
// every run. The SDK retries through them, and idempotency keys keep every
// retried create from creating twice.
func ExampleServer_SetFaults() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetFaults(algunatest.Faults{ErrorRate: 0.2, RateLimitRate: 0.1, ResetRate: 0.1, Seed: 7})

	client := srv.Client(alguna.WithMaxRetries(10))
	for i := range 20 {
		if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: fmt.Sprint("Customer ", i)}); err != nil {
			log.Fatal(err)
		}
	}
	srv.SetFaults(algunatest.Faults{})
	list, err := client.Accounts.List(ctx, &alguna.ListOptions{Limit: 100})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accounts:", len(list.Data))
	// Output:
	// accounts: 20
}

// A test of an app's own webhook handler, with no server running: a signed
// delivery of any event type, with a realistic payload to adjust.
func ExampleWebhook_Request() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the app's configured secret
	verifier, err := alguna.NewWebhookVerifier(secret)
	if err != nil {
		log.Fatal(err)
	}
	handler := alguna.NewWebhookHandler(verifier)
	handler.OnInvoicePaid(func(_ context.Context, _ *alguna.WebhookEvent, inv *alguna.Invoice) error {
		fmt.Println("paid:", inv.AccountID, inv.Total.StringFixed(2), inv.Currency)
		return nil
	})

	data, err := algunatest.SampleWebhookData(alguna.WebhookInvoicePaid)
	if err != nil {
		log.Fatal(err)
	}
	data["accountId"] = "acc_customer42"
	req, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid, Data: data}.Request("/webhooks/alguna", secret)
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println("status:", rec.Code)
	// Output:
	// paid: acc_customer42 49.00 USD
	// status: 204
}

// Emit sends an event the fake's own flow never produces, such as a
// scheduled cancellation, through its normal signed, retried delivery.
func ExampleServer_Emit() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	handler := alguna.NewWebhookHandler(verifier)
	handler.On(alguna.WebhookSubscriptionCancelationScheduled, func(_ context.Context, e *alguna.WebhookEvent) error {
		v, err := e.Decode()
		if err != nil {
			return err
		}
		sub := v.(*alguna.Subscription)
		fmt.Println("ends:", sub.ContractEndDate.Format("2006-01-02"), sub.Status)
		return nil
	})
	app := httptest.NewServer(handler)
	defer app.Close()
	srv.AddWebhookEndpoint(app.URL)

	if err := srv.Emit(ctx, alguna.WebhookSubscriptionCancelationScheduled, nil); err != nil {
		log.Fatal(err)
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivered:", srv.Deliveries()[0].Status)
	// Output:
	// ends: 2025-04-03 active
	// delivered: succeeded
}
