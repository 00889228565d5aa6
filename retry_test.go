package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jarcoal/httpmock"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// attempt is one request as a test server saw it.
type attempt struct {
	key  string
	body []byte
}

// scriptServer is a real HTTP server that answers the n-th request with
// statuses[n] (the last one repeats) and records what it received.
type scriptServer struct {
	*httptest.Server
	mu       sync.Mutex
	attempts []attempt
}

func newScriptServer(t *testing.T, body string, statuses ...int) *scriptServer {
	t.Helper()
	s := &scriptServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.attempts)
		s.attempts = append(s.attempts, attempt{key: r.Header.Get("Idempotency-Key"), body: b})
		s.mu.Unlock()
		status := statuses[min(n, len(statuses)-1)]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status < 300 {
			_, _ = io.WriteString(w, body)
		} else {
			_, _ = io.WriteString(w, `{"status": `+strconv.Itoa(status)+`, "detail": "try again"}`)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scriptServer) seen() []attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]attempt(nil), s.attempts...)
}

// waits is a clock that records every wait the client would sleep and
// moves on at once, so that no test sleeps.
type waits struct {
	mu      sync.Mutex
	list    []time.Duration
	elapsed time.Duration
	start   time.Time
}

func (w *waits) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.start.IsZero() {
		w.start = time.Now()
	}
	return w.start.Add(w.elapsed)
}

func (w *waits) Sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.elapsed += d
	w.mu.Unlock()
	return ctx.Err()
}

// sleeper is a clock whose Sleep is the test's.
type sleeper func(ctx context.Context, d time.Duration) error

func (sleeper) Now() time.Time                                     { return time.Now() }
func (f sleeper) Sleep(ctx context.Context, d time.Duration) error { return f(ctx, d) }

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.list...)
}

// newServerClient returns a client for a real server, with its own
// transport (closed at the end so no connection outlives the test) and
// waits recorded instead of slept.
func newServerClient(t *testing.T, url string, opts ...Option) (*Client, *waits) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	all := append([]Option{WithBaseURL(url), WithHTTPClient(&http.Client{Transport: tr})}, opts...)
	c, err := NewClient(testKey, all...)
	require.NoError(t, err)
	w := &waits{}
	c.retry.clock = w
	return c, w
}

func TestRetryKeepsKeyAndBody(t *testing.T) {
	srv := newScriptServer(t, guideAccountResponse, 503, 503, 200)
	c, w := newServerClient(t, srv.URL)

	acc, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com", Alias: "your-internal-id-123"})
	require.NoError(t, err)
	require.Equal(t, guideAccount, acc)

	seen := srv.seen()
	require.Len(t, seen, 3)
	require.Len(t, w.all(), 2)
	_, err = uuid.Parse(seen[0].key)
	require.NoError(t, err, "generated keys are UUIDs")
	for _, a := range seen[1:] {
		require.Equal(t, seen[0].key, a.key, "one idempotency key for every attempt")
		require.Equal(t, seen[0].body, a.body, "the body is re-sent byte for byte")
	}
	require.JSONEq(t, guideAccountRequest, string(seen[0].body))
}

func TestRetriedStatuses(t *testing.T) {
	for _, status := range []int{408, 409, 429, 500, 502, 503, 504, 599} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := newScriptServer(t, guideBalanceResponse, status, 200)
			c, _ := newServerClient(t, srv.URL)
			bal, err := c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits)
			require.NoError(t, err)
			require.Equal(t, "50", bal.Balance.String())
			require.Len(t, srv.seen(), 2)
		})
	}
}

func TestNotRetriedStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 405, 413, 422, 501} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := newScriptServer(t, guideAccountResponse, status, 200)
			c, w := newServerClient(t, srv.URL)
			_, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme"})
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, status, apiErr.StatusCode)
			require.Equal(t, "try again", apiErr.Message)
			require.Len(t, srv.seen(), 1, "exactly one attempt")
			require.Empty(t, w.all())
		})
	}
}

