package algunatest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// subscribed returns an account that has completed checkout.
func subscribed(t *testing.T, s *Server) (accountID string, session CheckoutSession) {
	t.Helper()
	accountID = createAccount(t, s, "Acme", "acme")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": accountID}))
	require.NoError(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID))
	for _, cs := range s.CheckoutSessions() {
		if cs.ID == sess.CheckoutSessionID {
			session = cs
		}
	}
	return accountID, session
}

func openPortal(t *testing.T, s *Server, body obj) string {
	t.Helper()
	r := call(t, s, http.MethodPost, "/portal/customer-session/customer-portal", body)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	out := decode[obj](t, r)
	require.Len(t, out, 1)
	return out["sessionUrl"].(string)
}

func TestPortalSessionAPI(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "acme")
	byID := openPortal(t, s, obj{"accountId": id})
	require.Regexp(t, `^`+s.URL+`/portal/session/[a-z2-7]{32}$`, byID)
	byAlias := openPortal(t, s, obj{"accountAlias": "acme"})
	require.NotEqual(t, byID, byAlias, "every session has its own URL")

	tests := []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"no account", obj{}, http.StatusBadRequest, "accountId or accountAlias is required"},
		{"unknown id", obj{"accountId": "acc_nope"}, http.StatusNotFound, "account acc_nope not found"},
		{"unknown alias", obj{"accountAlias": "nope"}, http.StatusNotFound, `no account has the alias "nope"`},
		{"setting of the wrong type", obj{"accountId": id, "planOverviewSettings": obj{"showSection": "no"}}, http.StatusBadRequest, "showSection must not be a JSON string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, call(t, s, http.MethodPost, "/portal/customer-session/customer-portal", tt.body), tt.status, tt.detail)
		})
	}
}

func TestPortalPage(t *testing.T) {
	s := newServer(t)
	id, sess := subscribed(t, s)
	page := requireHTML(t, get(t, httpClient(t), openPortal(t, s, obj{"accountId": id})), http.StatusOK)
	for _, want := range []string{
		`data-section="plan-overview"`,
		`data-subscription-id="` + sess.SubscriptionID + `" data-status="active"`,
		`<strong id="subscription-name">Pro</strong> · 49.00 USD / month`,
		`<button id="cancel-subscription"`,
		`data-section="invoices"`,
		`<tr data-invoice-id="` + sess.InvoiceID + `" data-status="paid">`,
		`data-section="billing-details"`,
		`<td id="billing-name">Acme</td>`,
		`<td id="billing-email">billing@example.com</td>`,
		`<td id="payment-method">Visa ending in 4242</td>`,
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, `id="notice"`)
}

func TestPortalPageWithoutSubscription(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	page := requireHTML(t, get(t, httpClient(t), openPortal(t, s, obj{"accountId": id})), http.StatusOK)
	require.Contains(t, page, `id="no-subscription"`)
	require.Contains(t, page, `id="no-invoices"`)
	require.Contains(t, page, `None on file`)
	require.NotContains(t, page, `id="cancel-subscription"`)
}

