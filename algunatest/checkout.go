package algunatest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// DefaultFlowID is the checkout flow every server has: the "Pro" plan at
// 49.00 USD a month. Checkout sessions created through the API use it.
const DefaultFlowID = "flow_default"

// CheckoutFlow is a checkout flow as set up in Alguna's dashboard: the plan a
// customer subscribes to through it and its price per month.
type CheckoutFlow struct {
	// ID is the flowId of the guide's checkout link.
	ID string
	// PlanID is the planId of the subscriptions it creates; empty means
	// "plan_" followed by ID without its "flow_" prefix.
	PlanID string
	// PlanName is shown on the checkout page and becomes the subscription's
	// name.
	PlanName string
	// Amount is the price charged at checkout; it must be positive.
	Amount decimal.Decimal
	// Currency is the ISO 4217 code of Amount; empty means USD.
	Currency string
}

func defaultFlow() CheckoutFlow {
	return CheckoutFlow{
		ID:       DefaultFlowID,
		PlanID:   "plan_pro",
		PlanName: "Pro",
		Amount:   decimal.RequireFromString("49.00"),
		Currency: defaultCurrency,
	}
}

func (f CheckoutFlow) normalize() (CheckoutFlow, error) {
	f.ID = strings.TrimSpace(f.ID)
	if f.ID == "" {
		return f, errors.New("checkout flow ID is required")
	}
	if f.PlanID == "" {
		f.PlanID = "plan_" + strings.TrimPrefix(f.ID, "flow_")
	}
	if f.PlanName == "" {
		return f, fmt.Errorf("checkout flow %s: plan name is required", f.ID)
	}
	if !f.Amount.IsPositive() {
		return f, fmt.Errorf("checkout flow %s: amount must be positive", f.ID)
	}
	if err := checkConfigDecimal("checkout flow "+f.ID+": amount", f.Amount); err != nil {
		return f, err
	}
	if f.Currency == "" {
		f.Currency = defaultCurrency
	}
	f.Currency = strings.ToUpper(f.Currency)
	if !validCurrency(f.Currency) {
		return f, fmt.Errorf("checkout flow %s: currency must be a three-letter ISO 4217 code", f.ID)
	}
	return f, nil
}

// Checkout session statuses.
const (
	checkoutOpen      = "open"
	checkoutCompleted = "completed"
)

type checkoutSession struct {
	id               string
	accountID        string
	flow             CheckoutFlow
	currency         string
	email            string
	successURL       string
	passThroughToken string
	status           string
	createdAt        time.Time
	subscriptionID   string
	invoiceID        string
	paymentID        string
}

// CheckoutSession is a checkout session as the server holds it, for tests
// that need to find one the API did not hand them, such as one opened by
// the no-code checkout link.
type CheckoutSession struct {
	// ID is the checkoutSessionId.
	ID string
	// AccountID is the account that checks out.
	AccountID string
	// FlowID is the checkout flow the session sells.
	FlowID string
	// URL is the hosted checkout page.
	URL string
	// Status is "open" until paid, then "completed".
	Status string
	// Amount is what the session charges.
	Amount decimal.Decimal
	// Currency is the ISO 4217 code of Amount.
	Currency string
	// SuccessURL is where the browser goes after paying; empty means the
	// fake's own thank-you page.
	SuccessURL string
	// PassThroughToken is echoed in checkout.session.completed.
	PassThroughToken string
	// SubscriptionID is the subscription created by completing the
	// session; it, InvoiceID and PaymentID are empty while it is open.
	SubscriptionID string
	// InvoiceID is the paid invoice created by completing the session.
	InvoiceID string
	// PaymentID is the payment created by completing the session.
	PaymentID string
}

// CheckoutSessions returns every checkout session the server has created,
// oldest first.
func (s *Server) CheckoutSessions() []CheckoutSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CheckoutSession, 0, len(s.st.checkoutOrder))
	for _, cs := range s.st.checkoutOrder {
		out = append(out, CheckoutSession{
			ID:               cs.id,
			AccountID:        cs.accountID,
			FlowID:           cs.flow.ID,
			URL:              s.checkoutURL(cs.id),
			Status:           cs.status,
			Amount:           cs.flow.Amount,
			Currency:         cs.currency,
			SuccessURL:       cs.successURL,
			PassThroughToken: cs.passThroughToken,
			SubscriptionID:   cs.subscriptionID,
			InvoiceID:        cs.invoiceID,
			PaymentID:        cs.paymentID,
		})
	}
	return out
}

