package algunatest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

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

// A fake per test, closed when the test ends. The code under test gets a
// client and a webhook secret, as it would in production.
func ExampleNewServer() {
	srv := algunatest.NewServer()
	defer srv.Close() // in a test: t.Cleanup(srv.Close)
	ctx := context.Background()

	// srv.Client() is alguna.NewClient(srv.APIKey, alguna.WithBaseURL(srv.URL), …),
	// with retries fast enough for tests and the fake's hosted pages as
	// the checkout host.
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	id, err := client.Accounts.Lookup(ctx, "user-123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found by alias:", id == acc.ID)

	// It refuses what Alguna refuses: here, a key it did not issue.
	stranger, err := alguna.NewClient("sk_live_not_this_one", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	_, err = stranger.Accounts.Get(ctx, acc.ID)
	fmt.Println("wrong key refused:", errors.Is(err, alguna.ErrUnauthorized))
	// Output:
	// found by alias: true
	// wrong key refused: true
}

// CompleteCheckout pays a session as the hosted page's Pay button does, so
// that a test can go from "upgrade" to "paid" without a browser.
func ExampleServer_CompleteCheckout() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: acc.ID})
	if err != nil {
		log.Fatal(err)
	}

	if err := srv.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}
	subs, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: acc.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subscription:", subs.Data[0].Name, subs.Data[0].Status)

	// Paying twice is refused, and so is a second subscription: Alguna
	// documents no upgrade through checkout.
	fmt.Println(errors.Is(srv.CompleteCheckout(ctx, session.ID), algunatest.ErrCheckoutCompleted))
	second, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: acc.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(srv.CompleteCheckout(ctx, second.ID), algunatest.ErrActiveSubscription))
	// Output:
	// subscription: Pro active
	// true
	// true
}

// FlushWebhooks waits until every event so far has been delivered, so that
// a test asserts on what the app's endpoint did only once it has done it.
func ExampleServer_FlushWebhooks() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()

	verifier, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewServer(alguna.NewWebhookHandler(verifier)) // acknowledges every event
	defer app.Close()
	srv.AddWebhookEndpoint(app.URL)

	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: acc.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}

	// Bound the wait: an endpoint that never answers fails the test
	// rather than hanging it.
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.FlushWebhooks(flushCtx); err != nil {
		log.Fatal(err)
	}
	for _, d := range srv.Deliveries() {
		fmt.Println(d.Type, d.Status, d.StatusCode)
	}
	// Output:
	// checkout.session.completed succeeded 204
	// subscription.created succeeded 204
	// subscription.activated succeeded 204
	// invoice.paid succeeded 204
}

// A metric says how events use credits, as the billable metrics set up in
// Alguna's dashboard do: here, tokens summed from each event.
func ExampleServer_SetMetric() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetMetric(algunatest.Metric{
		EventName:   "llm_call",
		CreditType:  alguna.CreditTypeUnits,
		Aggregation: algunatest.AggregationSum,
		Property:    "tokens",
	})

	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(10000), Reason: "Welcome credits",
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := client.Events.Ingest(ctx, []alguna.Event{
		{Account: "user-123", EventName: "llm_call", Properties: map[string]any{"tokens": 1500}},
		{Account: "user-123", EventName: "llm_call", Properties: map[string]any{"tokens": 2500}},
		{Account: "user-123", EventName: "page_view"}, // no metric: uses nothing
	}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("used:", srv.Usage(acc.ID, alguna.CreditTypeUnits))
	fmt.Println("left:", srv.Balance(acc.ID, alguna.CreditTypeUnits))
	// Output:
	// used: 4000
	// left: 6000
}

// Balance is what the API reports, and never goes below zero; Usage and
// Overage show the arithmetic behind it, for tests of overage billing.
func ExampleServer_Balance() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetMetric(algunatest.Metric{EventName: "api_call"}) // one unit per call
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	}); err != nil {
		log.Fatal(err)
	}
	usage := make([]alguna.Event, 60)
	for i := range usage {
		usage[i] = alguna.Event{Account: "user-123", EventName: "api_call"}
	}
	if _, err := client.Events.Ingest(ctx, usage); err != nil {
		log.Fatal(err)
	}

	fmt.Println("balance:", srv.Balance(acc.ID, alguna.CreditTypeUnits))
	fmt.Println("usage:", srv.Usage(acc.ID, alguna.CreditTypeUnits))
	fmt.Println("overage:", srv.Overage(acc.ID, alguna.CreditTypeUnits))
	// Output:
	// balance: 0
	// usage: 60
	// overage: 10
}

// Events is what the fake ingested, for asserting on what an app metered:
// each uniqueId once, numbers exactly as sent.
func ExampleServer_Events() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	event := alguna.Event{
		UniqueID:   "run-1001",
		Account:    "user-123",
		EventName:  "api_call",
		Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
	}
	// A retry of the same event, as after a timeout, is counted once.
	for range 2 {
		if _, err := client.Events.Ingest(ctx, []alguna.Event{event}); err != nil {
			log.Fatal(err)
		}
	}

	events := srv.Events()
	fmt.Println("events:", len(events))
	e := events[0]
	tokens := e.Properties["tokens"].(json.Number)
	fmt.Println(e.UniqueID, e.Account, e.EventName, e.Properties["endpoint"], tokens)
	// Output:
	// events: 1
	// run-1001 user-123 api_call /v1/analyze 1500
}

