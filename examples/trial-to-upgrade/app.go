package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// trialCredits is what a new user gets to try the product (step 2).
var trialCredits = decimal.NewFromInt(50)

// actionCost is what one metered action consumes.
var actionCost = decimal.NewFromInt(1)

// maxFieldLen bounds the sign-up form's name and email, in characters.
const maxFieldLen = 200

// Config is what the app needs to know about its surroundings.
type Config struct {
	// PublicURL is where browsers (and Alguna's redirects) reach the app.
	PublicURL string
	// FlowID is the checkout flow for the no-code upgrade link (option A).
	FlowID string
	// Currency of the checkout.
	Currency string
	// SessionKey signs the session cookies: at least 32 random bytes, the
	// same on every replica (see sessionKeyFromEnv).
	SessionKey []byte
}

// App is a small product with self-serve billing: every route is one step
// of the guide's integration flow.
type App struct {
	cfg      Config
	client   *alguna.Client
	events   *alguna.Batcher
	store    *Store
	sessions *sessions
	webhooks http.Handler
	log      *slog.Logger
}

// NewApp wires the app to Alguna. The Batcher and the webhook verifier are
// created by the caller, who owns their lifetime.
func NewApp(cfg Config, client *alguna.Client, events *alguna.Batcher, verifier *alguna.WebhookVerifier, store *Store, log *slog.Logger) (*App, error) {
	sess, err := newSessions(cfg.SessionKey, strings.HasPrefix(cfg.PublicURL, "https://"))
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, client: client, events: events, store: store, sessions: sess, log: log}
	a.webhooks = a.webhookHandler(verifier)
	return a, nil
}

// Routes returns the app's HTTP routes.
func (a *App) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /signup", a.signup)
	mux.HandleFunc("POST /signup/finish", a.finishSignup)
	mux.HandleFunc("GET /dashboard", a.dashboard)
	mux.HandleFunc("POST /action", a.action)
	mux.HandleFunc("GET /upgrade", a.upgrade)
	mux.HandleFunc("GET /welcome", a.welcome)
	mux.HandleFunc("GET /billing", a.billing)
	mux.HandleFunc("GET /api/me", a.me)
	mux.Handle("POST /webhooks/alguna", a.webhooks)
	return mux
}

// Step 1 and 2: sign-up finds or creates the Alguna account, with the app's
// user id as its alias, and grants the trial credits.
func (a *App) signup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name, nameOK := formField(r, "name")
	email, emailOK := formField(r, "email")
	if emailOK {
		// The address alone, as Alguna takes it: not "Ada <ada@example.com>".
		addr, err := mail.ParseAddress(email)
		emailOK = err == nil && addr.Address == email
	}
	if !nameOK || !emailOK {
		http.Error(w, fmt.Sprintf("a name and an email address are required, of at most %d characters each", maxFieldLen), http.StatusBadRequest)
		return
	}
	u := a.store.Add(name, email, r.FormValue("enterprise") == "on")
	// Signed in before Alguna is called: if a call fails, the page that
	// says so lets the user finish their own sign-up.
	a.sessions.signIn(w, u.ID)
	a.setUp(w, r, u)
}

// formField reads a required field of the sign-up form.
func formField(r *http.Request, name string) (string, bool) {
	v := strings.TrimSpace(r.FormValue(name))
	return v, v != "" && utf8.ValidString(v) && utf8.RuneCountInString(v) <= maxFieldLen
}

// finishSignup runs the sign-up's calls to Alguna again for a user whose
// sign-up stopped half-way: they converge on the account and the grant
// made so far.
func (a *App) finishSignup(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	a.setUp(w, r, u)
}

// setUp makes sure the user has an Alguna account and the trial credits,
// then sends them to the dashboard.
func (a *App) setUp(w http.ResponseWriter, r *http.Request, u User) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	if err := a.provision(ctx, u); err != nil {
		a.log.Error("sign-up not finished", "user", u.ID, "error", err)
		if wantsJSON(r) {
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "sign-up not finished; try again", "finish": "/signup/finish"})
			return
		}
		a.render(w, http.StatusBadGateway, "signup-failed", u)
		return
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// provision finds or creates the user's account and grants the trial once;
// every step is safe to repeat.
func (a *App) provision(ctx context.Context, u User) error {
	if u.AccountID == "" {
		id, created, err := ensureAccount(ctx, a.client, u.ID, u.Name, u.Email)
		if err != nil {
			return err
		}
		if u, err = a.store.SetAccount(u.ID, id); err != nil {
			return err
		}
		a.log.Info("signed up", "user", u.ID, "account", u.AccountID, "created", created)
	}
	g, err := ensureTrialGrant(ctx, a.client, u.AccountID, u.ID)
	if err != nil {
		return err
	}
	a.log.Info("trial credits", "user", u.ID, "grant", g.ID, "amount", g.Amount)
	return nil
}

