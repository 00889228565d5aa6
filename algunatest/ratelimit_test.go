package algunatest

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// requireRateLimited checks a 429 as the fake sends it.
func requireRateLimited(t *testing.T, r rawResp, retryAfter string) {
	t.Helper()
	requireError(t, r, http.StatusTooManyRequests, "rate limit exceeded")
	require.Equal(t, retryAfter, r.header.Get("Retry-After"))
	require.Regexp(t, requestIDPattern, r.header.Get("X-Request-Id"))
	require.Equal(t, "rate_limited", decode[obj](t, r)["code"])
}

func events(account string, n int, prefix string) []obj {
	out := make([]obj, n)
	for i := range out {
		out[i] = obj{"uniqueId": fmt.Sprint(prefix, i), "account": account, "eventName": "api_call"}
	}
	return out
}

func TestRequestRateLimit(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now), WithRateLimit(RateLimit{RequestsPerSecond: 2}))

	// The bucket starts full: one second's worth passes at once.
	require.Equal(t, http.StatusCreated, call(t, s, http.MethodPost, "/accounts", obj{"name": "A"}).status)
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts", nil).status)
	refused := call(t, s, http.MethodPost, "/accounts", obj{"name": "B"}, "Idempotency-Key", "b")
	requireRateLimited(t, refused, "1") // 0.5 s until a token, rounded up

	// A refused request changed nothing and spent nothing: half a second
	// later its retry passes, and its key was not taken by the 429.
	clock.add(500 * time.Millisecond)
	r := call(t, s, http.MethodPost, "/accounts", obj{"name": "B"}, "Idempotency-Key", "b")
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	require.Empty(t, r.header.Get("Idempotent-Replayed"))
	requireRateLimited(t, call(t, s, http.MethodGet, "/accounts", nil), "1")

	clock.add(time.Second)
	list := decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil))
	require.Len(t, list.Data, 2, "A and B, each once")

	// Hosted pages are not API requests and are never limited.
	for range 5 {
		require.Equal(t, http.StatusNotFound, get(t, httpClient(t), s.URL+"/checkout/session/chk_nope").status)
	}
}

func TestEventRateLimit(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "")
	s.SetRateLimit(RateLimit{EventsPerSecond: 10})

	require.Len(t, ingest(t, s, events(id, 6, "a")...).Ingested, 6)
	requireRateLimited(t, call(t, s, http.MethodPost, "/events", events(id, 6, "b")), "1") // 4 left, 2 short
	require.Len(t, s.Events(), 6, "the refused batch ingested nothing")

	// Other calls spend no event tokens.
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts/"+id, nil).status)

	clock.add(200 * time.Millisecond)
	require.Len(t, ingest(t, s, events(id, 6, "b")...).Ingested, 6)
	require.Len(t, s.Events(), 12)
}

// A batch larger than one second's worth passes when the bucket is full,
// and the debt it leaves holds back what follows, so that the average rate
// holds and the batch is not refused for ever.
func TestEventRateLimitOversizedBatch(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "")
	s.SetRateLimit(RateLimit{EventsPerSecond: 10})

	require.Len(t, ingest(t, s, events(id, 1, "x")...).Ingested, 1)
	// Not full (9 of 10): a batch of 25 waits for the bucket to fill.
	requireRateLimited(t, call(t, s, http.MethodPost, "/events", events(id, 25, "big")), "1")
	clock.add(100 * time.Millisecond)
	require.Len(t, ingest(t, s, events(id, 25, "big")...).Ingested, 25)

	// 15 in debt: one event waits 1.6 s.
	requireRateLimited(t, call(t, s, http.MethodPost, "/events", events(id, 1, "after")), "2")
	clock.add(1599 * time.Millisecond)
	requireRateLimited(t, call(t, s, http.MethodPost, "/events", events(id, 1, "after")), "1")
	clock.add(time.Millisecond)
	require.Len(t, ingest(t, s, events(id, 1, "after")...).Ingested, 1)
}

func TestRateLimitLog(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now), WithRateLimit(RateLimit{EventsPerSecond: 5, RequestsPerSecond: 0.25}))
	id := createAccount(t, s, "Acme", "")
	call(t, s, http.MethodPost, "/events", events(id, 3, "e"))
	clock.add(3 * time.Second)
	call(t, s, http.MethodPost, "/events", events(id, 3, "e"))

	log := s.Requests()
	require.Len(t, log, 3)
	require.Equal(t, http.StatusTooManyRequests, log[1].Status)
	require.Equal(t, 4*time.Second, log[1].RetryAfter, "a quarter request a second: four seconds")
	require.Equal(t, 3, log[1].Events)
	require.Equal(t, http.StatusTooManyRequests, log[2].Status)
	require.Equal(t, time.Second, log[2].RetryAfter)
	require.Equal(t, log[0].At.Add(3*time.Second), log[2].At)
}

func TestRateLimitSettings(t *testing.T) {
	for _, l := range []RateLimit{
		{EventsPerSecond: -1},
		{RequestsPerSecond: math.NaN()},
		{RequestsPerSecond: math.Inf(1)},
		{EventsPerSecond: math.Inf(-1)},
	} {
		_, err := Start(WithRateLimit(l))
		require.ErrorContains(t, err, "rate limit: ", "%+v", l)
		s := newServer(t)
		require.Panics(t, func() { s.SetRateLimit(l) }, "%+v", l)
	}

	// Zero is no limit; SetRateLimit turns limits on and off at run time.
	s := newServer(t, WithRateLimit(RateLimit{RequestsPerSecond: 1}))
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts", nil).status)
	require.Equal(t, http.StatusTooManyRequests, call(t, s, http.MethodGet, "/accounts", nil).status)
	s.SetRateLimit(RateLimit{})
	for range 50 {
		require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts", nil).status)
	}
}

// The SDK waits out the fake's Retry-After and gets through.
func TestSDKWaitsOutRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, WithRateLimit(RateLimit{RequestsPerSecond: 1}))
	c := s.Client()
	ctx := ctxTimeout(t)
	for i := range 2 {
		_, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: fmt.Sprint("A", i)})
		require.NoError(t, err)
	}
	log := s.Requests()
	require.Len(t, log, 3)
	require.Equal(t, http.StatusTooManyRequests, log[1].Status)
	require.Equal(t, http.StatusCreated, log[2].Status)
	require.GreaterOrEqual(t, log[2].At.Sub(log[1].At), log[1].RetryAfter, "no retry before Retry-After passed")
	require.Len(t, s.Panics(), 0)
	require.True(t, strings.HasPrefix(log[2].ID, "req_"))
}
