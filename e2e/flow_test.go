package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// TestTrialToPaid is the guide from a customer's seat: sign up, use the
// trial until the credits run out, pay on the hosted checkout page, and come
// back to the app as a paying customer. Each dashboard on the way is what
// the app reads from Alguna, and says where the customer stands.
func TestTrialToPaid(t *testing.T) {
	b := newBrowser(t)
	b.signUp("Ada Trial", "ada@example.com", false)
	require.Equal(t, "You're on the free trial. Each analysis uses one credit.", b.text("#trial"))
	require.Equal(t, "Upgrade", b.text("#upgrade"))
	b.screenshot("dashboard-trial")

	// Use the product until the trial is over. Each run costs one credit,
	// and the balance shown goes down by one each time: the app reserves
	// a run's credit before Alguna has metered its event.
	runs := 0
	for b.text("#plan") != "trial used up" {
		require.Equal(t, "trial", b.text("#plan"))
		require.Less(t, runs, 50, "still on the trial after %d runs; balance %s", runs, b.text("#balance"))
		b.click("run")
		runs++
		require.Equal(t, 50-runs, b.balance(), "after run %d", runs)
	}
	require.Equal(t, 50, runs, "the trial ended before its 50 credits were used")
	require.Equal(t, "Your trial credits are used up. Upgrade to keep analyzing.", b.text("#upgrade-needed"))
	require.Zero(t, b.count("#run"), "a run that would be refused is offered")
	require.Equal(t, "Upgrade", b.text("#upgrade"))
	b.screenshot("dashboard-used-up")

	// A further run is refused: the app's own scripts would see 402.
	refused := b.fetchJSON("POST", "/action")
	require.Equal(t, 402, refused.Status, "body: %v", refused.Body)
	require.Equal(t, "/upgrade", refused.Body["upgrade"])

	// Alguna agrees: the account found by the user's id (its alias) has
	// its trial grant used up, once the last events are metered.
	me := b.fetchJSON("GET", "/api/me")
	require.Equal(t, 200, me.Status)
	require.Equal(t, "trial_used_up", me.Body["state"])
	userID, _ := me.Body["id"].(string)
	accountID, _ := me.Body["accountId"].(string)
	client := fakeClient(t)
	ctx := context.Background()
	found, err := client.Accounts.Lookup(ctx, userID)
	require.NoError(t, err)
	require.Equal(t, accountID, found)
	eventually(t, "the trial grant to be used up in Alguna", func() bool {
		grants, err := client.Credits.ListGrants(ctx, accountID, nil)
		require.NoError(t, err)
		require.Len(t, grants.Data, 1)
		return grants.Data[0].RemainingAmount.Decimal.IsZero() && grants.Data[0].Status == alguna.CreditGrantStatusExhausted
	})

	b.upgradeAndPay("Ada Trial", "ada@example.com", "trial-to-paid-checkout")

	// The dashboard of a paying customer: the subscription and invoice
	// Alguna holds, no upgrade, and running no longer limited by credits.
	b.open(app.URL + "/dashboard")
	require.Equal(t, "paid", b.text("#plan"))
	sub, invoices := algunaBilling(t, accountID)
	require.Equal(t, sub.ID, b.attr("#subscription", "data-subscription-id"))
	require.Equal(t, "Pro", b.text("#plan-name"))
	require.Equal(t, "You're subscribed to Pro since "+sub.ActivatedAt.Format("2 January 2006")+". Every analysis is included in your plan.", b.text("#subscribed"))
	require.Zero(t, b.count("#upgrade"), "a paying customer is offered an upgrade")
	require.Zero(t, b.count("#balance"), "a paying customer is shown a credit limit")
	require.Equal(t, invoiceIDs(invoices), b.dashboardInvoices("paid"))
	require.Contains(t, b.text("#invoices tbody tr"), "Pro subscription")
	require.Contains(t, b.text("#invoices tbody tr"), "49.00 USD")
	b.waitVisible("#manage-billing")
	b.screenshot("dashboard-subscribed")
	ran := b.fetchJSON("POST", "/action")
	require.Equal(t, 200, ran.Status, "body: %v", ran.Body)
}

