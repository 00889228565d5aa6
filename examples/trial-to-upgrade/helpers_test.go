package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// startForTest runs the app against a fresh fake and signs one visitor up.
func startForTest(t *testing.T) (*environment, *visitor) {
	t.Helper()
	env, inst := startApp(t)
	return env, signUp(t, inst.publicURL, "Ada", "ada@example.com")
}

// startApp runs the app against a fresh fake, with no user yet.
func startApp(t *testing.T) (*environment, *instance) {
	t.Helper()
	return startAppLogging(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startAppLogging is startApp with the app's log going to log.
func startAppLogging(t *testing.T, log *slog.Logger) (*environment, *instance) {
	t.Helper()
	env := newEnv(t)
	inst, err := start(context.Background(), env, "127.0.0.1:0", "", log)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.shutdown()) })
	return env, inst
}

// newEnv starts a fresh fake, as the command does without ALGUNA_API_KEY.
func newEnv(t *testing.T) *environment {
	t.Helper()
	env, err := connect(slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(env.close)
	require.NotNil(t, env.fake, "the test runs against the fake; unset ALGUNA_API_KEY")
	return env
}

// testApp is the app served with clients of the test's choosing.
type testApp struct {
	url    string
	store  *Store
	events *alguna.Batcher
}

// serveApp serves the app on env's fake, calling Alguna with client and
// sending its usage events with eventsClient.
func serveApp(t *testing.T, env *environment, client, eventsClient *alguna.Client) testApp {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := NewStore()
	events, err := newUsageBatcher(eventsClient, store, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = events.Close(ctx) })
	verifier, err := alguna.NewWebhookVerifier(env.webhookSecret)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	app, err := NewApp(Config{PublicURL: "http://" + srv.Listener.Addr().String(), FlowID: env.flowID, Currency: "USD", SessionKey: env.sessionKey}, client, events, verifier, store, log)
	require.NoError(t, err)
	srv.Config.Handler = app.Routes()
	srv.Start()
	return testApp{url: srv.URL, store: store, events: events}
}

// outage is a transport that fails the requests it matches (all of them,
// when match is nil) as an unreachable host would, while it is down.
type outage struct {
	down  atomic.Bool
	match func(*http.Request) bool
	next  http.RoundTripper
}

var errUnreachable = errors.New("dial tcp: connection refused (simulated outage)")

func (o *outage) RoundTrip(r *http.Request) (*http.Response, error) {
	if o.down.Load() && (o.match == nil || o.match(r)) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, errUnreachable
	}
	return o.next.RoundTrip(r)
}

// clientWithOutage is a client of env's fake whose requests go through o,
// retried once.
func clientWithOutage(t *testing.T, env *environment, o *outage) *alguna.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	o.next = tr
	return env.fake.Client(alguna.WithHTTPClient(&http.Client{Transport: o}), alguna.WithMaxRetries(1))
}

// signUp signs a new visitor up on the app at base.
func signUp(t *testing.T, base, name, email string) *visitor {
	t.Helper()
	v := newVisitor(base)
	resp, err := v.postForm(context.Background(), "/signup", url.Values{"name": {name}, "email": {email}})
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/dashboard", resp.Location)
	return v
}

// me is the visitor's /api/me, which must answer.
func me(t *testing.T, v *visitor) meView {
	t.Helper()
	m, err := v.me(context.Background())
	require.NoError(t, err)
	return m
}

// onlyUser is the one user in the store.
func onlyUser(t *testing.T, s *Store) User {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.users, 1)
	for _, u := range s.users {
		return *u
	}
	return User{}
}

// syncBuffer is a log destination that handlers of concurrent requests
// can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// dashboard fetches the visitor's dashboard page and its status.
func dashboard(t *testing.T, v *visitor) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, v.base+"/dashboard", nil)
	require.NoError(t, err)
	resp, err := v.http.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// hasID reports whether the page has an element with the id.
func hasID(page, id string) bool {
	return strings.Contains(page, `id="`+id+`"`)
}
