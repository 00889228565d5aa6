package algunatest

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/alguna/alguna-go"
)

// portalSession is one "Manage billing" link and the settings it was opened
// with.
type portalSession struct {
	token        string
	accountID    string
	showPlan     bool
	allowCancel  bool
	showInvoices bool
	showBilling  bool
	expiresAt    time.Time
}

type portalRequest struct {
	AccountID            string `json:"accountId"`
	AccountAlias         string `json:"accountAlias"`
	PlanOverviewSettings *struct {
		ShowSection             *bool `json:"showSection"`
		AllowSubscriptionCancel *bool `json:"allowSubscriptionCancel"`
	} `json:"planOverviewSettings"`
	InvoiceListSettings *struct {
		ShowSection *bool `json:"showSection"`
	} `json:"invoiceListSettings"`
	BillingDetailsSettings *struct {
		ShowSection *bool `json:"showSection"`
	} `json:"billingDetailsSettings"`
}

// orTrue is a portal setting: every one of them defaults to true.
func orTrue(b *bool) bool { return b == nil || *b }

type portalSessionJSON struct {
	SessionURL string `json:"sessionUrl"`
}

// createPortalSession is POST /portal/customer-session/customer-portal.
func (s *Server) createPortalSession(_ *http.Request, body []byte) (int, any) {
	var req portalRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	if req.AccountID == "" && req.AccountAlias == "" {
		return fail(http.StatusBadRequest, "accountId or accountAlias is required")
	}
	ps := &portalSession{
		token:        randomToken(32),
		showPlan:     true,
		allowCancel:  true,
		showInvoices: true,
		showBilling:  true,
	}
	if p := req.PlanOverviewSettings; p != nil {
		ps.showPlan = orTrue(p.ShowSection)
		ps.allowCancel = orTrue(p.AllowSubscriptionCancel)
	}
	if p := req.InvoiceListSettings; p != nil {
		ps.showInvoices = orTrue(p.ShowSection)
	}
	if p := req.BillingDetailsSettings; p != nil {
		ps.showBilling = orTrue(p.ShowSection)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var a *account
	if req.AccountID != "" {
		a = s.st.accounts[req.AccountID]
		if a == nil {
			return accountNotFound(req.AccountID)
		}
	} else {
		a = s.st.aliases[req.AccountAlias]
		if a == nil {
			return fail(http.StatusNotFound, "no account has the alias %q", req.AccountAlias)
		}
	}
	ps.accountID = a.id
	ps.expiresAt = s.now().Add(s.cfg.portalTTL)
	s.st.portals[ps.token] = ps
	return http.StatusOK, portalSessionJSON{SessionURL: s.portalURL(ps.token)}
}

func (s *Server) portalURL(token string) string {
	return s.PublicURL + portalPath(token)
}

// portalLocked finds a live portal session, or renders why there is none.
func (s *Server) portalLocked(token string) (*portalSession, int, string) {
	ps, ok := s.st.portals[token]
	if !ok {
		return nil, http.StatusNotFound, "This billing portal link is not valid."
	}
	if !s.now().Before(ps.expiresAt) {
		return nil, http.StatusGone, "This billing portal link has expired. Open the portal again from the app."
	}
	return ps, 0, ""
}

// currentSubscription is the account's most recent active subscription: the
// plan the portal's overview is about.
func (a *account) currentSubscription() *subscription {
	for _, sub := range slices.Backward(a.subscriptions) {
		if sub.status == alguna.SubscriptionStatusActive {
			return sub
		}
	}
	return nil
}

type portalView struct {
	AccountName  string
	CancelURL    string
	Notice       string
	ShowPlan     bool
	AllowCancel  bool
	ShowInvoices bool
	ShowBilling  bool
	Plan         *planView
	Invoices     []invoiceView
	Billing      billingView
}

type planView struct {
	SubscriptionID string
	Name           string
	Status         string
	Amount         string
	Currency       string
	Since          string
}

type invoiceView struct {
	ID          string
	Description string
	Period      string
	Total       string
	Currency    string
	Status      string
}

type billingView struct {
	Name          string
	Email         string
	Currency      string
	PaymentMethod string
}

const dateLayout = "Jan 2, 2006"

// planOf is what the portal shows of a subscription.
func planOf(sub *subscription) planView {
	return planView{
		SubscriptionID: sub.id,
		Name:           sub.name,
		Status:         string(sub.status),
		Amount:         formatMoney(sub.amount),
		Currency:       sub.currency,
		Since:          sub.contractStartDate.Format(dateLayout),
	}
}

func (s *Server) portalViewLocked(ps *portalSession, notice string) portalView {
	a := s.st.accounts[ps.accountID]
	v := portalView{
		AccountName:  a.name,
		CancelURL:    cancelPath(ps.token),
		Notice:       notice,
		ShowPlan:     ps.showPlan,
		AllowCancel:  ps.showPlan && ps.allowCancel,
		ShowInvoices: ps.showInvoices,
		ShowBilling:  ps.showBilling,
		Billing: billingView{
			Name:     a.name,
			Email:    a.email,
			Currency: a.currency,
		},
	}
	if sub := a.currentSubscription(); sub != nil {
		p := planOf(sub)
		v.Plan = &p
	}
	for _, inv := range slices.Backward(a.invoices) {
		v.Invoices = append(v.Invoices, invoiceView{
			ID:          inv.id,
			Description: inv.description,
			Period:      inv.billingPeriodStart.Format(dateLayout) + " – " + inv.billingPeriodEnd.Format(dateLayout),
			Total:       formatMoney(inv.total),
			Currency:    inv.currency,
			Status:      inv.status,
		})
	}
	if len(a.payments) > 0 {
		// Checkout in the fake always "charges" the test card.
		v.Billing.PaymentMethod = "Visa ending in 4242"
	}
	return v
}

// portalNotice is the message the portal shows after an action; the query
// parameter carries only a key, so that a link cannot put text on the page.
func portalNotice(key string) string {
	if key == "canceled" {
		return "Your subscription has been canceled."
	}
	return ""
}

// portalPage is the hosted customer portal a session's sessionUrl points at.
func (s *Server) portalPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ps, status, msg := s.portalLocked(r.PathValue("token"))
	if ps == nil {
		s.mu.Unlock()
		s.renderMessage(w, status, "Billing portal unavailable", msg)
		return
	}
	view := s.portalViewLocked(ps, portalNotice(r.URL.Query().Get("notice")))
	s.mu.Unlock()
	s.render(w, http.StatusOK, "portal.html", view)
}

