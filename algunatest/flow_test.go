package algunatest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// inbox collects what an app's WebhookHandler was handed.
type inbox struct {
	mu     sync.Mutex
	events []*alguna.WebhookEvent
	data   []any
}

func (in *inbox) add(e *alguna.WebhookEvent, data any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.events = append(in.events, e)
	in.data = append(in.data, data)
}

func (in *inbox) types() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for _, e := range in.events {
		out = append(out, e.Type)
	}
	return out
}

// find returns the payload of the last event of one type.
func find[T any](t *testing.T, in *inbox, eventType string) *T {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := len(in.events) - 1; i >= 0; i-- {
		if in.events[i].Type == eventType {
			v, ok := in.data[i].(*T)
			require.True(t, ok, "%s carried %T", eventType, in.data[i])
			return v
		}
	}
	t.Fatalf("no %s event received; got %v", eventType, in.events)
	return nil
}

// app is the user's application: its webhook endpoint is the SDK's
// WebhookHandler, and it has the page checkout sends the customer back to.
type app struct {
	*httptest.Server
	inbox    *inbox
	mu       sync.Mutex
	welcomed []string // raw queries of /welcome visits
}

func newApp(t *testing.T, srv *algunatest.Server) *app {
	t.Helper()
	v, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	require.NoError(t, err)
	h := alguna.NewWebhookHandler(v)
	a := &app{inbox: &inbox{}}
	h.OnCreditsBalanceDepleted(func(_ context.Context, e *alguna.WebhookEvent, d *alguna.CreditsBalanceDepleted) error {
		a.inbox.add(e, d)
		return nil
	})
	h.OnCheckoutSessionCompleted(func(_ context.Context, e *alguna.WebhookEvent, d *alguna.CheckoutSessionCompleted) error {
		a.inbox.add(e, d)
		return nil
	})
	h.OnSubscriptionCreated(func(_ context.Context, e *alguna.WebhookEvent, d *alguna.Subscription) error {
		a.inbox.add(e, d)
		return nil
	})
	h.OnSubscriptionCanceled(func(_ context.Context, e *alguna.WebhookEvent, d *alguna.Subscription) error {
		a.inbox.add(e, d)
		return nil
	})
	h.OnInvoicePaid(func(_ context.Context, e *alguna.WebhookEvent, d *alguna.Invoice) error {
		a.inbox.add(e, d)
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/alguna", h)
	mux.HandleFunc("GET /welcome", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.welcomed = append(a.welcomed, r.URL.RawQuery)
		a.mu.Unlock()
		_, _ = io.WriteString(w, "welcome aboard")
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// browser is a customer's browser: it follows redirects and keeps its
// connections only for the test.
func browser(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, url string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Request.URL.String()
}

// formAction finds the action of the form with the given id on a page.
func formAction(t *testing.T, base, page, formID string) string {
	t.Helper()
	m := regexp.MustCompile(`<form id="` + formID + `" method="post" action="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "no form %s on the page", formID)
	return base + m[1]
}

// TestGuideFlow runs the self-serve guide's eight steps against the fake,
// as a user's test would, receiving the webhooks in the SDK's
// WebhookHandler.
func TestGuideFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := algunatest.NewServer()
	defer srv.Close()
	myApp := newApp(t, srv)
	srv.AddWebhookEndpoint(myApp.URL + "/webhooks/alguna")
	srv.SetMetric(algunatest.Metric{EventName: "api_call"})
	client := srv.Client()

	// 1. The user signs up: create the account.
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com", Alias: "user-123"})
	require.NoError(t, err)

	// 2. Grant trial credits.
	_, err = client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	})
	require.NoError(t, err)
	avail, err := client.Credits.Availability(ctx, acc.ID, alguna.CreditTypeUnits, decimal.NewFromInt(10))
	require.NoError(t, err)
	require.True(t, avail.Available)

	// 3. The user uses the product: send usage events, by alias.
	events := make([]alguna.Event, 50)
	for i := range events {
		events[i] = alguna.Event{Account: "user-123", EventName: "api_call", Properties: map[string]any{"endpoint": "/v1/analyze"}}
	}
	res, err := client.Events.Ingest(ctx, events)
	require.NoError(t, err)
	require.Len(t, res.Ingested, 50)

	// 4. Credits are depleted: the webhook arrives.
	require.NoError(t, srv.FlushWebhooks(ctx))
	depleted := find[alguna.CreditsBalanceDepleted](t, myApp.inbox, alguna.WebhookCreditsBalanceDepleted)
	require.Equal(t, acc.ID, depleted.AccountID)
	require.True(t, depleted.Amount.IsZero())
	require.Equal(t, alguna.CreditTypeUnits, depleted.Type)
	bal, err := client.Credits.Balance(ctx, acc.ID, alguna.CreditTypeUnits)
	require.NoError(t, err)
	require.True(t, bal.Balance.IsZero())
	// The grant list says the same: the trial grant is used up.
	grants, err := client.Credits.ListGrants(ctx, acc.ID, nil)
	require.NoError(t, err)
	require.Len(t, grants.Data, 1)
	require.Equal(t, alguna.CreditGrantStatusExhausted, grants.Data[0].Status)
	require.True(t, grants.Data[0].RemainingAmount.Valid)
	require.True(t, grants.Data[0].RemainingAmount.Decimal.IsZero())
	require.Equal(t, "Welcome credits", grants.Data[0].Reason)
	// Before checkout there is no subscription.
	active, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: acc.ID, Status: alguna.SubscriptionStatusActive})
	require.NoError(t, err)
	require.Empty(t, active.Data)

	// 5. Redirect to hosted checkout, and the customer pays.
	sess, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{
		AccountID: acc.ID, AccountEmail: "billing@acme.com", Currency: "USD",
		SuccessURL: myApp.URL + "/welcome", PassThroughToken: "signup-123",
	})
	require.NoError(t, err)
	b := browser(t)
	status, page, _ := fetch(t, b, http.MethodGet, sess.URL)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "49.00")
	status, body, landed := fetch(t, b, http.MethodPost, formAction(t, srv.URL, page, "checkout-form"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, myApp.URL+"/welcome", landed, "the browser is back in the app")
	require.Equal(t, "welcome aboard", body)

	// 6. The user subscribes: the webhooks confirm it.
	require.NoError(t, srv.FlushWebhooks(ctx))
	completed := find[alguna.CheckoutSessionCompleted](t, myApp.inbox, alguna.WebhookCheckoutSessionCompleted)
	require.Equal(t, sess.ID, completed.ID)
	require.Equal(t, acc.ID, completed.AccountID)
	require.Equal(t, "completed", completed.Status)
	require.Equal(t, "49", completed.Amount.String())
	require.Equal(t, "signup-123", completed.PassThroughToken)
	sub := find[alguna.Subscription](t, myApp.inbox, alguna.WebhookSubscriptionCreated)
	require.Equal(t, alguna.SubscriptionStatusActive, sub.Status)
	inv := find[alguna.Invoice](t, myApp.inbox, alguna.WebhookInvoicePaid)
	require.Equal(t, completed.InvoiceID, inv.ID)
	require.Equal(t, alguna.InvoiceStatusPaid, inv.Status)

	// What the product reads from Alguna rather than storing: one active
	// subscription, on the plan it bought, and the paid invoice.
	active, err = client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: acc.ID, Status: alguna.SubscriptionStatusActive})
	require.NoError(t, err)
	require.Len(t, active.Data, 1)
	require.Equal(t, sub.ID, active.Data[0].ID)
	plan, err := client.Plans.Get(ctx, active.Data[0].PlanID)
	require.NoError(t, err)
	require.Equal(t, "Pro", plan.Name)
	paid, err := client.Invoices.List(ctx, &alguna.InvoiceListParams{AccountID: acc.ID, Status: alguna.InvoiceStatusPaid})
	require.NoError(t, err)
	require.Len(t, paid.Data, 1)
	require.Equal(t, inv.ID, paid.Data[0].ID)
	full, err := client.Invoices.Get(ctx, inv.ID)
	require.NoError(t, err)
	require.Equal(t, "49", full.Total.String())
	require.True(t, full.AmountPaid.Valid)
	require.True(t, full.AmountPaid.Decimal.Equal(full.Total), "paid in full")
	require.True(t, full.AmountRemaining.Decimal.IsZero())
	require.Len(t, full.LineItems, 1)
	require.Equal(t, plan.ID, full.LineItems[0].PlanID)

	// 7. Usage continues; past the trial it is overage, billed by Alguna.
	_, err = client.Events.Ingest(ctx, []alguna.Event{{Account: acc.ID, EventName: "api_call"}})
	require.NoError(t, err)
	require.Equal(t, "1", srv.Overage(acc.ID, alguna.CreditTypeUnits).String())

	// 8. "Manage billing": the portal, where the user cancels.
	portal, err := client.Portal.CreateSession(ctx, &alguna.PortalSessionParams{AccountID: acc.ID})
	require.NoError(t, err)
	status, page, _ = fetch(t, b, http.MethodGet, portal.URL)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `data-invoice-id="`+inv.ID+`"`)
	// Cancel opens a confirmation; only confirming it cancels.
	require.Contains(t, page, `<form id="cancel-form" method="get" action="`)
	status, page, _ = fetch(t, b, http.MethodGet, portal.URL+"/cancel")
	require.Equal(t, http.StatusOK, status)
	resp, err := b.PostForm(formAction(t, srv.URL, page, "confirm-cancel-form"), url.Values{"confirm": {"yes"}, "subscriptionId": {sub.ID}})
	require.NoError(t, err)
	canceledPage, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(canceledPage), "Your subscription has been canceled.")
	require.NoError(t, srv.FlushWebhooks(ctx))
	canceled := find[alguna.Subscription](t, myApp.inbox, alguna.WebhookSubscriptionCanceled)
	require.Equal(t, sub.ID, canceled.ID)
	require.Equal(t, alguna.SubscriptionStatusCanceled, canceled.Status)
	// Alguna says so too, and the account has no active subscription left.
	read, err := client.Subscriptions.Get(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, alguna.SubscriptionStatusCanceled, read.Status)
	require.NotNil(t, read.EndedAt)
	active, err = client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: acc.ID, Status: alguna.SubscriptionStatusActive})
	require.NoError(t, err)
	require.Empty(t, active.Data)

	require.Equal(t, []string{
		alguna.WebhookCreditsBalanceDepleted,
		alguna.WebhookCheckoutSessionCompleted,
		alguna.WebhookSubscriptionCreated,
		alguna.WebhookInvoicePaid,
		alguna.WebhookSubscriptionCanceled,
	}, myApp.inbox.types(), "the events the app subscribed to, in order")
	for _, d := range srv.Deliveries() {
		require.Equal(t, algunatest.DeliverySucceeded, d.Status, "%s", d.Type)
		require.Equal(t, 1, d.Attempts, "%s: the handler acknowledged at once", d.Type)
	}
}

// When the app's callback fails, the handler answers 500, the fake retries
// with the same webhook-id, and the callback gets a second chance.
func TestWebhookHandlerRetryAndDedupe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := algunatest.NewServer(algunatest.WithWebhookRetrySchedule(time.Millisecond, time.Millisecond))
	defer srv.Close()
	v, err := alguna.NewWebhookVerifier(srv.WebhookSecret)
	require.NoError(t, err)
	h := alguna.NewWebhookHandler(v)
	var (
		mu    sync.Mutex
		calls []string
	)
	h.OnCreditsBalanceDepleted(func(_ context.Context, e *alguna.WebhookEvent, _ *alguna.CreditsBalanceDepleted) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, e.ID)
		if len(calls) == 1 {
			return errors.New("database briefly unavailable")
		}
		return nil
	})
	receiver := httptest.NewServer(h)
	defer receiver.Close()
	srv.AddWebhookEndpoint(receiver.URL, alguna.WebhookCreditsBalanceDepleted)
	srv.SetMetric(algunatest.Metric{EventName: "run"})

	client := srv.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(1)})
	require.NoError(t, err)
	_, err = client.Events.Ingest(ctx, []alguna.Event{{Account: acc.ID, EventName: "run"}})
	require.NoError(t, err)
	require.NoError(t, srv.FlushWebhooks(ctx))

	d := srv.Deliveries()
	require.Len(t, d, 1)
	require.Equal(t, 2, d[0].Attempts)
	require.Equal(t, algunatest.DeliverySucceeded, d[0].Status)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{d[0].ID, d[0].ID}, calls)
	require.True(t, strings.HasPrefix(d[0].ID, "msg_"))
}

