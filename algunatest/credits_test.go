package algunatest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

func TestGrantCredits(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "")

	r := call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants",
		obj{"creditType": "units", "amount": "50", "reason": "Welcome credits"})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	g := decode[obj](t, r)
	require.Regexp(t, regexp.MustCompile(`^cgr_[a-z2-7]{16}$`), g["id"])
	delete(g, "id")
	require.Equal(t, obj{
		"accountId":  id,
		"creditType": "units",
		"amount":     "50",
		"reason":     "Welcome credits",
		"status":     "active",
		"createdAt":  "2025-03-03T17:06:07.473879Z",
	}, g)

	r = call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants",
		obj{"creditType": "monetary", "amount": 12.5, "currency": "usd", "expiresAt": "2025-04-01T00:00:00Z"})
	require.Equal(t, http.StatusCreated, r.status, "a bare JSON number is accepted too: %s", r.body)
	g = decode[obj](t, r)
	require.Equal(t, "12.5", g["amount"])
	require.Equal(t, "USD", g["currency"])
	require.Equal(t, "2025-04-01T00:00:00.000000Z", g["expiresAt"])

	require.Equal(t, "50", s.Balance(id, alguna.CreditTypeUnits).String())
	require.Equal(t, "12.5", s.Balance(id, alguna.CreditTypeMonetary).String())
}

func TestGrantValidation(t *testing.T) {
	s := newServer(t, WithClock(newFakeClock(time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)).now))
	id := createAccount(t, s, "Acme", "")
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		detail string
	}{
		{"zero", id, obj{"creditType": "units", "amount": "0"}, http.StatusUnprocessableEntity, "amount must be greater than zero"},
		{"negative", id, obj{"creditType": "units", "amount": "-5"}, http.StatusUnprocessableEntity, "amount must be greater than zero"},
		{"not a number", id, obj{"creditType": "units", "amount": "fifty"}, http.StatusBadRequest, "amount must be a decimal number"},
		{"missing amount", id, obj{"creditType": "units"}, http.StatusBadRequest, "amount is required"},
		{"bad type", id, obj{"creditType": "coins", "amount": "5"}, http.StatusBadRequest, `creditType must be "units" or "monetary"`},
		{"missing type", id, obj{"amount": "5"}, http.StatusBadRequest, "creditType must be"},
		{"priority too large", id, obj{"creditType": "units", "amount": "5", "priority": 1e300}, http.StatusBadRequest, "priority must be a whole number within range, got 1e+300"},
		{"fractional priority", id, obj{"creditType": "units", "amount": "5", "priority": 1.5}, http.StatusBadRequest, "priority must be a whole number within range, got 1.5"},
		{"monetary without currency", id, obj{"creditType": "monetary", "amount": "5"}, http.StatusUnprocessableEntity, "a monetary grant needs a currency"},
		{"bad currency", id, obj{"creditType": "monetary", "amount": "5", "currency": "dollars"}, http.StatusBadRequest, "currency must be a three-letter ISO 4217 code"},
		{"expired", id, obj{"creditType": "units", "amount": "5", "expiresAt": "2025-03-02T00:00:00Z"}, http.StatusBadRequest, "expiresAt must be in the future"},
		{"unknown account", "acc_nope", obj{"creditType": "units", "amount": "5"}, http.StatusNotFound, "account acc_nope not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/accounts/"+tt.path+"/credits/grants", tt.body)
			requireError(t, r, tt.status, tt.detail)
		})
	}
	require.True(t, s.Balance(id, alguna.CreditTypeUnits).IsZero(), "refused grants add nothing")
}

