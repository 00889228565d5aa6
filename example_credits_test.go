package alguna_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func ExampleCreditsService_Grant() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}

	// Step 2 of the guide: trial credits. The idempotency key, derived from
	// your own user id, makes sure a retried sign-up never grants twice.
	grantTrial := func() (*alguna.CreditGrant, error) {
		return client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
			CreditType: alguna.CreditTypeUnits,
			Amount:     decimal.NewFromInt(50),
			Reason:     "Welcome credits",
		}, alguna.WithIdempotencyKey("trial-user-123"))
	}
	grant, err := grantTrial()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grant.Amount, grant.CreditType, grant.Status, grant.Reason)

	retried, err := grantTrial()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same grant:", retried.ID == grant.ID)

	balance, err := client.Credits.Balance(ctx, account.ID, alguna.CreditTypeUnits)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("balance:", balance.Balance)
	// Output:
	// 50 units active Welcome credits
	// same grant: true
	// balance: 50
}

func ExampleCreditsService_Balance() {
	fake := algunatest.NewServer()
	defer fake.Close()
	// In Alguna, a billable metric: every api_call event uses one unit.
	fake.SetMetric(algunatest.Metric{EventName: "api_call"})
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	}); err != nil {
		log.Fatal(err)
	}
	usage := []alguna.Event{
		{Account: "user-123", EventName: "api_call"},
		{Account: "user-123", EventName: "api_call"},
		{Account: "user-123", EventName: "api_call"},
	}
	if _, err := client.Events.Ingest(ctx, usage); err != nil {
		log.Fatal(err)
	}

	// The fake meters at once; Alguna meters within minutes, so a real
	// balance can lag the latest usage.
	balance, err := client.Credits.Balance(ctx, account.ID, alguna.CreditTypeUnits)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(balance.CreditType, "left:", balance.Balance)
	// Output: units left: 47
}

func ExampleCreditsService_Availability() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	}); err != nil {
		log.Fatal(err)
	}

	// Before an action that costs 10 units, check the account can pay.
	avail, err := client.Credits.Availability(ctx, account.ID, alguna.CreditTypeUnits, decimal.NewFromInt(10))
	if err != nil {
		log.Fatal(err)
	}
	if avail.Available {
		fmt.Println("go ahead; balance", avail.Balance)
	}

	// A bigger job than the trial covers: offer the upgrade instead.
	avail, err = client.Credits.Availability(ctx, account.ID, alguna.CreditTypeUnits, decimal.NewFromInt(80))
	if err != nil {
		log.Fatal(err)
	}
	if !avail.Available {
		fmt.Println("upgrade needed; short by", avail.Shortfall)
	}
	// Output:
	// go ahead; balance 50
	// upgrade needed; short by 30
}

func ExampleCreditsService_ListGrants() {
	fake := algunatest.NewServer()
	defer fake.Close()
	fake.SetMetric(algunatest.Metric{EventName: "api_call"})
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	// Lower priority is used first: the welcome credits before the bonus.
	for _, g := range []alguna.CreditGrantParams{
		{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(5), Reason: "Welcome credits", Priority: alguna.Int(1)},
		{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(20), Reason: "Referral bonus", Priority: alguna.Int(2)},
	} {
		if _, err := client.Credits.Grant(ctx, account.ID, &g); err != nil {
			log.Fatal(err)
		}
	}
	usage := make([]alguna.Event, 8)
	for i := range usage {
		usage[i] = alguna.Event{Account: "user-123", EventName: "api_call"}
	}
	if _, err := client.Events.Ingest(ctx, usage); err != nil {
		log.Fatal(err)
	}

	// The grants say what is left of each, for a "your credits" page.
	grants, err := client.Credits.ListGrants(ctx, account.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range grants.Data {
		fmt.Printf("%s: %s of %s left (%s)\n", g.Reason, g.RemainingAmount.Decimal, g.Amount, g.Status)
	}
	// Output:
	// Welcome credits: 0 of 5 left (exhausted)
	// Referral bonus: 17 of 20 left (active)
}

func ExampleCreditsService_AllGrants() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	// A customer with a monthly top-up for a year.
	for range 12 {
		if _, err := client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
			CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(100), Reason: "Monthly top-up",
		}); err != nil {
			log.Fatal(err)
		}
	}

	// AllGrants walks every page; the loop may stop early with break.
	total := decimal.Zero
	n := 0
	for g, err := range client.Credits.AllGrants(ctx, account.ID, &alguna.ListOptions{Limit: 5}) {
		if err != nil {
			log.Fatal(err)
		}
		total = total.Add(g.Amount)
		n++
	}
	fmt.Println("grants:", n, "granted in all:", total)
	// Output: grants: 12 granted in all: 1200
}

func ExampleCreditsService_GetGrant() {
	fake := algunatest.NewServer()
	defer fake.Close()
	fake.SetMetric(algunatest.Metric{EventName: "api_call"})
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	grant, err := client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Events.Ingest(ctx, []alguna.Event{{Account: "user-123", EventName: "api_call"}}); err != nil {
		log.Fatal(err)
	}

	// GetGrant reads one grant again by the id Grant answered, with what
	// usage has left of it.
	grant, err = client.Credits.GetGrant(ctx, grant.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grant.Reason, grant.Status, "remaining:", grant.RemainingAmount.Decimal)
	// Output: Welcome credits active remaining: 49
}