// Step 3 and 7: the metered action. Users without a subscription spend
// credits; every action is sent to Alguna as a usage event through the
// Batcher.
func (a *App) action(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	if u.AccountID == "" {
		a.notSetUp(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	sub, err := readActiveSubscription(ctx, a.client, u.AccountID)
	if err != nil {
		a.fail(w, r, "checking the subscription", err)
		return
	}
	// Alguna meters usage asynchronously, so its grants alone would let
	// requests that arrive together all pass on the same credits and spend
	// more than the trial. The action reserves its cost in the app's store
	// first, and gives it back if its event is not sent or Alguna refuses
	// it.
	reserved := false
	if sub == nil {
		c, err := readCredits(ctx, a.client, u.AccountID)
		if err != nil {
			a.fail(w, r, "checking credits", err)
			return
		}
		if c.Trial == nil {
			a.notSetUp(w, r)
			return
		}
		if reserved, err = a.store.Reserve(u.ID, c, actionCost); err != nil {
			a.fail(w, r, "reserving credits", err)
			return
		}
		if !reserved {
			if wantsJSON(r) {
				writeJSON(w, http.StatusPaymentRequired, map[string]string{"error": "out of credits", "upgrade": "/upgrade"})
				return
			}
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return
		}
	}

	// ... the product's real work happens here; if it fails, release the
	// reservation as below ...

	err = a.events.Enqueue(r.Context(), alguna.Event{
		Account:   u.AccountID,
		EventName: usageEvent,
		Properties: map[string]any{
			"endpoint": "/v1/analyze",
			"tokens":   1500,
			// Alguna properties are strings and numbers. A trial event is
			// one that reserved credits: releaseUnmetered reads it back.
			"isTrial": strconv.FormatBool(reserved),
		},
	})
	if err != nil {
		if reserved {
			a.store.Release(u.AccountID, actionCost)
		}
		a.fail(w, r, "recording usage", err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"result": "done"})
		return
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// notSetUp answers a request that needs the account or the trial credits
// of a sign-up that has not finished.
func (a *App) notSetUp(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "sign-up not finished", "finish": "/signup/finish"})
		return
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// usageEvent names the action's usage events; Alguna's billable metric
// for the product counts them.
const usageEvent = "api_call"

// releaseUnmetered gives back the credits that usage events reserved when
// Alguna will never meter them. It is the Batcher's OnFailure: Alguna
// refused the events, or they could not be delivered before shutdown.
func releaseUnmetered(store *Store, events []alguna.Event) {
	for _, e := range events {
		if e.EventName == usageEvent && e.Properties["isTrial"] == "true" {
			store.Release(e.Account, actionCost)
		}
	}
}

// Step 4: the upgrade route sends the user to hosted checkout. By default it
// creates a session (option B); ?mode=flow uses the no-code flow link
// (option A).
func (a *App) upgrade(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	if u.AccountID == "" {
		a.notSetUp(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	// A subscriber who follows an old Upgrade link must not pay twice.
	sub, err := readActiveSubscription(ctx, a.client, u.AccountID)
	if err != nil {
		a.fail(w, r, "checking the subscription", err)
		return
	}
	if sub != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	token, err := a.store.CheckoutToken(u.ID)
	if err != nil {
		a.fail(w, r, "saving the checkout token", err)
		return
	}
	if r.URL.Query().Get("mode") == "flow" {
		link, err := a.client.Checkout.FlowURL(a.cfg.FlowID, u.AccountID, token)
		if err != nil {
			a.fail(w, r, "building the checkout link", err)
			return
		}
		http.Redirect(w, r, link, http.StatusSeeOther)
		return
	}
	sess, err := a.client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{
		AccountID:        u.AccountID,
		AccountEmail:     u.Email,
		Currency:         a.cfg.Currency,
		SuccessURL:       a.cfg.PublicURL + "/welcome",
		PassThroughToken: token,
	})
	if err != nil {
		a.fail(w, r, "starting checkout", err)
		return
	}
	a.log.Info("checkout started", "user", u.ID, "session", sess.ID)
	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
}

// Step 8: "Manage billing" opens a fresh portal session. Enterprise
// customers cancel through sales, so their portal has no cancel button.
func (a *App) billing(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	if u.AccountID == "" {
		a.notSetUp(w, r)
		return
	}
	sess, err := a.client.Portal.CreateSession(r.Context(), &alguna.PortalSessionParams{
		AccountID: u.AccountID,
		PlanOverviewSettings: &alguna.PlanOverviewSettings{
			ShowSection:             alguna.Bool(true),
			AllowSubscriptionCancel: alguna.Bool(!u.Enterprise),
		},
	})
	if err != nil {
		a.fail(w, r, "opening the billing portal", err)
		return
	}
	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
}

// The webhook endpoint verifies every delivery and acts on the ones a
// product acts on. It keeps no plan or subscription state: the pages read
// that from Alguna.
func (a *App) webhookHandler(v *alguna.WebhookVerifier) http.Handler {
	h := alguna.NewWebhookHandler(v)
	h.OnCreditsBalanceDepleted(func(ctx context.Context, ev *alguna.WebhookEvent, d *alguna.CreditsBalanceDepleted) error {
		// A product would send the "your trial is over" email here; the
		// dashboard already offers the upgrade, from the grant list.
		a.log.Info("webhook: credits depleted", "account", d.AccountID, "type", d.Type, "webhook", ev.ID)
		return nil
	})
	h.OnCheckoutSessionCompleted(func(ctx context.Context, ev *alguna.WebhookEvent, c *alguna.CheckoutSessionCompleted) error {
		u, ours, matched := a.store.ConfirmCheckout(c.AccountID, c.PassThroughToken)
		switch {
		case !ours:
			// Another app on the same Alguna workspace: acknowledge all the
			// same.
			return nil
		case !matched:
			// Alguna bills it, so the subscription counts, but the app did
			// not start this checkout: someone should know.
			a.log.Warn("webhook: checkout the app did not start", "user", u.ID, "session", c.ID, "invoice", c.InvoiceID)
			return nil
		}
		a.log.Info("webhook: checkout completed", "user", u.ID, "amount", c.Amount.StringFixed(2), "currency", c.Currency, "invoice", c.InvoiceID)
		return nil
	})
	h.OnSubscriptionCreated(func(ctx context.Context, ev *alguna.WebhookEvent, s *alguna.Subscription) error {
		a.log.Info("webhook: subscription created", "account", s.AccountID, "subscription", s.ID)
		return nil
	})
	h.OnSubscriptionCanceled(func(ctx context.Context, ev *alguna.WebhookEvent, s *alguna.Subscription) error {
		// A product would ask why here; access already follows the
		// subscription's status in Alguna.
		a.log.Info("webhook: subscription canceled", "account", s.AccountID, "subscription", s.ID)
		return nil
	})
	h.OnInvoicePaid(func(ctx context.Context, ev *alguna.WebhookEvent, inv *alguna.Invoice) error {
		a.log.Info("webhook: invoice paid", "account", inv.AccountID, "invoice", inv.ID, "total", inv.Total.StringFixed(2))
		return nil
	})
	return h
}

// meView is the /api/me answer: the user and what Alguna holds for them.
type meView struct {
	User
	Billing
}

// me reports the signed-in user with their billing, read from Alguna.
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	b, err := a.readBilling(r.Context(), u)
	if err != nil {
		a.log.Error("reading billing", "user", u.ID, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "billing is unavailable right now; try again shortly"})
		return
	}
	writeJSON(w, http.StatusOK, meView{User: u, Billing: *b})
}

// readBilling is the user's billing: read from Alguna, or, before sign-up
// has made the account, nothing.
func (a *App) readBilling(ctx context.Context, u User) (*Billing, error) {
	if u.AccountID == "" {
		return &Billing{State: StateSettingUp, Invoices: []*alguna.Invoice{}}, nil
	}
	return readBilling(ctx, a.client, u.AccountID, u.Reserved)
}

// currentUser is the user the request's signed session cookie names, or
// false once the answer to the request has been written.
func (a *App) currentUser(w http.ResponseWriter, r *http.Request) (User, bool) {
	if id, err := a.sessions.userID(r); err == nil {
		if u, err := a.store.Get(id); err == nil {
			return u, true
		}
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign up first"})
	} else {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	return User{}, false
}

// fail answers a failed call to Alguna. Validation errors are the app's own
// bugs; anything else is Alguna being unavailable.
func (a *App) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	a.log.Error("request failed", "doing", doing, "error", err)
	status := http.StatusBadGateway
	var ve *alguna.ValidationError
	if errors.As(err, &ve) {
		status = http.StatusInternalServerError
	}
	msg := doing + " failed; please try again"
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, status)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, "home", nil)
}

