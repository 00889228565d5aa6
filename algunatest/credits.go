package algunatest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/internal/numlimit"
)

// ledger is an account's credits of one type. Usage is taken from grants in
// Alguna's order: lowest priority first (no priority counts as 0), then the
// one that expires first (no expiry last), then the oldest. Usage no grant
// covers is overage, which later grants do not pay back: Alguna bills it
// instead.
type ledger struct {
	grants  []*grant
	used    decimal.Decimal // all usage, covered or not
	overage decimal.Decimal // usage that no grant covered
	// armed is set by a grant and cleared when the depletion webhook is
	// sent, so that the webhook fires once per time the credits run out.
	armed bool
}

type grant struct {
	id         string
	accountID  string
	creditType alguna.CreditType
	amount     decimal.Decimal
	remaining  decimal.Decimal
	currency   string // required for monetary grants
	reason     string
	priority   *int
	expiresAt  *time.Time
	createdAt  time.Time
	seq        int // creation order among all grants
}

// Grant statuses, as Alguna's credits docs list them. Voiding is done in
// the dashboard only, so the fake never shows voided.
const (
	grantActive    = "active"
	grantExhausted = "exhausted"
	grantExpired   = "expired"
)

// status is where the grant stands at now: used up, past its expiry with
// credits left, or active.
func (g *grant) status(now time.Time) string {
	switch {
	case !g.remaining.IsPositive():
		return grantExhausted
	case !g.active(now):
		return grantExpired
	}
	return grantActive
}

