package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/algunatest"
)

// startForTest runs the app against a fresh fake and signs one visitor up.
func startForTest(t *testing.T) (*environment, *visitor) {
	t.Helper()
	env, inst := startApp(t)
	return env, signUp(t, inst.publicURL, "Ada", "ada@example.com")
}

// startApp runs the app against a fresh fake, with no user yet.
func startApp(t *testing.T) (*environment, *instance) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env, err := connect(log)
	require.NoError(t, err)
	t.Cleanup(env.close)
	require.NotNil(t, env.fake, "the test runs against the fake; unset ALGUNA_API_KEY")
	inst, err := start(context.Background(), env, "127.0.0.1:0", "", log)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.shutdown()) })
	return env, inst
}

// signUp signs a new visitor up on the app at base.
func signUp(t *testing.T, base, name, email string) *visitor {
	t.Helper()
	v := newVisitor(base)
	resp, err := v.postForm(context.Background(), "/signup", url.Values{"name": {name}, "email": {email}})
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	return v
}

// TestEarlierCheckoutStillUpgrades pays the first of two checkouts the user
// opened, as a user does who clicks Upgrade in two tabs, or goes back to the
// first checkout page after opening another: the payment must still make
// them a paying customer.
func TestEarlierCheckoutStillUpgrades(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)

	first, err := v.get(ctx, "/upgrade")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, first.StatusCode)
	second, err := v.get(ctx, "/upgrade?mode=flow")
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, second.StatusCode)

	_, err = v.pay(ctx, first.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))
	me, err := v.me(ctx)
	require.NoError(t, err)
	require.Equal(t, PlanPaid, me.Plan, "paid at checkout but not upgraded")
}

// TestForeignCheckoutDoesNotUpgrade pays a checkout the app did not start,
// through the flow link with no pass-through token: the app must not grant
// the paid plan on it.
func TestForeignCheckoutDoesNotUpgrade(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	me, err := v.me(ctx)
	require.NoError(t, err)

	link := env.fake.URL + "/checkout?" + url.Values{"flowId": {algunatest.DefaultFlowID}, "accountId": {me.AccountID}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	require.NoError(t, err)
	resp, err := v.do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = v.pay(ctx, resp.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))
	me, err = v.me(ctx)
	require.NoError(t, err)
	require.Equal(t, PlanTrial, me.Plan)
}

// TestCancelEndsPaidPlan cancels in the portal: the subscription.canceled
// webhook must end the paid plan, or a cancelled user would keep unmetered
// access.
func TestCancelEndsPaidPlan(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	upgrade, err := v.get(ctx, "/upgrade")
	require.NoError(t, err)
	_, err = v.pay(ctx, upgrade.Location)
	require.NoError(t, err)
	require.NoError(t, env.fake.FlushWebhooks(ctx))

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

	me, err := v.me(ctx)
	require.NoError(t, err)
	require.Equal(t, PlanNeedsUpgrade, me.Plan)
}

// TestWelcomeStopsWaiting: the success page polls for the payment webhook
// for a while, then says it has not heard, instead of refreshing forever.
func TestWelcomeStopsWaiting(t *testing.T) {
	ctx := context.Background()
	_, v := startForTest(t)
	page, err := v.page(ctx, v.base+"/welcome")
	require.NoError(t, err)
	require.Contains(t, page, `id="confirming"`)
	require.Contains(t, page, `url=/welcome?wait=1`)
	page, err = v.page(ctx, v.base+"/welcome?wait=30")
	require.NoError(t, err)
	require.Contains(t, page, `id="not-confirmed"`)
	require.NotContains(t, page, `http-equiv="refresh"`)
}
