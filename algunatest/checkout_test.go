package algunatest

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func requireHTML(t testing.TB, r rawResp, status int) string {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	body := string(r.body)
	require.True(t, strings.HasPrefix(body, "<!DOCTYPE html>"), "a whole page")
	return body
}

func TestCheckoutSessionAPI(t *testing.T) {
	s := newServer(t, WithPlan(Plan{ID: "plan_pro", Name: "Pro", Prices: []Price{
		{Amount: decimal.RequireFromString("49.00")},
		{Amount: decimal.RequireFromString("45.00"), Currency: "EUR"},
	}}))
	id := createAccount(t, s, "Acme", "")
	r := call(t, s, http.MethodPost, "/customer-session/checkout", obj{
		"accountId": id, "accountEmail": "billing@acme.com", "currency": "eur",
		"successUrl": "https://yourapp.com/welcome", "passThroughToken": "your-internal-reference",
	})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	sess := decode[obj](t, r)
	require.Len(t, sess, 2)
	require.Regexp(t, `^chk_[a-z2-7]{16}$`, sess["checkoutSessionId"])
	require.Equal(t, s.URL+"/checkout/session/"+sess["checkoutSessionId"].(string), sess["url"])

	require.Equal(t, []CheckoutSession{{
		ID:               sess["checkoutSessionId"].(string),
		AccountID:        id,
		FlowID:           DefaultFlowID,
		URL:              sess["url"].(string),
		Status:           "open",
		Amount:           decimal.RequireFromString("45.00"), // the plan's price in EUR
		Currency:         "EUR",
		SuccessURL:       "https://yourapp.com/welcome",
		PassThroughToken: "your-internal-reference",
	}}, s.CheckoutSessions())

	tests := []struct {
		name   string
		body   obj
		status int
		detail string
	}{
		{"no account", obj{}, http.StatusBadRequest, "accountId is required"},
		{"relative success URL", obj{"accountId": id, "successUrl": "/welcome"}, http.StatusBadRequest, "successUrl must be an absolute http or https URL"},
		{"bad currency", obj{"accountId": id, "currency": "euro"}, http.StatusBadRequest, "currency must be"},
		{"bad email", obj{"accountId": id, "accountEmail": "nope"}, http.StatusBadRequest, "accountEmail is not a valid email"},
		{"unknown account", obj{"accountId": "acc_nope"}, http.StatusNotFound, "account acc_nope not found"},
		{"currency the plan has no price in", obj{"accountId": id, "currency": "JPY"}, http.StatusUnprocessableEntity, "plan plan_pro has no price in JPY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, call(t, s, http.MethodPost, "/customer-session/checkout", tt.body), tt.status, tt.detail)
		})
	}
}