// Twenty sign-ups of one user at once — a double-clicked button, a retried
// request — end with one account and one trial grant, as the README's
// sign-up promises.
func TestRepeatedSignUpConverges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	// The README's sign-up (ExampleAccountsService_Lookup).
	signUp := func(userID string) (string, error) {
		id, err := client.Accounts.Lookup(ctx, userID)
		switch {
		case errors.Is(err, alguna.ErrNotFound):
			var acc *alguna.Account
			acc, err = client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Alias: userID},
				alguna.WithIdempotencyKey("signup-"+userID))
			switch {
			case errors.Is(err, alguna.ErrUnprocessable):
				if won, lerr := client.Accounts.Lookup(ctx, userID); lerr == nil {
					id, err = won, nil
				}
			case err == nil:
				id = acc.ID
			}
		}
		if err != nil {
			return "", err
		}
		grants, err := client.Credits.ListGrants(ctx, id, nil)
		if err != nil {
			return "", err
		}
		for _, g := range grants.Data {
			if g.Reason == "Welcome credits" {
				return id, nil
			}
		}
		_, err = client.Credits.Grant(ctx, id, &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits"},
			alguna.WithIdempotencyKey("trial-"+userID))
		return id, err
	}
	ids := make([]string, 20)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			ids[i], err = signUp("user-7")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	n := 0
	for acc, err := range client.Accounts.All(ctx, nil) {
		require.NoError(t, err)
		require.Equal(t, ids[0], acc.ID)
		n++
	}
	require.Equal(t, 1, n, "one account")
	require.Equal(t, "50", srv.Balance(ids[0], alguna.CreditTypeUnits).String(), "one trial grant")

	// A sign-up that died between creating the account and granting the
	// trial gets its grant when it is run again.
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Half done", Alias: "user-8"})
	require.NoError(t, err)
	id, err := signUp("user-8")
	require.NoError(t, err)
	require.Equal(t, acc.ID, id)
	require.Equal(t, "50", srv.Balance(id, alguna.CreditTypeUnits).String())
}
