package algunatest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

func TestCreditGrantList(t *testing.T) {
	start := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(start)
	s := newServer(t, WithClock(clock.now))
	s.SetMetric(Metric{EventName: "tokens", Aggregation: AggregationSum, Property: "n"})
	id := createAccount(t, s, "Acme", "acme")
	other := createAccount(t, s, "Other", "")

	grant := func(account string, body obj) obj {
		t.Helper()
		r := call(t, s, http.MethodPost, "/accounts/"+account+"/credits/grants", body)
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		return decode[obj](t, r)
	}
	welcome := grant(id, obj{"creditType": "units", "amount": "10", "reason": "Welcome", "priority": 1})
	// The reference's names are accepted too; the answer keeps the guide's.
	promo := grant(id, obj{"type": "units", "amount": "20", "description": "Promo", "priority": 2,
		"expiresAt": start.Add(24 * time.Hour).Format(time.RFC3339)})
	require.Equal(t, "units", promo["creditType"])
	require.Equal(t, "Promo", promo["reason"])
	wallet := grant(id, obj{"creditType": "monetary", "amount": "5.50", "currency": "EUR"})
	grant(other, obj{"creditType": "units", "amount": "1"})

	list := func(query string) []obj {
		t.Helper()
		r := call(t, s, http.MethodGet, "/credit-grants"+query, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return decode[struct{ Items []obj }](t, r).Items
	}
	const at = "2025-03-03T12:00:00.000000Z"
	got := list("?accountId=acme")
	require.Equal(t, []obj{
		{"id": welcome["id"], "accountId": id, "type": "units", "amount": "10", "remainingAmount": "10",
			"priority": float64(1), "status": "active", "description": "Welcome", "createdAt": at},
		{"id": promo["id"], "accountId": id, "type": "units", "amount": "20", "remainingAmount": "20",
			"priority": float64(2), "expiresAt": "2025-03-04T12:00:00.000000Z", "status": "active", "description": "Promo", "createdAt": at},
		{"id": wallet["id"], "accountId": id, "type": "monetary", "amount": "5.5", "remainingAmount": "5.5",
			"currency": "EUR", "status": "active", "createdAt": at},
	}, got)
	require.Len(t, list(""), 4, "no filter: every account's")
	require.Len(t, list("?accountId="+other), 1)
	require.Equal(t, []obj{got[1]}, list("?accountId="+id+"&limit=1&page=2"))
	require.Equal(t, wallet["id"], list("?accountId=" + id + "&sort=createdAt:desc")[0]["id"])

	// Usage takes from the lowest priority first; what is left goes down.
	ingest(t, s, obj{"uniqueId": "u1", "account": id, "eventName": "tokens", "properties": obj{"n": 15}})
	one := func(g obj) obj {
		t.Helper()
		return decode[obj](t, call(t, s, http.MethodGet, "/credit-grants/"+g["id"].(string), nil))
	}
	require.Equal(t, "0", one(welcome)["remainingAmount"])
	require.Equal(t, "exhausted", one(welcome)["status"])
	require.Equal(t, "15", one(promo)["remainingAmount"])
	require.Equal(t, "active", one(promo)["status"])

	clock.add(24 * time.Hour)
	require.Equal(t, "expired", one(promo)["status"], "past its expiry with credits left")
	require.Equal(t, "15", one(promo)["remainingAmount"])
	require.True(t, s.Balance(id, alguna.CreditTypeUnits).IsZero())

	requireError(t, call(t, s, http.MethodGet, "/credit-grants/cgr_nope", nil), http.StatusNotFound, "credit grant cgr_nope not found")
	requireError(t, call(t, s, http.MethodGet, "/credit-grants?accountId=nobody", nil), http.StatusNotFound, "account nobody not found")
	requireError(t, call(t, s, http.MethodGet, "/credit-grants?limit=0", nil), http.StatusBadRequest, "limit must be a positive integer")
}
