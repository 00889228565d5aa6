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

// DefaultFlowID is the checkout flow every server has. It sells the plan
// "plan_pro": "Pro" at 49.00 USD a month, unless WithPlan replaces that plan.
// Checkout sessions created through the API use it.
const DefaultFlowID = "flow_default"

// CheckoutFlow is a checkout flow as set up in Alguna's dashboard: the plan a
// customer subscribes to through it and its price. A flow whose PlanID names
// a plan of the catalogue (WithPlan) takes the name and price it leaves
// empty from the plan, and must agree with the plan on those it gives; a
// flow naming no such plan adds one to the catalogue, at its Amount a month.
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

	interval string // the billing period of the price sold, from the plan
}

func defaultFlow() CheckoutFlow {
	return CheckoutFlow{ID: DefaultFlowID, PlanID: defaultPlan().ID}
}

// normalize fills what it can of a flow and checks it; the rest is checked
// against the catalogue when the server starts (resolveFlows).
func (f CheckoutFlow) normalize() (CheckoutFlow, error) {
	f.ID = strings.TrimSpace(f.ID)
	if f.ID == "" {
		return f, errors.New("checkout flow ID is required")
	}
	if f.PlanID == "" {
		f.PlanID = "plan_" + strings.TrimPrefix(f.ID, "flow_")
	}
	if f.Amount.IsNegative() {
		return f, fmt.Errorf("checkout flow %s: amount must be positive", f.ID)
	}
	if err := checkConfigDecimal("checkout flow "+f.ID+": amount", f.Amount); err != nil {
		return f, err
	}
	f.Currency = strings.ToUpper(f.Currency)
	if f.Currency != "" && !validCurrency(f.Currency) {
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
	return s.PublicURL + "/checkout/session/" + url.PathEscape(id)
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
	flow := s.st.flows[DefaultFlowID]
	if req.Currency != "" && req.Currency != flow.Currency {
		// Sell the plan at its price in that currency, as the catalogue
		// shows it; a plan with no such price cannot be sold in it.
		pr, ok := s.st.plans[flow.PlanID].price(decimal.Zero, req.Currency)
		if !ok {
			return fail(http.StatusUnprocessableEntity, "plan %s has no price in %s", flow.PlanID, req.Currency)
		}
		flow.Amount, flow.Currency, flow.interval = pr.Amount, pr.Currency, pr.Interval
	}
	// The session is opened even for an account that is subscribed
	// already: Alguna documents no refusal here. Its page refuses instead.
	cs := s.newCheckoutLocked(a, flow, req.Currency, req.AccountEmail, req.SuccessURL, req.PassThroughToken)
	return http.StatusOK, checkoutSessionJSON{CheckoutSessionID: cs.id, URL: s.checkoutURL(cs.id)}
}

// ErrNotFound is returned by CompleteCheckout for a session the server does
// not have.
var ErrNotFound = errors.New("algunatest: not found")

// ErrCheckoutCompleted is returned by CompleteCheckout for a session that
// has already been paid.
var ErrCheckoutCompleted = errors.New("algunatest: checkout session already completed")

// ErrActiveSubscription is returned by CompleteCheckout for a session whose
// account already has an active subscription. Alguna documents no upgrade
// through checkout; the fake refuses a second one rather than bill the same
// period twice, and its hosted pages answer 409 for the same reason.
var ErrActiveSubscription = errors.New("algunatest: account already has an active subscription")

// CompleteCheckout pays a checkout session as the hosted page's Pay button
// does: the session is completed; a subscription, a paid invoice and a
// payment are created; and checkout.session.completed, subscription.created,
// subscription.activated and invoice.paid are sent, in that order. It fails
// with ErrNotFound for an unknown session, ErrCheckoutCompleted for one
// already paid and ErrActiveSubscription when the account is subscribed
// already.
func (s *Server) CompleteCheckout(ctx context.Context, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.completeCheckoutLocked(sessionID)
	return err
}

// activeSubscriptionLocked is the error for opening or paying a checkout
// for an account that is subscribed already, or nil.
func (s *Server) activeSubscriptionLocked(a *account) error {
	if sub := a.currentSubscription(); sub != nil {
		return fmt.Errorf("%w: account %s is subscribed to %s (%s)", ErrActiveSubscription, a.id, sub.name, sub.id)
	}
	return nil
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
	if err := s.activeSubscriptionLocked(a); err != nil {
		return cs, err
	}
	now := s.now()
	flow := cs.flow
	var description string
	if p, ok := s.st.plans[flow.PlanID]; ok {
		description = p.Description
	}
	sub := &subscription{
		id:                newID("sub"),
		accountID:         a.id,
		name:              flow.PlanName,
		description:       description,
		planID:            flow.PlanID,
		status:            alguna.SubscriptionStatusActive,
		currency:          cs.currency,
		amount:            flow.Amount,
		interval:          flow.interval,
		contractStartDate: now,
		activatedAt:       now,
		createdAt:         now,
		updatedAt:         now,
	}
	inv := &invoice{
		id:                 newID("inv"),
		accountID:          a.id,
		subscriptionID:     sub.id,
		currency:           cs.currency,
		description:        flow.PlanName + " subscription",
		billingPeriodStart: now,
		billingPeriodEnd:   periodEnd(now, flow.interval),
		issueDate:          now,
		dueDate:            now, // paid on the spot
		status:             invoicePaid,
		lineItems: []lineItem{{
			id:          newID("li"),
			description: flow.PlanName,
			planID:      flow.PlanID,
			quantity:    decimal.NewFromInt(1),
			unitPrice:   flow.Amount,
		}},
		total:      flow.Amount,
		tax:        decimal.Zero,
		amountPaid: flow.Amount,
		createdAt:  now,
		updatedAt:  now,
	}
	pay := &payment{
		id:        newID("pay"),
		invoiceID: inv.id,
		amount:    flow.Amount,
		currency:  cs.currency,
		status:    "completed",
		createdAt: now,
	}
	s.addSubscriptionLocked(a, sub)
	s.addInvoiceLocked(a, inv)
	a.payments = append(a.payments, pay)
	cs.status = checkoutCompleted
	cs.subscriptionID, cs.invoiceID, cs.paymentID = sub.id, inv.id, pay.id

	s.emitLocked(a.id, alguna.WebhookCheckoutSessionCompleted, checkoutCompletedJSON{
		ID:               cs.id,
		AccountID:        a.id,
		Status:           checkoutCompleted,
		Amount:           formatMoney(flow.Amount),
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
		s.renderMessage(w, http.StatusNotFound, "Checkout flow not found", fmt.Sprintf("There is no checkout flow %s.", quoteShort(flowID)))
		return
	}
	a := s.resolveLocked(accountID)
	if a == nil {
		s.mu.Unlock()
		s.renderMessage(w, http.StatusNotFound, "Account not found", fmt.Sprintf("There is no account %s.", quoteShort(accountID)))
		return
	}
	if sub := a.currentSubscription(); sub != nil {
		s.mu.Unlock()
		s.renderAlreadySubscribed(w, sub.name)
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
	// Card is what the form's fields hold: the test card, or what was
	// typed when the payment was refused.
	Card cardForm
	// Errors says what is wrong with each refused field.
	Errors cardErrors
	// Declined is set when the card was valid but declined.
	Declined bool
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
		Card:         testCard(a.name, s.now()),
	}
}

// checkoutViewOf returns what the pages show of a session; when there is
// no such session it renders the not-found page and reports false.
func (s *Server) checkoutViewOf(w http.ResponseWriter, id string) (checkoutView, bool) {
	view, _, ok := s.checkoutViewAndSubscription(w, id)
	return view, ok
}

// checkoutViewAndSubscription is checkoutViewOf that also returns the name
// of the plan an open session's account is subscribed to already, if any.
func (s *Server) checkoutViewAndSubscription(w http.ResponseWriter, id string) (checkoutView, string, bool) {
	s.mu.Lock()
	cs, ok := s.st.checkouts[id]
	var view checkoutView
	var subscribed string
	if ok {
		view = s.checkoutViewLocked(cs)
		if sub := s.st.accounts[cs.accountID].currentSubscription(); sub != nil && cs.status == checkoutOpen {
			subscribed = sub.name
		}
	}
	s.mu.Unlock()
	if !ok {
		s.renderCheckoutNotFound(w)
	}
	return view, subscribed, ok
}

// renderAlreadySubscribed is the page of a checkout for an account that
// has an active subscription: paying would bill the same period twice.
func (s *Server) renderAlreadySubscribed(w http.ResponseWriter, plan string) {
	s.renderMessage(w, http.StatusConflict, "Already subscribed",
		fmt.Sprintf("This account already has an active %s subscription. Change or cancel it in the billing portal.", plan))
}

func (s *Server) renderCheckoutNotFound(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusNotFound, "Checkout session not found", "This checkout link is not valid.")
}

// checkoutPage is the hosted checkout page a session's url points at.
func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	view, subscribed, ok := s.checkoutViewAndSubscription(w, r.PathValue("id"))
	switch {
	case !ok:
	case subscribed != "":
		s.renderAlreadySubscribed(w, subscribed)
	default:
		s.render(w, http.StatusOK, "checkout.html", view)
	}
}

