package algunatest

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cancelSubscription cancels the account's subscription in the portal, as
// its customer would.
func cancelSubscription(t *testing.T, s *Server, accountID string) {
	t.Helper()
	r := call(t, s, http.MethodPost, "/portal/customer-session/customer-portal", obj{"accountId": accountID})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	subs := decode[struct {
		Items []obj `json:"items"`
	}](t, call(t, s, http.MethodGet, "/subscriptions?status=active&accountId="+accountID, nil))
	require.Len(t, subs.Items, 1)
	// What the portal's confirmation step posts.
	done := postForm(t, noRedirect(t), decode[obj](t, r)["sessionUrl"].(string)+"/cancel",
		url.Values{"confirm": {"yes"}, "subscriptionId": {subs.Items[0]["id"].(string)}})
	require.Equal(t, http.StatusSeeOther, done.status, "body: %s", done.body)
}

// checkout opens a session through the API and pays it.
func checkout(t *testing.T, s *Server, accountID string) CheckoutSession {
	t.Helper()
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": accountID}))
	require.NoError(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID))
	for _, cs := range s.CheckoutSessions() {
		if cs.ID == sess.CheckoutSessionID {
			return cs
		}
	}
	t.Fatalf("no session %s", sess.CheckoutSessionID)
	return CheckoutSession{}
}

// What a self-serve product reads from Alguna after checkout: the
// subscription and the paid invoice, consistent with each other, with the
// plan and with the webhooks that announced them.
func TestCheckoutCreatesWhatTheAPIShows(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC))
	rc := newReceiver(t, nil)
	s := newServer(t, WithClock(clock.now))
	s.AddWebhookEndpoint(rc.URL)
	id := createAccount(t, s, "Acme", "acme")
	done := checkout(t, s, id)
	const at = "2025-03-03T17:06:07.473879Z"

	wantSub := obj{
		"id": done.SubscriptionID, "accountId": id, "name": "Pro", "description": "Everything in the trial, without limits.",
		"status": "active", "planId": "plan_pro", "currency": "USD", "trialPeriodDays": float64(0),
		"contractStartDate": at, "autoRenew": true, "activatedAt": at, "createdAt": at, "updatedAt": at,
	}
	require.Equal(t, wantSub, decode[obj](t, call(t, s, http.MethodGet, "/subscriptions/"+done.SubscriptionID, nil)))
	for _, ref := range []string{id, "acme"} {
		list := decode[obj](t, call(t, s, http.MethodGet, "/subscriptions?accountId="+ref, nil))
		require.Equal(t, obj{"items": []any{wantSub}}, list, "accountId may be an alias")
	}

	wantInv := obj{
		"id": done.InvoiceID, "accountId": id, "currency": "USD", "description": "Pro subscription",
		"billingPeriodStart": at, "billingPeriodEnd": "2025-04-03T17:06:07.473879Z",
		"status": "paid", "total": "49.00", "createdAt": at, "updatedAt": at,
	}
	require.Equal(t, obj{"items": []any{wantInv}}, decode[obj](t, call(t, s, http.MethodGet, "/invoices?accountId=acme", nil)))
	detail := decode[obj](t, call(t, s, http.MethodGet, "/invoices/"+done.InvoiceID, nil))
	lines := detail["lineItems"].([]any)
	require.Len(t, lines, 1)
	line := lines[0].(obj)
	require.Regexp(t, `^li_[a-z2-7]{16}$`, line["id"])
	delete(line, "id")
	require.Equal(t, obj{"description": "Pro", "planId": "plan_pro", "quantity": "1", "unitPrice": "49.00", "amount": "49.00"}, line,
		"the line item is the plan")
	for k, v := range wantInv {
		require.Equal(t, v, detail[k], k)
	}
	require.Equal(t, done.SubscriptionID, detail["subscriptionId"])
	require.Equal(t, at, detail["issueDate"])
	require.Equal(t, at, detail["dueDate"])
	require.Equal(t, "49.00", detail["subtotal"])
	require.Equal(t, "0.00", detail["tax"])
	require.Equal(t, detail["total"], detail["amountPaid"], "paid in full")
	require.Equal(t, "0.00", detail["amountRemaining"])

	// The webhooks carried what the API shows.
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	hooks := map[string]obj{}
	for _, h := range rc.got() {
		typ, data := h.envelope(t)
		hooks[typ] = data
	}
	require.Equal(t, wantSub, hooks["subscription.created"])
	require.Equal(t, wantSub, hooks["subscription.activated"])
	require.Equal(t, wantInv, hooks["invoice.paid"])
	require.Equal(t, done.InvoiceID, hooks["checkout.session.completed"]["invoiceId"])

	// Cancelling in the portal ends the subscription; the invoice stays.
	clock.add(time.Hour)
	cancelSubscription(t, s, id)
	const later = "2025-03-03T18:06:07.473879Z"
	canceled := decode[obj](t, call(t, s, http.MethodGet, "/subscriptions/"+done.SubscriptionID, nil))
	require.Equal(t, "canceled", canceled["status"])
	require.Equal(t, later, canceled["endedAt"])
	require.Equal(t, later, canceled["contractEndDate"])
	require.Equal(t, later, canceled["updatedAt"])
	require.Equal(t, false, canceled["autoRenew"])
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	_, data := rc.got()[len(rc.got())-1].envelope(t)
	delete(data, "canceledAt") // the guide-era name of endedAt, kept in the webhook for receivers that read it
	delete(canceled, "canceledAt")
	require.Equal(t, canceled, data, "subscription.canceled carries what the API shows")

	require.Empty(t, decode[subscriptionList](t, call(t, s, http.MethodGet, "/subscriptions?status=active", nil)).Items)
	require.Len(t, decode[subscriptionList](t, call(t, s, http.MethodGet, "/subscriptions?status=canceled", nil)).Items, 1)
	require.Len(t, decode[invoiceList](t, call(t, s, http.MethodGet, "/invoices?status=paid", nil)).Items, 1)
}