// grantJSON is the guide's answer to POST .../credits/grants, and the
// payload of account.credits.granted.
type grantJSON struct {
	ID         string            `json:"id"`
	AccountID  string            `json:"accountId"`
	CreditType alguna.CreditType `json:"creditType"`
	Amount     string            `json:"amount"`
	Currency   string            `json:"currency,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Priority   *int              `json:"priority,omitempty"`
	ExpiresAt  string            `json:"expiresAt,omitempty"`
	Status     string            `json:"status"`
	CreatedAt  string            `json:"createdAt"`
}

func (g *grant) json(now time.Time) grantJSON {
	out := grantJSON{
		ID:         g.id,
		AccountID:  g.accountID,
		CreditType: g.creditType,
		Amount:     formatAmount(g.amount),
		Currency:   g.currency,
		Reason:     g.reason,
		Priority:   g.priority,
		Status:     g.status(now),
		CreatedAt:  formatTime(g.createdAt),
	}
	if g.expiresAt != nil {
		out.ExpiresAt = formatTime(*g.expiresAt)
	}
	return out
}

// grantRefJSON is a grant as GET /credit-grants shows it, in the
// reference's names: type for creditType, description for reason, and
// what is left of it.
type grantRefJSON struct {
	ID              string            `json:"id"`
	AccountID       string            `json:"accountId"`
	Type            alguna.CreditType `json:"type"`
	Amount          string            `json:"amount"`
	RemainingAmount string            `json:"remainingAmount"`
	Currency        string            `json:"currency,omitempty"`
	ExpiresAt       string            `json:"expiresAt,omitempty"`
	Priority        *int              `json:"priority,omitempty"`
	Status          string            `json:"status"`
	Description     string            `json:"description,omitempty"`
	CreatedAt       string            `json:"createdAt"`
}

func (g *grant) refJSON(now time.Time) grantRefJSON {
	out := grantRefJSON{
		ID:              g.id,
		AccountID:       g.accountID,
		Type:            g.creditType,
		Amount:          formatAmount(g.amount),
		RemainingAmount: formatAmount(g.remaining),
		Currency:        g.currency,
		Priority:        g.priority,
		Status:          g.status(now),
		Description:     g.reason,
		CreatedAt:       formatTime(g.createdAt),
	}
	if g.expiresAt != nil {
		out.ExpiresAt = formatTime(*g.expiresAt)
	}
	return out
}

func (g *grant) active(now time.Time) bool {
	return g.expiresAt == nil || now.Before(*g.expiresAt)
}

// balance is what the active grants have left; never negative.
func (l *ledger) balance(now time.Time) decimal.Decimal {
	sum := decimal.Zero
	for _, g := range l.grants {
		if g.active(now) {
			sum = sum.Add(g.remaining)
		}
	}
	return sum
}

// consume takes amount from the active grants, soonest to expire first.
func (l *ledger) consume(amount decimal.Decimal, now time.Time) {
	l.used = l.used.Add(amount)
	left := amount
	for _, g := range l.grants {
		if left.IsZero() {
			break
		}
		if !g.active(now) || g.remaining.IsZero() {
			continue
		}
		take := decimal.Min(left, g.remaining)
		g.remaining = g.remaining.Sub(take)
		left = left.Sub(take)
	}
	l.overage = l.overage.Add(left)
}

func (l *ledger) add(g *grant) {
	l.grants = append(l.grants, g)
	// Keep grants in the order they are consumed; the stable sort keeps
	// ties in the order granted.
	slices.SortStableFunc(l.grants, func(a, b *grant) int {
		if c := cmp.Compare(priorityOf(a), priorityOf(b)); c != 0 {
			return c
		}
		switch {
		case a.expiresAt == nil && b.expiresAt == nil:
			return 0
		case a.expiresAt == nil:
			return 1
		case b.expiresAt == nil:
			return -1
		}
		return a.expiresAt.Compare(*b.expiresAt)
	})
	l.armed = true
}

func priorityOf(g *grant) int {
	if g.priority == nil {
		return 0
	}
	return *g.priority
}

func (a *account) ledger(t alguna.CreditType) *ledger {
	l, ok := a.credits[t]
	if !ok {
		l = &ledger{}
		a.credits[t] = l
	}
	return l
}

// grantRequest is the guide's grant body, which also takes the
// reference's names (type, description) and a currency.
type grantRequest struct {
	CreditType  alguna.CreditType `json:"creditType"`
	Type        alguna.CreditType `json:"type"`
	Amount      json.RawMessage   `json:"amount"`
	Currency    string            `json:"currency"`
	Reason      string            `json:"reason"`
	Description string            `json:"description"`
	Priority    *int              `json:"priority"`
	ExpiresAt   *time.Time        `json:"expiresAt"`
}

// grantCredits is POST /accounts/{id}/credits/grants.
func (s *Server) grantCredits(r *http.Request, body []byte) (int, any) {
	id := r.PathValue("id")
	var req grantRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	if req.CreditType == "" {
		req.CreditType = req.Type
	}
	if req.Reason == "" {
		req.Reason = req.Description
	}
	if !req.CreditType.Valid() {
		return fail(http.StatusBadRequest, "creditType must be %q or %q, got %q",
			alguna.CreditTypeUnits, alguna.CreditTypeMonetary, req.CreditType)
	}
	if len(req.Amount) == 0 || string(req.Amount) == "null" {
		return fail(http.StatusBadRequest, "amount is required")
	}
	// The guide sends the amount as a string ("50"); a bare number is
	// accepted too, as decimal's decoder does.
	text, err := jsonDecimalText(req.Amount)
	if err != nil {
		return fail(http.StatusBadRequest, "amount must be a decimal number such as \"50\", got %s", quoteShort(string(req.Amount)))
	}
	if err := numlimit.Text(text); err != nil {
		return fail(http.StatusBadRequest, "amount: %v", err)
	}
	amount, err := decimal.NewFromString(text)
	if err != nil {
		return fail(http.StatusBadRequest, "amount must be a decimal number such as \"50\", got %s", quoteShort(string(req.Amount)))
	}
	if !amount.IsPositive() {
		return fail(http.StatusUnprocessableEntity, "amount must be greater than zero, got %s", amount)
	}
	req.Currency = strings.ToUpper(req.Currency)
	switch {
	case req.Currency != "" && !validCurrency(req.Currency):
		return fail(http.StatusBadRequest, "currency must be a three-letter ISO 4217 code")
	case req.Currency == "" && req.CreditType == alguna.CreditTypeMonetary:
		return fail(http.StatusUnprocessableEntity, "a monetary grant needs a currency, such as \"USD\"")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	now := s.now()
	if req.ExpiresAt != nil {
		exp := req.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !exp.After(now) {
			return fail(http.StatusBadRequest, "expiresAt must be in the future, got %s", formatTime(exp))
		}
		req.ExpiresAt = &exp
	}
	g := &grant{
		id:         newID("cgr"),
		accountID:  a.id,
		creditType: req.CreditType,
		amount:     amount,
		remaining:  amount,
		currency:   req.Currency,
		reason:     req.Reason,
		priority:   req.Priority,
		expiresAt:  req.ExpiresAt,
		createdAt:  now,
		seq:        len(s.st.grantOrder),
	}
	a.ledger(g.creditType).add(g)
	s.st.grants[g.id] = g
	s.st.grantOrder = append(s.st.grantOrder, g)
	out := g.json(now)
	s.emitLocked(a.id, alguna.WebhookCreditsGranted, out)
	return http.StatusCreated, out
}

type grantList struct {
	Items []grantRefJSON `json:"items"`
}

var grantSortFields = map[string]func(a, b *grant) int{
	"createdAt": func(a, b *grant) int { return cmp.Compare(a.seq, b.seq) },
	"id":        func(a, b *grant) int { return cmp.Compare(a.id, b.id) },
}

// listGrants is GET /credit-grants?accountId=&page=&limit=&sort=, every
// account's grants or, with accountId (an id or an alias), one account's.
func (s *Server) listGrants(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	pq, err := parsePageQuery(q)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	less, err := sortOrder(q.Get("sort"), "createdAt:asc", grantSortFields, "createdAt, id")
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	match := s.st.grantOrder
	if ref := q.Get("accountId"); ref != "" {
		a := s.resolveLocked(ref)
		if a == nil {
			return accountNotFound(ref)
		}
		match = nil
		for _, g := range s.st.grantOrder {
			if g.accountID == a.id {
				match = append(match, g)
			}
		}
	}
	match = slices.Clone(match)
	slices.SortStableFunc(match, less)
	now := s.now()
	out := grantList{Items: []grantRefJSON{}}
	for _, g := range pageOf(match, pq) {
		out.Items = append(out.Items, g.refJSON(now))
	}
	return http.StatusOK, out
}

// getGrant is GET /credit-grants/{id}.
func (s *Server) getGrant(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.grants[id]
	if !ok {
		return fail(http.StatusNotFound, "credit grant %s not found", shorten(id))
	}
	return http.StatusOK, g.refJSON(s.now())
}

// creditTypeParam reads the required ?type= of the balance calls.
func creditTypeParam(r *http.Request) (alguna.CreditType, error) {
	t := alguna.CreditType(r.URL.Query().Get("type"))
	if !t.Valid() {
		return t, fmt.Errorf("type must be %q or %q", alguna.CreditTypeUnits, alguna.CreditTypeMonetary)
	}
	return t, nil
}

type balanceJSON struct {
	AccountID  string            `json:"accountId"`
	CreditType alguna.CreditType `json:"creditType"`
	Balance    string            `json:"balance"`
}

// creditBalance is GET /accounts/{id}/credits/balance?type=.
func (s *Server) creditBalance(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	t, err := creditTypeParam(r)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	return http.StatusOK, balanceJSON{
		AccountID:  a.id,
		CreditType: t,
		Balance:    formatAmount(a.ledger(t).balance(s.now())),
	}
}

type availabilityJSON struct {
	Available bool   `json:"available"`
	Balance   string `json:"balance"`
	Required  string `json:"required"`
	Shortfall string `json:"shortfall"`
}

// creditAvailability is GET /accounts/{id}/credits/availability?type=&required=.
func (s *Server) creditAvailability(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	t, err := creditTypeParam(r)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	raw := r.URL.Query().Get("required")
	if raw == "" {
		return fail(http.StatusBadRequest, "required is required")
	}
	if err := numlimit.Text(raw); err != nil {
		return fail(http.StatusBadRequest, "required: %v", err)
	}
	required, err := decimal.NewFromString(raw)
	if err != nil || required.IsNegative() {
		return fail(http.StatusBadRequest, "required must be a non-negative decimal number, got %s", quoteShort(raw))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	bal := a.ledger(t).balance(s.now())
	return http.StatusOK, availabilityJSON{
		Available: bal.GreaterThanOrEqual(required),
		Balance:   formatAmount(bal),
		Required:  formatAmount(required),
		Shortfall: formatAmount(decimal.Max(decimal.Zero, required.Sub(bal))),
	}
}

// Balance returns the account's balance of one credit type as the API
// reports it: what its unexpired grants have left, never below zero. The
// account is named by its id or any of its aliases, as events name it; an
// unknown account has a zero balance.
func (s *Server) Balance(accountID string, t alguna.CreditType) decimal.Decimal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.resolveLocked(accountID); a != nil {
		if l, ok := a.credits[t]; ok {
			return l.balance(s.now())
		}
	}
	return decimal.Zero
}

// Usage returns how many credits of one type the account (by id or alias)
// has consumed through its metered events in all, including what went past
// its balance.
func (s *Server) Usage(accountID string, t alguna.CreditType) decimal.Decimal {
	return s.ledgerValue(accountID, t, func(l *ledger) decimal.Decimal { return l.used })
}

// Overage returns the part of Usage that no grant covered: what the account
// used after its balance reached zero. The API never shows it (balances stop
// at zero), but a test of overage billing needs it.
func (s *Server) Overage(accountID string, t alguna.CreditType) decimal.Decimal {
	return s.ledgerValue(accountID, t, func(l *ledger) decimal.Decimal { return l.overage })
}

func (s *Server) ledgerValue(accountID string, t alguna.CreditType, get func(*ledger) decimal.Decimal) decimal.Decimal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.resolveLocked(accountID); a != nil {
		if l, ok := a.credits[t]; ok {
			return get(l)
		}
	}
	return decimal.Zero
}

// Aggregation says how a metric turns events into consumed credits; these
// are the four aggregations Alguna's billable metrics offer.
type Aggregation string

const (
	// AggregationCount consumes one credit per event.
	AggregationCount Aggregation = "count"
	// AggregationCountUnique consumes one credit per distinct value of the
	// metric's property in a period (unique users per month, say).
	AggregationCountUnique Aggregation = "count_unique"
	// AggregationSum consumes the value of the metric's property (minutes,
	// tokens). Values that are not positive numbers consume nothing.
	AggregationSum Aggregation = "sum"
	// AggregationMax consumes by how much the event raises the period's
	// maximum of the property (peak seats, say): a period's charge is its
	// maximum, paid as it grows.
	AggregationMax Aggregation = "max"
)

// Metric is a billable metric: events named EventName consume credits of
// CreditType by Aggregation of Property. Periods, for count unique and max,
// are calendar months in UTC of the event's timestamp.
type Metric struct {
	// EventName is the eventName of the events the metric meters.
	EventName string
	// CreditType is the balance the usage is taken from; empty means units.
	CreditType alguna.CreditType
	// Aggregation is how events are counted; empty means AggregationCount.
	Aggregation Aggregation
	// Property names the event property that count unique, sum and max
	// read; count ignores it. Numeric values may be sent as JSON numbers or
	// as strings holding a decimal number.
	Property string
}

// meter is a metric and the per-period memory its aggregation needs.
type meter struct {
	Metric
	seen map[periodKey]map[string]struct{} // count unique
	max  map[periodKey]decimal.Decimal     // max
}

type periodKey struct {
	accountID string
	period    string // "2006-01"
}

// SetMetric defines how events named m.EventName consume credits, replacing
// any metric for the same event name and credit type (and the period memory
// it had). Events ingested before the call are not metered again. It panics
// when the metric is incomplete: an event name is required, and a property
// for every aggregation but count.
func (s *Server) SetMetric(m Metric) {
	m, err := m.normalize()
	if err != nil {
		panic("algunatest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setMetricLocked(m)
}

// WithMetric sets a metric from the start, as SetMetric does later.
func WithMetric(m Metric) Option {
	return func(c *config) error {
		m, err := m.normalize()
		if err != nil {
			return err
		}
		c.metrics = append(c.metrics, m)
		return nil
	}
}

// normalize fills a metric's defaults and checks it.
func (m Metric) normalize() (Metric, error) {
	if m.CreditType == "" {
		m.CreditType = alguna.CreditTypeUnits
	}
	if m.Aggregation == "" {
		m.Aggregation = AggregationCount
	}
	switch {
	case m.EventName == "":
		return m, errors.New("Metric.EventName is required")
	case !m.CreditType.Valid():
		return m, fmt.Errorf("Metric.CreditType must be units or monetary, got %q", m.CreditType)
	case !slices.Contains([]Aggregation{AggregationCount, AggregationCountUnique, AggregationSum, AggregationMax}, m.Aggregation):
		return m, fmt.Errorf("unknown Metric.Aggregation %q", m.Aggregation)
	case m.Aggregation != AggregationCount && m.Property == "":
		return m, fmt.Errorf("Metric.Property is required for aggregation %s", m.Aggregation)
	}
	return m, nil
}

func (s *Server) setMetricLocked(m Metric) {
	mt := &meter{
		Metric: m,
		seen:   make(map[periodKey]map[string]struct{}),
		max:    make(map[periodKey]decimal.Decimal),
	}
	list := slices.DeleteFunc(s.st.meters[m.EventName], func(o *meter) bool { return o.CreditType == m.CreditType })
	s.st.meters[m.EventName] = append(list, mt)
}

// charge returns the credits one event consumes under this metric and
// updates the period memory.
func (m *meter) charge(accountID string, ev *storedEvent) decimal.Decimal {
	if m.Aggregation == AggregationCount {
		return decimal.NewFromInt(1)
	}
	v, ok := ev.properties[m.Property]
	if !ok {
		return decimal.Zero
	}
	key := periodKey{accountID: accountID, period: ev.timestamp.UTC().Format("2006-01")}
	switch m.Aggregation {
	case AggregationCountUnique:
		seen := m.seen[key]
		if seen == nil {
			seen = make(map[string]struct{})
			m.seen[key] = seen
		}
		text := propertyText(v)
		if _, dup := seen[text]; dup {
			return decimal.Zero
		}
		seen[text] = struct{}{}
		return decimal.NewFromInt(1)
	case AggregationSum:
		n, ok := propertyNumber(v)
		if !ok || !n.IsPositive() {
			return decimal.Zero
		}
		return n
	case AggregationMax:
		n, ok := propertyNumber(v)
		if !ok {
			return decimal.Zero
		}
		prev := m.max[key] // zero when the period has no value yet
		if !n.GreaterThan(prev) {
			return decimal.Zero
		}
		m.max[key] = n
		return n.Sub(prev)
	}
	return decimal.Zero
}

// meterLocked runs an ingested event through the metrics for its name and
// sends the depletion webhook when a balance it consumed from runs out.
func (s *Server) meterLocked(a *account, ev *storedEvent, now time.Time) {
	for _, m := range s.st.meters[ev.eventName] {
		amount := m.charge(a.id, ev)
		if !amount.IsPositive() {
			continue
		}
		l := a.ledger(m.CreditType)
		l.consume(amount, now)
		if l.armed && !l.balance(now).IsPositive() {
			l.armed = false
			s.emitLocked(a.id, alguna.WebhookCreditsBalanceDepleted, depletedJSON{
				AccountID: a.id,
				Amount:    formatAmount(decimal.Zero),
				Type:      m.CreditType,
			})
		}
	}
}

type depletedJSON struct {
	AccountID string            `json:"accountId"`
	Amount    string            `json:"amount"`
	Type      alguna.CreditType `json:"type"`
}