// checkoutPay is what the page's Pay form posts to. A card the form
// refuses, or the declined test card, shows the page again with the
// reason, and nothing is paid.
func (s *Server) checkoutPay(w http.ResponseWriter, r *http.Request) {
	card, present, err := readCardForm(w, r)
	if err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Payment form could not be read", "Go back to the checkout page and try again.")
		return
	}
	s.mu.Lock()
	if present {
		if view, status, refused := s.refuseCardLocked(r.PathValue("id"), card); refused {
			s.mu.Unlock()
			s.render(w, status, "checkout.html", view)
			return
		}
	}
	cs, err := s.completeCheckoutLocked(r.PathValue("id"))
	var target, subscribed string
	if errors.Is(err, ErrActiveSubscription) {
		subscribed = s.st.accounts[cs.accountID].currentSubscription().name
	}
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
	case errors.Is(err, ErrActiveSubscription):
		s.renderAlreadySubscribed(w, subscribed)
	default:
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// refuseCardLocked decides whether the card posted for session id is
// refused, and if so returns the checkout page to show again. A session
// that is unknown or already paid is left to completeCheckoutLocked, whose
// answer is the same whatever the card.
func (s *Server) refuseCardLocked(id string, card cardForm) (checkoutView, int, bool) {
	cs, ok := s.st.checkouts[id]
	if !ok || cs.status == checkoutCompleted {
		return checkoutView{}, 0, false
	}
	errs := validateCard(card, s.now())
	declined := !errs.Any() && card.declined()
	if !errs.Any() && !declined {
		return checkoutView{}, 0, false
	}
	view := s.checkoutViewLocked(cs)
	view.Card, view.Errors, view.Declined = card.echo(), errs, declined
	if declined {
		return view, http.StatusPaymentRequired, true
	}
	return view, http.StatusUnprocessableEntity, true
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
