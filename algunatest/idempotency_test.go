package algunatest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

func TestIdempotentReplay(t *testing.T) {
	s := newServer(t)
	body := obj{"name": "Acme", "alias": "acme"}
	first := call(t, s, http.MethodPost, "/accounts", body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, first.status)
	require.Empty(t, first.header.Get("Idempotent-Replayed"))

	again := call(t, s, http.MethodPost, "/accounts", body, "Idempotency-Key", "key-1")
	require.Equal(t, first.status, again.status)
	require.Equal(t, string(first.body), string(again.body), "the very same account, not a second one")
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Len(t, decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil)).Data, 1)

	// Without a key, the same request is a new operation; here the alias
	// is taken by then.
	requireError(t, call(t, s, http.MethodPost, "/accounts", body), http.StatusUnprocessableEntity, "already used")
}

func TestIdempotentReplayOfEachKindOfCall(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	id := createAccount(t, s, "Acme", "")
	calls := []struct {
		name   string
		method string
		path   string
		body   any
		check  func(t *testing.T)
	}{
		{"grant", http.MethodPost, "/accounts/" + id + "/credits/grants", obj{"creditType": "units", "amount": "5"}, func(t *testing.T) {
			require.Equal(t, "5", s.Balance(id, alguna.CreditTypeUnits).String(), "granted once")
		}},
		{"patch", http.MethodPatch, "/accounts/" + id, obj{"name": "Renamed"}, nil},
		{"events", http.MethodPost, "/events", []obj{{"account": id, "eventName": "api_call"}}, func(t *testing.T) {
			require.Len(t, s.Events(), 1, "the generated uniqueId is not generated twice")
		}},
		{"checkout", http.MethodPost, "/customer-session/checkout", obj{"accountId": id}, func(t *testing.T) {
			require.Len(t, s.CheckoutSessions(), 1)
		}},
		{"portal", http.MethodPost, "/portal/customer-session/customer-portal", obj{"accountId": id}, nil},
		{"an error is replayed too", http.MethodPost, "/accounts/acc_nope/credits/grants", obj{"creditType": "units", "amount": "5"}, nil},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			key := "key-" + c.name
			first := call(t, s, c.method, c.path, c.body, "Idempotency-Key", key)
			second := call(t, s, c.method, c.path, c.body, "Idempotency-Key", key)
			require.Equal(t, first.status, second.status)
			require.Equal(t, string(first.body), string(second.body))
			if c.check != nil {
				c.check(t)
			}
		})
	}
}

func TestIdempotencyKeyReuseForAnotherRequest(t *testing.T) {
	s := newServer(t)
	require.Equal(t, http.StatusCreated, call(t, s, http.MethodPost, "/accounts", obj{"name": "A"}, "Idempotency-Key", "k").status)
	requireError(t, call(t, s, http.MethodPost, "/accounts", obj{"name": "B"}, "Idempotency-Key", "k"),
		http.StatusUnprocessableEntity, `Idempotency-Key "k" was already used for a different request`)
	requireError(t, call(t, s, http.MethodPost, "/accounts", obj{"name": "A"}, "Idempotency-Key", strings.Repeat("k", 256)),
		http.StatusBadRequest, "longer than 255")
}

// GET has no side effects to protect; a key on it changes nothing.
func TestIdempotencyKeyIgnoredOnGet(t *testing.T) {
	s := newServer(t)
	first := call(t, s, http.MethodGet, "/accounts", nil, "Idempotency-Key", "g")
	createAccount(t, s, "Acme", "")
	second := call(t, s, http.MethodGet, "/accounts", nil, "Idempotency-Key", "g")
	require.NotEqual(t, string(first.body), string(second.body))
}

// Concurrent requests with one key (a client retrying while its first
// attempt still runs) run the operation once.
func TestIdempotencyUnderConcurrency(t *testing.T) {
	s := newServer(t)
	const n = 16
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		c := httpClient(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := tryCall(c, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "same")
			if err != nil || r.status != http.StatusCreated {
				t.Errorf("create: %v %d %s", err, r.status, r.body)
			}
			bodies[i] = string(r.body)
		}()
	}
	wg.Wait()
	for _, b := range bodies {
		require.Equal(t, bodies[0], b)
	}
	require.Len(t, decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil)).Data, 1)
}

// Alguna remembers a key for 24 hours; after that it names a new request.
func TestIdempotencyKeyExpires(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	first := call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "k")
	clock.add(24*time.Hour - time.Second)
	require.Equal(t, string(first.body), string(call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "k").body))
	clock.add(time.Second)
	again := call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusCreated, again.status)
	require.NotEqual(t, string(first.body), string(again.body))
	require.Len(t, decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil)).Data, 2)
}
