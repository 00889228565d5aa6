package algunatest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// A number far beyond any real quantity (1e100000000) would make the
// fake's arithmetic run for minutes under its lock; every number it parses
// is held to numlimit's bound instead, and refused the way Alguna refuses
// other bad input.
func TestHugeNumbersAreRefused(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "minutes", Aggregation: AggregationSum, Property: "n"})
	s.SetMetric(Metric{EventName: "seats", Aggregation: AggregationMax, Property: "n"})
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "10")
	digits := func(n int) string { return strings.Repeat("9", n) }

	events := []struct {
		name   string
		body   string
		detail string
	}{
		{"huge exponent", `[{"account":"` + id + `","eventName":"minutes","properties":{"n":1e100000000}}]`,
			`events[0]: property "n": number's exponent is beyond ±400`},
		{"huge negative exponent", `[{"account":"` + id + `","eventName":"minutes","properties":{"n":1e-100000000}}]`,
			`events[0]: property "n": number's exponent is beyond ±400`},
		{"too many digits", `[{"account":"` + id + `","eventName":"seats","properties":{"n":` + digits(101) + `}}]`,
			`events[0]: property "n": number has 101 digits, more than 100`},
		{"in the second event", `[{"account":"` + id + `","eventName":"minutes","properties":{"n":1}},` +
			`{"uniqueId":"big","account":"` + id + `","eventName":"minutes","properties":{"a":"x","n":-` + digits(150) + `.5}}]`,
			`events[1]: property "n": number has 151 digits, more than 100`},
	}
	for _, tt := range events {
		t.Run("event "+tt.name, func(t *testing.T) {
			requireError(t, call(t, s, http.MethodPost, "/events", tt.body), http.StatusBadRequest, tt.detail)
		})
	}
	require.Empty(t, s.Events(), "a refused request ingests nothing")
	require.Equal(t, "10", s.Balance(id, alguna.CreditTypeUnits).String())

	t.Run("within the bound", func(t *testing.T) {
		res := ingest(t, s,
			obj{"uniqueId": "ok1", "account": id, "eventName": "minutes", "properties": obj{"n": "1e-400"}},
			obj{"uniqueId": "ok2", "account": id, "eventName": "seats", "properties": obj{"n": decimal.RequireFromString("0." + digits(99))}},
			// Text that is not a number is not held to a number's bound.
			obj{"uniqueId": "ok3", "account": id, "eventName": "minutes", "properties": obj{"label": "order-" + digits(150)}},
			// Nor is text written as a number too large for it: the SDK sends
			// any string, so it is taken, and metering does not read it as a
			// number.
			obj{"uniqueId": "ok4", "account": id, "eventName": "minutes", "properties": obj{"n": "1e100000000"}},
		)
		require.Len(t, res.Ingested, 4)
		require.Equal(t, "1", s.Usage(id, alguna.CreditTypeUnits).Round(0).String())
	})

	before := s.Balance(id, alguna.CreditTypeUnits)
	grants := []struct {
		name   string
		amount string // raw JSON
		detail string
	}{
		{"string", `"1e100000000"`, "amount: number's exponent is beyond ±400"},
		{"bare number", `1e100000000`, "amount: number's exponent is beyond ±400"},
		{"many digits", `"` + digits(101) + `"`, "amount: number has 101 digits, more than 100"},
		{"escaped digits", `"\u0031e100000000"`, "amount: number's exponent is beyond ±400"},
	}
	for _, tt := range grants {
		t.Run("grant "+tt.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/accounts/"+id+"/credits/grants", `{"creditType":"units","amount":`+tt.amount+`}`)
			requireError(t, r, http.StatusBadRequest, tt.detail)
		})
	}
	require.True(t, before.Equal(s.Balance(id, alguna.CreditTypeUnits)), "refused grants add nothing")

	for _, required := range []string{"1e100000000", digits(101), "1e-401"} {
		t.Run("availability "+required[:min(len(required), 12)], func(t *testing.T) {
			r := call(t, s, http.MethodGet, "/accounts/"+id+"/credits/availability?type=units&required="+url.QueryEscape(required), nil)
			requireError(t, r, http.StatusBadRequest, "required: number")
		})
	}
}

func TestCheckoutFlowAmountIsBounded(t *testing.T) {
	_, err := Start(WithCheckoutFlow(CheckoutFlow{ID: "flow_x", PlanName: "X", Amount: decimal.New(1, 1000)}))
	require.ErrorContains(t, err, "checkout flow flow_x: amount: number written in full has more than 100 digits")
}