// dashboardView is what the dashboard shows.
type dashboardView struct {
	User User
	// Billing is nil when Alguna could not be read.
	Billing *Billing
	// Label is the state as the badge words it.
	Label string
	// CanRun is whether the Run button is offered: a run that could only
	// be refused is not.
	CanRun bool
	// ShowCredits is whether the credits left are shown: they limit every
	// user but a subscriber.
	ShowCredits bool
	// Upgrade is the Upgrade button's label, empty when none is offered.
	Upgrade string
}

// stateLabels word each state for the dashboard's badge.
var stateLabels = map[State]string{
	StateSettingUp:   "setting up",
	StateTrial:       "trial",
	StateTrialUsedUp: "trial used up",
	StatePaid:        "paid",
	StateCanceled:    "canceled",
}

func (a *App) dashboard(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	b, err := a.readBilling(r.Context(), u)
	if err != nil {
		// The page still opens, and says what is wrong: the user's data is
		// safe, and a reload in a minute is all it takes.
		a.log.Error("reading billing", "user", u.ID, "error", err)
		a.render(w, http.StatusServiceUnavailable, "dashboard", dashboardView{User: u})
		return
	}
	v := dashboardView{User: u, Billing: b, Label: stateLabels[b.State]}
	switch b.State {
	case StateTrial:
		v.CanRun, v.ShowCredits, v.Upgrade = true, true, "Upgrade"
	case StateTrialUsedUp:
		v.ShowCredits, v.Upgrade = true, "Upgrade"
	case StatePaid:
		v.CanRun = true
	case StateCanceled:
		hasCredits := !b.Available.LessThan(actionCost)
		v.CanRun, v.ShowCredits, v.Upgrade = hasCredits, hasCredits, "Subscribe again"
	}
	a.render(w, http.StatusOK, "dashboard", v)
}

