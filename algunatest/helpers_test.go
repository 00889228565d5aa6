package algunatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newServer starts a fake that is closed when the test ends.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// rawResp is an answer read whole.
type rawResp struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into a fresh value of T.
func decode[T any](t testing.TB, r rawResp) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "body: %s", r.body)
	return v
}

// obj is a decoded JSON object, for asserting on wire shapes.
type obj = map[string]any

// httpClient returns a client whose connections are closed when the test
// ends, so that no transport goroutine outlives it.
func httpClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(t testing.TB) *http.Client {
	c := httpClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// call makes an authenticated API request. body is sent as is when it is a
// string, and as JSON otherwise; headers are name, value pairs and may
// replace the Authorization header (an empty value removes it).
func call(t testing.TB, s *Server, method, path string, body any, headers ...string) rawResp {
	t.Helper()
	r, err := tryCall(httpClient(t), s, method, path, body, headers...)
	require.NoError(t, err)
	return r
}

// tryCall is call for goroutines other than the test's, which must not stop
// the test themselves.
func tryCall(c *http.Client, s *Server, method, path string, body any, headers ...string) (rawResp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return rawResp{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return rawResp{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return trySend(c, req)
}

func send(t testing.TB, c *http.Client, req *http.Request) rawResp {
	t.Helper()
	r, err := trySend(c, req)
	require.NoError(t, err)
	return r
}

func trySend(c *http.Client, req *http.Request) (rawResp, error) {
	resp, err := c.Do(req)
	if err != nil {
		return rawResp{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResp{}, err
	}
	return rawResp{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// get fetches a hosted page.
func get(t testing.TB, c *http.Client, url string) rawResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return send(t, c, req)
}

// post submits an empty form, as the hosted pages' buttons do.
func post(t testing.TB, c *http.Client, url string) rawResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(""))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, c, req)
}

// requireError checks Alguna's {status, detail} error body.
func requireError(t testing.TB, r rawResp, status int, detailContains string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	e := decode[obj](t, r)
	require.EqualValues(t, status, e["status"])
	require.Contains(t, e["detail"], detailContains)
}

// createAccount creates an account over raw HTTP and returns its id.
func createAccount(t testing.TB, s *Server, name, alias string) string {
	t.Helper()
	r := call(t, s, http.MethodPost, "/accounts", obj{"name": name, "email": "billing@example.com", "alias": alias})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	return decode[obj](t, r)["id"].(string)
}

// grantCreditsRaw grants credits over raw HTTP.
func grantCreditsRaw(t testing.TB, s *Server, accountID, creditType, amount string) {
	t.Helper()
	body := obj{"creditType": creditType, "amount": amount, "reason": "test"}
	if creditType == "monetary" {
		body["currency"] = "USD"
	}
	r := call(t, s, http.MethodPost, "/accounts/"+accountID+"/credits/grants", body)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
}

// hook is one webhook request as a receiver saw it.
type hook struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (h hook) envelope(t testing.TB) (string, obj) {
	t.Helper()
	var env struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      obj    `json:"data"`
	}
	require.NoError(t, json.Unmarshal(h.body, &env))
	_, err := time.Parse(time.RFC3339Nano, env.Timestamp)
	require.NoError(t, err)
	return env.Type, env.Data
}

// receiver is a webhook endpoint for tests. It records every request and
// answers with the status its respond function picks (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	hooks   []hook
	respond func(n int, h hook) int // n counts requests from 0
}

func newReceiver(t testing.TB, respond func(n int, h hook) int) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hook{header: r.Header.Clone(), body: body, at: time.Now()}
		rc.mu.Lock()
		n := len(rc.hooks)
		rc.hooks = append(rc.hooks, h)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.respond != nil {
			status = rc.respond(n, h)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.hooks...)
}

// types lists the event types received, in order.
func (rc *receiver) types(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, h := range rc.got() {
		typ, _ := h.envelope(t)
		out = append(out, typ)
	}
	return out
}

// fakeClock is a clock tests move by hand; safe for the server to read while
// the test moves it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