// refusal is a hosted page's answer when it cannot do what was asked: the
// message page, with a way back when there is one.
type refusal struct {
	status   int
	title    string
	message  string
	linkURL  string
	linkText string
}

func (s *Server) renderRefusal(w http.ResponseWriter, r *refusal) {
	s.renderMessageLink(w, r.status, r.title, r.message, r.linkURL, r.linkText)
}

// cancelPath is where the plan overview's Cancel button leads: GET shows
// the confirmation, POST with it cancels.
func cancelPath(token string) string {
	return portalPath(token) + "/cancel"
}

func portalPath(token string) string {
	return "/portal/session/" + url.PathEscape(token)
}

// cancelNotAllowed says why the portal cannot cancel, when its session's
// settings offer no Cancel button.
func cancelNotAllowed(ps *portalSession) *refusal {
	if ps.showPlan && ps.allowCancel {
		return nil
	}
	return &refusal{
		status:  http.StatusForbidden,
		title:   "Cancellation not available",
		message: "Your subscription cannot be canceled here. Please contact us to cancel.",
		linkURL: portalPath(ps.token), linkText: "Back to billing",
	}
}

func noActiveSubscription(ps *portalSession) *refusal {
	return &refusal{
		status:  http.StatusConflict,
		title:   "No active subscription",
		message: "There is no active subscription to cancel.",
		linkURL: portalPath(ps.token), linkText: "Back to billing",
	}
}

