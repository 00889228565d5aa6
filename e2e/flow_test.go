package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// maxRuns bounds the clicks on Run: the trial's 50 credits, and one more
// that the app refuses if the depletion webhook has not arrived by then.
// The app reserves each run's credit before it sends the usage event, so
// no run past the 50th passes.
const maxRuns = 51

// TestTrialToPaid is the guide from a customer's seat: sign up, use the
// trial until the credits run out, pay on the hosted checkout page, and come
// back to the app as a paying customer.
func TestTrialToPaid(t *testing.T) {
	b := newBrowser(t)
	b.signUp("Ada Trial", "ada@example.com", false)

	// Use the product until the trial is over. Each run costs one credit,
	// and the balance shown never goes up.
	runs := 0
	last := 50
	for b.text("#plan") != "needs_upgrade" {
		require.Equal(t, "trial", b.text("#plan"))
		require.Less(t, runs, maxRuns, "still on the trial after %d runs; balance %s", runs, b.text("#balance"))
		b.click("run")
		runs++
		bal := b.balance()
		require.LessOrEqual(t, bal, last, "the balance went up after run %d", runs)
		last = bal
	}
	t.Logf("trial used up after %d runs", runs)
	require.GreaterOrEqual(t, runs, 50, "the trial ended before its 50 credits were used")
	require.Equal(t, 0, b.balance())
	require.Contains(t, b.text("#upgrade-needed"), "Upgrade")

	// A further run is refused: the app's own scripts would see 402.
	refused := b.fetchJSON("POST", "/action")
	require.Equal(t, 402, refused.Status, "body: %v", refused.Body)
	require.Equal(t, "/upgrade", refused.Body["upgrade"])

	// Alguna agrees: the account found by the user's id (its alias) has no
	// credits left.
	me := b.fetchJSON("GET", "/api/me")
	require.Equal(t, 200, me.Status)
	require.Equal(t, "needs_upgrade", me.Body["plan"])
	userID, _ := me.Body["id"].(string)
	accountID, _ := me.Body["accountId"].(string)
	client, err := alguna.NewClient(app.APIKey, alguna.WithBaseURL(app.FakeURL))
	require.NoError(t, err)
	ctx := context.Background()
	found, err := client.Accounts.Lookup(ctx, userID)
	require.NoError(t, err)
	require.Equal(t, accountID, found)
	bal, err := client.Credits.Balance(ctx, accountID, alguna.CreditTypeUnits)
	require.NoError(t, err)
	require.True(t, bal.Balance.IsZero(), "Alguna's balance is %s", bal.Balance)

	b.upgradeAndPay("Ada Trial", "ada@example.com", "trial-to-paid-checkout")

	// The dashboard of a paying customer: no upgrade link, and running is
	// no longer limited by credits.
	b.open(app.URL + "/dashboard")
	require.Equal(t, "paid", b.text("#plan"))
	require.Zero(t, b.count("#upgrade"), "a paying customer is offered an upgrade")
	ran := b.fetchJSON("POST", "/action")
	require.Equal(t, 200, ran.Status, "body: %v", ran.Body)
}

// TestPortalCancel opens "Manage billing" as a paying customer: the portal
// shows the subscription, its paid invoice and a Cancel button that works
// once confirmed.
func TestPortalCancel(t *testing.T) {
	b := newBrowser(t)
	b.signUp("Bea Portal", "bea@example.com", false)
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

// upgradeAndPay follows the dashboard's Upgrade link to the hosted checkout
// page, checks what it charges, saves a screenshot of it as shot, pays, and
// waits on the app's welcome page until the payment webhook has made the
// user a paying customer.
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
	// Until the webhook arrives the page says it is confirming and reloads
	// itself every second.
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

// invoiceStatuses lists the statuses of the portal's invoices.
func (b *browser) invoiceStatuses() []string {
	b.t.Helper()
	b.waitVisible("[data-section=invoices]")
	statuses, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("[data-section=invoices] tr[data-invoice-id]")].map(tr => tr.dataset.status)`))
	require.NoError(b.t, err)
	return statuses
}
