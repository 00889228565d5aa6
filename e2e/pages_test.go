package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestCheckoutOnPhone pays on the hosted checkout page on a phone's screen:
// the form fits it, a mistyped or declined card is refused on the page with
// the reason and pays nothing, and the corrected card pays.
func TestCheckoutOnPhone(t *testing.T) {
	b := newBrowser(t)
	b.onPhone()
	b.signUp("Dee Phone", "dee@example.com", false)
	b.click("upgrade")
	require.True(t, strings.HasPrefix(b.location(), app.FakeURL+"/checkout/session/"), "Upgrade led to %s", b.location())
	require.Equal(t, "Pay 49.00 USD", b.text("#pay"))
	require.Equal(t, "4242 4242 4242 4242", b.attr("#card-number", "value"), "the test card is filled in")
	expiry := b.attr("#card-expiry", "value")
	b.requireFitsPhone("#checkout-form")
	b.screenshot("checkout-375")

	// A mistyped number and a past expiry date are refused, field by field.
	b.do(
		chromedp.SetValue(chromedp.ID("card-number"), "4242 4242 4242 4241"),
		chromedp.SetValue(chromedp.ID("card-expiry"), "01 / 20"),
	)
	b.clickExpecting("pay", 422)
	require.Equal(t, "open", b.attr("#checkout", "data-status"))
	require.Equal(t, "Check the card details below. Nothing was charged.", b.text("#payment-error"))
	require.Equal(t, "Your card number is not valid. Check it for typing mistakes.", b.text("#card-number-error"))
	require.Equal(t, "Your card has expired.", b.text("#card-expiry-error"))
	require.Zero(t, b.count("#card-cvc-error, #card-name-error"), "the fields that were right have no message")
	require.Equal(t, "4242 4242 4242 4241", b.attr("#card-number", "value"), "what was typed is kept")
	b.requireFitsPhone("#checkout-form")
	b.screenshot("checkout-refused-375")

	// The declined test card passes validation but is declined.
	b.do(
		chromedp.SetValue(chromedp.ID("card-number"), "4000 0000 0000 0002"),
		chromedp.SetValue(chromedp.ID("card-expiry"), expiry),
	)
	b.clickExpecting("pay", 402)
	require.Equal(t, "Your card was declined. Nothing was charged; try another card.", b.text("#payment-error"))
	require.Zero(t, b.count(".field-error"))
	require.Equal(t, "open", b.attr("#checkout", "data-status"))

	b.do(chromedp.SetValue(chromedp.ID("card-number"), "4242 4242 4242 4242"))
	b.click("pay")
	require.Equal(t, app.URL+"/welcome", b.location())
	b.waitVisible("#welcome")

	// One payment: the refused attempts left no invoice behind.
	b.openPortal("Dee Phone", "dee@example.com")
}

// TestPortalKeepSubscription opens the cancellation's confirmation on a
// phone and backs out of it: the subscription stays, Cancel is still
// offered, and the app still sees a paying customer.
func TestPortalKeepSubscription(t *testing.T) {
	b := newBrowser(t)
	b.onPhone()
	b.signUp("Eve Keep", "eve@example.com", false)
	b.upgradeAndPay("Eve Keep", "eve@example.com", "keep-checkout-375")
	b.openPortal("Eve Keep", "eve@example.com")
	portal := b.location()
	b.requireFitsPhone("#cancel-form")
	b.requireFitsPhone("#invoice-list")
	b.screenshot("portal-375")

	b.click("cancel-subscription")
	require.Equal(t, "Cancel your Pro subscription?", b.text("#cancel-title"))
	require.Contains(t, b.text("#cancel-consequences"), "Your Pro plan ends right away, today")
	require.Contains(t, b.text("#cancel-consequences"), "You will not be charged for Pro again.")
	require.Equal(t, "Yes, cancel subscription", b.text("#confirm-cancel"))
	require.Equal(t, "Keep my subscription", b.text("#keep-subscription"))
	b.requireFitsPhone("#confirm-cancel")
	b.requireFitsPhone("#keep-subscription")
	b.screenshot("portal-cancel-confirm-375")

	b.click("keep-subscription")
	require.Equal(t, portal, b.location(), "back on the portal")
	require.Equal(t, "active", b.attr("#subscription", "data-status"))
	require.Equal(t, 1, b.count("#cancel-subscription"))
	require.Zero(t, b.count("#notice"))

	b.open(app.URL + "/dashboard")
	require.Equal(t, "paid", b.text("#plan"))
}

// TestPortalCancelOnPhone cancels through the confirmation on a phone.
func TestPortalCancelOnPhone(t *testing.T) {
	b := newBrowser(t)
	b.onPhone()
	b.signUp("Fay Cancel", "fay@example.com", false)
	b.upgradeAndPay("Fay Cancel", "fay@example.com", "cancel-checkout-375")
	b.openPortal("Fay Cancel", "fay@example.com")

	b.click("cancel-subscription")
	require.Equal(t, 1, b.count("#confirm-cancel"))
	b.click("confirm-cancel")
	require.Equal(t, "Your subscription has been canceled.", b.text("#notice"))
	require.Zero(t, b.count("#subscription"))
	require.Equal(t, []string{"paid"}, b.invoiceStatuses(), "cancelling does not take back what was paid")
	b.requireFitsPhone("#notice")
	b.screenshot("portal-canceled-375")
}