func (s *Server) checkoutURL(id string) string {
	return s.URL + "/checkout/session/" + url.PathEscape(id)
}

// newCheckoutLocked opens a session for an existing account.
func (s *Server) newCheckoutLocked(a *account, flow CheckoutFlow, currency, email, successURL, pt string) *checkoutSession {
	if currency == "" {
		currency = flow.Currency
	}
	if email == "" {
		email = a.email
	}
	cs := &checkoutSession{
		id:               newID("chk"),
		accountID:        a.id,
		flow:             flow,
		currency:         currency,
		email:            email,
		successURL:       successURL,
		passThroughToken: pt,
		status:           checkoutOpen,
		createdAt:        s.now(),
	}
	s.st.checkouts[cs.id] = cs
	s.st.checkoutOrder = append(s.st.checkoutOrder, cs)
	return cs
}

type checkoutRequest struct {
	AccountID        string `json:"accountId"`
	AccountEmail     string `json:"accountEmail"`
	Currency         string `json:"currency"`
	SuccessURL       string `json:"successUrl"`
	PassThroughToken string `json:"passThroughToken"`
}

type checkoutSessionJSON struct {
	CheckoutSessionID string `json:"checkoutSessionId"`
	URL               string `json:"url"`
}

// createCheckoutSession is POST /customer-session/checkout.
func (s *Server) createCheckoutSession(_ *http.Request, body []byte) (int, any) {
	var req checkoutRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	var problems []string
	if req.AccountID == "" {
		problems = append(problems, "accountId is required")
	}
	if req.AccountEmail != "" {
		if addr, err := mail.ParseAddress(req.AccountEmail); err != nil || addr.Address != req.AccountEmail {
			problems = append(problems, "accountEmail is not a valid email address")
		}
	}
	req.Currency = strings.ToUpper(req.Currency)
	if req.Currency != "" && !validCurrency(req.Currency) {
		problems = append(problems, "currency must be a three-letter ISO 4217 code")
	}
	if req.SuccessURL != "" {
		if u, err := url.Parse(req.SuccessURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "successUrl must be an absolute http or https URL")
		}
	}
	if len(problems) > 0 {
		return fail(http.StatusBadRequest, "Validation failed: %s", strings.Join(problems, "; "))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[req.AccountID]
	if !ok {
		return accountNotFound(req.AccountID)
	}
	cs := s.newCheckoutLocked(a, s.st.flows[DefaultFlowID], req.Currency, req.AccountEmail, req.SuccessURL, req.PassThroughToken)
	return http.StatusOK, checkoutSessionJSON{CheckoutSessionID: cs.id, URL: s.checkoutURL(cs.id)}
}

// ErrNotFound is returned by CompleteCheckout for a session the server does
// not have.
var ErrNotFound = errors.New("algunatest: not found")

// ErrCheckoutCompleted is returned by CompleteCheckout for a session that
// has already been paid.
var ErrCheckoutCompleted = errors.New("algunatest: checkout session already completed")

// CompleteCheckout pays a checkout session as the hosted page's Pay button
// does: the session is completed; a subscription, a paid invoice and a
// payment are created; and checkout.session.completed, subscription.created,
// subscription.activated and invoice.paid are sent, in that order. It fails
// with ErrNotFound for an unknown session and ErrCheckoutCompleted for one
// already paid.
func (s *Server) CompleteCheckout(ctx context.Context, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.completeCheckoutLocked(sessionID)
	return err
}

