package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// paidActions is how much a subscriber uses the product after upgrading.
const paidActions = 20

// visitor is the simulated user: a browser without the rendering, so
// redirects are seen rather than followed.
type visitor struct {
	base string
	http *http.Client
}

func newVisitor(base string) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{base: base, http: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// walkthrough drives the app through the guide's eight steps, printing one
// line per step with what Alguna holds, and fails with the step that went
// wrong.
func walkthrough(ctx context.Context, out io.Writer, inst *instance, fake *algunatest.Server) error {
	v := newVisitor(inst.publicURL)
	step := func(n int, title, format string, args ...any) {
		fmt.Fprintf(out, "%d. %-15s %s\n", n, title, fmt.Sprintf(format, args...))
	}
	more := func(format string, args ...any) {
		fmt.Fprintf(out, "   %-15s %s\n", "", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(out, "Alguna (bundled fake) at %s; the app at %s\n\n", fake.URL, inst.publicURL)

	// 1. Sign-up finds or creates the account.
	resp, err := v.postForm(ctx, "/signup", url.Values{"name": {"Acme Corp"}, "email": {"billing@acme.com"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Location != "/dashboard" {
		return stepErr(1, "sign-up", resp, err)
	}
	me, err := v.me(ctx)
	if err != nil {
		return stepErr(1, "sign-up", answer{}, err)
	}
	found, err := inst.client.Accounts.Lookup(ctx, me.ID)
	if err != nil {
		return fmt.Errorf("step 1 (sign-up): looking up the alias %s: %w", me.ID, err)
	}
	if found != me.AccountID {
		return fmt.Errorf("step 1 (sign-up): Alguna finds %s by the alias %s, want %s", found, me.ID, me.AccountID)
	}
	step(1, "Sign-up", "user %s → Alguna account %s, which Accounts.Lookup finds by that alias", me.ID, me.AccountID)

	// 2. Trial credits, as the account's grant list shows them.
	trial := me.Credits.Trial
	if me.State != StateTrial || trial == nil || !trial.Amount.Equal(trialCredits) || !me.Available.Equal(trialCredits) {
		return fmt.Errorf("step 2 (trial credits): state %s, trial grant %+v, available %s; want %s with %s", me.State, trial, me.Available, StateTrial, trialCredits)
	}
	step(2, "Trial credits", "grant %s %q: %s units, %s left (Credits.ListGrants)", trial.ID, trial.Reason, trial.Amount, trial.RemainingAmount.Decimal)

	// 3. The user uses the product until the credits are spent.
	runs := int(trialCredits.IntPart())
	for i := 0; i < runs; i++ {
		if resp, err := v.postJSON(ctx, "/action"); err != nil || resp.StatusCode != http.StatusOK {
			return stepErr(3, fmt.Sprintf("metered action %d", i+1), resp, err)
		}
	}
	if err := inst.events.Flush(ctx); err != nil {
		return fmt.Errorf("step 3 (usage): %w", err)
	}
	me, err = v.me(ctx)
	if err != nil {
		return stepErr(3, "usage", answer{}, err)
	}
	trial = me.Credits.Trial
	step(3, "Usage", "%d analyses sent as %s events (isTrial=true); the trial grant has %s of %s left (%s)", runs, usageEvent, trial.RemainingAmount.Decimal, trial.Amount, trial.Status)

	// 4. Alguna says the credits ran out.
	if err := fake.FlushWebhooks(ctx); err != nil {
		return fmt.Errorf("step 4 (depletion webhook): %w", err)
	}
	if !delivered(fake, alguna.WebhookCreditsBalanceDepleted, me.AccountID) {
		return fmt.Errorf("step 4 (depletion webhook): %s not answered by the app", alguna.WebhookCreditsBalanceDepleted)
	}
	if me.State != StateTrialUsedUp {
		return fmt.Errorf("step 4 (depleted): state %s, want %s", me.State, StateTrialUsedUp)
	}
	resp, err = v.postJSON(ctx, "/action")
	if err != nil || resp.StatusCode != http.StatusPaymentRequired {
		return stepErr(4, "action after depletion", resp, err)
	}
	step(4, "Depleted", "webhook %s answered; the dashboard says %s; the next action gets 402", alguna.WebhookCreditsBalanceDepleted, me.State)

	// 5. Upgrade: the app redirects to hosted checkout, where the user pays.
	// The no-code alternative (option A) is a plain link to the checkout flow.
	resp, err = v.get(ctx, "/upgrade?mode=flow")
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return stepErr(5, "checkout flow link", resp, err)
	}
	flowLink := resp.Location
	resp, err = v.get(ctx, "/upgrade")
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return stepErr(5, "upgrade redirect", resp, err)
	}
	checkoutURL := resp.Location
	landing, err := v.pay(ctx, checkoutURL)
	if err != nil {
		return fmt.Errorf("step 5 (hosted checkout): %w", err)
	}
	step(5, "Checkout", "/upgrade → %s; paid there → back to %s", checkoutURL, landing)
	more("(the no-code flow link would be %s)", flowLink)

	// 6. Alguna has the subscription, and its webhook confirms the checkout
	// the app started.
	me, err = v.waitFor(ctx, func(m meView) bool { return m.State == StatePaid })
	if err != nil {
		return fmt.Errorf("step 6 (subscription): %w", err)
	}
	if err := fake.FlushWebhooks(ctx); err != nil {
		return fmt.Errorf("step 6 (checkout webhook): %w", err)
	}
	u, err := inst.store.Get(me.ID)
	if err != nil {
		return fmt.Errorf("step 6 (checkout webhook): %w", err)
	}
	if u.CheckoutToken != "" {
		return errors.New("step 6 (checkout webhook): the pass-through token was not confirmed")
	}
	if len(me.Invoices) != 1 {
		return fmt.Errorf("step 6 (subscription): %d paid invoices, want 1", len(me.Invoices))
	}
	inv := me.Invoices[0]
	step(6, "Subscribed", "Subscriptions.List: %s %s on plan %s (Plans.Get)", me.Subscription.ID, me.Subscription.Status, me.Plan.Name)
	more("Invoices.List: %s %s, %s %s; webhook %s carried the pass-through token", inv.ID, inv.Status, inv.Total.StringFixed(2), inv.Currency, alguna.WebhookCheckoutSessionCompleted)

	// 7. Usage keeps flowing, now billed on the subscription.
	for i := 0; i < paidActions; i++ {
		if resp, err := v.postJSON(ctx, "/action"); err != nil || resp.StatusCode != http.StatusOK {
			return stepErr(7, fmt.Sprintf("paid action %d", i+1), resp, err)
		}
	}
	if err := inst.events.Flush(ctx); err != nil {
		return fmt.Errorf("step 7 (usage): %w", err)
	}
	held := 0
	for _, e := range fake.Events() {
		if e.Account == me.AccountID {
			held++
		}
	}
	step(7, "Usage billed", "%d more analyses sent; Alguna holds %d events for %s", paidActions, held, me.AccountID)

	// 8. Manage billing opens the customer portal.
	resp, err = v.get(ctx, "/billing")
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return stepErr(8, "billing redirect", resp, err)
	}
	portalURL := resp.Location
	page, err := v.page(ctx, portalURL)
	if err != nil {
		return fmt.Errorf("step 8 (portal): %w", err)
	}
	cancel := "a cancel button"
	if !strings.Contains(page, `id="cancel-subscription"`) {
		cancel = "no cancel button"
	}
	step(8, "Portal", "/billing → %s (subscription, invoices, billing details; %s)", portalURL, cancel)
	fmt.Fprintln(out, "\nAll eight steps of the guide done.")
	return nil
}

// delivered reports whether the app answered a webhook of type typ about
// accountID with success.
func delivered(fake *algunatest.Server, typ, accountID string) bool {
	for _, d := range fake.Deliveries() {
		if d.Type == typ && d.Status == algunatest.DeliverySucceeded && d.AccountID == accountID {
			return true
		}
	}
	return false
}

func (v *visitor) me(ctx context.Context) (meView, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+"/api/me", nil)
	if err != nil {
		return meView{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return meView{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return meView{}, fmt.Errorf("GET /api/me: %s", resp.Status)
	}
	var m meView
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// waitFor polls the user's state until cond holds: Alguna's answers
// change when they change.
func (v *visitor) waitFor(ctx context.Context, cond func(meView) bool) (meView, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		m, err := v.me(ctx)
		if err == nil && cond(m) {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("still %s: %w", m.State, ctx.Err())
		case <-tick.C:
		}
	}
}

var (
	formPattern  = regexp.MustCompile(`(?s)<form[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>`)
	inputPattern = regexp.MustCompile(`<input[^>]*>`)
	attrPattern  = regexp.MustCompile(`\b(name|value)="([^"]*)"`)
)

// pay opens the hosted checkout page and submits its form, as a person
// pressing Pay would, and returns where the page sends the browser.
func (v *visitor) pay(ctx context.Context, checkoutURL string) (string, error) {
	page, err := v.page(ctx, checkoutURL)
	if err != nil {
		return "", err
	}
	m := formPattern.FindStringSubmatch(page)
	if m == nil {
		return "", errors.New("the checkout page has no form")
	}
	action, err := url.Parse(checkoutURL)
	if err != nil {
		return "", err
	}
	action, err = action.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return "", err
	}
	form := url.Values{}
	for _, input := range inputPattern.FindAllString(m[2], -1) {
		var name, value string
		for _, a := range attrPattern.FindAllStringSubmatch(input, -1) {
			if a[1] == "name" {
				name = html.UnescapeString(a[2])
			} else {
				value = html.UnescapeString(a[2])
			}
		}
		if name != "" {
			form.Set(name, value)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("paying answered %s", resp.Status)
	}
	return resp.Location, nil
}

func (v *visitor) page(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(body), nil
}

func (v *visitor) get(ctx context.Context, path string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+path, nil)
	if err != nil {
		return answer{}, err
	}
	return v.do(req)
}

func (v *visitor) postForm(ctx context.Context, path string, form url.Values) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

func (v *visitor) postJSON(ctx context.Context, path string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Accept", "application/json")
	return v.do(req)
}

// do sends a request and drains the answer: the walkthrough looks only at
// status and headers.
func (v *visitor) do(req *http.Request) (answer, error) {
	resp, err := v.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return answer{StatusCode: resp.StatusCode, Status: resp.Status, Location: resp.Header.Get("Location")}, nil
}

// answer is what the walkthrough looks at in a response: the status and
// where a redirect points.
type answer struct {
	StatusCode int
	Status     string
	Location   string
}

// stepErr names the step that failed and why.
func stepErr(n int, what string, resp answer, err error) error {
	if err != nil {
		return fmt.Errorf("step %d (%s): %w", n, what, err)
	}
	return fmt.Errorf("step %d (%s): unexpected answer %s", n, what, resp.Status)
}
