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
	require.NoError(t, walkthrough(context.Background(), &out, inst.publicURL, env.fake, inst.events), out.String())
	require.NoError(t, inst.shutdown())

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for n := 1; n <= 8; n++ {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, string(rune('0'+n))+". ")
		}
		require.True(t, found, "step %d missing from:\n%s", n, out.String())
	}

	u, err := inst.store.Get("user_1")
	require.NoError(t, err)
	require.Equal(t, PlanPaid, u.Plan)
	require.NotEmpty(t, u.AccountID)
	require.Empty(t, u.CheckoutToken, "the token is spent once matched")

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
