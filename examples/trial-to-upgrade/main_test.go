package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// TestWalkthrough runs the guide's eight steps against the bundled fake and
// checks where everything ends up: in the app's database, in Alguna, and in
// the webhooks delivered.
func TestWalkthrough(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env, err := connect(log)
	require.NoError(t, err)
	defer env.close()
	require.NotNil(t, env.fake, "the test runs against the fake; unset ALGUNA_API_KEY")

	inst, err := start(context.Background(), env, "127.0.0.1:0", "", log)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, walkthrough(context.Background(), &out, inst, env.fake), out.String())
	require.NoError(t, inst.shutdown())

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for n := 1; n <= 8; n++ {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, string(rune('0'+n))+". ")
		}
		require.True(t, found, "step %d missing from:\n%s", n, out.String())
	}

	// The app's database holds the account id and nothing of the plan:
	// Alguna has the subscription and the invoice.
	u := onlyUser(t, inst.store)
	require.NotEmpty(t, u.AccountID)
	require.Empty(t, u.CheckoutToken, "the token is spent once confirmed")
	client := env.fake.Client()
	subs, err := client.Subscriptions.List(context.Background(), &alguna.SubscriptionListParams{AccountID: u.AccountID, Status: alguna.SubscriptionStatusActive})
	require.NoError(t, err)
	require.Len(t, subs.Data, 1)
	invoices, err := client.Invoices.List(context.Background(), &alguna.InvoiceListParams{AccountID: u.AccountID})
	require.NoError(t, err)
	require.Len(t, invoices.Data, 1)
	require.Equal(t, alguna.InvoiceStatusPaid, invoices.Data[0].Status)
	for _, want := range []string{
		"Accounts.Lookup finds by that alias",
		`"Welcome credits": 50 units, 50 left (Credits.ListGrants)`,
		"the trial grant has 0 of 50 left (exhausted)",
		"Subscriptions.List: " + subs.Data[0].ID + " active on plan Pro (Plans.Get)",
		"Invoices.List: " + invoices.Data[0].ID + " paid, 49.00 USD",
	} {
		require.Contains(t, out.String(), want)
	}

	// Every action became exactly one event: 50 on trial, then the paid ones.
	var trial, paid int
	for _, e := range env.fake.Events() {
		require.Equal(t, u.AccountID, e.Account)
		if e.Properties["isTrial"] == "true" {
			trial++
		} else {
			paid++
		}
	}
	require.Equal(t, int(trialCredits.IntPart()), trial)
	require.Equal(t, paidActions, paid)
	require.True(t, env.fake.Balance(u.AccountID, alguna.CreditTypeUnits).Equal(decimal.Zero))

	// The app answered the webhooks the flow depends on.
	answered := map[string]bool{}
	for _, d := range env.fake.Deliveries() {
		if d.Status == algunatest.DeliverySucceeded {
			answered[d.Type] = true
		}
	}
	for _, typ := range []string{alguna.WebhookCreditsBalanceDepleted, alguna.WebhookCheckoutSessionCompleted, alguna.WebhookSubscriptionCreated, alguna.WebhookInvoicePaid} {
		require.True(t, answered[typ], "webhook %s not delivered to the app", typ)
	}
}
