package algunatest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestDefaultPlan(t *testing.T) {
	s := newServer(t)
	r := call(t, s, http.MethodGet, "/plans", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	pro := obj{
		"id": "plan_pro", "name": "Pro", "description": "Everything in the trial, without limits.", "currency": "USD",
		"prices": []any{obj{"amount": "49.00", "currency": "USD", "interval": "month"}},
	}
	require.Equal(t, obj{"items": []any{pro}, "pageCount": float64(1), "limit": float64(10)}, decode[obj](t, r))
	require.Equal(t, pro, decode[obj](t, call(t, s, http.MethodGet, "/plans/plan_pro", nil)))

	nf := call(t, s, http.MethodGet, "/plans/plan_nope", nil)
	requireError(t, nf, http.StatusNotFound, "plan plan_nope not found")
	require.Equal(t, "not_found", decode[obj](t, nf)["code"])
}

// A checkout flow's plan is in the catalogue, whether the flow defines it
// or names a configured one, and checkout sells what the catalogue shows.
func TestFlowsAndPlansAgree(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now),
		WithPlan(Plan{ID: "plan_pro", Name: "Pro", Prices: []Price{
			{Amount: decimal.RequireFromString("490"), Interval: IntervalYear},
			{Amount: decimal.RequireFromString("45"), Currency: "eur"},
		}}),
		WithCheckoutFlow(CheckoutFlow{ID: "flow_team", PlanName: "Team", Amount: decimal.RequireFromString("99.5"), Currency: "EUR"}),
		WithPlan(Plan{ID: "plan_scale", Name: "Scale", Description: "For big teams", Currency: "GBP",
			Prices: []Price{{Amount: decimal.RequireFromString("300")}}}),
		WithCheckoutFlow(CheckoutFlow{ID: "flow_scale", PlanID: "plan_scale"}),
		WithCheckoutFlow(CheckoutFlow{ID: "flow_pro_eur", PlanID: "plan_pro", Currency: "EUR"}),
	)
	list := decode[planList](t, call(t, s, http.MethodGet, "/plans?limit=100", nil))
	var ids []string
	for _, p := range list.Items {
		ids = append(ids, p.ID)
	}
	require.Equal(t, []string{"plan_pro", "plan_scale", "plan_team"}, ids, "configured plans, then the ones flows define")
	require.Equal(t, planJSON{ID: "plan_team", Name: "Team", Currency: "EUR", Prices: []priceJSON{{Amount: "99.50", Currency: "EUR", Interval: "month"}}},
		decode[planJSON](t, call(t, s, http.MethodGet, "/plans/plan_team", nil)))
	require.Equal(t, []priceJSON{{"490.00", "USD", "year"}, {"45.00", "EUR", "month"}}, list.Items[0].Prices)

	c := noRedirect(t)
	id := createAccount(t, s, "Acme", "")
	for _, tt := range []struct {
		flow, name, amount, currency, planID string
		period                               time.Duration
	}{
		{DefaultFlowID, "Pro", "490.00", "USD", "plan_pro", 365 * 24 * time.Hour},
		{"flow_pro_eur", "Pro", "45.00", "EUR", "plan_pro", 31 * 24 * time.Hour},
		{"flow_scale", "Scale", "300.00", "GBP", "plan_scale", 31 * 24 * time.Hour},
	} {
		r := get(t, c, s.URL+"/checkout?flowId="+tt.flow+"&accountId="+id)
		require.Equal(t, http.StatusSeeOther, r.status)
		page := requireHTML(t, get(t, c, r.header.Get("Location")), http.StatusOK)
		require.Contains(t, page, `<h1 id="plan-name">`+tt.name+`</h1>`)
		require.Contains(t, page, `data-amount="`+tt.amount+`"`)
		require.Contains(t, page, `<span id="currency">`+tt.currency+`</span>`)

		sessions := s.CheckoutSessions()
		require.NoError(t, s.CompleteCheckout(context.Background(), sessions[len(sessions)-1].ID))
		done := s.CheckoutSessions()[len(sessions)-1]
		sub := decode[obj](t, call(t, s, http.MethodGet, "/subscriptions/"+done.SubscriptionID, nil))
		require.Equal(t, tt.planID, sub["planId"])
		require.Equal(t, tt.name, sub["name"])
		inv := decode[obj](t, call(t, s, http.MethodGet, "/invoices/"+done.InvoiceID, nil))
		require.Equal(t, tt.amount, inv["total"])
		start, _ := time.Parse(time.RFC3339, inv["billingPeriodStart"].(string))
		end, _ := time.Parse(time.RFC3339, inv["billingPeriodEnd"].(string))
		require.Equal(t, tt.period, end.Sub(start), tt.flow)

		// Cancel, so that the next flow may sell to the same account.
		cancelSubscription(t, s, id)
	}
}

