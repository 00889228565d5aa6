package algunatest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// These tests drive the fake through the SDK, as users' tests will.

func TestSDKAccounts(t *testing.T) {
	s := newServer(t)
	c := s.Client()
	ctx := ctxTimeout(t)

	acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com", Alias: "your-internal-id-123"})
	require.NoError(t, err)
	require.Regexp(t, accountIDPattern, acc.ID)
	require.Equal(t, "Acme Corp", acc.Name)
	require.Equal(t, []string{"your-internal-id-123"}, acc.Aliases)
	require.Equal(t, "USD", acc.Currency)
	require.False(t, acc.CreatedAt.IsZero())
	require.Equal(t, acc.CreatedAt, acc.CreatedAt.Truncate(time.Microsecond))

	got, err := c.Accounts.Get(ctx, acc.ID)
	require.NoError(t, err)
	require.Equal(t, acc, got)

	for _, alias := range []string{"your-internal-id-123", acc.ID} {
		id, err := c.Accounts.Lookup(ctx, alias)
		require.NoError(t, err)
		require.Equal(t, acc.ID, id)
	}

	updated, err := c.Accounts.Update(ctx, acc.ID, &alguna.AccountUpdateParams{Name: alguna.String("Acme Inc")})
	require.NoError(t, err)
	require.Equal(t, "Acme Inc", updated.Name)
	require.Equal(t, "billing@acme.com", updated.Email)

	_, err = c.Accounts.Get(ctx, "acc_nope")
	require.ErrorIs(t, err, alguna.ErrNotFound)
	var apiErr *alguna.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "account acc_nope not found", apiErr.Message)

	_, err = c.Accounts.Lookup(ctx, "nobody")
	require.ErrorIs(t, err, alguna.ErrNotFound)

	_, err = c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Dup", Alias: "your-internal-id-123"})
	require.ErrorIs(t, err, alguna.ErrUnprocessable)
}

func TestSDKListAndAll(t *testing.T) {
	s := newServer(t)
	c := s.Client()
	ctx := ctxTimeout(t)
	var want []string
	for i := range 12 {
		acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: fmt.Sprintf("Account %02d", i)})
		require.NoError(t, err)
		want = append(want, acc.ID)
	}
	page, err := c.Accounts.List(ctx, &alguna.ListOptions{Page: 3, Limit: 5})
	require.NoError(t, err)
	require.Equal(t, 3, page.PageCount)
	require.Len(t, page.Data, 2)
	require.Equal(t, want[10], page.Data[0].ID)

	var all []string
	for acc, err := range c.Accounts.All(ctx, &alguna.ListOptions{Limit: 5}) {
		require.NoError(t, err)
		all = append(all, acc.ID)
	}
	require.Equal(t, want, all)

	desc, err := c.Accounts.List(ctx, &alguna.ListOptions{Limit: 5, Sort: "name:desc"})
	require.NoError(t, err)
	require.Equal(t, "Account 11", desc.Data[0].Name)
}

func TestSDKWrongKey(t *testing.T) {
	s := newServer(t)
	c, err := alguna.NewClient("sk_test_wrong", alguna.WithBaseURL(s.URL))
	require.NoError(t, err)
	_, err = c.Accounts.Create(ctxTimeout(t), &alguna.AccountCreateParams{Name: "Acme"})
	require.ErrorIs(t, err, alguna.ErrUnauthorized)
	require.Empty(t, decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil)).Data)
}

func TestSDKCredits(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "tokens", Aggregation: AggregationSum, Property: "n"})
	c := s.Client()
	ctx := ctxTimeout(t)
	acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)

	g, err := c.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits, Amount: decimal.RequireFromString("50"), Reason: "Welcome credits",
	})
	require.NoError(t, err)
	require.Equal(t, acc.ID, g.AccountID)
	require.Equal(t, "50", g.Amount.String())
	require.Equal(t, alguna.CreditGrantStatusActive, g.Status)

	_, err = c.Events.Ingest(ctx, []alguna.Event{
		{Account: acc.ID, EventName: "tokens", Properties: map[string]any{"n": 12.75}},
		{Account: acc.ID, EventName: "tokens", Properties: map[string]any{"n": decimal.RequireFromString("0.125")}},
	})
	require.NoError(t, err)

	bal, err := c.Credits.Balance(ctx, acc.ID, alguna.CreditTypeUnits)
	require.NoError(t, err)
	require.Equal(t, "37.125", bal.Balance.String())
	require.Equal(t, alguna.CreditTypeUnits, bal.CreditType)

	av, err := c.Credits.Availability(ctx, acc.ID, alguna.CreditTypeUnits, decimal.RequireFromString("40"))
	require.NoError(t, err)
	require.False(t, av.Available)
	require.Equal(t, "2.875", av.Shortfall.String())
	require.Equal(t, "40", av.Required.String())

	_, err = c.Credits.Grant(ctx, "acc_nope", &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(1)})
	require.ErrorIs(t, err, alguna.ErrNotFound)
}

