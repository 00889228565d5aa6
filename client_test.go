package alguna

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

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