// A list filtered by accountId shows only that account's items.
func TestListsFilterByAccount(t *testing.T) {
	s := newServer(t)
	a := createAccount(t, s, "A", "a")
	b := createAccount(t, s, "B", "b")
	var subsA, subsB, invsA []string
	for range 3 {
		done := checkout(t, s, a)
		subsA = append(subsA, done.SubscriptionID)
		invsA = append(invsA, done.InvoiceID)
		cancelSubscription(t, s, a)
	}
	subsB = append(subsB, checkout(t, s, b).SubscriptionID)

	ids := func(path string) []string {
		t.Helper()
		r := call(t, s, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var out []string
		for _, it := range decode[struct{ Items []obj }](t, r).Items {
			require.NotEmpty(t, it["accountId"])
			out = append(out, it["id"].(string))
		}
		return out
	}
	require.Equal(t, subsA, ids("/subscriptions?accountId="+a))
	require.Equal(t, subsB, ids("/subscriptions?accountId=b"))
	require.Equal(t, append(append([]string{}, subsA...), subsB...), ids("/subscriptions"), "no filter: everyone's, oldest first")
	require.Equal(t, subsB, ids("/subscriptions?status=active"))
	require.Equal(t, subsA[1:2], ids("/subscriptions?accountId="+a+"&limit=1&page=2"))
	require.Equal(t, []string{subsA[2], subsA[1], subsA[0]}, ids("/subscriptions?accountId="+a+"&sort=createdAt:desc"))
	require.Empty(t, ids("/subscriptions?accountId="+a+"&page=9223372036854775807"))
	require.Equal(t, invsA, ids("/invoices?accountId="+a))
	require.Len(t, ids("/invoices?accountId="+b), 1)

	for _, bad := range []struct {
		path   string
		status int
		detail string
	}{
		{"/subscriptions?accountId=nobody", http.StatusNotFound, "account nobody not found"},
		{"/invoices?accountId=nobody", http.StatusNotFound, "account nobody not found"},
		{"/subscriptions?status=paused", http.StatusBadRequest, `status must be draft, active or canceled, got "paused"`},
		{"/invoices?status=open", http.StatusBadRequest, `status must be draft, issued, paid, void or overdue, got "open"`},
		{"/invoices?page=0", http.StatusBadRequest, "page must be a positive integer"},
		{"/subscriptions?sort=name:asc", http.StatusBadRequest, "sort field must be one of createdAt, updatedAt, id"},
		{"/subscriptions/sub_nope", http.StatusNotFound, "subscription sub_nope not found"},
		{"/invoices/inv_nope", http.StatusNotFound, "invoice inv_nope not found"},
	} {
		requireError(t, call(t, s, http.MethodGet, bad.path, nil), bad.status, bad.detail)
	}
}

// An account with an active subscription cannot check out again: each way
// into checkout answers 409 instead of billing the same period twice.
func TestSecondCheckoutIsRefused(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id := createAccount(t, s, "Acme", "acme")
	first := checkout(t, s, id)
	s.AddWebhookEndpoint(rc.URL)
	c := noRedirect(t)

	// Creating the session still succeeds: Alguna documents no refusal.
	r := call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": id})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	second := decode[checkoutSessionJSON](t, r)

	requireRefused := func(r rawResp) {
		t.Helper()
		page := requireHTML(t, r, http.StatusConflict)
		require.Regexp(t, `<section id="message"[^>]* data-status="409"`, page)
		require.Contains(t, page, "already has an active Pro subscription")
	}
	requireRefused(get(t, c, second.URL))
	requireRefused(post(t, c, second.URL+"/pay"))
	require.ErrorIs(t, s.CompleteCheckout(context.Background(), second.CheckoutSessionID), ErrActiveSubscription)
	requireRefused(get(t, c, s.URL+"/checkout?flowId="+DefaultFlowID+"&accountId=acme"))
	require.Len(t, s.CheckoutSessions(), 2, "the refused link opened no session")

	// The paid session's own pages are as they were.
	page := requireHTML(t, get(t, c, first.URL), http.StatusOK)
	require.Contains(t, page, `id="already-paid"`)

	require.Len(t, decode[invoiceList](t, call(t, s, http.MethodGet, "/invoices?accountId="+id, nil)).Items, 1, "no second invoice")
	require.Equal(t, "open", s.CheckoutSessions()[1].Status)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got(), "nothing happened")

	// Once the subscription is canceled, the open session can be paid.
	cancelSubscription(t, s, id)
	requireHTML(t, get(t, c, second.URL), http.StatusOK)
	require.Equal(t, http.StatusSeeOther, post(t, c, second.URL+"/pay").status)
	require.Len(t, decode[invoiceList](t, call(t, s, http.MethodGet, "/invoices?accountId="+id, nil)).Items, 2)
	active := decode[subscriptionList](t, call(t, s, http.MethodGet, "/subscriptions?status=active&accountId="+id, nil)).Items
	require.Len(t, active, 1)
	require.Equal(t, s.CheckoutSessions()[1].SubscriptionID, active[0].ID)
}
