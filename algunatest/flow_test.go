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