func TestCheckoutPageAndPay(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	id := createAccount(t, s, "Acme <Corp>", "")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{
		"accountId": id, "successUrl": "https://yourapp.com/welcome?from=checkout", "passThroughToken": "ref-1",
	}))
	c := noRedirect(t)

	page := requireHTML(t, get(t, c, sess.URL), http.StatusOK)
	for _, want := range []string{
		`data-checkout-session-id="` + sess.CheckoutSessionID + `"`,
		`data-status="open"`,
		`<h1 id="plan-name">Pro</h1>`,
		`data-amount="49.00"`,
		`<span id="currency">USD</span>`,
		`<form id="checkout-form" method="post" action="/checkout/session/` + sess.CheckoutSessionID + `/pay">`,
		`<button id="pay"`,
		`Acme &lt;Corp&gt;`, // escaped, never raw markup
		`billing@example.com`,
	} {
		require.Contains(t, page, want)
	}

	paid := post(t, c, s.URL+"/checkout/session/"+sess.CheckoutSessionID+"/pay")
	require.Equal(t, http.StatusSeeOther, paid.status)
	require.Equal(t, "https://yourapp.com/welcome?from=checkout", paid.header.Get("Location"))

	done := s.CheckoutSessions()[0]
	require.Equal(t, "completed", done.Status)
	require.Regexp(t, `^sub_`, done.SubscriptionID)
	require.Regexp(t, `^inv_`, done.InvoiceID)
	require.Regexp(t, `^pay_`, done.PaymentID)

	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	hooks := rc.got()
	require.Len(t, hooks, 4)
	typ, data := hooks[0].envelope(t)
	require.Equal(t, "checkout.session.completed", typ)
	require.Equal(t, obj{
		"id": sess.CheckoutSessionID, "accountId": id, "status": "completed", "amount": "49.00", "currency": "USD",
		"invoiceId": done.InvoiceID, "paymentId": done.PaymentID, "passThroughToken": "ref-1",
	}, data)

	for i, wantType := range []string{"subscription.created", "subscription.activated"} {
		typ, data := hooks[1+i].envelope(t)
		require.Equal(t, wantType, typ)
		require.Equal(t, done.SubscriptionID, data["id"])
		require.Equal(t, id, data["accountId"])
		require.Equal(t, "Pro", data["name"])
		require.Equal(t, "active", data["status"])
		require.Equal(t, "USD", data["currency"])
		require.Equal(t, "plan_pro", data["planId"])
		for _, k := range []string{"contractStartDate", "activatedAt", "createdAt", "updatedAt"} {
			require.Regexp(t, microTimePattern, data[k], k)
		}
	}

	typ, data = hooks[3].envelope(t)
	require.Equal(t, "invoice.paid", typ)
	require.Equal(t, done.InvoiceID, data["id"])
	require.Equal(t, id, data["accountId"])
	require.Equal(t, "USD", data["currency"])
	require.Equal(t, "Pro subscription", data["description"])
	require.Equal(t, "paid", data["status"])
	require.Equal(t, "49.00", data["total"])
	for _, k := range []string{"billingPeriodStart", "billingPeriodEnd", "createdAt", "updatedAt"} {
		require.Regexp(t, microTimePattern, data[k], k)
	}
	require.Less(t, data["billingPeriodStart"], data["billingPeriodEnd"])

	t.Run("completing twice is an error", func(t *testing.T) {
		again := post(t, c, s.URL+"/checkout/session/"+sess.CheckoutSessionID+"/pay")
		require.Contains(t, requireHTML(t, again, http.StatusConflict), "already been completed")
		require.ErrorIs(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID), ErrCheckoutCompleted)

		page := requireHTML(t, get(t, c, sess.URL), http.StatusOK)
		require.Contains(t, page, `data-status="completed"`)
		require.Contains(t, page, `id="already-paid"`)
		require.NotContains(t, page, `id="pay"`)

		require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
		require.Len(t, rc.got(), 4, "no second set of webhooks")
	})
}

func TestCheckoutWithoutSuccessURLShowsThankYou(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": id}))
	c := noRedirect(t)

	early := get(t, c, sess.URL+"/complete")
	require.Equal(t, http.StatusSeeOther, early.status, "no thank-you before paying")
	require.Equal(t, sess.URL, early.header.Get("Location"))

	paid := post(t, c, s.URL+"/checkout/session/"+sess.CheckoutSessionID+"/pay")
	require.Equal(t, http.StatusSeeOther, paid.status)
	require.Equal(t, sess.URL+"/complete", paid.header.Get("Location"))

	// A browser follows the redirect to the thank-you page.
	page := requireHTML(t, get(t, httpClient(t), paid.header.Get("Location")), http.StatusOK)
	require.Contains(t, page, `id="checkout-complete"`)
	require.Contains(t, page, `data-status="completed"`)
	require.Contains(t, page, "Pro")
}

func TestCompleteCheckout(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": id}))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.CompleteCheckout(ctx, sess.CheckoutSessionID), context.Canceled)
	require.Equal(t, "open", s.CheckoutSessions()[0].Status)

	require.NoError(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID))
	require.Equal(t, "completed", s.CheckoutSessions()[0].Status)
	require.ErrorIs(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID), ErrCheckoutCompleted)
	require.ErrorIs(t, s.CompleteCheckout(context.Background(), "chk_nope"), ErrNotFound)
}