// welcomeView is what the checkout's success page shows.
type welcomeView struct {
	User User
	// Plan is the active subscription's plan, nil until Alguna has one.
	Plan *alguna.Plan
	// CheckFailed is whether Alguna could not be asked this time.
	CheckFailed bool
	// Waiting is whether the page reloads itself to ask again; Next is
	// the next reload's number.
	Waiting bool
	Next    int
}

// welcome is the checkout's success URL. The redirect to it proves nothing
// (anyone can open it), so it asks Alguna for the subscription.
func (a *App) welcome(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	// The page refreshes while the subscription is on its way, for half a
	// minute at most: a page that polls forever helps nobody.
	waited, err := strconv.Atoi(r.URL.Query().Get("wait"))
	if err != nil || waited < 0 {
		// Not a count this page wrote: start over.
		waited = 0
	}
	v := welcomeView{User: u, Waiting: waited < maxWelcomeWait, Next: waited + 1}
	if u.AccountID != "" {
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		sub, err := readActiveSubscription(ctx, a.client, u.AccountID)
		if err == nil && sub != nil {
			v.Plan, err = planOf(ctx, a.client, sub)
		}
		if err != nil {
			a.log.Error("checking the subscription", "user", u.ID, "error", err)
			v.Plan, v.CheckFailed = nil, true
		}
	}
	a.render(w, http.StatusOK, "welcome", v)
}

// maxWelcomeWait is how many one-second refreshes /welcome waits for the
// subscription.
const maxWelcomeWait = 30

func (a *App) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		a.log.Error("rendering", "page", name, "error", err)
	}
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	// date words a day as people read it: 3 March 2026.
	"date": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			return t.Format("2 January 2006")
		case *time.Time:
			if t != nil {
				return t.Format("2 January 2006")
			}
		}
		return ""
	},
	// money is an amount of a currency, to the cent.
	"money": func(d decimal.Decimal) string { return d.StringFixed(2) },
	// credits is a number of credits, without trailing zeros.
	"credits": func(d decimal.Decimal) string { return d.String() },
}).Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme Analyze</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.4}
button,.button{font:inherit;padding:.5rem 1rem;border:1px solid #333;border-radius:.4rem;background:#fff;color:#000;text-decoration:none;cursor:pointer;display:inline-block}
.plan{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eee}
.notice{padding:.75rem 1rem;border-radius:.4rem;background:#fff4e5;border:1px solid #f0b354}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
.total{text-align:right;white-space:nowrap}</style></head><body><h1>Acme Analyze</h1>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "home"}}{{template "top"}}
<p>Analyze anything. Start with 50 free runs.</p>
<form method="post" action="/signup">
<p><label>Name <input name="name" id="name" required maxlength="200"></label></p>
<p><label>Email <input name="email" id="email" type="email" required maxlength="200"></label></p>
<p><label><input type="checkbox" name="enterprise" id="enterprise"> Enterprise customer</label></p>
<p><button id="signup" type="submit">Start free trial</button></p>
</form>{{template "bottom"}}{{end}}

