package alguna_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

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

	// Step 1: a user signs up. Store account.ID, or use your own id as the alias.
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
	fmt.Println("checkout page served by the fake:", session.URL != "")

	// Step 5 happens on the hosted page; the fake's Pay button does this.
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}

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
	fmt.Println("portal page served by the fake:", portal.URL != "")
	// Output:
	// available: true balance: 50
	// balance after one call: 49
	// checkout page served by the fake: true
	// portal page served by the fake: true
}

func ExampleEventsService_NewBatcher() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	// One Batcher per process, created at start-up.
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		OnFailure: func(events []alguna.Event, err error) {
			// Every accepted event that will not be ingested arrives here,
			// exactly once, with the reason: keep it to send again later.
			log.Printf("%d usage events not ingested: %v", len(events), err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// In a request handler: record the usage and move on.
	err = batcher.Enqueue(ctx, alguna.Event{
		Account:    "user-123", // the Alguna account id, or your alias for it
		EventName:  "api_call",
		Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
	})
	if err != nil {
		log.Print(err) // a *alguna.ValidationError: the event was not queued
	}

	// On shutdown: deliver what is queued, retrying for up to 30 seconds.
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Printf("usage events: %v", err)
	}

	st := batcher.Stats()
	fmt.Println("enqueued:", st.Enqueued, "ingested:", st.Ingested, "failed:", st.Failed)
	fmt.Println("events at the fake:", len(fake.Events()))
	// Output:
	// enqueued: 1 ingested: 1 failed: 0
	// events at the fake: 1
}

// A test of your webhook endpoint: the fake sends real, signed deliveries.
func ExampleNewWebhookHandler_testing() {
	ctx := context.Background()
	fake := algunatest.NewServer()
	defer fake.Close()

	verifier, err := alguna.NewWebhookVerifier(fake.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier)
	granted := make(chan *alguna.CreditsGranted, 1)
	hooks.OnCreditsGranted(func(_ context.Context, _ *alguna.WebhookEvent, g *alguna.CreditsGranted) error {
		granted <- g
		return nil
	})
	app := httptest.NewServer(hooks)
	defer app.Close()
	fake.AddWebhookEndpoint(app.URL) // all event types

	client := fake.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50)})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.FlushWebhooks(ctx); err != nil { // every delivery answered
		log.Fatal(err)
	}
	g := <-granted
	fmt.Println(g.AccountID == acc.ID, g.Amount)
	// Output: true 50
}
