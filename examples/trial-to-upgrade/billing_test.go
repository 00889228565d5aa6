package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// TestDashboardStates walks one user through every state the dashboard
// words, each read from Alguna: trial, trial used up, subscribed, and
// cancelled after the subscription.
func TestDashboardStates(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)

	status, page := dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `<span class="plan" id="plan" data-state="trial">trial</span>`)
	require.Contains(t, page, `<p id="trial">You're on the free trial. Each analysis uses one credit.</p>`)
	require.Contains(t, page, `Credits left: <strong id="balance">50</strong>`)
	require.True(t, hasID(page, "run"))
	require.Contains(t, page, `<a class="button" id="upgrade" href="/upgrade">Upgrade</a>`)
	require.True(t, hasID(page, "manage-billing"))
	require.False(t, hasID(page, "invoices"), "no invoices yet")

	for range int(trialCredits.IntPart()) {
		resp, err := v.postJSON(ctx, "/action")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	status, page = dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `data-state="trial_used_up">trial used up</span>`)
	require.Contains(t, page, `<p id="upgrade-needed">Your trial credits are used up. Upgrade to keep analyzing.</p>`)
	require.Contains(t, page, `Credits left: <strong id="balance">0</strong>`)
	require.False(t, hasID(page, "run"), "a run that would be refused is offered")
	require.Contains(t, page, `<a class="button" id="upgrade" href="/upgrade">Upgrade</a>`)

	upgradeAndPay(t, env, v)
	m := me(t, v)
	require.Equal(t, StatePaid, m.State)
	require.Len(t, m.Invoices, 1)
	inv := m.Invoices[0]
	status, page = dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `data-state="paid">paid</span>`)
	require.Contains(t, page, `<p id="subscribed">You're subscribed to <strong id="plan-name">Pro</strong> since `+m.Subscription.ActivatedAt.Format("2 January 2006")+`. Every analysis is included in your plan.</p>`)
	require.Contains(t, page, `<div id="subscription" data-subscription-id="`+m.Subscription.ID+`" data-status="active" hidden></div>`)
	require.False(t, hasID(page, "balance"), "a subscriber is shown a credit limit")
	require.False(t, hasID(page, "upgrade"), "a subscriber is offered an upgrade")
	require.True(t, hasID(page, "run"))
	require.True(t, hasID(page, "manage-billing"))
	require.Contains(t, page, `<tr data-invoice-id="`+inv.ID+`" data-status="paid"><td>`+inv.CreatedAt.Format("2 January 2006")+`</td><td>Pro subscription</td><td>paid</td><td class="total">49.00 USD</td></tr>`)

	cancelInPortal(t, env, v)
	m = me(t, v)
	require.Equal(t, StateCanceled, m.State)
	status, page = dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `data-state="canceled">canceled</span>`)
	require.Contains(t, page, `<p id="subscription-ended">Your <strong id="plan-name">Pro</strong> subscription ended on `+m.Subscription.EndedAt.Format("2 January 2006")+`. Subscribe again to keep analyzing without limits.</p>`)
	require.NotContains(t, page, "used up")
	require.Contains(t, page, `<a class="button" id="upgrade" href="/upgrade">Subscribe again</a>`)
	require.True(t, hasID(page, "invoices"), "the paid invoice is history, still shown")
}

// TestCanceledWithCreditsLeft: a user who subscribed before the trial was
// spent, then cancelled, is told the subscription ended and may spend the
// credits Alguna still holds for them.
func TestCanceledWithCreditsLeft(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	upgradeAndPay(t, env, v)
	cancelInPortal(t, env, v)

	status, page := dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.True(t, hasID(page, "subscription-ended"))
	require.Contains(t, page, `Credits left: <strong id="balance">50</strong>`)
	require.True(t, hasID(page, "run"))
	resp, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := me(t, v)
	require.Equal(t, StateCanceled, m.State)
	require.True(t, m.Available.Equal(trialCredits.Sub(actionCost)), "available %s", m.Available)
}

// TestDashboardReadsAlguna: credits granted in Alguna's dashboard, which
// the app never hears of, show on the next page view and can be spent.
func TestDashboardReadsAlguna(t *testing.T) {
	ctx := context.Background()
	env, v := startForTest(t)
	for range int(trialCredits.IntPart()) {
		resp, err := v.postJSON(ctx, "/action")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	m := me(t, v)
	require.Equal(t, StateTrialUsedUp, m.State)

	_, err := env.fake.Client().Credits.Grant(ctx, m.AccountID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(3), Reason: "Goodwill",
	})
	require.NoError(t, err)
	m = me(t, v)
	require.Equal(t, StateTrial, m.State)
	require.Equal(t, "3", m.Available.String())
	require.Equal(t, trialReason, m.Credits.Trial.Reason, "the trial is still the trial grant")
	for range 3 {
		resp, err := v.postJSON(ctx, "/action")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusPaymentRequired, resp.StatusCode)
}