func TestBalanceAndAvailability(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "50")

	r := call(t, s, http.MethodGet, "/accounts/"+id+"/credits/balance?type=units", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, obj{"accountId": id, "creditType": "units", "balance": "50"}, decode[obj](t, r))

	r = call(t, s, http.MethodGet, "/accounts/"+id+"/credits/balance?type=monetary", nil)
	require.Equal(t, obj{"accountId": id, "creditType": "monetary", "balance": "0"}, decode[obj](t, r))

	tests := []struct {
		required string
		want     obj
	}{
		{"10", obj{"available": true, "balance": "50", "required": "10", "shortfall": "0"}},
		{"50", obj{"available": true, "balance": "50", "required": "50", "shortfall": "0"}},
		{"50.5", obj{"available": false, "balance": "50", "required": "50.5", "shortfall": "0.5"}},
		{"0", obj{"available": true, "balance": "50", "required": "0", "shortfall": "0"}},
	}
	for _, tt := range tests {
		r := call(t, s, http.MethodGet, "/accounts/"+id+"/credits/availability?type=units&required="+tt.required, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		require.Equal(t, tt.want, decode[obj](t, r), "required=%s", tt.required)
	}

	for _, bad := range []struct{ path, detail string }{
		{"/credits/balance", "type must be"},
		{"/credits/balance?type=coins", "type must be"},
		{"/credits/availability?type=units", "required is required"},
		{"/credits/availability?type=units&required=-1", "required must be a non-negative decimal"},
		{"/credits/availability?type=units&required=ten", "required must be a non-negative decimal"},
	} {
		requireError(t, call(t, s, http.MethodGet, "/accounts/"+id+bad.path, nil), http.StatusBadRequest, bad.detail)
	}
	requireError(t, call(t, s, http.MethodGet, "/accounts/acc_nope/credits/balance?type=units", nil), http.StatusNotFound, "acc_nope")
	requireError(t, call(t, s, http.MethodGet, "/accounts/acc_nope/credits/availability?type=units&required=1", nil), http.StatusNotFound, "acc_nope")
}

// Usage is taken from the grant that expires first; an expired grant's
// remainder no longer counts.
func TestGrantExpiry(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(start)
	s := newServer(t, WithClock(clock.now))
	s.SetMetric(Metric{EventName: "run", Aggregation: AggregationSum, Property: "n"})
	id := createAccount(t, s, "Acme", "")
	for _, g := range []obj{
		{"creditType": "units", "amount": "100"},
		{"creditType": "units", "amount": "10", "expiresAt": start.Add(48 * time.Hour).Format(time.RFC3339)},
		{"creditType": "units", "amount": "20", "expiresAt": start.Add(24 * time.Hour).Format(time.RFC3339)},
	} {
		require.Equal(t, http.StatusCreated, call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants", g).status)
	}
	ingest(t, s, obj{"uniqueId": "e1", "account": id, "eventName": "run", "properties": obj{"n": 25}})
	// 20 from the grant expiring first, 5 from the next.
	require.Equal(t, "105", s.Balance(id, alguna.CreditTypeUnits).String())

	clock.add(36 * time.Hour) // the first has expired (empty anyway); 5 left on the second
	require.Equal(t, "105", s.Balance(id, alguna.CreditTypeUnits).String())
	clock.add(24 * time.Hour) // the second has expired with 5 unused
	require.Equal(t, "100", s.Balance(id, alguna.CreditTypeUnits).String())
	r := call(t, s, http.MethodGet, "/accounts/"+id+"/credits/balance?type=units", nil)
	require.Equal(t, "100", decode[obj](t, r)["balance"])
	require.Equal(t, "25", s.Usage(id, alguna.CreditTypeUnits).String())
}

// A lower priority is used first, before the grant that expires first.
func TestGrantPriority(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(start)
	s := newServer(t, WithClock(clock.now))
	s.SetMetric(Metric{EventName: "run", Aggregation: AggregationSum, Property: "n"})
	id := createAccount(t, s, "Acme", "")
	r := call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants", obj{"creditType": "units", "amount": "10", "priority": 1})
	require.Equal(t, float64(1), decode[obj](t, r)["priority"])
	call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants",
		obj{"creditType": "units", "amount": "10", "priority": 5, "expiresAt": start.Add(time.Hour).Format(time.RFC3339)})
	ingest(t, s, obj{"uniqueId": "e1", "account": id, "eventName": "run", "properties": obj{"n": 10}})
	clock.add(2 * time.Hour)
	require.Equal(t, "0", s.Balance(id, alguna.CreditTypeUnits).String(), "the priority-1 grant was used; the other expired unused")
}

// ingest posts events over raw HTTP and returns the answer.
func ingest(t testing.TB, s *Server, events ...obj) ingestResult {
	t.Helper()
	r := call(t, s, http.MethodPost, "/events", events)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	return decode[ingestResult](t, r)
}