func TestSDKIngest(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	c := s.Client()
	ctx := ctxTimeout(t)
	acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Alias: "acme"})
	require.NoError(t, err)

	events := make([]alguna.Event, 250)
	for i := range events {
		events[i] = alguna.Event{Account: "acme", EventName: "api_call", Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500}}
	}
	events = append(events, alguna.Event{Account: "nobody", EventName: "api_call"})
	res, err := c.Events.Ingest(ctx, events)
	require.NoError(t, err)
	require.Len(t, res.Ingested, 250)
	require.Equal(t, []string{events[250].UniqueID}, res.Failed)

	// Sending the same slice again (ids and timestamps are now fixed) counts
	// nothing twice.
	res, err = c.Events.Ingest(ctx, events[:250])
	require.NoError(t, err)
	require.Len(t, res.Ingested, 250)

	stored := s.Events()
	require.Len(t, stored, 250)
	require.Equal(t, events[0].UniqueID, stored[0].UniqueID)
	require.Equal(t, events[0].Timestamp.UTC(), stored[0].Timestamp)
	require.Equal(t, "1500", fmt.Sprint(stored[0].Properties["tokens"]))
	require.Equal(t, "250", s.Usage(acc.ID, alguna.CreditTypeUnits).String())
}

// The headline reliability test: with a fifth of all requests failing in
// each of the three ways, the SDK's retries and idempotency keys and the
// fake's uniqueId dedupe still give exactly-once results.
func TestSDKThroughFaults(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	setup := s.Client()
	ctx := ctxTimeout(t)
	acc, err := setup.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme"})
	require.NoError(t, err)

	s.SetFaults(Faults{ErrorRate: 0.2, RateLimitRate: 0.2, ResetRate: 0.2, Seed: 1})
	c := s.Client(alguna.WithMaxRetries(20))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if _, err := c.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(1)}); err != nil {
					errs <- err
				}
				events := make([]alguna.Event, 10)
				for j := range events {
					events[j] = alguna.Event{UniqueID: fmt.Sprintf("w%d-%d-%d", w, i, j), Account: acc.ID, EventName: "api_call"}
				}
				if _, err := c.Events.Ingest(ctx, events); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s.SetFaults(Faults{})
	require.Equal(t, "20", s.Balance(acc.ID, alguna.CreditTypeUnits).Add(s.Usage(acc.ID, alguna.CreditTypeUnits)).Sub(s.Overage(acc.ID, alguna.CreditTypeUnits)).String(),
		"20 grants, each exactly once")
	require.Len(t, s.Events(), 200)
	require.Equal(t, "200", s.Usage(acc.ID, alguna.CreditTypeUnits).String(), "every event counted exactly once")
}

func TestSDKGivesUpOnPersistentRateLimit(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{RateLimitRate: 1})
	c := s.Client(alguna.WithMaxRetries(2))
	_, err := c.Accounts.List(ctxTimeout(t), nil)
	require.ErrorIs(t, err, alguna.ErrRateLimited)
}

func TestSDKCheckoutAndPortal(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	c := s.Client()
	ctx := ctxTimeout(t)
	acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Email: "billing@acme.com"})
	require.NoError(t, err)

	sess, err := c.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{
		AccountID: acc.ID, Currency: "USD", SuccessURL: "https://yourapp.com/welcome", PassThroughToken: "ref-9",
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sess.URL, s.URL+"/checkout/session/"))
	page := requireHTML(t, get(t, httpClient(t), sess.URL), http.StatusOK)
	require.Contains(t, page, `id="pay"`)
	link, err := c.Checkout.FlowURL(DefaultFlowID, acc.ID, "pt-1")
	require.NoError(t, err)
	page = requireHTML(t, get(t, httpClient(t), link), http.StatusOK)
	require.Contains(t, page, `<h1 id="plan-name">Pro</h1>`)

	require.NoError(t, s.CompleteCheckout(ctx, sess.ID))
	page = requireHTML(t, get(t, httpClient(t), link), http.StatusConflict)
	require.Contains(t, page, `data-status="409"`, "subscribed: no second checkout")

	portal, err := c.Portal.CreateSession(ctx, &alguna.PortalSessionParams{
		AccountID:            acc.ID,
		PlanOverviewSettings: &alguna.PlanOverviewSettings{AllowSubscriptionCancel: alguna.Bool(false)},
		InvoiceListSettings:  &alguna.InvoiceListSettings{ShowSection: alguna.Bool(true)},
	})
	require.NoError(t, err)
	page = requireHTML(t, get(t, httpClient(t), portal.URL), http.StatusOK)
	require.Contains(t, page, `data-section="plan-overview"`)
	require.NotContains(t, page, `id="cancel-subscription"`)
	require.Contains(t, page, `data-section="invoices"`)

	require.NoError(t, s.FlushWebhooks(ctx))
	require.Equal(t, []string{"checkout.session.completed", "subscription.created", "subscription.activated", "invoice.paid"}, rc.types(t))
}

// Client's defaults are overridable: a user's option comes last and wins.
func TestClientOptionsOverrideDefaults(t *testing.T) {
	s := newServer(t)
	other := newServer(t)
	c := s.Client(alguna.WithBaseURL(other.URL))
	_, err := c.Accounts.Create(ctxTimeout(t), &alguna.AccountCreateParams{Name: "Acme"})
	require.ErrorIs(t, err, alguna.ErrUnauthorized, "other has another key")

	require.Panics(t, func() { s.Client(alguna.WithMaxRetries(-1)) })
}

func TestSDKContextCancelDuringLatency(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Client(alguna.WithMaxRetries(0)).Accounts.List(ctx, nil)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}