func TestRetriesExhaustedReturnLastAnswer(t *testing.T) {
	srv := newScriptServer(t, "", 503)
	c, w := newServerClient(t, srv.URL, WithMaxRetries(3))
	_, err := c.Accounts.Get(testCtx(t), "acc_1")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 503, apiErr.StatusCode)
	require.ErrorIs(t, err, ErrServer)
	require.JSONEq(t, `{"status": 503, "detail": "try again"}`, string(apiErr.Body))
	require.Len(t, srv.seen(), 4, "the first attempt and three retries")
	require.Len(t, w.all(), 3)
}

func TestMaxRetriesZeroMakesOneAttempt(t *testing.T) {
	srv := newScriptServer(t, guideAccountResponse, 503, 200)
	c, w := newServerClient(t, srv.URL, WithMaxRetries(0))
	_, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme"})
	require.ErrorIs(t, err, ErrServer)
	require.Len(t, srv.seen(), 1)
	require.Empty(t, w.all())
}

func TestSeparateCallsHaveSeparateKeys(t *testing.T) {
	srv := newScriptServer(t, guideAccountResponse, 200)
	c, _ := newServerClient(t, srv.URL)
	for range 2 {
		_, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme"})
		require.NoError(t, err)
	}
	seen := srv.seen()
	require.Len(t, seen, 2)
	require.NotEmpty(t, seen[0].key)
	require.NotEqual(t, seen[0].key, seen[1].key)
}

func TestGivenIdempotencyKeyOnEveryRetry(t *testing.T) {
	srv := newScriptServer(t, grantResponse, 503, 429, 200)
	c, _ := newServerClient(t, srv.URL)
	_, err := c.Credits.Grant(testCtx(t), "acc_abc123",
		&CreditGrantParams{CreditType: CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits"},
		WithIdempotencyKey("trial-user-42"))
	require.NoError(t, err)
	seen := srv.seen()
	require.Len(t, seen, 3)
	for _, a := range seen {
		require.Equal(t, "trial-user-42", a.key)
		require.JSONEq(t, guideGrantRequest, string(a.body))
	}
}

// countingTransport counts round trips: the attempts retryablehttp makes.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	ct := &countingTransport{next: tr}
	var logs syncBuffer
	c, err := NewClient(testKey, WithBaseURL("http://"+addr), WithHTTPClient(&http.Client{Transport: ct}),
		WithMaxRetries(2), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	require.NoError(t, err)
	w := &waits{}
	c.retry.clock = w

	_, err = c.Accounts.Get(testCtx(t), "acc_1")
	require.Error(t, err)
	var apiErr *Error
	require.False(t, errors.As(err, &apiErr))
	require.Contains(t, err.Error(), "connection refused")
	require.Contains(t, err.Error(), "alguna: GET /accounts/acc_1")
	require.EqualValues(t, 3, ct.n.Load())
	require.Len(t, w.all(), 2)
	require.Contains(t, logs.String(), "connection refused")
	require.NotContains(t, logs.String(), testKey)
}

func TestConnectionResetIsRetried(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			// Drop the connection without an answer, with a reset.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, guideAccountResponse)
	}))
	t.Cleanup(srv.Close)
	c, w := newServerClient(t, srv.URL)
	acc, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme Corp"})
	require.NoError(t, err)
	require.Equal(t, "acc_abc123", acc.ID)
	require.EqualValues(t, 3, calls.Load())
	require.Len(t, w.all(), 2)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func() string
		min, max   time.Duration
	}{
		{"seconds", 429, func() string { return "7" }, 7 * time.Second, 7 * time.Second},
		{"seconds on a 503", 503, func() string { return "2" }, 2 * time.Second, 2 * time.Second},
		// Zero, or a date already past, must not make a tight loop: the
		// minimum wait still applies.
		{"zero seconds", 429, func() string { return "0" }, 10 * time.Millisecond, 10 * time.Millisecond},
		{"HTTP date", 429, func() string { return time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat) }, 28 * time.Second, 30 * time.Second},
		{"HTTP date in the past", 429, func() string { return "Wed, 21 Oct 2015 07:28:00 GMT" }, 10 * time.Millisecond, 10 * time.Millisecond},
		{"seconds capped", 429, func() string { return "3600" }, maxRetryAfter, maxRetryAfter},
		{"HTTP date capped", 503, func() string { return time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat) }, maxRetryAfter, maxRetryAfter},
		{"unparsable falls back to backoff", 429, func() string { return "soon" }, 10 * time.Millisecond, 20 * time.Millisecond},
		{"negative falls back to backoff", 429, func() string { return "-5" }, 10 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t, WithRetryWait(10*time.Millisecond, 20*time.Millisecond))
			w := &waits{}
			c.retry.clock = w
			rec := record(mock,
				jsonResponder(tt.status, `{}`, http.Header{"Retry-After": {tt.retryAfter()}}),
				jsonResponder(http.StatusOK, guideBalanceResponse, nil))
			_, err := c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits)
			require.NoError(t, err)
			require.Len(t, rec.requests(), 2)
			got := w.all()
			require.Len(t, got, 1)
			require.GreaterOrEqual(t, got[0], tt.min)
			require.LessOrEqual(t, got[0], tt.max)
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 3, 3, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"60", 60 * time.Second, true},
		{"61", maxRetryAfter, true},
		{"99999999999999999", maxRetryAfter, true},
		{"Mon, 03 Mar 2025 17:00:45 GMT", 45 * time.Second, true},
		{"Monday, 03-Mar-25 17:00:10 GMT", 10 * time.Second, true},
		{"Mon Mar  3 17:00:05 2025", 5 * time.Second, true},
		{"Mon, 03 Mar 2025 16:00:00 GMT", 0, true},
		{"Mon, 03 Mar 2025 19:00:00 GMT", maxRetryAfter, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		require.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	minWait, maxWait := 100*time.Millisecond, 1*time.Second
	for attempt := range 8 {
		base := minWait << attempt
		if base > maxWait {
			base = maxWait
		}
		lo := max(base/2, minWait)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(minWait, maxWait, attempt)
			require.GreaterOrEqual(t, d, lo, "attempt %d", attempt)
			require.LessOrEqual(t, d, base, "attempt %d", attempt)
			seen[d] = true
		}
		if base/2 > 0 && attempt > 0 {
			require.Greater(t, len(seen), 1, "attempt %d: jitter", attempt)
		}
	}
	// A server's Retry-After wins over the backoff, even above its maximum,
	// but never makes a wait shorter than the minimum: "Retry-After: 0"
	// must not make a tight loop.
	r := &retrier{minWait: minWait, maxWait: maxWait}
	require.Equal(t, 5*time.Second, r.wait(0, 5*time.Second, true))
	require.Equal(t, minWait, r.wait(3, 0, true))
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	c, mock := newMockClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var computed []time.Duration
	c.retry.clock = sleeper(func(ctx context.Context, d time.Duration) error {
		computed = append(computed, d)
		cancel() // the caller gives up while the client waits
		return sleepCtx(ctx, time.Hour)
	})
	rec := record(mock, jsonResponder(http.StatusServiceUnavailable, `{}`, nil))

	done := make(chan error, 1)
	go func() {
		_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"})
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Contains(t, err.Error(), "alguna: POST /accounts")
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not return when its context was cancelled")
	}
	require.Len(t, rec.requests(), 1)
	require.Len(t, computed, 1)
}

