package main

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// upgradeAndPay opens the app's Upgrade link and pays on the hosted
// checkout page, then waits for the webhooks.
func upgradeAndPay(t *testing.T, env *environment, v *visitor) {
	t.Helper()
	ctx := context.Background()
	upgrade, err := v.get(ctx, "/upgrade")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, upgrade.StatusCode)
	_, err = v.pay(ctx, upgrade.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))
}

// cancelInPortal opens "Manage billing" and cancels the subscription there,
// through the confirmation, as the customer does.
func cancelInPortal(t *testing.T, env *environment, v *visitor) {
	t.Helper()
	ctx := context.Background()
	billing, err := v.get(ctx, "/billing")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, billing.StatusCode)
	page, err := v.page(ctx, billing.Location)
	require.NoError(t, err)
	m := regexp.MustCompile(`<form id="cancel-form" method="get" action="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "a paying self-serve user can cancel")
	action, err := url.Parse(billing.Location)
	require.NoError(t, err)
	action, err = action.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	// Cancel opens a confirmation; its form is what cancels.
	page, err = v.page(ctx, action.String())
	require.NoError(t, err)
	m = regexp.MustCompile(`<form id="confirm-cancel-form" method="post" action="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "Cancel asks for confirmation")
	sub := regexp.MustCompile(`name="subscriptionId" value="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, sub, "the confirmation names the subscription")
	action, err = action.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	confirm := url.Values{"confirm": {"yes"}, "subscriptionId": {html.UnescapeString(sub[1])}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(confirm.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = v.do(req)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))
}

// TestEarlierCheckoutStillUpgrades pays the first of two checkouts the user
// opened, as a user does who clicks Upgrade in two tabs, or goes back to the
// first checkout page after opening another: the payment must still make
// them a paying customer, and its webhook confirm the token both carried.
func TestEarlierCheckoutStillUpgrades(t *testing.T) {
	ctx := context.Background()
	env, inst := startApp(t)
	v := signUp(t, inst.publicURL, "Ada", "ada@example.com")

	first, err := v.get(ctx, "/upgrade")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, first.StatusCode)
	second, err := v.get(ctx, "/upgrade?mode=flow")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, second.StatusCode)
	token := onlyUser(t, inst.store).CheckoutToken
	require.NotEmpty(t, token)
	require.Contains(t, second.Location, "pt="+token, "the flow link carries the pending token")

	_, err = v.pay(ctx, first.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))
	require.Equal(t, StatePaid, me(t, v).State, "paid at checkout but not upgraded")
	require.Empty(t, onlyUser(t, inst.store).CheckoutToken, "the webhook did not confirm the token")
}

// TestForeignCheckoutIsFlagged pays a checkout the app did not start,
// through the flow link with no pass-through token. Alguna bills the
// subscription, so the user is a subscriber; but the app says that the
// checkout was not its own, and keeps the token of the one it started.
func TestForeignCheckoutIsFlagged(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	env, inst := startAppLogging(t, slog.New(slog.NewTextHandler(&logs, nil)))
	v := signUp(t, inst.publicURL, "Ada", "ada@example.com")
	m := me(t, v)
	started, err := v.get(ctx, "/upgrade")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, started.StatusCode)
	token := onlyUser(t, inst.store).CheckoutToken

	link := env.fake.URL + "/checkout?" + url.Values{"flowId": {algunatest.DefaultFlowID}, "accountId": {m.AccountID}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	require.NoError(t, err)
	resp, err := v.do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = v.pay(ctx, resp.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))

	require.Equal(t, StatePaid, me(t, v).State)
	require.Equal(t, token, onlyUser(t, inst.store).CheckoutToken, "a foreign checkout spent the app's token")
	require.Contains(t, logs.String(), `level=WARN msg="webhook: checkout the app did not start" user=`+m.ID)
}

// TestCancelEndsPaidPlan cancels in the portal: the dashboard must then
// read the ended subscription from Alguna, say so (not that the trial is
// used up), stop running actions for free, and offer to subscribe again,
// which works.
func TestCancelEndsPaidPlan(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	// The trial spent first, so that nothing but a subscription would pay
	// for an action.
	for range int(trialCredits.IntPart()) {
		resp, err := v.postJSON(ctx, "/action")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	upgradeAndPay(t, env, v)
	paid := me(t, v)
	require.Equal(t, StatePaid, paid.State)
	cancelInPortal(t, env, v)

	m := me(t, v)
	require.Equal(t, StateCanceled, m.State)
	require.NotNil(t, m.Subscription)
	require.Equal(t, paid.Subscription.ID, m.Subscription.ID)
	require.Equal(t, alguna.SubscriptionStatusCanceled, m.Subscription.Status)
	require.NotNil(t, m.Subscription.EndedAt)
	require.Equal(t, "Pro", m.Plan.Name)
	require.Len(t, m.Invoices, 1, "cancelling does not take back what was paid")

	status, page := dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.True(t, hasID(page, "subscription-ended"), page)
	require.Contains(t, page, "subscription ended on "+m.Subscription.EndedAt.Format("2 January 2006")+". Subscribe again")
	require.NotContains(t, page, "trial credits are used up")
	require.False(t, hasID(page, "run"), "a cancelled user without credits is offered a run that would be refused")
	require.Contains(t, page, `<a class="button" id="upgrade" href="/upgrade">Subscribe again</a>`)
	resp, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusPaymentRequired, resp.StatusCode)

	upgradeAndPay(t, env, v)
	again := me(t, v)
	require.Equal(t, StatePaid, again.State)
	require.NotEqual(t, paid.Subscription.ID, again.Subscription.ID)
	require.Len(t, again.Invoices, 2)
}

// TestUpgradeWhenSubscribed: a subscriber following an old Upgrade link is
// sent back to the dashboard, not to a second checkout.
func TestUpgradeWhenSubscribed(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	upgradeAndPay(t, env, v)
	before := len(env.fake.CheckoutSessions())
	for _, path := range []string{"/upgrade", "/upgrade?mode=flow"} {
		resp, err := v.get(ctx, path)
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/dashboard", resp.Location, path)
	}
	require.Len(t, env.fake.CheckoutSessions(), before)
}

// TestWelcome: the success page asks Alguna for the subscription, polls for
// it a while, then says it has not heard, instead of refreshing forever.
func TestWelcome(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	page, err := v.page(ctx, v.base+"/welcome")
	require.NoError(t, err)
	require.Contains(t, page, `id="confirming"`)
	require.Contains(t, page, `url=/welcome?wait=1`)
	for _, wait := range []string{"30", "99999999999999999999999"} {
		page, err = v.page(ctx, v.base+"/welcome?wait="+wait)
		require.NoError(t, err)
		if wait == "30" {
			require.Contains(t, page, `id="not-confirmed"`)
			require.NotContains(t, page, `http-equiv="refresh"`)
		} else {
			require.Contains(t, page, `id="confirming"`, "a wait that is not a number starts over")
		}
	}
	page, err = v.page(ctx, v.base+"/welcome?wait=-5")
	require.NoError(t, err)
	require.Contains(t, page, `url=/welcome?wait=1`)

	upgradeAndPay(t, env, v)
	page, err = v.page(ctx, v.base+"/welcome")
	require.NoError(t, err)
	require.Contains(t, page, `<p id="welcome">Welcome to Acme Analyze Pro, Ada! Your subscription is active.</p>`)
}