// The guide's Option A: the no-code link opens a session for a configured
// flow and shows the same page.
func TestCheckoutFlowLink(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t, WithCheckoutFlow(CheckoutFlow{
		ID: "flow_team", PlanName: "Team", Amount: decimal.RequireFromString("99.5"), Currency: "eur",
	}))
	s.AddWebhookEndpoint(rc.URL, "checkout.session.completed", "subscription.created")
	id := createAccount(t, s, "Acme", "acme")
	c := noRedirect(t)

	link := s.URL + "/checkout?" + url.Values{"flowId": {"flow_team"}, "accountId": {"acme"}, "pt": {"tok-7"}}.Encode()
	r := get(t, c, link)
	require.Equal(t, http.StatusSeeOther, r.status)
	loc := r.header.Get("Location")
	require.Regexp(t, regexp.MustCompile(`^`+regexp.QuoteMeta(s.URL)+`/checkout/session/chk_[a-z2-7]{16}$`), loc)

	page := requireHTML(t, get(t, c, loc), http.StatusOK)
	require.Contains(t, page, `<h1 id="plan-name">Team</h1>`)
	require.Contains(t, page, `data-amount="99.50"`)
	require.Contains(t, page, `<span id="currency">EUR</span>`)
	require.Contains(t, page, `id="pay"`)

	sessions := s.CheckoutSessions()
	require.Len(t, sessions, 1)
	require.Equal(t, "flow_team", sessions[0].FlowID)
	require.Equal(t, id, sessions[0].AccountID)
	require.Equal(t, "tok-7", sessions[0].PassThroughToken)

	paid := post(t, c, loc+"/pay")
	require.Equal(t, http.StatusSeeOther, paid.status)
	require.Equal(t, loc+"/complete", paid.header.Get("Location"))
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{"checkout.session.completed", "subscription.created"}, rc.types(t))
	_, data := rc.got()[0].envelope(t)
	require.Equal(t, "99.50", data["amount"])
	require.Equal(t, "EUR", data["currency"])
	require.Equal(t, "tok-7", data["passThroughToken"])
	_, data = rc.got()[1].envelope(t)
	require.Equal(t, "Team", data["name"])
	require.Equal(t, "plan_team", data["planId"])

	t.Run("default flow", func(t *testing.T) {
		other := createAccount(t, s, "Other", "") // id is subscribed to Team by now
		r := get(t, httpClient(t), s.URL+"/checkout?flowId="+DefaultFlowID+"&accountId="+other)
		page := requireHTML(t, r, http.StatusOK)
		require.Contains(t, page, `<h1 id="plan-name">Pro</h1>`)
	})

	t.Run("bad links", func(t *testing.T) {
		tests := []struct {
			query  string
			status int
			text   string
		}{
			{"accountId=" + id, http.StatusBadRequest, "no flowId"},
			{"flowId=flow_team", http.StatusBadRequest, "no accountId"},
			{"flowId=flow_nope&accountId=" + id, http.StatusNotFound, "no checkout flow"},
			{"flowId=flow_team&accountId=acc_nope", http.StatusNotFound, "no account"},
		}
		for _, tt := range tests {
			page := requireHTML(t, get(t, c, s.URL+"/checkout?"+tt.query), tt.status)
			require.Contains(t, page, tt.text)
			require.Contains(t, page, `id="message"`)
		}
		require.Len(t, s.CheckoutSessions(), 2, "bad links open no session")
	})
}

func TestUnknownCheckoutSessionPages(t *testing.T) {
	s := newServer(t)
	c := noRedirect(t)
	requireHTML(t, get(t, c, s.URL+"/checkout/session/chk_nope"), http.StatusNotFound)
	requireHTML(t, post(t, c, s.URL+"/checkout/session/chk_nope/pay"), http.StatusNotFound)
	requireHTML(t, get(t, c, s.URL+"/checkout/session/chk_nope/complete"), http.StatusNotFound)
}
