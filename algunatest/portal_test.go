package algunatest

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
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
	portal := openPortal(t, s, obj{"accountId": id})
	page := requireHTML(t, get(t, httpClient(t), portal), http.StatusOK)
	for _, want := range []string{
		`data-section="plan-overview"`,
		`data-subscription-id="` + sess.SubscriptionID + `" data-status="active"`,
		`<strong id="subscription-name">Pro</strong>`,
		`<p class="plan-price">49.00 USD / month</p>`,
		`<form id="cancel-form" method="get" action="` + strings.TrimPrefix(portal, s.URL) + `/cancel">`,
		`<button id="cancel-subscription"`,
		`<p id="portal-account-name" class="muted">Acme</p>`,
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

// The Cancel button opens a confirmation that says what cancelling means;
// only its confirm button cancels, and its way back keeps the
// subscription.
func TestPortalCancel(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now), WithPortalSessionTTL(48*time.Hour))
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	portal := openPortal(t, s, obj{"accountId": id})
	portalPath := strings.TrimPrefix(portal, s.URL)
	c := noRedirect(t)

	page := requireHTML(t, get(t, c, portal), http.StatusOK)
	method, confirmURL, fields := pageForm(t, s.URL, page, "cancel-form")
	require.Equal(t, "get", method, "the Cancel button only asks")
	require.Equal(t, portal+"/cancel", confirmURL)
	require.Empty(t, fields)

	clock.add(24 * time.Hour)
	confirm := requireHTML(t, get(t, c, confirmURL), http.StatusOK)
	for _, want := range []string{
		`<title>Cancel your Pro subscription? · Alguna (algunatest)</title>`,
		`<section id="cancel-confirmation" class="card" data-subscription-id="` + sess.SubscriptionID + `">`,
		`<h1 id="cancel-title">Cancel your Pro subscription?</h1>`,
		`Pro · 49.00 USD / month, active since Mar 3, 2025`,
		`<li>Your Pro plan ends right away, today (Mar 4, 2025), and with it what the plan includes.</li>`,
		`<li>You will not be charged for Pro again.</li>`,
		`<button id="confirm-cancel" class="danger" type="submit">Yes, cancel subscription</button>`,
		`<a id="keep-subscription" class="button secondary" href="` + portalPath + `">Keep my subscription</a>`,
	} {
		require.Contains(t, confirm, want)
	}
	method, cancelURL, fields := pageForm(t, s.URL, confirm, "confirm-cancel-form")
	require.Equal(t, "post", method)
	require.Equal(t, portal+"/cancel", cancelURL)
	require.Equal(t, url.Values{"confirm": {"yes"}, "subscriptionId": {sess.SubscriptionID}}, fields)

	// Showing the confirmation changes nothing.
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got())
	require.Contains(t, requireHTML(t, get(t, c, portal), http.StatusOK), `data-status="active"`)

	r := postForm(t, c, cancelURL, fields)
	require.Equal(t, http.StatusSeeOther, r.status, "body: %s", r.body)
	require.Equal(t, portal+"?notice=canceled", r.header.Get("Location"))

	page = requireHTML(t, get(t, c, r.header.Get("Location")), http.StatusOK)
	require.Contains(t, page, `<p id="notice" class="notice" role="status">Your subscription has been canceled.</p>`)
	require.Contains(t, page, `id="no-subscription"`)
	require.NotContains(t, page, `id="cancel-subscription"`)
	require.Contains(t, page, `data-invoice-id="`+sess.InvoiceID+`"`, "invoices stay")

	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{"subscription.canceled"}, rc.types(t))
	_, data := rc.got()[0].envelope(t)
	require.Equal(t, sess.SubscriptionID, data["id"])
	require.Equal(t, "canceled", data["status"])
	require.Equal(t, "2025-03-04T12:00:00.000000Z", data["canceledAt"])
	require.Equal(t, data["canceledAt"], data["contractEndDate"])

	t.Run("confirming twice", func(t *testing.T) {
		page := requireHTML(t, postForm(t, c, cancelURL, fields), http.StatusConflict)
		require.Contains(t, page, "no active subscription")
		require.Contains(t, page, `<a id="message-link" class="button secondary" href="`+portalPath+`">Back to billing</a>`)
		require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
		require.Len(t, rc.got(), 1, "no second subscription.canceled")
	})
	t.Run("confirmation with nothing to cancel", func(t *testing.T) {
		page := requireHTML(t, get(t, c, confirmURL), http.StatusConflict)
		require.Contains(t, page, "no active subscription")
		require.NotContains(t, page, `id="confirm-cancel"`)
	})

	page = requireHTML(t, get(t, c, portal+"?notice=<b>hi</b>"), http.StatusOK)
	require.NotContains(t, page, `id="notice"`, "only known notices are shown")
}