// completeCheckoutLocked pays a session and returns it.
func (s *Server) completeCheckoutLocked(id string) (*checkoutSession, error) {
	cs, ok := s.st.checkouts[id]
	if !ok {
		return nil, fmt.Errorf("%w: checkout session %s", ErrNotFound, id)
	}
	if cs.status == checkoutCompleted {
		return cs, fmt.Errorf("%w: %s", ErrCheckoutCompleted, id)
	}
	a := s.st.accounts[cs.accountID]
	now := s.now()
	sub := &subscription{
		id:                newID("sub"),
		accountID:         a.id,
		name:              cs.flow.PlanName,
		planID:            cs.flow.PlanID,
		status:            alguna.SubscriptionStatusActive,
		currency:          cs.currency,
		amount:            cs.flow.Amount,
		contractStartDate: now,
		activatedAt:       now,
		createdAt:         now,
		updatedAt:         now,
	}
	inv := &invoice{
		id:                 newID("inv"),
		accountID:          a.id,
		currency:           cs.currency,
		description:        cs.flow.PlanName + " subscription",
		billingPeriodStart: now,
		billingPeriodEnd:   now.AddDate(0, 1, 0),
		status:             invoicePaid,
		total:              cs.flow.Amount,
		createdAt:          now,
		updatedAt:          now,
	}
	pay := &payment{
		id:        newID("pay"),
		invoiceID: inv.id,
		amount:    cs.flow.Amount,
		currency:  cs.currency,
		status:    "completed",
		createdAt: now,
	}
	a.subscriptions = append(a.subscriptions, sub)
	a.invoices = append(a.invoices, inv)
	a.payments = append(a.payments, pay)
	cs.status = checkoutCompleted
	cs.subscriptionID, cs.invoiceID, cs.paymentID = sub.id, inv.id, pay.id

	s.emitLocked(a.id, alguna.WebhookCheckoutSessionCompleted, checkoutCompletedJSON{
		ID:               cs.id,
		AccountID:        a.id,
		Status:           checkoutCompleted,
		Amount:           formatMoney(cs.flow.Amount),
		Currency:         cs.currency,
		InvoiceID:        inv.id,
		PaymentID:        pay.id,
		PassThroughToken: cs.passThroughToken,
	})
	s.emitLocked(a.id, alguna.WebhookSubscriptionCreated, sub.json())
	s.emitLocked(a.id, alguna.WebhookSubscriptionActivated, sub.json())
	s.emitLocked(a.id, alguna.WebhookInvoicePaid, inv.json())
	return cs, nil
}

type checkoutCompletedJSON struct {
	ID               string `json:"id"`
	AccountID        string `json:"accountId"`
	Status           string `json:"status"`
	Amount           string `json:"amount"`
	Currency         string `json:"currency"`
	InvoiceID        string `json:"invoiceId"`
	PaymentID        string `json:"paymentId"`
	PassThroughToken string `json:"passThroughToken"`
}

// invoicePaid is the status of the invoices checkout creates, the only
// kind the fake has.
const invoicePaid = "paid"

type subscription struct {
	id                string
	accountID         string
	name              string
	planID            string
	status            alguna.SubscriptionStatus
	currency          string
	amount            decimal.Decimal
	contractStartDate time.Time
	contractEndDate   time.Time
	activatedAt       time.Time
	canceledAt        time.Time
	createdAt         time.Time
	updatedAt         time.Time
}

type subscriptionJSON struct {
	ID                string                    `json:"id"`
	AccountID         string                    `json:"accountId"`
	Name              string                    `json:"name"`
	Status            alguna.SubscriptionStatus `json:"status"`
	Currency          string                    `json:"currency"`
	PlanID            string                    `json:"planId,omitempty"`
	ContractStartDate string                    `json:"contractStartDate"`
	ContractEndDate   string                    `json:"contractEndDate,omitempty"`
	ActivatedAt       string                    `json:"activatedAt"`
	CanceledAt        string                    `json:"canceledAt,omitempty"`
	CreatedAt         string                    `json:"createdAt"`
	UpdatedAt         string                    `json:"updatedAt"`
}

func (s *subscription) json() subscriptionJSON {
	out := subscriptionJSON{
		ID:                s.id,
		AccountID:         s.accountID,
		Name:              s.name,
		Status:            s.status,
		Currency:          s.currency,
		PlanID:            s.planID,
		ContractStartDate: formatTime(s.contractStartDate),
		ActivatedAt:       formatTime(s.activatedAt),
		CreatedAt:         formatTime(s.createdAt),
		UpdatedAt:         formatTime(s.updatedAt),
	}
	if !s.contractEndDate.IsZero() {
		out.ContractEndDate = formatTime(s.contractEndDate)
	}
	if !s.canceledAt.IsZero() {
		out.CanceledAt = formatTime(s.canceledAt)
	}
	return out
}

type invoice struct {
	id                 string
	accountID          string
	currency           string
	description        string
	billingPeriodStart time.Time
	billingPeriodEnd   time.Time
	status             string
	total              decimal.Decimal
	createdAt          time.Time
	updatedAt          time.Time
}

type invoiceJSON struct {
	ID                 string `json:"id"`
	AccountID          string `json:"accountId"`
	Currency           string `json:"currency"`
	Description        string `json:"description"`
	BillingPeriodStart string `json:"billingPeriodStart"`
	BillingPeriodEnd   string `json:"billingPeriodEnd"`
	Status             string `json:"status"`
	Total              string `json:"total"`
	CreatedAt          string `json:"createdAt"`
	UpdatedAt          string `json:"updatedAt"`
}