// Every section shows unless its showSection is false; the Cancel button
// needs the plan overview and allowSubscriptionCancel not false.
func TestPortalSettings(t *testing.T) {
	s := newServer(t)
	id, _ := subscribed(t, s)
	f, tr := false, true
	type want struct{ plan, cancel, invoices, billing bool }
	tests := []struct {
		name     string
		settings obj
		want     want
	}{
		{"defaults", obj{}, want{true, true, true, true}},
		{"all explicit true", obj{
			"planOverviewSettings":   obj{"showSection": tr, "allowSubscriptionCancel": tr},
			"invoiceListSettings":    obj{"showSection": tr},
			"billingDetailsSettings": obj{"showSection": tr},
		}, want{true, true, true, true}},
		{"enterprise: no self-service cancel", obj{"planOverviewSettings": obj{"allowSubscriptionCancel": f}}, want{true, false, true, true}},
		{"no plan overview", obj{"planOverviewSettings": obj{"showSection": f}}, want{false, false, true, true}},
		{"no invoices", obj{"invoiceListSettings": obj{"showSection": f}}, want{true, true, false, true}},
		{"no billing details", obj{"billingDetailsSettings": obj{"showSection": f}}, want{true, true, true, false}},
		{"empty settings objects keep defaults", obj{"planOverviewSettings": obj{}, "invoiceListSettings": obj{}}, want{true, true, true, true}},
		{"nothing", obj{
			"planOverviewSettings":   obj{"showSection": f},
			"invoiceListSettings":    obj{"showSection": f},
			"billingDetailsSettings": obj{"showSection": f},
		}, want{false, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.settings["accountId"] = id
			page := requireHTML(t, get(t, httpClient(t), openPortal(t, s, tt.settings)), http.StatusOK)
			got := want{
				plan:     strings.Contains(page, `data-section="plan-overview"`),
				cancel:   strings.Contains(page, `id="cancel-subscription"`),
				invoices: strings.Contains(page, `data-section="invoices"`),
				billing:  strings.Contains(page, `data-section="billing-details"`),
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPortalCancel(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	portal := openPortal(t, s, obj{"accountId": id})
	c := noRedirect(t)

	r := post(t, c, portal+"/cancel")
	require.Equal(t, http.StatusSeeOther, r.status)
	require.Equal(t, portal+"?notice=canceled", r.header.Get("Location"))

	page := requireHTML(t, get(t, c, r.header.Get("Location")), http.StatusOK)
	require.Contains(t, page, `<p id="notice" class="notice">Your subscription has been canceled.</p>`)
	require.Contains(t, page, `id="no-subscription"`)
	require.NotContains(t, page, `id="cancel-subscription"`)
	require.Contains(t, page, `data-invoice-id="`+sess.InvoiceID+`"`, "invoices stay")

	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{"subscription.canceled"}, rc.types(t))
	_, data := rc.got()[0].envelope(t)
	require.Equal(t, sess.SubscriptionID, data["id"])
	require.Equal(t, "canceled", data["status"])
	require.Regexp(t, microTimePattern, data["canceledAt"])
	require.Equal(t, data["canceledAt"], data["contractEndDate"])

	require.Contains(t, requireHTML(t, post(t, c, portal+"/cancel"), http.StatusConflict), "no active subscription")

	page = requireHTML(t, get(t, c, portal+"?notice=<b>hi</b>"), http.StatusOK)
	require.NotContains(t, page, `id="notice"`, "only known notices are shown")
}

func TestPortalCancelNotAllowed(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, _ := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	c := noRedirect(t)
	for _, settings := range []obj{
		{"accountId": id, "planOverviewSettings": obj{"allowSubscriptionCancel": false}},
		{"accountId": id, "planOverviewSettings": obj{"showSection": false}},
	} {
		portal := openPortal(t, s, settings)
		requireHTML(t, post(t, c, portal+"/cancel"), http.StatusForbidden)
	}
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got())
	page := requireHTML(t, get(t, c, openPortal(t, s, obj{"accountId": id})), http.StatusOK)
	require.Contains(t, page, `data-status="active"`)
}

func TestPortalSessionExpiry(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
		opts []Option
	}{
		{"default one hour", time.Hour, nil},
		{"configured", 10 * time.Minute, []Option{WithPortalSessionTTL(10 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
			s := newServer(t, append(tt.opts, WithClock(clock.now))...)
			id, _ := subscribed(t, s)
			portal := openPortal(t, s, obj{"accountId": id})
			c := noRedirect(t)

			clock.add(tt.ttl - time.Second)
			requireHTML(t, get(t, c, portal), http.StatusOK)
			clock.add(time.Second)
			page := requireHTML(t, get(t, c, portal), http.StatusGone)
			require.Contains(t, page, "expired")
			requireHTML(t, post(t, c, portal+"/cancel"), http.StatusGone)
		})
	}
}

func TestUnknownPortalSession(t *testing.T) {
	s := newServer(t)
	c := noRedirect(t)
	for _, r := range []rawResp{
		get(t, c, s.URL+"/portal/session/nope"),
		post(t, c, s.URL+"/portal/session/nope/cancel"),
	} {
		page := requireHTML(t, r, http.StatusNotFound)
		require.Contains(t, page, fmt.Sprintf(`data-status="%d"`, http.StatusNotFound))
	}
}
