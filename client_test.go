package alguna

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestClientNeverPrintsItsKey checks every way a Client can end up in a log
// line or an error message: the pointer and the value, every verb, slog's
// handlers, and a Client held in a struct of the user's.
func TestClientNeverPrintsItsKey(t *testing.T) {
	const key = "sk_live_Zq7secretPart"
	c, err := NewClient(key)
	require.NoError(t, err)
	type holder struct {
		client  *Client
		value   Client
		Exposed Client
	}
	h := holder{client: c, value: *c, Exposed: *c}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		outs = append(outs,
			fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c), fmt.Sprintf(verb, h),
			fmt.Sprintf(verb, c.Accounts), fmt.Sprintf(verb, *c.Events))
	}
	outs = append(outs, fmt.Sprint(c), fmt.Sprint(*c), fmt.Sprintln(c, *c))
	for _, handler := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var buf bytes.Buffer
		slog.New(handler(&buf)).Info("client", slog.Any("ptr", c), slog.Any("value", *c), slog.Any("holder", h))
		outs = append(outs, buf.String())
	}
	for _, out := range outs {
		require.NotContains(t, out, "secretPart")
		require.NotContains(t, out, "7365637265745061727") // "secretPart" in hex
		require.NotContains(t, strings.ToLower(out), "7365637265745061727")
	}
	require.Contains(t, fmt.Sprint(c), "alguna.Client")
}

// TestRedirectsAreNotFollowed checks that the API key never follows a
// redirect: Alguna's API does not redirect, so a 3xx is an *Error, whether
// the SDK uses its own HTTP client or the caller's.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("Idempotency-Key") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"acc_1","name":"Acme"}`)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", other.URL+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer api.Close()

	users := &http.Client{}
	for name, opts := range map[string][]Option{
		"own HTTP client":    {WithBaseURL(api.URL)},
		"caller HTTP client": {WithBaseURL(api.URL), WithHTTPClient(users)},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(testKey, append(opts, WithMaxRetries(0))...)
			require.NoError(t, err)
			_, err = c.Accounts.Create(testCtx(t), &AccountCreateParams{Name: "Acme"})
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusTemporaryRedirect, apiErr.StatusCode)
			_, err = c.Accounts.Get(testCtx(t), "acc_1")
			require.ErrorAs(t, err, &apiErr)
			require.Zero(t, leaked.Load(), "the key followed a redirect")
		})
	}
	require.Nil(t, users.CheckRedirect, "the caller's client is left as it was")
}

// TestPlainHTTPOnlyForLoopback checks that the key goes out in clear text
// only to this machine: tests, algunatest and local fakes.
func TestPlainHTTPOnlyForLoopback(t *testing.T) {
	for _, ok := range []string{
		"http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:4010", "http://[::1]:1",
		"https://api.alguna.io", "https://10.0.0.5",
	} {
		_, err := NewClient(testKey, WithBaseURL(ok))
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"http://api.alguna.io", "http://10.0.0.5:8080", "http://localhost.example.com",
		"http://127.0.0.1.nip.io", "http://[::ffff:10.0.0.1]",
	} {
		_, err := NewClient(testKey, WithBaseURL(bad))
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "plain http")
	}
}