func TestMeteringArithmetic(t *testing.T) {
	march := "2025-03-10T12:00:00Z"
	april := "2025-04-02T12:00:00Z"
	type ev struct {
		ts    string
		props obj
	}
	tests := []struct {
		name     string
		metric   Metric
		events   []ev
		usage    string // consumed in all
		balance  string // of a 10-credit grant
		overage  string
		depleted bool
	}{
		{
			name:    "count: one per event, properties ignored",
			metric:  Metric{EventName: "api_call"},
			events:  []ev{{march, nil}, {march, obj{"x": 5}}, {april, nil}},
			usage:   "3",
			balance: "7",
			overage: "0",
		},
		{
			name:   "count unique: distinct values per month",
			metric: Metric{EventName: "api_call", Aggregation: AggregationCountUnique, Property: "user"},
			events: []ev{
				{march, obj{"user": "ann"}}, {march, obj{"user": "bob"}}, {march, obj{"user": "ann"}},
				{march, obj{"user": 7}}, {march, obj{"user": "7"}}, // the same value sent two ways
				{march, obj{"other": "x"}},  // no property: not counted
				{april, obj{"user": "ann"}}, // a new month starts afresh
			},
			usage:   "4",
			balance: "6",
			overage: "0",
		},
		{
			name:   "sum: decimal values, as numbers or numeric strings",
			metric: Metric{EventName: "api_call", Aggregation: AggregationSum, Property: "minutes"},
			events: []ev{
				{march, obj{"minutes": 1.25}}, {march, obj{"minutes": "2.5"}}, {april, obj{"minutes": 0.1}},
				{march, obj{"minutes": "lots"}}, {march, obj{"minutes": -3}}, {march, obj{}}, // consume nothing
			},
			usage:   "3.85",
			balance: "6.15",
			overage: "0",
		},
		{
			name:   "sum past the balance: reported balance stops at zero, overage kept",
			metric: Metric{EventName: "api_call", Aggregation: AggregationSum, Property: "tokens"},
			events: []ev{
				{march, obj{"tokens": 4}}, {march, obj{"tokens": 6}}, {march, obj{"tokens": 2.75}},
			},
			usage:    "12.75",
			balance:  "0",
			overage:  "2.75",
			depleted: true,
		},
		{
			name:   "max: the rise of the month's maximum",
			metric: Metric{EventName: "api_call", Aggregation: AggregationMax, Property: "seats"},
			events: []ev{
				{march, obj{"seats": 2}}, {march, obj{"seats": "1.5"}}, {march, obj{"seats": 3.5}}, {march, obj{"seats": 3.5}},
				{april, obj{"seats": 1}}, // April's maximum starts from nothing
			},
			usage:   "4.5",
			balance: "5.5",
			overage: "0",
		},
		{
			name:     "max reaching the balance exactly",
			metric:   Metric{EventName: "api_call", Aggregation: AggregationMax, Property: "seats"},
			events:   []ev{{march, obj{"seats": 4}}, {march, obj{"seats": 10}}},
			usage:    "10",
			balance:  "0",
			overage:  "0",
			depleted: true,
		},
		{
			name:    "other event names are not metered",
			metric:  Metric{EventName: "export"},
			events:  []ev{{march, nil}, {march, nil}},
			usage:   "0",
			balance: "10",
			overage: "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			s := newServer(t)
			s.AddWebhookEndpoint(rc.URL, "account.credits.balance_depleted")
			s.SetMetric(tt.metric)
			id := createAccount(t, s, "Acme", "")
			grantCreditsRaw(t, s, id, "units", "10")
			for i, e := range tt.events {
				ingest(t, s, obj{"uniqueId": fmt.Sprint("e", i), "account": id, "eventName": "api_call", "timestamp": e.ts, "properties": e.props})
			}
			require.Equal(t, tt.usage, s.Usage(id, alguna.CreditTypeUnits).String(), "usage")
			require.Equal(t, tt.balance, s.Balance(id, alguna.CreditTypeUnits).String(), "balance")
			require.Equal(t, tt.overage, s.Overage(id, alguna.CreditTypeUnits).String(), "overage")
			r := call(t, s, http.MethodGet, "/accounts/"+id+"/credits/balance?type=units", nil)
			require.Equal(t, tt.balance, decode[obj](t, r)["balance"])

			require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
			if tt.depleted {
				require.Len(t, rc.got(), 1)
				typ, data := rc.got()[0].envelope(t)
				require.Equal(t, "account.credits.balance_depleted", typ)
				require.Equal(t, obj{"accountId": id, "amount": "0", "type": "units"}, data)
			} else {
				require.Empty(t, rc.got())
			}
		})
	}
}

