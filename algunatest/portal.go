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
	return s.URL + "/portal/session/" + url.PathEscape(token)
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

func (s *Server) portalViewLocked(ps *portalSession, notice string) portalView {
	a := s.st.accounts[ps.accountID]
	v := portalView{
		CancelURL:    "/portal/session/" + url.PathEscape(ps.token) + "/cancel",
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
		v.Plan = &planView{
			SubscriptionID: sub.id,
			Name:           sub.name,
			Status:         string(sub.status),
			Amount:         formatMoney(sub.amount),
			Currency:       sub.currency,
			Since:          sub.contractStartDate.Format(dateLayout),
		}
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

// portalCancel is what the plan overview's Cancel button posts to. It
// cancels the current subscription at once and sends subscription.canceled.
func (s *Server) portalCancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ps, status, msg := s.portalLocked(r.PathValue("token"))
	if ps == nil {
		s.mu.Unlock()
		s.renderMessage(w, status, "Billing portal unavailable", msg)
		return
	}
	if !ps.showPlan || !ps.allowCancel {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusForbidden, "Cancellation not available",
			"Your subscription cannot be canceled here. Please contact us to cancel.")
		return
	}
	a := s.st.accounts[ps.accountID]
	sub := a.currentSubscription()
	if sub == nil {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusConflict, "No active subscription", "There is no active subscription to cancel.")
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