func (i *invoice) json() invoiceJSON {
	return invoiceJSON{
		ID:                 i.id,
		AccountID:          i.accountID,
		Currency:           i.currency,
		Description:        i.description,
		BillingPeriodStart: formatTime(i.billingPeriodStart),
		BillingPeriodEnd:   formatTime(i.billingPeriodEnd),
		Status:             i.status,
		Total:              formatMoney(i.total),
		CreatedAt:          formatTime(i.createdAt),
		UpdatedAt:          formatTime(i.updatedAt),
	}
}

type payment struct {
	id        string
	invoiceID string
	amount    decimal.Decimal
	currency  string
	status    string
	createdAt time.Time
}

// checkoutFlowPage is the guide's no-code link,
// GET /checkout?flowId=…&accountId=…&pt=…: it opens a session for the flow
// and sends the browser to its page, so that reloading the page does not
// open another session.
func (s *Server) checkoutFlowPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flowID, accountID := q.Get("flowId"), q.Get("accountId")
	switch {
	case flowID == "":
		s.renderMessage(w, http.StatusBadRequest, "Checkout link is incomplete", "The link has no flowId.")
		return
	case accountID == "":
		s.renderMessage(w, http.StatusBadRequest, "Checkout link is incomplete", "The link has no accountId.")
		return
	}
	s.mu.Lock()
	flow, ok := s.st.flows[flowID]
	if !ok {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusNotFound, "Checkout flow not found", fmt.Sprintf("There is no checkout flow %q.", flowID))
		return
	}
	a := s.resolveLocked(accountID)
	if a == nil {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusNotFound, "Account not found", fmt.Sprintf("There is no account %q.", accountID))
		return
	}
	cs := s.newCheckoutLocked(a, flow, "", "", "", q.Get("pt"))
	s.mu.Unlock()
	http.Redirect(w, r, s.checkoutURL(cs.id), http.StatusSeeOther)
}

// checkoutView is what the checkout page shows.
type checkoutView struct {
	SessionID    string
	Status       string
	PlanName     string
	Amount       string
	Currency     string
	AccountName  string
	AccountEmail string
	PayURL       string
	SuccessURL   string
}

func (s *Server) checkoutViewLocked(cs *checkoutSession) checkoutView {
	a := s.st.accounts[cs.accountID]
	return checkoutView{
		SessionID:    cs.id,
		Status:       cs.status,
		PlanName:     cs.flow.PlanName,
		Amount:       formatMoney(cs.flow.Amount),
		Currency:     cs.currency,
		AccountName:  a.name,
		AccountEmail: cs.email,
		PayURL:       "/checkout/session/" + url.PathEscape(cs.id) + "/pay",
		SuccessURL:   cs.successURL,
	}
}

// checkoutViewOf returns what the pages show of a session; when there is
// no such session it renders the not-found page and reports false.
func (s *Server) checkoutViewOf(w http.ResponseWriter, id string) (checkoutView, bool) {
	s.mu.Lock()
	cs, ok := s.st.checkouts[id]
	var view checkoutView
	if ok {
		view = s.checkoutViewLocked(cs)
	}
	s.mu.Unlock()
	if !ok {
		s.renderCheckoutNotFound(w)
	}
	return view, ok
}

func (s *Server) renderCheckoutNotFound(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusNotFound, "Checkout session not found", "This checkout link is not valid.")
}

// checkoutPage is the hosted checkout page a session's url points at.
func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	if view, ok := s.checkoutViewOf(w, r.PathValue("id")); ok {
		s.render(w, http.StatusOK, "checkout.html", view)
	}
}

// checkoutPay is what the page's Pay form posts to.
func (s *Server) checkoutPay(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cs, err := s.completeCheckoutLocked(r.PathValue("id"))
	var target string
	if err == nil {
		target = cs.successURL
		if target == "" {
			target = s.checkoutURL(cs.id) + "/complete"
		}
	}
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrNotFound):
		s.renderCheckoutNotFound(w)
	case errors.Is(err, ErrCheckoutCompleted):
		s.renderMessage(w, http.StatusConflict, "Already paid", "This checkout session has already been completed.")
	default:
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// checkoutThankYou is where a paid session without a successUrl lands.
func (s *Server) checkoutThankYou(w http.ResponseWriter, r *http.Request) {
	view, ok := s.checkoutViewOf(w, r.PathValue("id"))
	if !ok {
		return
	}
	if view.Status != checkoutCompleted {
		http.Redirect(w, r, s.checkoutURL(view.SessionID), http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "thankyou.html", view)
}