func TestFlowPlanConflicts(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		err  string
	}{
		{"price the plan lacks", []Option{WithCheckoutFlow(CheckoutFlow{ID: "flow_x", PlanID: "plan_pro", Amount: decimal.NewFromInt(10)})},
			"checkout flow flow_x: plan plan_pro has no price of 10.00"},
		{"currency the plan lacks", []Option{WithCheckoutFlow(CheckoutFlow{ID: "flow_x", PlanID: "plan_pro", Currency: "JPY"})},
			"checkout flow flow_x: plan plan_pro has no price in JPY"},
		{"another name", []Option{WithCheckoutFlow(CheckoutFlow{ID: "flow_x", PlanID: "plan_pro", PlanName: "Premium"})},
			`checkout flow flow_x: plan name "Premium" is not plan plan_pro's name "Pro"`},
		{"free plan", []Option{WithPlan(Plan{ID: "plan_free", Name: "Free", Prices: []Price{{}}}), WithCheckoutFlow(CheckoutFlow{ID: "flow_free", PlanID: "plan_free"})},
			"checkout flow flow_free: amount must be positive"},
		{"plan without prices", []Option{WithPlan(Plan{ID: "plan_pro", Name: "Pro"})},
			"checkout flow flow_default: plan plan_pro has no price"},
		{"plan without id", []Option{WithPlan(Plan{Name: "X"})}, "plan ID is required"},
		{"plan without name", []Option{WithPlan(Plan{ID: "plan_x"})}, "plan plan_x: name is required"},
		{"negative price", []Option{WithPlan(Plan{ID: "plan_x", Name: "X", Prices: []Price{{Amount: decimal.NewFromInt(-1)}}})}, "prices[0]: amount must not be negative"},
		{"bad interval", []Option{WithPlan(Plan{ID: "plan_x", Name: "X", Prices: []Price{{Interval: "fortnight"}}})}, `interval must be day, week, month or year, got "fortnight"`},
		{"bad currency", []Option{WithPlan(Plan{ID: "plan_x", Name: "X", Currency: "dollars"})}, "currency must be a three-letter"},
		{"huge price", []Option{WithPlan(Plan{ID: "plan_x", Name: "X", Prices: []Price{{Amount: decimal.New(1, 500)}}})}, "prices[0]: amount: number written in full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(tt.opts...)
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestSetPlan(t *testing.T) {
	s := newServer(t)
	s.SetPlan(Plan{ID: "plan_api", Name: "API", Description: "Metered", Prices: []Price{{Amount: decimal.RequireFromString("0.002"), Interval: IntervalDay}}})
	got := decode[planJSON](t, call(t, s, http.MethodGet, "/plans/plan_api", nil))
	require.Equal(t, []priceJSON{{"0.002", "USD", "day"}}, got.Prices, "a sub-cent price is not rounded")

	// Replacing the default plan keeps the price its flow sells.
	s.SetPlan(Plan{ID: "plan_pro", Name: "Pro", Description: "Now with more", Prices: []Price{
		{Amount: decimal.RequireFromString("49")}, {Amount: decimal.RequireFromString("490"), Interval: IntervalYear},
	}})
	require.Equal(t, "Now with more", decode[planJSON](t, call(t, s, http.MethodGet, "/plans/plan_pro", nil)).Description)

	require.PanicsWithValue(t, "algunatest: plan plan_pro: checkout flow flow_default sells it at 49.00 USD, a price the plan does not have",
		func() {
			s.SetPlan(Plan{ID: "plan_pro", Name: "Pro", Prices: []Price{{Amount: decimal.NewFromInt(59)}}})
		})
	require.Panics(t, func() {
		s.SetPlan(Plan{ID: "plan_pro", Name: "Pro Max", Prices: []Price{{Amount: decimal.NewFromInt(49)}}})
	})
	require.Panics(t, func() { s.SetPlan(Plan{ID: "plan_x"}) })

	list := decode[planList](t, call(t, s, http.MethodGet, "/plans?limit=1&page=2", nil))
	require.Equal(t, 2, list.PageCount)
	require.Equal(t, 1, list.Limit)
	require.Equal(t, "plan_api", list.Items[0].ID)
	require.Empty(t, decode[planList](t, call(t, s, http.MethodGet, "/plans?page=3", nil)).Items)
}