// cancelView is what the confirmation of a cancellation shows.
type cancelView struct {
	Plan      planView
	Today     string
	PortalURL string
	CancelURL string
}

// portalCancelConfirm is the page the plan overview's Cancel button opens:
// it says what cancelling means and asks to confirm, so that one click
// never ends a subscription.
func (s *Server) portalCancelConfirm(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ps, status, msg := s.portalLocked(r.PathValue("token"))
	if ps == nil {
		s.mu.Unlock()
		s.renderMessage(w, status, "Billing portal unavailable", msg)
		return
	}
	ref := cancelNotAllowed(ps)
	var view cancelView
	if ref == nil {
		if sub := s.st.accounts[ps.accountID].currentSubscription(); sub == nil {
			ref = noActiveSubscription(ps)
		} else {
			view = cancelView{
				Plan:      planOf(sub),
				Today:     s.now().Format(dateLayout),
				PortalURL: portalPath(ps.token),
				CancelURL: cancelPath(ps.token),
			}
		}
	}
	s.mu.Unlock()
	if ref != nil {
		s.renderRefusal(w, ref)
		return
	}
	s.render(w, http.StatusOK, "cancel.html", view)
}

// readCancelConfirmation returns the id of the subscription the
// confirmation's form confirms cancelling, or "" when the request is not
// that confirmation. A body that cannot be read confirms nothing.
func readCancelConfirmation(w http.ResponseWriter, r *http.Request) string {
	f, err := readForm(w, r)
	if err != nil || f.Get("confirm") != "yes" {
		return ""
	}
	return f.Get("subscriptionId")
}

// portalCancel is what the confirmation posts to. It cancels the current
// subscription at once and sends subscription.canceled, but only with the
// confirmation's fields, confirm=yes and the id of the subscription it
// showed: any other POST, such as a form of the portal from before the
// confirmation step, is sent to the confirmation instead, and a
// confirmation of a subscription that is no longer the current one cancels
// nothing.
func (s *Server) portalCancel(w http.ResponseWriter, r *http.Request) {
	confirmedID := readCancelConfirmation(w, r)
	s.mu.Lock()
	ps, status, msg := s.portalLocked(r.PathValue("token"))
	if ps == nil {
		s.mu.Unlock()
		s.renderMessage(w, status, "Billing portal unavailable", msg)
		return
	}
	if ref := cancelNotAllowed(ps); ref != nil {
		s.mu.Unlock()
		s.renderRefusal(w, ref)
		return
	}
	if confirmedID == "" {
		s.mu.Unlock()
		http.Redirect(w, r, s.PublicURL+cancelPath(ps.token), http.StatusSeeOther)
		return
	}
	a := s.st.accounts[ps.accountID]
	sub := a.currentSubscription()
	var ref *refusal
	switch {
	case sub == nil:
		ref = noActiveSubscription(ps)
	case sub.id != confirmedID:
		ref = &refusal{
			status:  http.StatusConflict,
			title:   "Your subscription has changed",
			message: "The subscription you confirmed is no longer your current one, so nothing was canceled. Review your plan and try again.",
			linkURL: portalPath(ps.token), linkText: "Back to billing",
		}
	}
	if ref != nil {
		s.mu.Unlock()
		s.renderRefusal(w, ref)
		return
	}
	now := s.now()
	sub.status = alguna.SubscriptionStatusCanceled
	sub.canceledAt = now
	sub.contractEndDate = now
	sub.updatedAt = now
	s.emitLocked(a.id, alguna.WebhookSubscriptionCanceled, sub.json())
	s.mu.Unlock()
	http.Redirect(w, r, s.portalURL(ps.token)+"?notice=canceled", http.StatusSeeOther)
}
