package alguna_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// The guide's point is that your product need not store subscriptions:
// ask Alguna whether an account is subscribed when it matters.
func ExampleSubscriptionsService_List() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}

	// hasPaidPlan gates paid features on the account's active subscription.
	hasPaidPlan := func(accountID string) (bool, error) {
		subs, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{
			AccountID: accountID,
			Status:    alguna.SubscriptionStatusActive,
		})
		if err != nil {
			return false, err
		}
		return len(subs.Data) > 0, nil
	}

	paid, err := hasPaidPlan(account.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("before checkout:", paid)

	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil { // the customer pays
		log.Fatal(err)
	}
	paid, err = hasPaidPlan(account.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after checkout:", paid)
	// Output:
	// before checkout: false
	// after checkout: true
}

func ExampleSubscriptionsService_All() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	for _, name := range []string{"Acme Corp", "Globex", "Initech"} {
		account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: name})
		if err != nil {
			log.Fatal(err)
		}
		session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
		if err != nil {
			log.Fatal(err)
		}
		if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
			log.Fatal(err)
		}
	}

	// A nightly report: every active subscription, page after page.
	perPlan := map[string]int{}
	for sub, err := range client.Subscriptions.All(ctx, &alguna.SubscriptionListParams{
		Status:      alguna.SubscriptionStatusActive,
		ListOptions: alguna.ListOptions{Limit: 100},
	}) {
		if err != nil {
			log.Fatal(err)
		}
		perPlan[sub.PlanID]++
	}
	fmt.Println(perPlan)
	// Output: map[plan_pro:3]
}

func ExampleSubscriptionsService_Get() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}
	// The id arrives in the subscription.* webhooks; here, from the fake.
	subscriptionID := fake.CheckoutSessions()[0].SubscriptionID

	sub, err := client.Subscriptions.Get(ctx, subscriptionID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sub.Name, sub.Status, sub.PlanID, sub.Currency)
	fmt.Println("renews:", sub.AutoRenew, "ended:", sub.EndedAt != nil)
	// Output:
	// Pro active plan_pro USD
	// renews: true ended: false
}

func ExampleInvoicesService_List() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}

	// An account's billing history, for a page of your own app.
	invoices, err := client.Invoices.List(ctx, &alguna.InvoiceListParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	for _, inv := range invoices.Data {
		fmt.Println(inv.Description, inv.Total.StringFixed(2), inv.Currency, inv.Status)
	}
	// Output: Pro subscription 49.00 USD paid
}

func ExampleInvoicesService_All() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	for _, name := range []string{"Acme Corp", "Globex"} {
		account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: name})
		if err != nil {
			log.Fatal(err)
		}
		session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
		if err != nil {
			log.Fatal(err)
		}
		if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
			log.Fatal(err)
		}
	}

	// Revenue collected, summed as decimals: never as floats.
	collected := map[string]decimal.Decimal{}
	for inv, err := range client.Invoices.All(ctx, &alguna.InvoiceListParams{Status: alguna.InvoiceStatusPaid}) {
		if err != nil {
			log.Fatal(err)
		}
		collected[inv.Currency] = collected[inv.Currency].Add(inv.Total)
	}
	fmt.Println("collected:", collected["USD"].StringFixed(2), "USD")
	// Output: collected: 98.00 USD
}

func ExampleInvoicesService_Get() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}
	// The id arrives in invoice.paid and checkout.session.completed.
	invoiceID := fake.CheckoutSessions()[0].InvoiceID

	// Get adds what a list leaves out: line items and what is paid.
	inv, err := client.Invoices.Get(ctx, invoiceID)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range inv.LineItems {
		fmt.Println(line.Description, line.Quantity, "x", line.UnitPrice.StringFixed(2))
	}
	fmt.Println("paid:", inv.AmountPaid.Decimal.StringFixed(2), "remaining:", inv.AmountRemaining.Decimal.StringFixed(2))
	// Output:
	// Pro 1 x 49.00
	// paid: 49.00 remaining: 0.00
}

func ExamplePlansService_List() {
	fake := algunatest.NewServer(algunatest.WithPlan(algunatest.Plan{
		ID: "plan_team", Name: "Team", Prices: []algunatest.Price{{Amount: decimal.RequireFromString("199.00")}},
	}))
	defer fake.Close()
	client := fake.Client()

	// A pricing page that shows what is configured in Alguna.
	plans, err := client.Plans.List(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range plans.Data {
		fmt.Println(p.ID, p.Name, p.Currency)
	}
	// Output:
	// plan_pro Pro USD
	// plan_team Team USD
}

func ExamplePlansService_All() {
	fake := algunatest.NewServer(
		algunatest.WithPlan(algunatest.Plan{ID: "plan_starter", Name: "Starter"}),
		algunatest.WithPlan(algunatest.Plan{ID: "plan_team", Name: "Team"}),
	)
	defer fake.Close()
	client := fake.Client()

	var names []string
	for p, err := range client.Plans.All(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		names = append(names, p.Name)
	}
	fmt.Println(names)
	// Output: [Pro Starter Team]
}

func ExamplePlansService_Get() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()

	plan, err := client.Plans.Get(context.Background(), "plan_pro")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plan.Name+":", plan.Description)

	// Alguna's reference documents a plan's id, name, description and
	// currency; the rest of the answer is kept in Raw. The prices below
	// are the shape the fake answers with.
	var extra struct {
		Prices []struct {
			Amount   decimal.Decimal `json:"amount"`
			Currency string          `json:"currency"`
			Interval string          `json:"interval"`
		} `json:"prices"`
	}
	if err := json.Unmarshal(plan.Raw, &extra); err != nil {
		log.Fatal(err)
	}
	for _, pr := range extra.Prices {
		fmt.Println(pr.Amount.StringFixed(2), pr.Currency, "a", pr.Interval)
	}
	// Output:
	// Pro: Everything in the trial, without limits.
	// 49.00 USD a month
}