// TestPortalCancel opens "Manage billing" as a paying customer: the portal
// shows the subscription, its paid invoice and a Cancel button that works
// once confirmed. Back on the dashboard, the customer is told the
// subscription ended, not that their trial is used up, and subscribes
// again from there.
func TestPortalCancel(t *testing.T) {
	b := newBrowser(t)
	b.signUp("Bea Portal", "bea@example.com", false)
	// The trial spent first, so that the cancelled dashboard has no
	// credits to fall back on.
	for i := range 50 {
		ran := b.fetchJSON("POST", "/action")
		require.Equal(t, 200, ran.Status, "run %d: %v", i+1, ran.Body)
	}
	b.upgradeAndPay("Bea Portal", "bea@example.com", "portal-checkout")

	b.openPortal("Bea Portal", "bea@example.com")
	require.Equal(t, 1, b.count("#cancel-subscription"), "the portal has no Cancel button")
	b.waitVisible("#cancel-subscription")
	b.screenshot("portal")

	// Cancel asks first; only the confirmation cancels.
	b.click("cancel-subscription")
	require.Equal(t, "Cancel your Pro subscription?", b.text("#cancel-title"))
	b.screenshot("portal-cancel-confirm")
	b.click("confirm-cancel")
	require.True(t, strings.HasPrefix(b.location(), app.FakeURL+"/portal/session/"), "after cancelling: %s", b.location())
	require.Equal(t, "Your subscription has been canceled.", b.text("#notice"))
	require.Equal(t, "You have no active subscription.", b.text("[data-section=plan-overview] #no-subscription"))
	require.Zero(t, b.count("#subscription"), "the canceled subscription is still shown as current")
	require.Zero(t, b.count("#cancel-subscription"), "Cancel is still offered with nothing to cancel")
	// Cancelling does not take back what was paid.
	require.Equal(t, []string{"paid"}, b.invoiceStatuses())
	b.screenshot("portal-canceled")

	// The dashboard reads the ended subscription from Alguna.
	b.open(app.URL + "/dashboard")
	require.Equal(t, "canceled", b.text("#plan"))
	me := b.fetchJSON("GET", "/api/me")
	accountID, _ := me.Body["accountId"].(string)
	ended, invoices := algunaBilling(t, accountID)
	require.Equal(t, alguna.SubscriptionStatusCanceled, ended.Status)
	require.NotNil(t, ended.EndedAt)
	require.Equal(t, ended.ID, b.attr("#subscription", "data-subscription-id"))
	require.Equal(t, "canceled", b.attr("#subscription", "data-status"))
	require.Equal(t, "Your Pro subscription ended on "+ended.EndedAt.Format("2 January 2006")+". Subscribe again to keep analyzing without limits.", b.text("#subscription-ended"))
	body := b.text("body")
	require.NotContains(t, body, "used up", "a cancelled subscriber is told their trial is used up")
	require.NotContains(t, body, "free trial")
	require.Zero(t, b.count("#run"), "a run that would be refused is offered")
	require.Zero(t, b.count("#balance"))
	require.Equal(t, "Subscribe again", b.text("#upgrade"))
	require.Equal(t, invoiceIDs(invoices), b.dashboardInvoices("paid"), "the paid invoice is still listed")
	b.screenshot("dashboard-canceled")
	refused := b.fetchJSON("POST", "/action")
	require.Equal(t, 402, refused.Status, "body: %v", refused.Body)

	// Subscribe again: a new subscription, and a second paid invoice.
	b.upgradeAndPay("Bea Portal", "bea@example.com", "resubscribe-checkout")
	b.open(app.URL + "/dashboard")
	require.Equal(t, "paid", b.text("#plan"))
	again, invoices := algunaBilling(t, accountID)
	require.Equal(t, alguna.SubscriptionStatusActive, again.Status)
	require.NotEqual(t, ended.ID, again.ID)
	require.Equal(t, again.ID, b.attr("#subscription", "data-subscription-id"))
	require.Len(t, invoices, 2)
	require.Equal(t, invoiceIDs(invoices), b.dashboardInvoices("paid", "paid"))
}