// TestOnePageViewReadsOnce counts the calls behind one page view: each
// read once, none repeated, well within Alguna's 100 requests a second.
func TestOnePageViewReadsOnce(t *testing.T) {
	env, v := startForTest(t)
	upgradeAndPay(t, env, v)
	for _, page := range []string{"/dashboard", "/api/me"} {
		before := len(env.fake.Requests())
		if page == "/dashboard" {
			status, _ := dashboard(t, v)
			require.Equal(t, http.StatusOK, status)
		} else {
			me(t, v)
		}
		var calls []string
		for _, r := range env.fake.Requests()[before:] {
			calls = append(calls, r.Method+" "+strings.TrimSuffix(r.Path, "/plan_pro"))
		}
		require.ElementsMatch(t, []string{"GET /subscriptions", "GET /plans", "GET /invoices", "GET /credit-grants"}, calls, page)
	}
}

// TestAlgunaUnreachable: while Alguna cannot be reached, the dashboard and
// /api/me say so (503), actions and billing links fail with a clear
// answer, nothing panics, and all is well once Alguna is back.
func TestAlgunaUnreachable(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	o := &outage{}
	app := serveApp(t, env, clientWithOutage(t, env, o), env.client)
	v := signUp(t, app.url, "Ada", "ada@example.com")

	o.down.Store(true)
	status, page := dashboard(t, v)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, page, `<p id="billing-unavailable" class="notice">We can't reach our billing provider right now, so your plan, invoices and credits can't be shown. Nothing is lost: <a id="retry" href="/dashboard">try again</a> in a minute.</p>`)
	require.Contains(t, page, `Signed in as <strong id="user-name">Ada</strong>`)
	for _, id := range []string{"plan", "run", "upgrade", "manage-billing", "balance"} {
		require.False(t, hasID(page, id), "#%s shown without knowing the state", id)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, app.url+"/api/me", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	require.NoError(t, err)
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	_ = resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "billing is unavailable right now; try again shortly", body["error"])

	action, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadGateway, action.StatusCode)
	for _, path := range []string{"/upgrade", "/billing"} {
		a, err := v.get(ctx, path)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadGateway, a.StatusCode, path)
	}
	welcome, err := v.page(ctx, app.url+"/welcome")
	require.NoError(t, err)
	require.Contains(t, welcome, `id="check-failed"`)
	require.True(t, onlyUser(t, app.store).Reserved.IsZero(), "a refused action kept credits")

	o.down.Store(false)
	status, page = dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `Credits left: <strong id="balance">50</strong>`)
}

// TestReadBillingEndsWithTheContext: reads that Alguna never answers end
// with the request's context, rather than hold the page.
func TestReadBillingEndsWithTheContext(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	client, err := alguna.NewClient("key", alguna.WithBaseURL(srv.URL), alguna.WithMaxRetries(0))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = readBilling(ctx, client, "acc_1", decimal.Zero)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestGrantWithoutRemainingAmount: a grant list that does not say what is
// left of a grant is an error, never read as zero or as all of it.
func TestGrantWithoutRemainingAmount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[{"id":"cgr_1","accountId":"acc_1","type":"units","amount":"50","status":"active","description":"Welcome credits"}]}`))
	}))
	t.Cleanup(srv.Close)
	client, err := alguna.NewClient("key", alguna.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = readCredits(context.Background(), client, "acc_1")
	require.ErrorContains(t, err, "grant cgr_1 has no remainingAmount")
}

// TestReadCredits sums the grant list as the limit needs it: what active
// grants have left, and what usage took from every grant.
func TestReadCredits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[
			{"id":"cgr_trial","accountId":"acc_1","type":"units","amount":"50","remainingAmount":"20","status":"active","description":"Welcome credits"},
			{"id":"cgr_old","accountId":"acc_1","type":"units","amount":"10","remainingAmount":"4","status":"expired"},
			{"id":"cgr_void","accountId":"acc_1","type":"units","amount":"5","remainingAmount":"5","status":"voided"},
			{"id":"cgr_money","accountId":"acc_1","type":"monetary","amount":"100","remainingAmount":"100","status":"active","currency":"USD"}
		]}`))
	}))
	t.Cleanup(srv.Close)
	client, err := alguna.NewClient("key", alguna.WithBaseURL(srv.URL))
	require.NoError(t, err)
	c, err := readCredits(context.Background(), client, "acc_1")
	require.NoError(t, err)
	require.Equal(t, "cgr_trial", c.Trial.ID)
	require.Equal(t, "20", c.Remaining.String(), "only active units grants count")
	require.Equal(t, "36", c.Consumed.String(), "30 of the trial and 6 of the expired grant")
}
