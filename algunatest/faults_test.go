package algunatest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freshConnClient opens a new connection per request. Go's transport
// silently retries an idempotent request that fails on a reused connection,
// which would hide resets and draw a second fault for one call.
func freshConnClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// outcomes makes n sequential requests and names what each got.
func outcomes(t *testing.T, s *Server, n int) []string {
	t.Helper()
	c := freshConnClient(t)
	out := make([]string, n)
	for i := range out {
		r, err := tryCall(c, s, http.MethodGet, "/accounts", nil)
		switch {
		case err != nil:
			out[i] = "reset"
		default:
			out[i] = fmt.Sprint(r.status)
		}
	}
	return out
}

func TestFaultsAreDeterministic(t *testing.T) {
	f := Faults{ErrorRate: 0.2, RateLimitRate: 0.2, ResetRate: 0.2, Seed: 42}
	s := newServer(t)
	s.SetFaults(f)
	first := outcomes(t, s, 60)

	counts := map[string]int{}
	for _, o := range first {
		counts[o]++
	}
	for _, kind := range []string{"200", "500", "429", "reset"} {
		require.Positive(t, counts[kind], "%s never happened in %v", kind, first)
	}

	s.SetFaults(f) // restarts the sequence
	require.Equal(t, first, outcomes(t, s, 60), "same seed, same faults")

	other := newServer(t)
	other.SetFaults(f)
	require.Equal(t, first, outcomes(t, other, 60), "same seed on another server, same faults")

	f.Seed = 43
	other.SetFaults(f)
	require.NotEqual(t, first, outcomes(t, other, 60), "another seed, other faults")

	other.SetFaults(Faults{})
	for _, o := range outcomes(t, other, 20) {
		require.Equal(t, "200", o, "the zero Faults turns faults off")
	}
}

func TestFaultKinds(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, r rawResp, err error)
	}{
		{"error", Faults{ErrorRate: 1}, func(t *testing.T, r rawResp, err error) {
			require.NoError(t, err)
			requireError(t, r, http.StatusInternalServerError, "injected by algunatest")
		}},
		{"rate limit", Faults{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, r rawResp, err error) {
			require.NoError(t, err)
			requireError(t, r, http.StatusTooManyRequests, "rate limit exceeded")
			require.Equal(t, "2", r.header.Get("Retry-After"), "whole seconds, rounded up")
		}},
		{"rate limit, retry at once", Faults{RateLimitRate: 1}, func(t *testing.T, r rawResp, err error) {
			require.NoError(t, err)
			require.Equal(t, "0", r.header.Get("Retry-After"))
		}},
		{"reset", Faults{ResetRate: 1}, func(t *testing.T, r rawResp, err error) {
			require.Error(t, err, "no response at all")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			id := createAccount(t, s, "Acme", "")
			s.SetFaults(tt.faults)
			c := freshConnClient(t)
			for _, req := range []struct {
				method, path string
				body         any
			}{
				{http.MethodPost, "/accounts", obj{"name": "Ghost"}},
				{http.MethodPost, "/accounts/" + id + "/credits/grants", obj{"creditType": "units", "amount": "5"}},
				{http.MethodPost, "/events", []obj{{"account": id, "eventName": "api_call"}}},
				{http.MethodPatch, "/accounts/" + id, obj{"name": "Changed"}},
			} {
				r, err := tryCall(c, s, req.method, req.path, req.body)
				tt.check(t, r, err)
			}
			s.SetFaults(Faults{})

			// A faulted request never reached the handler.
			list := decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil))
			require.Len(t, list.Data, 1)
			require.Equal(t, "Acme", list.Data[0].Name)
			require.True(t, s.Balance(id, "units").IsZero())
			require.Empty(t, s.Events())
		})
	}
}

// A faulted request with an Idempotency-Key did not run, so its retry is
// the first time the operation happens, not a replay of the fault.
func TestFaultedRequestIsNotRecordedForReplay(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{ErrorRate: 1})
	r := call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusInternalServerError, r.status)
	s.SetFaults(Faults{})
	r = call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Idempotency-Key", "k")
	require.Equal(t, http.StatusCreated, r.status)
}

func TestFaultLatency(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{Latency: 80 * time.Millisecond})
	start := time.Now()
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts", nil).status)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)
}

func TestHostedPagesAreNotFaulted(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	sess := decode[obj](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": id}))
	s.SetFaults(Faults{ErrorRate: 0.5, ResetRate: 0.5})
	c := freshConnClient(t)
	for range 10 {
		require.Equal(t, http.StatusOK, get(t, c, sess["url"].(string)).status)
	}
}

func TestSetFaultsRejectsBadSettings(t *testing.T) {
	s := newServer(t)
	for _, f := range []Faults{
		{ErrorRate: -0.1},
		{ErrorRate: 0.5, RateLimitRate: 0.4, ResetRate: 0.2},
		{RetryAfter: -time.Second},
		{Latency: -time.Second},
	} {
		require.Panics(t, func() { s.SetFaults(f) }, "%+v", f)
	}
}