// The confirmation's way back is a plain link to the portal: following it
// leaves the subscription as it was.
func TestPortalCancelBackOut(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	portal := openPortal(t, s, obj{"accountId": id})
	c := noRedirect(t)

	confirm := requireHTML(t, get(t, c, portal+"/cancel"), http.StatusOK)
	back := regexp.MustCompile(`<a id="keep-subscription" [^>]*href="([^"]+)"`).FindStringSubmatch(confirm)
	require.NotNil(t, back)
	page := requireHTML(t, get(t, c, s.URL+html.UnescapeString(back[1])), http.StatusOK)
	require.Contains(t, page, `data-subscription-id="`+sess.SubscriptionID+`" data-status="active"`)
	require.Contains(t, page, `id="cancel-subscription"`)
	require.NotContains(t, page, `id="notice"`)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got())
}

// A POST without the confirmation's fields, as the one-click form of old
// sent, or a script would, cancels nothing: it is sent to the
// confirmation.
func TestPortalCancelNeedsConfirmation(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	portal := openPortal(t, s, obj{"accountId": id})
	c := noRedirect(t)

	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name        string
		query       string
		contentType string
		body        string
	}{
		{"empty form", "", "application/x-www-form-urlencoded", ""},
		{"no body at all", "", "", ""},
		{"confirm without the subscription", "", "application/x-www-form-urlencoded", form("confirm", "yes")},
		{"the subscription without confirm", "", "application/x-www-form-urlencoded", form("subscriptionId", sess.SubscriptionID)},
		{"confirm is not yes", "", "application/x-www-form-urlencoded", form("confirm", "true", "subscriptionId", sess.SubscriptionID)},
		{"confirm in capitals", "", "application/x-www-form-urlencoded", form("confirm", "YES", "subscriptionId", sess.SubscriptionID)},
		{"confirmation in the query string", "?" + form("confirm", "yes", "subscriptionId", sess.SubscriptionID), "application/x-www-form-urlencoded", ""},
		{"confirmation as JSON", "", "application/json", `{"confirm":"yes","subscriptionId":"` + sess.SubscriptionID + `"}`},
		{"invalid form encoding", "", "application/x-www-form-urlencoded", "confirm=yes&subscriptionId=%zz"},
		{"body too large", "", "application/x-www-form-urlencoded",
			form("confirm", "yes", "subscriptionId", sess.SubscriptionID) + "&pad=" + strings.Repeat("x", maxFormBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, portal+"/cancel"+tt.query, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			r := send(t, c, req)
			require.Equal(t, http.StatusSeeOther, r.status, "body: %s", r.body)
			require.Equal(t, portal+"/cancel", r.header.Get("Location"), "to the confirmation")
		})
	}

	t.Run("a confirmation of another subscription", func(t *testing.T) {
		page := requireHTML(t, postForm(t, c, portal+"/cancel", url.Values{"confirm": {"yes"}, "subscriptionId": {"sub_other"}}), http.StatusConflict)
		require.Contains(t, page, "nothing was canceled")
	})

	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got())
	page := requireHTML(t, get(t, c, portal), http.StatusOK)
	require.Contains(t, page, `data-subscription-id="`+sess.SubscriptionID+`" data-status="active"`)
}

// Confirmations posted at once, from two tabs say, cancel once.
func TestPortalCancelConfirmedConcurrently(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	portal := openPortal(t, s, obj{"accountId": id})
	confirmed := url.Values{"confirm": {"yes"}, "subscriptionId": {sess.SubscriptionID}}

	const tabs = 8
	c := noRedirect(t)
	statuses := make(chan int, tabs)
	var wg sync.WaitGroup
	for range tabs {
		req, err := http.NewRequest(http.MethodPost, portal+"/cancel", strings.NewReader(confirmed.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := trySend(c, req)
			if err != nil {
				statuses <- 0 // counted below as neither answer
				return
			}
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	require.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusConflict: tabs - 1}, count)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{"subscription.canceled"}, rc.types(t))
}

func TestPortalCancelNotAllowed(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id, sess := subscribed(t, s)
	s.AddWebhookEndpoint(rc.URL)
	c := noRedirect(t)
	confirmed := url.Values{"confirm": {"yes"}, "subscriptionId": {sess.SubscriptionID}}
	for _, settings := range []obj{
		{"accountId": id, "planOverviewSettings": obj{"allowSubscriptionCancel": false}},
		{"accountId": id, "planOverviewSettings": obj{"showSection": false}},
	} {
		portal := openPortal(t, s, settings)
		requireHTML(t, get(t, c, portal+"/cancel"), http.StatusForbidden)
		requireHTML(t, post(t, c, portal+"/cancel"), http.StatusForbidden)
		requireHTML(t, postForm(t, c, portal+"/cancel", confirmed), http.StatusForbidden)
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
			requireHTML(t, get(t, c, portal+"/cancel"), http.StatusGone)
			requireHTML(t, post(t, c, portal+"/cancel"), http.StatusGone)
		})
	}
}

func TestUnknownPortalSession(t *testing.T) {
	s := newServer(t)
	c := noRedirect(t)
	for _, r := range []rawResp{
		get(t, c, s.URL+"/portal/session/nope"),
		get(t, c, s.URL+"/portal/session/nope/cancel"),
		post(t, c, s.URL+"/portal/session/nope/cancel"),
	} {
		page := requireHTML(t, r, http.StatusNotFound)
		require.Contains(t, page, fmt.Sprintf(`data-status="%d"`, http.StatusNotFound))
	}
}