func TestContextDeadlineDuringBackoff(t *testing.T) {
	c, mock := newMockClient(t)
	c.retry.clock = sleeper(func(ctx context.Context, _ time.Duration) error { return sleepCtx(ctx, time.Hour) })
	record(mock, jsonResponder(http.StatusTooManyRequests, `{}`, http.Header{"Retry-After": {"30"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Credits.Balance(ctx, "acc_1", CreditTypeUnits)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestCancelledContextSendsNothing(t *testing.T) {
	srv := newScriptServer(t, guideAccountResponse, 200)
	c, _ := newServerClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Accounts.Get(ctx, "acc_1")
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, srv.seen())
}

// Failed answers are drained and closed before the retry, and the final
// one after it is read.
func TestRetriedBodiesAreClosed(t *testing.T) {
	c, mock := newMockClient(t)
	var bodies []*closeTracker
	var mu sync.Mutex
	answer := func(status int, body string) httpmock.Responder {
		return func(*http.Request) (*http.Response, error) {
			b := newCloseTracker(body)
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: b}, nil
		}
	}
	record(mock, answer(503, `{}`), answer(502, `{}`), answer(200, guideAccountResponse))
	_, err := c.Accounts.Get(testCtx(t), "acc_1")
	require.NoError(t, err)
	require.Len(t, bodies, 3)
	for i, b := range bodies {
		require.True(t, b.isClosed(), "body %d", i)
	}
}

// logRecord is one JSON line of slog's JSON handler.
type logRecord struct {
	Msg            string `json:"msg"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	Attempt        int    `json:"attempt"`
	Status         int    `json:"status"`
	Wait           int64  `json:"wait"`
	IdempotencyKey string `json:"idempotency_key"`
	Error          string `json:"error"`
}

func parseLogs(t *testing.T, s string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var r logRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		out = append(out, r)
	}
	return out
}

func TestRetriesAreLogged(t *testing.T) {
	var buf syncBuffer
	c, mock := newMockClient(t, WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithRetryWait(time.Microsecond, time.Microsecond))
	record(mock,
		jsonResponder(503, `{}`, nil),
		jsonResponder(429, `{}`, http.Header{"Retry-After": {"0"}}),
		jsonResponder(200, guideAccountResponse, nil))

	_, err := c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme"}, WithIdempotencyKey("signup-42"))
	require.NoError(t, err)

	out := buf.String()
	require.NotContains(t, out, testKey)
	require.NotContains(t, out, "Bearer")
	logs := parseLogs(t, out)
	require.Len(t, logs, 2, out)
	for i, l := range logs {
		require.Equal(t, "alguna: retrying", l.Msg)
		require.Equal(t, "POST", l.Method)
		require.Equal(t, "/accounts", l.Path)
		require.Equal(t, i+1, l.Attempt)
		require.Equal(t, "signup-42", l.IdempotencyKey)
		require.Equal(t, int64(time.Microsecond), l.Wait)
	}
	require.Equal(t, 503, logs[0].Status)
	require.Equal(t, 429, logs[1].Status)
}

// ingestServer answers POST /events by ingesting every id it receives except
// those starting with "bad", failing the first attempt of the chunks listed
// in flaky with a 503.
type ingestServer struct {
	mu     sync.Mutex
	chunks [][]Event // every attempt's events, in order
	keys   []string
	bodies [][]byte
	flaky  map[int]bool // chunk index (by first attempt) -> fail once
	served int
}

func (s *ingestServer) respond(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var events []Event
	if err := json.Unmarshal(body, &events); err != nil {
		return httpmock.NewStringResponse(400, `{"detail": "not a list"}`), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks = append(s.chunks, events)
	s.keys = append(s.keys, req.Header.Get("Idempotency-Key"))
	s.bodies = append(s.bodies, body)
	if s.flaky[s.served] {
		delete(s.flaky, s.served)
		return httpmock.NewStringResponse(503, `{}`), nil
	}
	s.served++
	res := IngestResult{Ingested: []string{}, Failed: []string{}}
	for _, e := range events {
		if strings.HasPrefix(e.Account, "bad") {
			res.Failed = append(res.Failed, e.UniqueID)
		} else {
			res.Ingested = append(res.Ingested, e.UniqueID)
		}
	}
	return httpmock.NewJsonResponse(200, res)
}

func newEvents(n int) []Event {
	events := make([]Event, n)
	for i := range events {
		events[i] = Event{Account: "acc_" + strconv.Itoa(i), EventName: "api_call", Properties: map[string]any{"i": i}}
	}
	return events
}

func TestIngestChunksAndRetries(t *testing.T) {
	c, mock := newMockClient(t)
	srv := &ingestServer{flaky: map[int]bool{1: true}}
	mock.RegisterResponder(http.MethodPost, testBase+"/events", srv.respond)

	events := newEvents(250)
	events[3].Account = "bad_acc"
	events[7].UniqueID = "my-own-id"
	fixed := time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)
	events[8].Timestamp = fixed
	before := time.Now().UTC()
	res, err := c.Events.Ingest(testCtx(t), events)
	require.NoError(t, err)

	// Ids and timestamps are filled in the caller's slice.
	ids := map[string]bool{}
	for i, e := range events {
		require.NotEmpty(t, e.UniqueID, "event %d", i)
		require.False(t, ids[e.UniqueID], "duplicate id")
		ids[e.UniqueID] = true
		require.False(t, e.Timestamp.IsZero())
		if i != 8 {
			require.False(t, e.Timestamp.Before(before.Truncate(time.Second)))
			require.Equal(t, time.UTC, e.Timestamp.Location())
		}
	}
	require.Equal(t, "my-own-id", events[7].UniqueID)
	require.Equal(t, fixed, events[8].Timestamp)

	// Four attempts: 100, 100 (503), 100 again, 50.
	require.Len(t, srv.chunks, 4)
	sizes := []int{}
	for _, ch := range srv.chunks {
		sizes = append(sizes, len(ch))
	}
	require.Equal(t, []int{100, 100, 100, 50}, sizes)
	require.Equal(t, srv.bodies[1], srv.bodies[2], "a retried chunk is re-sent byte for byte")
	// Each event's uniqueId is its idempotency key: no request carries one.
	require.Equal(t, []string{"", "", "", ""}, srv.keys)
	for i, ch := range [][]Event{srv.chunks[0], srv.chunks[2], srv.chunks[3]} {
		for j, e := range ch {
			want := events[i*100+j]
			require.Equal(t, want.UniqueID, e.UniqueID)
			require.True(t, want.Timestamp.Equal(e.Timestamp))
			require.Equal(t, want.Account, e.Account)
		}
	}

	// Results merged across chunks, in order.
	require.Len(t, res.Ingested, 249)
	require.Equal(t, []string{events[3].UniqueID}, res.Failed)
	require.Equal(t, events[0].UniqueID, res.Ingested[0])
	require.Equal(t, events[249].UniqueID, res.Ingested[248])
}

// An idempotency key on POST /events could only make Alguna replay a stored
// answer, so Ingest refuses one before sending anything.
func TestIngestRefusesIdempotencyKey(t *testing.T) {
	c, mock := newMockClient(t)
	rec := recordJSON(mock, http.StatusOK, eventsResponse)
	events := newEvents(3)
	_, err := c.Events.Ingest(testCtx(t), events, WithIdempotencyKey("k-1"))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "WithIdempotencyKey: POST /events takes no idempotency key")
	require.Empty(t, rec.requests())
	require.Empty(t, events[0].UniqueID, "nothing was filled either")
}

func TestIngestNothingSendsNothing(t *testing.T) {
	c, mock := newMockClient(t)
	res, err := c.Events.Ingest(testCtx(t), nil)
	require.NoError(t, err)
	require.Equal(t, &IngestResult{Ingested: []string{}, Failed: []string{}}, res)
	require.Zero(t, mock.GetTotalCallCount())
}

// A failing chunk stops Ingest; the result keeps what was already answered,
// and a second Ingest of the same slice resends the same ids.
func TestIngestStopsAtFailedChunk(t *testing.T) {
	c, mock := newMockClient(t)
	srv := &ingestServer{}
	var calls atomic.Int64
	mock.RegisterResponder(http.MethodPost, testBase+"/events", func(req *http.Request) (*http.Response, error) {
		if calls.Add(1) == 2 {
			return httpmock.NewStringResponse(400, `{"detail": "bad batch"}`), nil
		}
		return srv.respond(req)
	})
	events := newEvents(250)
	res, err := c.Events.Ingest(testCtx(t), events)
	require.ErrorIs(t, err, ErrBadRequest)
	require.Len(t, res.Ingested, 100)
	require.EqualValues(t, 2, calls.Load())

	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.UniqueID
	}
	res, err = c.Events.Ingest(testCtx(t), events)
	require.NoError(t, err)
	require.Len(t, res.Ingested, 250)
	for i, e := range events {
		require.Equal(t, ids[i], e.UniqueID, "ids are kept for the second try")
	}
}

// A response that arrives just as the caller gives up must still be closed,
// or its connection leaks.
func TestResponseClosedWhenContextEndsWithAnswer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := newCloseTracker(guideAccountResponse)
	// A plain transport rather than httpmock, which races a cancelled
	// context against the responder.
	tr := roundTripFunc(func(*http.Request) (*http.Response, error) {
		cancel()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: body}, nil
	})
	c, err := NewClient(testKey, WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	// The answer arrived, so the call may return it; either way its body
	// is closed.
	_, err = c.Accounts.Get(ctx, "acc_1")
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.True(t, body.isClosed(), "the response body must be closed")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