// TestPlainHTTPBaseURL checks the explicit way to a plain-http fake on
// another host: requests go there, and the URL is still checked.
func TestPlainHTTPBaseURL(t *testing.T) {
	var got atomic.Value
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got.Store(r.URL.String())
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"id":"acc_1","name":"A","email":"a@b.co"}`)), Request: r}, nil
	})}
	c, err := NewClient(testKey, WithPlainHTTPBaseURL("http://algunafake:8089/"), WithHTTPClient(hc))
	require.NoError(t, err)
	_, err = c.Accounts.Get(context.Background(), "acc_1")
	require.NoError(t, err)
	require.Equal(t, "http://algunafake:8089/accounts/acc_1", got.Load())

	for _, bad := range []string{"ftp://algunafake", "http://", "algunafake:8089", "http://algunafake:8089?x=1", "http://algunafake#f"} {
		_, err := NewClient(testKey, WithPlainHTTPBaseURL(bad))
		require.ErrorContains(t, err, "WithPlainHTTPBaseURL", bad)
	}
	_, err = NewClient(testKey, WithSandbox(), WithPlainHTTPBaseURL("http://algunafake:8089"))
	require.ErrorContains(t, err, "two different hosts")
}

// TestMalformedKeysAreRefused checks that a key which would make every
// request fail locally is refused at once, while the surrounding whitespace
// of a key read from a file is trimmed.
func TestMalformedKeysAreRefused(t *testing.T) {
	for _, bad := range []string{"sk_live abc", "sk_live\tabc", "sk_live\x00abc", "sk_live\x7fabc", "sk_lïve_abc", "sk\r\nX-Other: 1"} {
		_, err := NewClient(bad)
		require.Error(t, err, "%q", bad)
		require.Contains(t, err.Error(), "API key")
		require.NotContains(t, err.Error(), bad, "the error does not repeat the key")
	}
	c, err := NewClient("\t" + testKey + "\n")
	require.NoError(t, err)
	require.Equal(t, "Bearer "+testKey, c.authorization())
}

// TestUnbuildableRequestIsNotRetried checks that an error no retry can
// mend fails at once: a request the transport refuses to send.
func TestUnbuildableRequestIsNotRetried(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := NewClient(testKey, WithBaseURL(srv.URL), WithUserAgent("app"))
	require.NoError(t, err)
	c.userAgent = "alguna-go\x00broken" // what validation now refuses

	_, err = c.Accounts.Get(testCtx(t), "acc_1")
	require.Error(t, err)
	require.Zero(t, hits.Load())

	var failed atomic.Int64
	b, err := c.Events.NewBatcher(BatcherOptions{OnFailure: func(ev []Event, _ error) { failed.Add(int64(len(ev))) }})
	require.NoError(t, err)
	require.NoError(t, b.Enqueue(testCtx(t), Event{Account: "acc_1", EventName: "api_call"}))
	require.NoError(t, b.Flush(testCtx(t)), "the batch fails at once instead of retrying until Close")
	require.Equal(t, int64(1), failed.Load())
	require.Zero(t, b.Stats().Retried)
	require.ErrorContains(t, b.Close(testCtx(t)), "1 of 1 events not ingested")
}

// TestHeaderValuesAreChecked checks that a header value with a control
// character is refused before sending rather than failing every attempt.
func TestHeaderValuesAreChecked(t *testing.T) {
	_, err := NewClient(testKey, WithUserAgent("app\x00"))
	require.Error(t, err)
	c, mock := newMockClient(t)
	rec := recordJSON(mock, 200, `{"id":"acc_1"}`)
	_, err = c.Accounts.Get(testCtx(t), "acc_1", WithHeader("X-Note", "a\x01b"))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Empty(t, rec.requests())
}

func TestSandbox(t *testing.T) {
	c, err := NewClient(testKey, WithSandbox())
	require.NoError(t, err)
	require.Equal(t, SandboxBaseURL, c.baseURL)
	require.Equal(t, "https://api.sandbox.alguna.io", SandboxBaseURL)
	_, err = NewClient(testKey, WithSandbox(), WithBaseURL("https://api.alguna.io"))
	require.ErrorContains(t, err, "WithSandbox and a base URL option")
	c, err = NewClient(testKey)
	require.NoError(t, err)
	require.Equal(t, DefaultBaseURL, c.baseURL)
}

// WithResponseInfo gives a successful call's status, headers and request
// id; for a call of several requests, the last one's.
func TestResponseInfo(t *testing.T) {
	c, mock := newMockClient(t)
	record(mock,
		jsonResponder(http.StatusOK, guideBalanceResponse, http.Header{"X-Request-Id": {"req_1"}, "X-Ratelimit-Remaining": {"99"}}))
	var info ResponseInfo
	_, err := c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits, WithResponseInfo(&info))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, info.StatusCode)
	require.Equal(t, "req_1", info.RequestID)
	require.Equal(t, "99", info.Header.Get("X-Ratelimit-Remaining"))

	c, mock = newMockClient(t)
	n := 0
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		n++
		return jsonResponder(http.StatusOK, `{"ingested": [], "failed": []}`, http.Header{"X-Request-Id": {fmt.Sprintf("req_%d", n)}})(r)
	})
	events := make([]Event, 150)
	for i := range events {
		events[i] = Event{Account: "acc_1", EventName: "api_call"}
	}
	info = ResponseInfo{}
	_, err = c.Events.Ingest(testCtx(t), events, WithResponseInfo(&info))
	require.NoError(t, err)
	require.Equal(t, "req_2", info.RequestID, "the last request's")

	c, mock = newMockClient(t, WithMaxRetries(0))
	recordJSON(mock, http.StatusNotFound, `{"detail": "no"}`)
	info = ResponseInfo{}
	_, err = c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits, WithResponseInfo(&info))
	require.ErrorIs(t, err, ErrNotFound)
	require.Zero(t, info, "a failed call leaves it alone")

	_, err = c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits, WithResponseInfo(nil))
	require.ErrorContains(t, err, "WithResponseInfo")
}

// An *Error names the call that failed, by its concrete path without the
// query, which can hold an alias or an email.
func TestErrorNamesTheCall(t *testing.T) {
	c, mock := newMockClient(t, WithMaxRetries(0))
	recordJSON(mock, http.StatusNotFound, `{"detail": "no such alias", "code": "not_found"}`)
	_, err := c.Accounts.Lookup(testCtx(t), "jane@example.com")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "GET", apiErr.Method)
	require.Equal(t, "/account-lookup", apiErr.Path)
	require.Equal(t, "alguna: GET /account-lookup: 404 Not Found: no such alias (code not_found)", err.Error())
	require.NotContains(t, err.Error(), "jane")
	require.False(t, apiErr.Retryable())
	require.True(t, (&Error{StatusCode: 503}).Retryable())
}

// recordingObserver keeps what an Observer hears.
type recordingObserver struct {
	mu      sync.Mutex
	calls   []CallInfo
	results []CallResult
}

type observerKey struct{}

func (o *recordingObserver) StartCall(ctx context.Context, call CallInfo) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, call)
	return context.WithValue(ctx, observerKey{}, call.Route)
}

func (o *recordingObserver) Attempt(ctx context.Context, call CallInfo, attempt int, h http.Header) {
	h.Set("Traceparent", fmt.Sprintf("%v-%d", ctx.Value(observerKey{}), attempt))
}

func (o *recordingObserver) EndCall(ctx context.Context, call CallInfo, r CallResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ctx.Value(observerKey{}) != call.Route {
		panic("EndCall without StartCall's context")
	}
	r.Duration = 0
	o.results = append(o.results, r)
}

// The observer sees every call by its route template, with its attempts,
// status and request id, and may add headers to each attempt.
func TestObserverSeesEveryCall(t *testing.T) {
	obs := &recordingObserver{}
	c, mock := newMockClient(t, WithObserver(obs))
	rec := record(mock,
		jsonResponder(http.StatusServiceUnavailable, `{}`, nil),
		jsonResponder(http.StatusOK, grantResponse, http.Header{"X-Request-Id": {"req_7"}}),
		jsonResponder(http.StatusNotFound, `{}`, http.Header{"X-Request-Id": {"req_8"}}))
	_, err := c.Credits.Grant(testCtx(t), "acc_abc123", &CreditGrantParams{CreditType: CreditTypeUnits, Amount: decimal.NewFromInt(50)})
	require.NoError(t, err)
	_, err = c.Subscriptions.Get(testCtx(t), "sub_9")
	require.ErrorIs(t, err, ErrNotFound)

	require.Equal(t, []CallInfo{
		{Method: "POST", Route: "/accounts/{id}/credits/grants", Path: "/accounts/acc_abc123/credits/grants", Host: "api.alguna.test", Port: 443},
		{Method: "GET", Route: "/subscriptions/{id}", Path: "/subscriptions/sub_9", Host: "api.alguna.test", Port: 443},
	}, obs.calls)
	require.Equal(t, CallResult{StatusCode: 200, Attempts: 2, RequestID: "req_7"}, obs.results[0])
	require.Equal(t, 404, obs.results[1].StatusCode)
	require.Equal(t, 1, obs.results[1].Attempts)
	require.ErrorIs(t, obs.results[1].Err, ErrNotFound)
	reqs := rec.requests()
	require.Equal(t, "/accounts/{id}/credits/grants-0", reqs[0].Header.Get("Traceparent"))
	require.Equal(t, "/accounts/{id}/credits/grants-1", reqs[1].Header.Get("Traceparent"))
	_, err = NewClient(testKey, WithObserver(nil))
	require.ErrorContains(t, err, "WithObserver")
}

// Every endpoint's template has as many placeholders as its calls fill, and
// never an id of its own.
func TestEndpointTemplates(t *testing.T) {
	for _, e := range []endpoint{createAccount, getAccount, updateAccount, listAccounts, lookupAccount,
		grantCredits, creditBalance, creditAvailability, listGrants, getGrant, createCheckoutSession,
		createPortalSession, ingestEvents, listSubscriptions, getSubscription, listInvoices, getInvoice, listPlans, getPlan} {
		n := strings.Count(e.template, "{")
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "x/y"
		}
		var c call
		require.NotPanics(t, func() { c = e.with(ids...) }, e.String())
		require.NotContains(t, c.path, "{", e.String())
		require.Equal(t, strings.Count(c.path, "x%2Fy"), n, e.String())
	}
	require.Panics(t, func() { getAccount.with() })
	require.Panics(t, func() { listAccounts.with("extra") })
}

// A transport error quotes the URL it failed on; its query, which can hold
// an alias or an email, is cut before the error reaches the caller or the
// logs.
func TestTransportErrorsDropTheQuery(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := ln.URL
	ln.Close() // nothing listens there any more
	var logs syncBuffer
	c, err := NewClient(testKey, WithBaseURL(addr), WithMaxRetries(1),
		WithRetryWait(time.Millisecond, time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	_, err = c.Accounts.Lookup(testCtx(t), "jane@example.com")
	require.Error(t, err)
	require.Contains(t, err.Error(), "/account-lookup")
	require.NotContains(t, err.Error(), "jane")
	require.NotContains(t, logs.String(), "jane")
	require.Contains(t, logs.String(), "retrying", "the retry was logged")
}