{{define "signup-failed"}}{{template "top"}}
<p id="signup-failed" class="notice">We could not finish setting up your account, {{.Name}}: our billing provider did not answer. Nothing was charged, and trying again picks up where this left off.</p>
<form method="post" action="/signup/finish"><button id="finish-signup" type="submit">Try again</button></form>
{{template "bottom"}}{{end}}

{{define "dashboard"}}{{template "top"}}
{{$b := .Billing}}
<p>Signed in as <strong id="user-name">{{.User.Name}}</strong>{{with $b}} &middot; <span class="plan" id="plan" data-state="{{.State}}">{{$.Label}}</span>{{end}}</p>
{{if not $b}}
<p id="billing-unavailable" class="notice">We can't reach our billing provider right now, so your plan, invoices and credits can't be shown. Nothing is lost: <a id="retry" href="/dashboard">try again</a> in a minute.</p>
{{else if eq $b.State "setting_up"}}
<p id="setting-up" class="notice">Your sign-up has not finished: your account and trial credits are not ready yet.</p>
<form method="post" action="/signup/finish"><button id="finish-signup" type="submit">Finish signing up</button></form>
{{else}}
{{if eq $b.State "trial"}}<p id="trial">You're on the free trial. Each analysis uses one credit.</p>
{{else if eq $b.State "trial_used_up"}}<p id="upgrade-needed">Your trial credits are used up. Upgrade to keep analyzing.</p>
{{else if eq $b.State "paid"}}<p id="subscribed">You're subscribed to <strong id="plan-name">{{$b.Plan.Name}}</strong>{{with $b.Subscription.ActivatedAt}} since {{date .}}{{end}}. Every analysis is included in your plan.</p>
{{else if eq $b.State "canceled"}}<p id="subscription-ended">Your <strong id="plan-name">{{$b.Plan.Name}}</strong> subscription {{with $b.Subscription.EndedAt}}ended on {{date .}}{{else}}has ended{{end}}. Subscribe again to keep analyzing without limits.</p>
{{end}}
{{if .ShowCredits}}<p>Credits left: <strong id="balance">{{credits $b.Available}}</strong></p>{{end}}
{{with $b.Subscription}}<div id="subscription" data-subscription-id="{{.ID}}" data-status="{{.Status}}" hidden></div>{{end}}
{{if .CanRun}}<form method="post" action="/action"><button id="run" type="submit">Run an analysis</button></form>{{end}}
<p>{{with .Upgrade}}<a class="button" id="upgrade" href="/upgrade">{{.}}</a>
<a id="upgrade-flow" href="/upgrade?mode=flow">or use the checkout link</a>{{end}}
<a class="button" id="manage-billing" href="/billing">Manage billing</a></p>
{{if $b.Invoices}}<h2>Invoices</h2>
<table id="invoices"><thead><tr><th>Date</th><th>Description</th><th>Status</th><th class="total">Total</th></tr></thead><tbody>
{{range $b.Invoices}}<tr data-invoice-id="{{.ID}}" data-status="{{.Status}}"><td>{{date .CreatedAt}}</td><td>{{.Description}}</td><td>{{.Status}}</td><td class="total">{{money .Total}} {{.Currency}}</td></tr>
{{end}}</tbody></table>{{end}}
{{end}}
{{template "bottom"}}{{end}}

{{define "welcome"}}{{template "top"}}
{{if .Plan}}<p id="welcome">Welcome to Acme Analyze {{.Plan.Name}}, {{.User.Name}}! Your subscription is active.</p>
{{else if .Waiting}}<meta http-equiv="refresh" content="1; url=/welcome?wait={{.Next}}">
{{if .CheckFailed}}<p id="check-failed">We could not reach our billing provider to check your payment. Trying again&hellip;</p>
{{else}}<p id="confirming">Confirming your payment&hellip;</p>{{end}}
{{else}}<p id="not-confirmed">We have not heard about a payment yet. If you paid, it will show on your dashboard as soon as it is confirmed.</p>{{end}}
<p><a href="/dashboard">Back to the dashboard</a></p>{{template "bottom"}}{{end}}
`))