// TestEnterprisePortalHasNoCancel checks the app's portal settings for an
// enterprise customer, who cancels through sales: the portal shows the plan
// but no Cancel button, and refuses a cancellation posted anyway.
func TestEnterprisePortalHasNoCancel(t *testing.T) {
	b := newBrowser(t)
	b.signUp("Cy Enterprise", "cy@example.com", true)
	b.upgradeAndPay("Cy Enterprise", "cy@example.com", "enterprise-checkout")

	b.openPortal("Cy Enterprise", "cy@example.com")
	require.Zero(t, b.count("#cancel-subscription"), "an enterprise customer's portal offers Cancel")
	require.Zero(t, b.count("#cancel-form"))
	b.screenshot("portal-enterprise")

	// The button is not merely hidden: the portal refuses the cancellation.
	refused, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](
		`fetch(location.pathname + "/cancel", {method: "POST"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, 403, refused)
	b.open(b.location())
	require.Equal(t, "active", b.attr("#subscription", "data-status"))
}

// signUp fills in the app's home page and lands on the dashboard with the
// trial credits.
func (b *browser) signUp(name, email string, enterprise bool) {
	b.t.Helper()
	b.open(app.URL + "/")
	b.do(
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("email"), email),
	)
	if enterprise {
		b.do(chromedp.Click(chromedp.ID("enterprise")))
	}
	b.click("signup")
	require.Equal(b.t, app.URL+"/dashboard", b.location())
	require.Equal(b.t, "trial", b.text("#plan"))
	require.Equal(b.t, 50, b.balance())
	b.waitVisible("#upgrade")
	b.waitVisible("#manage-billing")
}

// upgradeAndPay follows the dashboard's Upgrade link (or Subscribe again)
// to the hosted checkout page, checks what it charges, saves a screenshot of
// it as shot, pays, and waits on the app's welcome page until Alguna has
// the subscription.
func (b *browser) upgradeAndPay(name, email, shot string) {
	b.t.Helper()
	if !strings.HasSuffix(b.location(), "/dashboard") {
		b.open(app.URL + "/dashboard")
	}
	b.click("upgrade")
	require.True(b.t, strings.HasPrefix(b.location(), app.FakeURL+"/checkout/session/"),
		"Upgrade led to %s, not the hosted checkout page", b.location())
	require.Equal(b.t, "open", b.attr("#checkout", "data-status"))
	require.Equal(b.t, "Pro", b.text("#plan-name"))
	require.Equal(b.t, "49.00", b.text("#amount"))
	require.Equal(b.t, "USD", b.text("#currency"))
	require.Equal(b.t, name, b.text("#account-name"))
	require.Equal(b.t, email, b.text("#account-email"))
	require.Equal(b.t, "Pay 49.00 USD", b.text("#pay"))
	b.screenshot(shot)

	b.click("pay")
	require.Equal(b.t, app.URL+"/welcome", b.location())
	// Until Alguna has the subscription the page says it is confirming
	// and reloads itself every second.
	b.waitVisible("#welcome")
	require.Contains(b.t, b.text("#welcome"), name)
}

// openPortal follows the dashboard's "Manage billing" link to the hosted
// portal and checks what every customer sees there: the Pro subscription,
// one paid invoice and their billing details.
func (b *browser) openPortal(name, email string) {
	b.t.Helper()
	b.open(app.URL + "/dashboard")
	require.Equal(b.t, "paid", b.text("#plan"))
	b.click("manage-billing")
	require.True(b.t, strings.HasPrefix(b.location(), app.FakeURL+"/portal/session/"),
		"Manage billing led to %s, not the hosted portal", b.location())

	b.waitVisible("[data-section=plan-overview]")
	require.Equal(b.t, "active", b.attr("#subscription", "data-status"))
	require.Equal(b.t, "Pro", b.text("#subscription-name"))
	require.Contains(b.t, b.text("#subscription"), "49.00 USD / month")

	require.Equal(b.t, []string{"paid"}, b.invoiceStatuses())
	require.Contains(b.t, b.text("#invoice-list tbody tr"), "Pro subscription")
	require.Contains(b.t, b.text("#invoice-list tbody tr"), "49.00 USD")

	require.Equal(b.t, name, b.text("#billing-name"))
	require.Equal(b.t, email, b.text("#billing-email"))
	require.Equal(b.t, "Visa ending in 4242", b.text("#payment-method"))
}

// balance is the dashboard's credit balance.
func (b *browser) balance() int {
	b.t.Helper()
	s := b.text("#balance")
	n, err := strconv.Atoi(s)
	require.NoError(b.t, err, "balance %q", s)
	return n
}

// dashboardInvoices lists the ids of the dashboard's invoices, newest
// first, checking that their statuses are statuses.
func (b *browser) dashboardInvoices(statuses ...string) []string {
	b.t.Helper()
	b.waitVisible("#invoices")
	type row struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]row](
		`[...document.querySelectorAll("#invoices tr[data-invoice-id]")].map(tr => ({id: tr.dataset.invoiceId, status: tr.dataset.status}))`))
	require.NoError(b.t, err)
	var ids, got []string
	for _, r := range rows {
		ids = append(ids, r.ID)
		got = append(got, r.Status)
	}
	require.Equal(b.t, statuses, got)
	return ids
}

// fakeClient is an SDK client of the fake Alguna the example talks to.
func fakeClient(t *testing.T) *alguna.Client {
	t.Helper()
	client, err := alguna.NewClient(app.APIKey, alguna.WithBaseURL(app.FakeURL))
	require.NoError(t, err)
	return client
}

// algunaBilling is what Alguna holds for the account: its latest
// subscription, and its paid invoices, newest first.
func algunaBilling(t *testing.T, accountID string) (*alguna.Subscription, []*alguna.Invoice) {
	t.Helper()
	ctx := context.Background()
	client := fakeClient(t)
	subs, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: accountID, ListOptions: alguna.ListOptions{Sort: "createdAt:desc"}})
	require.NoError(t, err)
	require.NotEmpty(t, subs.Data, "Alguna has no subscription for %s", accountID)
	invoices, err := client.Invoices.List(ctx, &alguna.InvoiceListParams{AccountID: accountID, Status: alguna.InvoiceStatusPaid, ListOptions: alguna.ListOptions{Sort: "createdAt:desc"}})
	require.NoError(t, err)
	return subs.Data[0], invoices.Data
}

func invoiceIDs(invoices []*alguna.Invoice) []string {
	var ids []string
	for _, inv := range invoices {
		ids = append(ids, inv.ID)
	}
	return ids
}

// eventually waits, for at most 10 seconds, until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		require.True(t, time.Now().Before(deadline), "waited 10s for %s", what)
		<-tick.C
	}
}

// invoiceStatuses lists the statuses of the portal's invoices.
func (b *browser) invoiceStatuses() []string {
	b.t.Helper()
	b.waitVisible("[data-section=invoices]")
	statuses, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("[data-section=invoices] tr[data-invoice-id]")].map(tr => tr.dataset.status)`))
	require.NoError(b.t, err)
	return statuses
}