// Requests is the fake's access log, for tests of a client's retries and
// pacing: here, the SDK retrying through seeded faults.
func ExampleServer_Requests() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	srv.SetFaults(algunatest.Faults{ErrorRate: 0.3, RateLimitRate: 0.2, Seed: 8})

	client := srv.Client()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"}); err != nil {
		log.Fatal(err)
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Status)
	}

	// A faulted request changes nothing, so three attempts made one account.
	srv.SetFaults(algunatest.Faults{})
	list, err := client.Accounts.List(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accounts:", len(list.Data))
	// Output:
	// POST /accounts 500
	// POST /accounts 429
	// POST /accounts 201
	// accounts: 1
}

// WithRateLimit enforces Alguna's documented limits, so that a test sees
// the 429s production would. A fixed clock makes the example exact: the
// buckets refill only when it moves.
func ExampleWithRateLimit() {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	srv := algunatest.NewServer(
		algunatest.WithClock(clock),
		algunatest.WithRateLimit(algunatest.RateLimit{EventsPerSecond: 1000, RequestsPerSecond: 100}),
	)
	defer srv.Close()
	// Retries off, to see each 429; by default the SDK waits out
	// Retry-After and sends again.
	client := srv.Client(alguna.WithMaxRetries(0))
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	// A second's worth of usage: 1000 events, in requests of 100.
	usage := make([]alguna.Event, 1000)
	for i := range usage {
		usage[i] = alguna.Event{Account: "user-123", EventName: "api_call"}
	}
	if _, err := client.Events.Ingest(ctx, usage); err != nil {
		log.Fatal(err)
	}
	// One more event in the same second is over the limit.
	more := []alguna.Event{{Account: "user-123", EventName: "api_call"}}
	_, err := client.Events.Ingest(ctx, more)
	fmt.Println("rate limited:", errors.Is(err, alguna.ErrRateLimited))
	requests := srv.Requests()
	fmt.Println("retry after:", requests[len(requests)-1].RetryAfter)

	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	_, err = client.Events.Ingest(ctx, more)
	fmt.Println("a second later:", err == nil)
	// Output:
	// rate limited: true
	// retry after: 1s
	// a second later: true
}

// WithPlan and WithCheckoutFlow set up the catalogue a test needs: here a
// Team plan sold by a checkout flow of its own.
func ExampleWithPlan() {
	ctx := context.Background()
	srv := algunatest.NewServer(
		algunatest.WithPlan(algunatest.Plan{
			ID:   "plan_team",
			Name: "Team",
			Prices: []algunatest.Price{
				{Amount: decimal.RequireFromString("199.00"), Interval: algunatest.IntervalMonth},
				{Amount: decimal.RequireFromString("1990.00"), Interval: algunatest.IntervalYear},
			},
		}),
		algunatest.WithCheckoutFlow(algunatest.CheckoutFlow{ID: "flow_team", PlanID: "plan_team"}),
	)
	defer srv.Close()
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}

	// The customer follows the Team flow's link and pays.
	link, err := client.Checkout.FlowURL("flow_team", acc.ID, "")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	session := srv.CheckoutSessions()[0]
	if err := srv.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}

	sub, err := client.Subscriptions.Get(ctx, srv.CheckoutSessions()[0].SubscriptionID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sub.Name, sub.PlanID, sub.Status)
	fmt.Println("charged:", session.Amount.StringFixed(2), session.Currency)
	// Output:
	// Team plan_team active
	// charged: 199.00 USD
}

// SetPlan changes the catalogue while a test runs: here the Pro plan gains
// a price in euros, and checkout in EUR sells it at that price.
func ExampleServer_SetPlan() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme GmbH", Currency: "EUR"})
	if err != nil {
		log.Fatal(err)
	}
	inEuros := &alguna.CheckoutSessionParams{AccountID: acc.ID, Currency: "EUR"}

	_, err = client.Checkout.CreateSession(ctx, inEuros)
	fmt.Println("before:", errors.Is(err, alguna.ErrUnprocessable))

	srv.SetPlan(algunatest.Plan{
		ID:   "plan_pro",
		Name: "Pro",
		Prices: []algunatest.Price{
			{Amount: decimal.RequireFromString("49.00"), Currency: "USD"}, // still sold by the default flow
			{Amount: decimal.RequireFromString("45.00"), Currency: "EUR"},
		},
	})
	if _, err := client.Checkout.CreateSession(ctx, inEuros); err != nil {
		log.Fatal(err)
	}
	session := srv.CheckoutSessions()[0]
	fmt.Println("after:", session.Amount.StringFixed(2), session.Currency)
	// Output:
	// before: true
	// after: 45.00 EUR
}

// CheckoutSessions finds sessions the test never got an id for, such as
// one the guide's no-code link opened in a browser.
func ExampleServer_CheckoutSessions() {
	ctx := context.Background()
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}

	// The app renders a link; the test follows it like a browser.
	link, err := client.Checkout.FlowURL(algunatest.DefaultFlowID, acc.ID, "order-5521")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()

	sessions := srv.CheckoutSessions()
	s := sessions[0]
	fmt.Println(len(sessions), s.Status, s.Amount.StringFixed(2), s.Currency, s.PassThroughToken)
	if err := srv.CompleteCheckout(ctx, s.ID); err != nil {
		log.Fatal(err)
	}
	s = srv.CheckoutSessions()[0]
	fmt.Println(s.Status, s.SubscriptionID != "", s.InvoiceID != "")
	// Output:
	// 1 open 49.00 USD order-5521
	// completed true true
}