func TestMetricOnOtherCreditType(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "render", CreditType: alguna.CreditTypeMonetary, Aggregation: AggregationSum, Property: "cost"})
	s.SetMetric(Metric{EventName: "render"}) // units, by count, next to it
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "monetary", "20")
	grantCreditsRaw(t, s, id, "units", "5")
	ingest(t, s, obj{"uniqueId": "r1", "account": id, "eventName": "render", "properties": obj{"cost": "0.35"}})
	require.Equal(t, "19.65", s.Balance(id, alguna.CreditTypeMonetary).String())
	require.Equal(t, "4", s.Balance(id, alguna.CreditTypeUnits).String())

	// Replacing a metric replaces only the one for that credit type.
	s.SetMetric(Metric{EventName: "render", Aggregation: AggregationSum, Property: "cost"})
	ingest(t, s, obj{"uniqueId": "r2", "account": id, "eventName": "render", "properties": obj{"cost": "1"}})
	require.Equal(t, "18.65", s.Balance(id, alguna.CreditTypeMonetary).String())
	require.Equal(t, "3", s.Balance(id, alguna.CreditTypeUnits).String())
}

func TestSetMetricRejectsIncompleteMetrics(t *testing.T) {
	s := newServer(t)
	for _, m := range []Metric{
		{},
		{EventName: "x", CreditType: "coins"},
		{EventName: "x", Aggregation: "median", Property: "p"},
		{EventName: "x", Aggregation: AggregationSum},
		{EventName: "x", Aggregation: AggregationMax},
		{EventName: "x", Aggregation: AggregationCountUnique},
	} {
		require.Panics(t, func() { s.SetMetric(m) }, "%+v", m)
	}
}

// The depletion webhook fires the first time the balance reaches zero, not
// on every event after, and a new grant arms it again.
func TestDepletionFiresOncePerGrant(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	s.SetMetric(Metric{EventName: "api_call"})
	id := createAccount(t, s, "Acme", "")
	n := 0
	use := func(times int) {
		for range times {
			n++
			ingest(t, s, obj{"uniqueId": fmt.Sprint("e", n), "account": id, "eventName": "api_call"})
		}
	}
	use(2) // no credits yet: nothing to deplete
	grantCreditsRaw(t, s, id, "units", "3")
	use(5)
	grantCreditsRaw(t, s, id, "units", "1")
	use(2)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{
		"account.credits.granted",
		"account.credits.balance_depleted",
		"account.credits.granted",
		"account.credits.balance_depleted",
	}, rc.types(t))
	require.Equal(t, "9", s.Usage(id, alguna.CreditTypeUnits).String())
	require.Equal(t, "5", s.Overage(id, alguna.CreditTypeUnits).String(), "overage is not paid back by later grants")
	require.True(t, s.Balance(id, alguna.CreditTypeUnits).Equal(decimal.Zero))
}

func TestAccessorsOnUnknownAccount(t *testing.T) {
	s := newServer(t)
	require.True(t, s.Balance("acc_nope", alguna.CreditTypeUnits).IsZero())
	require.True(t, s.Usage("acc_nope", alguna.CreditTypeUnits).IsZero())
	require.True(t, s.Overage("acc_nope", alguna.CreditTypeUnits).IsZero())
}

// ctxTimeout is a context for waits that must not hang a broken test.
func ctxTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The ledger accessors take an alias as events do.
func TestLedgerByAlias(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	id := createAccount(t, s, "Acme", "user-123")
	grantCreditsRaw(t, s, id, "units", "3")
	ingest(t, s, obj{"uniqueId": "a", "account": "user-123", "eventName": "api_call"})
	require.Equal(t, "2", s.Balance("user-123", alguna.CreditTypeUnits).String())
	require.Equal(t, "1", s.Usage("user-123", alguna.CreditTypeUnits).String())
	require.Equal(t, s.Balance(id, alguna.CreditTypeUnits).String(), s.Balance("user-123", alguna.CreditTypeUnits).String())
	require.True(t, s.Overage("user-123", alguna.CreditTypeUnits).IsZero())
}
