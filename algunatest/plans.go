package algunatest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Plan is a plan in the fake's catalogue, as GET /plans lists it: what a
// checkout flow sells and what a subscription's planId names.
type Plan struct {
	// ID is the plan's id, such as "plan_pro"; required.
	ID string
	// Name is shown on the checkout page and names the subscriptions the
	// plan is sold as; required.
	Name string
	// Description is free text.
	Description string
	// Currency is the ISO 4217 code of the plan; empty means USD.
	Currency string
	// Prices are what the plan costs, one per currency and interval.
	Prices []Price
}

// Price is one price of a plan.
type Price struct {
	// Amount is charged once per Interval; it must not be negative.
	Amount decimal.Decimal
	// Currency is the ISO 4217 code of Amount; empty means the plan's.
	Currency string
	// Interval is the billing period: IntervalMonth (the default),
	// IntervalYear, IntervalWeek or IntervalDay.
	Interval string
}

// The billing intervals a Price may have.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// defaultPlan is the plan of DefaultFlowID: "Pro" at 49.00 USD a month.
func defaultPlan() Plan {
	return Plan{
		ID:          "plan_pro",
		Name:        "Pro",
		Description: "Everything in the trial, without limits.",
		Currency:    defaultCurrency,
		Prices:      []Price{{Amount: decimal.RequireFromString("49.00"), Currency: defaultCurrency, Interval: IntervalMonth}},
	}
}

// normalize fills a plan's defaults and checks it.
func (p Plan) normalize() (Plan, error) {
	p.ID = strings.TrimSpace(p.ID)
	if p.ID == "" {
		return p, errors.New("plan ID is required")
	}
	if strings.TrimSpace(p.Name) == "" {
		return p, fmt.Errorf("plan %s: name is required", p.ID)
	}
	if p.Currency == "" {
		p.Currency = defaultCurrency
	}
	p.Currency = strings.ToUpper(p.Currency)
	if !validCurrency(p.Currency) {
		return p, fmt.Errorf("plan %s: currency must be a three-letter ISO 4217 code", p.ID)
	}
	p.Prices = slices.Clone(p.Prices)
	for i := range p.Prices {
		pr := &p.Prices[i]
		if pr.Currency == "" {
			pr.Currency = p.Currency
		}
		pr.Currency = strings.ToUpper(pr.Currency)
		if pr.Interval == "" {
			pr.Interval = IntervalMonth
		}
		switch {
		case !validCurrency(pr.Currency):
			return p, fmt.Errorf("plan %s: prices[%d]: currency must be a three-letter ISO 4217 code", p.ID, i)
		case pr.Amount.IsNegative():
			return p, fmt.Errorf("plan %s: prices[%d]: amount must not be negative", p.ID, i)
		case !slices.Contains([]string{IntervalDay, IntervalWeek, IntervalMonth, IntervalYear}, pr.Interval):
			return p, fmt.Errorf("plan %s: prices[%d]: interval must be day, week, month or year, got %q", p.ID, i, pr.Interval)
		}
		if err := checkConfigDecimal(fmt.Sprintf("plan %s: prices[%d]: amount", p.ID, i), pr.Amount); err != nil {
			return p, err
		}
	}
	return p, nil
}

// price finds the price a flow sells: the one of amount in currency, or,
// when amount is zero, the first in currency (any currency when that is
// empty).
func (p *Plan) price(amount decimal.Decimal, currency string) (Price, bool) {
	for _, pr := range p.Prices {
		if currency != "" && pr.Currency != currency {
			continue
		}
		if amount.IsZero() || pr.Amount.Equal(amount) {
			return pr, true
		}
	}
	return Price{}, false
}

// WithPlan adds a plan to the catalogue, or replaces the one with the same
// ID (the default flow's "plan_pro" included). A checkout flow whose PlanID
// names the plan sells it: the flow's empty PlanName, Amount and Currency
// come from the plan.
func WithPlan(p Plan) Option {
	return func(c *config) error {
		p, err := p.normalize()
		if err != nil {
			return err
		}
		for i := range c.plans {
			if c.plans[i].ID == p.ID {
				c.plans[i] = p
				return nil
			}
		}
		c.plans = append(c.plans, p)
		return nil
	}
}

