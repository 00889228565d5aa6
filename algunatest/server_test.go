package algunatest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

func TestNewServerDefaults(t *testing.T) {
	a, b := newServer(t), newServer(t)
	require.True(t, strings.HasPrefix(a.URL, "http://127.0.0.1:"), a.URL)
	require.NotEqual(t, a.URL, b.URL)
	require.NotEqual(t, a.APIKey, b.APIKey, "every server has a fresh key")
	require.NotEqual(t, a.WebhookSecret, b.WebhookSecret)
	key, err := standardwebhooks.ParseSecret(a.WebhookSecret)
	require.NoError(t, err)
	require.Len(t, key, 24)
	require.True(t, strings.HasPrefix(a.WebhookSecret, "whsec_"))
}

func TestOptions(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	s := newServer(t, WithAPIKey("sk_test_fixed"), WithWebhookSecret(secret))
	require.Equal(t, "sk_test_fixed", s.APIKey)
	require.Equal(t, secret, s.WebhookSecret)

	bad := []struct {
		name string
		opt  Option
	}{
		{"empty key", WithAPIKey(" ")},
		{"bad secret", WithWebhookSecret("whsec_***")},
		{"bad addr", WithAddr("nope")},
		{"flow without id", WithCheckoutFlow(CheckoutFlow{PlanName: "X"})},
		{"flow without price", WithCheckoutFlow(CheckoutFlow{ID: "f", PlanName: "X"})},
		{"zero ttl", WithPortalSessionTTL(0)},
		{"negative retry wait", WithWebhookRetrySchedule(-time.Second)},
		{"zero webhook timeout", WithWebhookTimeout(0)},
		{"nil clock", WithClock(nil)},
		{"incomplete metric", WithMetric(Metric{EventName: "x", Aggregation: AggregationSum})},
		{"relative webhook URL", WithWebhookEndpoint("/hooks")},
		{"public URL without scheme", WithPublicURL("localhost:8089")},
		{"public URL with query", WithPublicURL("http://localhost:8089/?x=1")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			require.Panics(t, func() { NewServer(tt.opt).Close() })
			srv, err := Start(tt.opt)
			require.Error(t, err)
			require.Nil(t, srv)
			require.True(t, strings.HasPrefix(err.Error(), "algunatest: "), err.Error())
		})
	}
}

// TestPublicURL checks that the session links a fake in a container hands
// out name the address browsers reach it at, while the API and the pages
// keep serving where it listens.
func TestPublicURL(t *testing.T) {
	plain := newServer(t)
	require.Equal(t, plain.URL, plain.PublicURL, "by default the links name URL")

	s := newServer(t, WithPublicURL("http://localhost:18089/"))
	require.Equal(t, "http://localhost:18089", s.PublicURL)
	accountID := createAccount(t, s, "Acme", "acme")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": accountID}))
	require.Equal(t, "http://localhost:18089/checkout/session/"+sess.CheckoutSessionID, sess.URL)
	require.NoError(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID))
	link := openPortal(t, s, obj{"accountId": accountID})
	path, ok := strings.CutPrefix(link, "http://localhost:18089/portal/session/")
	require.True(t, ok, link)

	// The page itself is served where the server listens.
	resp, err := httpClient(t).Get(s.URL + "/portal/session/" + path)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestStartReportsAddressInUse(t *testing.T) {
	s := newServer(t)
	_, err := Start(WithAddr(strings.TrimPrefix(s.URL, "http://")))
	require.ErrorContains(t, err, "address already in use")
}

func TestStartWithMetricAndEndpoint(t *testing.T) {
	rc := newReceiver(t, nil)
	s, err := Start(
		WithMetric(Metric{EventName: "minutes", Aggregation: AggregationSum, Property: "n"}),
		WithWebhookEndpoint(rc.URL, "account.credits.balance_depleted"),
	)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "5")
	ingest(t, s, obj{"account": id, "eventName": "minutes", "properties": obj{"n": "5"}})
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, []string{"account.credits.balance_depleted"}, rc.types(t))
}

func TestWithAddr(t *testing.T) {
	probe := NewServer()
	addr := strings.TrimPrefix(probe.URL, "http://")
	probe.Close() // frees a port we know was free a moment ago

	s := newServer(t, WithAddr(addr))
	require.Equal(t, "http://"+addr, s.URL)
	require.Equal(t, http.StatusCreated, call(t, s, http.MethodPost, "/accounts", obj{"name": "A"}).status)
}

