package main

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// trialCredits is what a new user gets to try the product (step 2).
var trialCredits = decimal.NewFromInt(50)

// actionCost is what one metered action consumes.
var actionCost = decimal.NewFromInt(1)

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
	mux.HandleFunc("GET /dashboard", a.dashboard)
	mux.HandleFunc("POST /action", a.action)
	mux.HandleFunc("GET /upgrade", a.upgrade)
	mux.HandleFunc("GET /welcome", a.welcome)
	mux.HandleFunc("GET /billing", a.billing)
	mux.HandleFunc("GET /api/me", a.me)
	mux.Handle("POST /webhooks/alguna", a.webhooks)
	return mux
}

// Step 1 and 2: sign-up creates the Alguna account, with the app's user id
// as its alias, and grants the trial credits.
func (a *App) signup(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	email := strings.TrimSpace(r.FormValue("email"))
	if name == "" || email == "" {
		http.Error(w, "name and email are required", http.StatusBadRequest)
		return
	}
	u := a.store.Add(name, email, r.FormValue("enterprise") == "on")

	acc, err := a.client.Accounts.Create(r.Context(), &alguna.AccountCreateParams{Name: name, Email: email, Alias: u.ID},
		// Keyed by our user id: a retried sign-up never makes a second account.
		alguna.WithIdempotencyKey("signup-"+u.ID))
	if err != nil {
		a.fail(w, "creating the Alguna account", err)
		return
	}
	if _, err := a.store.Update(u.ID, func(u *User) { u.AccountID = acc.ID }); err != nil {
		a.fail(w, "saving the account id", err)
		return
	}
	if _, err := a.client.Credits.Grant(r.Context(), acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     trialCredits,
		Reason:     "Welcome credits",
	}, alguna.WithIdempotencyKey("trial-credits-"+u.ID)); err != nil {
		a.fail(w, "granting trial credits", err)
		return
	}
	// Recorded only once Alguna has the grant: a Granted higher than what
	// Alguna granted would let the user spend credits they do not have.
	if _, err := a.store.Update(u.ID, func(u *User) { u.Granted = trialCredits }); err != nil {
		a.fail(w, "saving the trial grant", err)
		return
	}
	a.log.Info("signed up", "user", u.ID, "account", acc.ID)
	a.sessions.signIn(w, u.ID)
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// Step 3 and 7: the metered action. Users without a subscription spend
// credits; every action is sent to Alguna as a usage event through the
// Batcher.
func (a *App) action(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	// Alguna meters usage asynchronously, so checking its balance alone
	// would let requests that arrive together all pass on the same balance
	// and spend more than the trial. The action reserves its cost in the
	// app's store first, and gives it back if its event is not sent or
	// Alguna refuses it.
	reserved := false
	if u.Plan != PlanPaid {
		av, err := a.client.Credits.Availability(r.Context(), u.AccountID, alguna.CreditTypeUnits, actionCost)
		if err != nil {
			a.fail(w, "checking credits", err)
			return
		}
		if av.Available {
			if reserved, err = a.store.Reserve(u.ID, av.Balance, actionCost); err != nil {
				a.fail(w, "reserving credits", err)
				return
			}
		}
		if !reserved {
			// The depletion webhook may not have arrived yet; the credits
			// are spent, so act on it now.
			a.store.Transition(u.AccountID, PlanTrial, PlanNeedsUpgrade)
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

	err := a.events.Enqueue(r.Context(), alguna.Event{
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
		a.fail(w, "recording usage", err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"result": "done"})
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
	// One token per user until they have paid: every checkout they open,
	// in another tab or after going back, carries it, so whichever one they
	// pay is recognised.
	u, err := a.store.Update(u.ID, func(u *User) {
		if u.CheckoutToken == "" {
			u.CheckoutToken = newToken()
		}
	})
	if err != nil {
		a.fail(w, "saving the checkout token", err)
		return
	}
	token := u.CheckoutToken
	if r.URL.Query().Get("mode") == "flow" {
		link, err := a.client.Checkout.FlowURL(a.cfg.FlowID, u.AccountID, token)
		if err != nil {
			a.fail(w, "building the checkout link", err)
			return
		}
		http.Redirect(w, r, link, http.StatusSeeOther)
		return
	}
	sess, err := a.client.Checkout.CreateSession(r.Context(), &alguna.CheckoutSessionParams{
		AccountID:        u.AccountID,
		AccountEmail:     u.Email,
		Currency:         a.cfg.Currency,
		SuccessURL:       a.cfg.PublicURL + "/welcome",
		PassThroughToken: token,
	})
	if err != nil {
		a.fail(w, "starting checkout", err)
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
	sess, err := a.client.Portal.CreateSession(r.Context(), &alguna.PortalSessionParams{
		AccountID: u.AccountID,
		PlanOverviewSettings: &alguna.PlanOverviewSettings{
			ShowSection:             alguna.Bool(true),
			AllowSubscriptionCancel: alguna.Bool(!u.Enterprise),
		},
	})
	if err != nil {
		a.fail(w, "opening the billing portal", err)
		return
	}
	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
}

// Steps 3 and 6 arrive as webhooks.
func (a *App) webhookHandler(v *alguna.WebhookVerifier) http.Handler {
	h := alguna.NewWebhookHandler(v)
	h.OnCreditsBalanceDepleted(func(ctx context.Context, ev *alguna.WebhookEvent, d *alguna.CreditsBalanceDepleted) error {
		// Not one of ours: acknowledge all the same.
		if u, ok := a.store.Transition(d.AccountID, PlanTrial, PlanNeedsUpgrade); ok {
			a.log.Info("webhook: credits depleted", "user", u.ID, "account", d.AccountID, "webhook", ev.ID)
		}
		return nil
	})
	h.OnCheckoutSessionCompleted(func(ctx context.Context, ev *alguna.WebhookEvent, c *alguna.CheckoutSessionCompleted) error {
		u, ours, matched := a.store.Upgrade(c.AccountID, c.PassThroughToken)
		switch {
		case !ours:
			return nil
		case !matched:
			// Acknowledge, but grant nothing: this is not the checkout we
			// started for this user.
			a.log.Warn("webhook: checkout with an unknown pass-through token", "user", u.ID, "session", c.ID)
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
		// Paid access ends with the subscription; usage is gated by credits
		// again, and the dashboard offers the upgrade.
		if u, ok := a.store.Transition(s.AccountID, PlanPaid, PlanNeedsUpgrade); ok {
			a.log.Info("webhook: subscription canceled", "user", u.ID, "subscription", s.ID)
		}
		return nil
	})
	h.OnInvoicePaid(func(ctx context.Context, ev *alguna.WebhookEvent, inv *alguna.Invoice) error {
		a.log.Info("webhook: invoice paid", "account", inv.AccountID, "invoice", inv.ID, "total", inv.Total.StringFixed(2))
		return nil
	})
	return h
}

// me reports the signed-in user's state, with their live credit balance
// and what they can still spend of it.
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	u, balance, ok := a.currentUserAndBalance(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		User
		Balance   decimal.Decimal `json:"balance"`
		Available decimal.Decimal `json:"available"`
	}{u, balance, u.Spendable(balance)})
}

// currentUserAndBalance is the signed-in user with their live balance of
// trial units, or false once the answer to the request has been written.
func (a *App) currentUserAndBalance(w http.ResponseWriter, r *http.Request) (User, decimal.Decimal, bool) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return User{}, decimal.Decimal{}, false
	}
	bal, err := a.client.Credits.Balance(r.Context(), u.AccountID, alguna.CreditTypeUnits)
	if err != nil {
		a.fail(w, "reading the balance", err)
		return User{}, decimal.Decimal{}, false
	}
	return u, bal.Balance, true
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
func (a *App) fail(w http.ResponseWriter, doing string, err error) {
	a.log.Error("request failed", "doing", doing, "error", err)
	status := http.StatusBadGateway
	var ve *alguna.ValidationError
	if errors.As(err, &ve) {
		status = http.StatusInternalServerError
	}
	http.Error(w, doing+" failed; please try again", status)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Analyze</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
button,.button{font:inherit;padding:.5rem 1rem;border:1px solid #333;border-radius:.4rem;background:#fff;color:#000;text-decoration:none;cursor:pointer}
.plan{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eee}</style></head><body><h1>Acme Analyze</h1>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "home"}}{{template "top"}}
<p>Analyze anything. Start with 50 free runs.</p>
<form method="post" action="/signup">
<p><label>Name <input name="name" id="name" required></label></p>
<p><label>Email <input name="email" id="email" type="email" required></label></p>
<p><label><input type="checkbox" name="enterprise" id="enterprise"> Enterprise customer</label></p>
<p><button id="signup" type="submit">Start free trial</button></p>
</form>{{template "bottom"}}{{end}}

{{define "dashboard"}}{{template "top"}}
<p>Signed in as <strong>{{.User.Name}}</strong> &middot; plan <span class="plan" id="plan">{{.User.Plan}}</span></p>
<p>Credits left: <strong id="balance">{{.Balance}}</strong></p>
{{if eq .User.Plan "needs_upgrade"}}<p id="upgrade-needed">Your trial credits are used up. Upgrade to keep going.</p>{{end}}
<form method="post" action="/action"><button id="run" type="submit">Run an analysis</button></form>
<p>{{if ne .User.Plan "paid"}}<a class="button" id="upgrade" href="/upgrade">Upgrade</a>
<a id="upgrade-flow" href="/upgrade?mode=flow">or use the checkout link</a>{{end}}
<a class="button" id="manage-billing" href="/billing">Manage billing</a></p>
{{template "bottom"}}{{end}}

{{define "welcome"}}{{template "top"}}
{{if eq .User.Plan "paid"}}<p id="welcome">Welcome to Acme Analyze Pro, {{.User.Name}}! Your subscription is active.</p>
{{else if .Waiting}}<meta http-equiv="refresh" content="1; url=/welcome?wait={{.Next}}"><p id="confirming">Confirming your payment&hellip;</p>
{{else}}<p id="not-confirmed">We have not heard about a payment yet. If you paid, it will show on your dashboard as soon as it is confirmed.</p>{{end}}
<p><a href="/dashboard">Back to the dashboard</a></p>{{template "bottom"}}{{end}}
`))

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, "home", nil)
}

func (a *App) dashboard(w http.ResponseWriter, r *http.Request) {
	u, balance, ok := a.currentUserAndBalance(w, r)
	if !ok {
		return
	}
	// What the user can still spend: Alguna's balance may not show the
	// latest actions yet.
	a.render(w, "dashboard", map[string]any{"User": u, "Balance": u.Spendable(balance)})
}

// welcome is the checkout's success URL. The payment is confirmed by the
// webhook, not by the redirect, which anyone could open.
func (a *App) welcome(w http.ResponseWriter, r *http.Request) {
	u, ok := a.currentUser(w, r)
	if !ok {
		return
	}
	// The page refreshes while the webhook is on its way, for half a minute
	// at most: the redirect alone proves nothing, and a page that polls
	// forever helps nobody.
	waited, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	a.render(w, "welcome", map[string]any{"User": u, "Waiting": waited < maxWelcomeWait, "Next": waited + 1})
}

// maxWelcomeWait is how many one-second refreshes /welcome waits for the
// payment webhook.
const maxWelcomeWait = 30

func (a *App) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		a.log.Error("rendering", "page", name, "error", err)
	}
}
