package alguna_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// The self-serve billing guide, step by step, against the bundled fake of
// Alguna. With a real API key, make the client with NewClient instead; the
// calls are the same.
func Example_guide() {
	fake := algunatest.NewServer()
	defer fake.Close()
	fake.SetMetric(algunatest.Metric{EventName: "api_call", CreditType: alguna.CreditTypeUnits, Aggregation: algunatest.AggregationCount})
	client := fake.Client()
	ctx := context.Background()

	// Step 1: a user signs up. Store account.ID: API paths take it. Your own
	// id, as the alias, names the account in usage events and portal
	// sessions, and Accounts.Lookup finds the id from it.
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{
		Name:  "Acme Corp",
		Email: "billing@acme.com",
		Alias: "your-internal-id-123",
	})
	if err != nil {
		log.Fatal(err)
	}

	// Step 2: trial credits. The idempotency key, derived from your own
	// user id, makes a repeated sign-up grant them only once.
	_, err = client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     decimal.NewFromInt(50),
		Reason:     "Welcome credits",
	}, alguna.WithIdempotencyKey("trial-your-internal-id-123"))
	if err != nil {
		log.Fatal(err)
	}

	// Before an action that costs 10 units: can the account pay for it?
	avail, err := client.Credits.Availability(ctx, account.ID, alguna.CreditTypeUnits, decimal.NewFromInt(10))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("available:", avail.Available, "balance:", avail.Balance)

	// Step 3 and 6: usage is sent as events (a Batcher does this in the
	// background; Ingest sends at once). Alguna counts each uniqueId once.
	_, err = client.Events.Ingest(ctx, []alguna.Event{{
		UniqueID:   "evt_123456",
		Account:    "your-internal-id-123", // the id or your alias
		EventName:  "api_call",
		Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
	}})
	if err != nil {
		log.Fatal(err)
	}
	balance, err := client.Credits.Balance(ctx, account.ID, alguna.CreditTypeUnits)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("balance after one call:", balance.Balance)

	// Step 4: out of credits, so upgrade. Create a checkout session and
	// redirect the browser to its URL.
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{
		AccountID:        account.ID,
		AccountEmail:     "billing@acme.com",
		Currency:         "USD",
		SuccessURL:       "https://yourapp.com/welcome",
		PassThroughToken: "your-internal-reference",
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(session.URL) // the browser, after the redirect
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println("checkout page:", resp.StatusCode)

	// Step 5 happens on the hosted page; the fake's Pay button does this.
	// Alguna then sends checkout.session.completed to your webhook.
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}

	// The subscription lives in Alguna: read it rather than store it.
	subs, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{
		AccountID: account.ID,
		Status:    alguna.SubscriptionStatusActive,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subscribed to:", subs.Data[0].Name)

	// Step 7: "Manage billing" opens the customer portal. Settings left nil
	// keep Alguna's defaults; Bool(false) turns one off.
	portal, err := client.Portal.CreateSession(ctx, &alguna.PortalSessionParams{
		AccountID: account.ID,
		PlanOverviewSettings: &alguna.PlanOverviewSettings{
			AllowSubscriptionCancel: alguna.Bool(false), // enterprise: cancel through sales
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err = http.Get(portal.URL)
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println("portal page:", resp.StatusCode)
	// Output:
	// available: true balance: 50
	// balance after one call: 49
	// checkout page: 200
	// subscribed to: Pro
	// portal page: 200
}