func TestAuthentication(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name   string
		header string
		detail string
	}{
		{"missing", "", "missing Authorization header"},
		{"wrong key", "Bearer sk_test_wrong", "invalid API key"},
		{"other scheme", "Basic " + s.APIKey, "Bearer scheme"},
		{"bare key", s.APIKey, "Bearer scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme"}, "Authorization", tt.header)
			requireError(t, r, http.StatusUnauthorized, tt.detail)
			require.Equal(t, "Bearer", r.header.Get("WWW-Authenticate"))
		})
	}
	list := call(t, s, http.MethodGet, "/accounts", nil)
	require.Empty(t, decode[accountList](t, list).Data, "a refused request creates nothing")

	ok := call(t, s, http.MethodGet, "/accounts", nil, "Authorization", "bearer "+s.APIKey)
	require.Equal(t, http.StatusOK, ok.status, "the scheme is case-insensitive")
}

func TestEveryAPIEndpointNeedsTheKey(t *testing.T) {
	s := newServer(t)
	endpoints := []struct{ method, path string }{
		{http.MethodPost, "/accounts"},
		{http.MethodGet, "/accounts"},
		{http.MethodGet, "/accounts/acc_x"},
		{http.MethodPatch, "/accounts/acc_x"},
		{http.MethodGet, "/account-lookup?alias=x"},
		{http.MethodPost, "/accounts/acc_x/credits/grants"},
		{http.MethodGet, "/accounts/acc_x/credits/balance?type=units"},
		{http.MethodGet, "/accounts/acc_x/credits/availability?type=units&required=1"},
		{http.MethodPost, "/customer-session/checkout"},
		{http.MethodPost, "/events"},
		{http.MethodPost, "/portal/customer-session/customer-portal"},
		{http.MethodGet, "/subscriptions"},
		{http.MethodGet, "/subscriptions/sub_x"},
		{http.MethodGet, "/invoices"},
		{http.MethodGet, "/invoices/inv_x"},
		{http.MethodGet, "/plans"},
		{http.MethodGet, "/plans/plan_pro"},
		{http.MethodGet, "/credit-grants"},
		{http.MethodGet, "/credit-grants/cgr_x"},
	}
	for _, e := range endpoints {
		r := call(t, s, e.method, e.path, "{}", "Authorization", "")
		requireError(t, r, http.StatusUnauthorized, "missing Authorization")
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	s := newServer(t)
	requireError(t, call(t, s, http.MethodGet, "/refunds", nil), http.StatusNotFound, "no such endpoint: GET /refunds")
	requireError(t, call(t, s, http.MethodDelete, "/accounts/acc_x", nil), http.StatusMethodNotAllowed, "DELETE is not allowed")
	requireError(t, call(t, s, http.MethodPut, "/events", "[]"), http.StatusMethodNotAllowed, "PUT is not allowed on /events")
}

func TestRequestBodyLimit(t *testing.T) {
	s := newServer(t)
	huge := `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	requireError(t, call(t, s, http.MethodPost, "/accounts", huge), http.StatusRequestEntityTooLarge, "larger than")
}

func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	s := NewServer()
	url := s.URL
	s.Close()
	s.Close()
	_, err := httpClient(t).Get(url + "/accounts")
	require.Error(t, err)
}

// Many clients at once: run with -race, this is the test of the lock
// discipline.
func TestConcurrentClients(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	s.SetMetric(Metric{EventName: "api_call"})

	const workers, perWorker = 8, 20
	ids := make([]string, workers)
	for w := range workers {
		ids[w] = createAccount(t, s, "Worker", "")
		grantCreditsRaw(t, s, ids[w], "units", "10")
	}
	var wg sync.WaitGroup
	for w := range workers {
		c := httpClient(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				ev := obj{"uniqueId": fmt.Sprintf("%s-%d", ids[w], i), "account": ids[w], "eventName": "api_call"}
				if r, err := tryCall(c, s, http.MethodPost, "/events", []obj{ev}); err != nil || r.status != http.StatusOK {
					t.Errorf("ingest: %v %d %s", err, r.status, r.body)
				}
				for _, path := range []string{"/accounts/" + ids[w] + "/credits/balance?type=units", "/accounts?limit=5"} {
					if r, err := tryCall(c, s, http.MethodGet, path, nil); err != nil || r.status != http.StatusOK {
						t.Errorf("GET %s: %v %d %s", path, err, r.status, r.body)
					}
				}
				_ = s.Events()
				_ = s.Deliveries()
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.FlushWebhooks(ctx))

	require.Len(t, s.Events(), workers*perWorker)
	for _, id := range ids {
		require.Equal(t, "0", s.Balance(id, "units").String())
		require.Equal(t, "10", s.Overage(id, "units").String())
	}
	depleted := 0
	for _, typ := range rc.types(t) {
		if typ == "account.credits.balance_depleted" {
			depleted++
		}
	}
	require.Equal(t, workers, depleted, "one depletion per account")
}

// A client may hold a connection it has not used yet; Close must not wait
// for it (http.Server.Shutdown alone waits five seconds).
func TestCloseDoesNotWaitForUnusedConnections(t *testing.T) {
	s := NewServer()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, "/accounts", nil).status)

	start := time.Now()
	s.Close()
	require.Less(t, time.Since(start), time.Second)
}