// SetPlan adds a plan to the catalogue or replaces the one with the same ID,
// as WithPlan does from the start. It panics when the plan is incomplete,
// and when a checkout flow sells the plan at a price the new plan does not
// have, because the flow's checkouts would then sell a plan the catalogue
// does not show.
func (s *Server) SetPlan(p Plan) {
	p, err := p.normalize()
	if err != nil {
		panic("algunatest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.st.flows {
		if f.PlanID != p.ID {
			continue
		}
		if f.PlanName != p.Name {
			panic(fmt.Sprintf("algunatest: plan %s: checkout flow %s sells it as %q", p.ID, f.ID, f.PlanName))
		}
		if _, ok := p.price(f.Amount, f.Currency); !ok {
			panic(fmt.Sprintf("algunatest: plan %s: checkout flow %s sells it at %s %s, a price the plan does not have",
				p.ID, f.ID, formatMoney(f.Amount), f.Currency))
		}
	}
	s.putPlanLocked(p)
}

func (s *Server) putPlanLocked(p Plan) {
	if _, ok := s.st.plans[p.ID]; !ok {
		s.st.planOrder = append(s.st.planOrder, p.ID)
	}
	s.st.plans[p.ID] = &p
}

// resolveFlows ties every flow to its plan: a flow naming a configured
// plan takes what it leaves empty from it and must agree with it; a flow
// naming no configured plan defines one from its own fields.
func resolveFlows(flows []CheckoutFlow, plans []Plan) ([]CheckoutFlow, []Plan, error) {
	byID := make(map[string]*Plan, len(plans))
	plans = slices.Clone(plans)
	for i := range plans {
		byID[plans[i].ID] = &plans[i]
	}
	out := make([]CheckoutFlow, 0, len(flows))
	for _, f := range flows {
		p, ok := byID[f.PlanID]
		if !ok {
			switch {
			case f.PlanName == "":
				return nil, nil, fmt.Errorf("checkout flow %s: plan name is required, or a plan %s set with WithPlan", f.ID, f.PlanID)
			case !f.Amount.IsPositive():
				return nil, nil, fmt.Errorf("checkout flow %s: amount must be positive", f.ID)
			}
			if f.Currency == "" {
				f.Currency = defaultCurrency
			}
			f.interval = IntervalMonth
			plans = append(plans, Plan{
				ID:       f.PlanID,
				Name:     f.PlanName,
				Currency: f.Currency,
				Prices:   []Price{{Amount: f.Amount, Currency: f.Currency, Interval: IntervalMonth}},
			})
			byID[f.PlanID] = &plans[len(plans)-1]
			out = append(out, f)
			continue
		}
		if f.PlanName == "" {
			f.PlanName = p.Name
		} else if f.PlanName != p.Name {
			return nil, nil, fmt.Errorf("checkout flow %s: plan name %q is not plan %s's name %q", f.ID, f.PlanName, p.ID, p.Name)
		}
		pr, found := p.price(f.Amount, f.Currency)
		switch {
		case !found && f.Amount.IsZero():
			return nil, nil, fmt.Errorf("checkout flow %s: plan %s has no price%s", f.ID, p.ID, inCurrency(f.Currency))
		case !found:
			return nil, nil, fmt.Errorf("checkout flow %s: plan %s has no price of %s%s", f.ID, p.ID, formatMoney(f.Amount), inCurrency(f.Currency))
		case !pr.Amount.IsPositive():
			return nil, nil, fmt.Errorf("checkout flow %s: amount must be positive; plan %s's price is %s", f.ID, p.ID, formatMoney(pr.Amount))
		}
		f.Amount, f.Currency, f.interval = pr.Amount, pr.Currency, pr.Interval
		out = append(out, f)
	}
	return out, plans, nil
}

func inCurrency(c string) string {
	if c == "" {
		return ""
	}
	return " in " + c
}

// periodEnd is when a billing period that starts at start ends.
func periodEnd(start time.Time, interval string) time.Time {
	switch interval {
	case IntervalDay:
		return start.AddDate(0, 0, 1)
	case IntervalWeek:
		return start.AddDate(0, 0, 7)
	case IntervalYear:
		return start.AddDate(1, 0, 0)
	}
	return start.AddDate(0, 1, 0)
}

type priceJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Interval string `json:"interval"`
}

type planJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Currency    string      `json:"currency"`
	Prices      []priceJSON `json:"prices"`
}

func (p *Plan) json() planJSON {
	out := planJSON{ID: p.ID, Name: p.Name, Description: p.Description, Currency: p.Currency, Prices: []priceJSON{}}
	for _, pr := range p.Prices {
		out.Prices = append(out.Prices, priceJSON{Amount: formatMoney(pr.Amount), Currency: pr.Currency, Interval: pr.Interval})
	}
	return out
}

type planList struct {
	Items     []planJSON `json:"items"`
	PageCount int        `json:"pageCount"`
	Limit     int        `json:"limit"`
}

// listPlans is GET /plans?page=&limit=, in the order plans were configured.
func (s *Server) listPlans(r *http.Request, _ []byte) (int, any) {
	pq, err := parsePageQuery(r.URL.Query())
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := planList{Items: []planJSON{}, PageCount: pq.pageCount(len(s.st.planOrder)), Limit: pq.limit}
	for _, id := range pageOf(s.st.planOrder, pq) {
		out.Items = append(out.Items, s.st.plans[id].json())
	}
	return http.StatusOK, out
}

// getPlan is GET /plans/{id}.
func (s *Server) getPlan(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.st.plans[id]
	if !ok {
		return fail(http.StatusNotFound, "plan %s not found", shorten(id))
	}
	return http.StatusOK, p.json()
}
