package algunatest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// verify checks a delivery's signature the way a receiver must.
func verify(t testing.TB, s *Server, h hook) {
	t.Helper()
	key, err := standardwebhooks.ParseSecret(s.WebhookSecret)
	require.NoError(t, err)
	id, ts, sig := h.header.Get("webhook-id"), h.header.Get("webhook-timestamp"), h.header.Get("webhook-signature")
	require.True(t, standardwebhooks.Match([][]byte{key}, id, ts, h.body, sig), "signature %q does not match", sig)
	unix, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), time.Unix(unix, 0), time.Minute)
}

func TestWebhookSigningAndShape(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t, WithWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	s.AddWebhookEndpoint(rc.URL)
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "50")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))

	hooks := rc.got()
	require.Len(t, hooks, 1)
	h := hooks[0]
	verify(t, s, h)
	require.Regexp(t, `^msg_[a-z2-7]{16}$`, h.header.Get("webhook-id"))
	require.Equal(t, "application/json", h.header.Get("Content-Type"))
	for _, name := range []string{"id", "timestamp", "signature"} {
		require.Equal(t, h.header.Get("webhook-"+name), h.header.Get("svix-"+name), "Svix's header names carry the same values")
	}

	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(h.body, &env))
	require.ElementsMatch(t, []string{"type", "timestamp", "data"}, keys(env))
	typ, data := h.envelope(t)
	require.Equal(t, "account.credits.granted", typ)
	require.Equal(t, id, data["accountId"])
	require.Equal(t, "50", data["amount"])
	require.Equal(t, "units", data["creditType"])

	d := s.Deliveries()
	require.Len(t, d, 1)
	require.Equal(t, Delivery{
		ID:         h.header.Get("webhook-id"),
		Type:       "account.credits.granted",
		Endpoint:   rc.URL,
		AccountID:  id,
		Body:       h.body,
		Attempts:   1,
		Status:     DeliverySucceeded,
		StatusCode: http.StatusOK,
	}, d[0])
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWebhookRetries(t *testing.T) {
	rc := newReceiver(t, func(n int, _ hook) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	s := newServer(t, WithWebhookRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond))
	s.AddWebhookEndpoint(rc.URL)
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "5")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))

	hooks := rc.got()
	require.Len(t, hooks, 3)
	for _, h := range hooks {
		verify(t, s, h)
		require.Equal(t, hooks[0].header.Get("webhook-id"), h.header.Get("webhook-id"), "the id is stable across retries")
		require.Equal(t, string(hooks[0].body), string(h.body))
	}
	d := s.Deliveries()[0]
	require.Equal(t, 3, d.Attempts)
	require.Equal(t, DeliverySucceeded, d.Status)
	require.Equal(t, http.StatusNoContent, d.StatusCode)
	require.Empty(t, d.Err)
}

// Each attempt is signed at its own time, so that a late retry still passes
// the receiver's five-minute tolerance. Timestamps are whole seconds, so the
// retry waits just over one.
func TestWebhookRetryHasFreshTimestamp(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, _ hook) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s := newServer(t, WithWebhookRetrySchedule(1100*time.Millisecond))
	s.AddWebhookEndpoint(rc.URL)
	grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))

	hooks := rc.got()
	require.Len(t, hooks, 2)
	first, _ := strconv.ParseInt(hooks[0].header.Get("webhook-timestamp"), 10, 64)
	second, _ := strconv.ParseInt(hooks[1].header.Get("webhook-timestamp"), 10, 64)
	require.Greater(t, second, first)
	require.NotEqual(t, hooks[0].header.Get("webhook-signature"), hooks[1].header.Get("webhook-signature"))
	verify(t, s, hooks[1])
}

func TestWebhookGivenUp(t *testing.T) {
	t.Run("endpoint keeps failing", func(t *testing.T) {
		rc := newReceiver(t, func(int, hook) int { return http.StatusBadGateway })
		s := newServer(t, WithWebhookRetrySchedule(time.Millisecond, 2*time.Millisecond))
		s.AddWebhookEndpoint(rc.URL)
		grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")
		require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
		require.Len(t, rc.got(), 3)
		d := s.Deliveries()[0]
		require.Equal(t, DeliveryFailed, d.Status)
		require.Equal(t, 3, d.Attempts)
		require.Equal(t, http.StatusBadGateway, d.StatusCode)
		require.Equal(t, "endpoint answered 502", d.Err)
	})
	t.Run("nobody listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := "http://" + ln.Addr().String() + "/hooks"
		require.NoError(t, ln.Close())

		s := newServer(t, WithWebhookRetrySchedule(time.Millisecond))
		s.AddWebhookEndpoint(dead)
		grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")
		require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
		d := s.Deliveries()[0]
		require.Equal(t, DeliveryFailed, d.Status)
		require.Equal(t, 2, d.Attempts)
		require.Zero(t, d.StatusCode)
		require.Contains(t, d.Err, "connect")
	})
	t.Run("a redirect is not an acknowledgement", func(t *testing.T) {
		rc := newReceiver(t, func(int, hook) int { return http.StatusFound })
		s := newServer(t, WithWebhookRetrySchedule())
		s.AddWebhookEndpoint(rc.URL)
		grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")
		require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
		d := s.Deliveries()[0]
		require.Equal(t, DeliveryFailed, d.Status)
		require.Equal(t, 1, d.Attempts, "an empty schedule means one attempt")
	})
}

// Deliveries for one account arrive in the order the events happened, even
// when an early one needs retries; another account's are not held up.
func TestWebhookOrderPerAccount(t *testing.T) {
	var (
		mu        sync.Mutex
		failsLeft = 3
		bArrived  = make(chan struct{})
		bOnce     sync.Once
		accountB  string
	)
	rc := newReceiver(t, func(_ int, h hook) int {
		_, data := h.envelope(t)
		mu.Lock()
		b := accountB
		mu.Unlock()
		if data["accountId"] == b {
			bOnce.Do(func() { close(bArrived) })
			return http.StatusOK
		}
		mu.Lock()
		fail := failsLeft > 0
		if fail {
			failsLeft--
		}
		mu.Unlock()
		if !fail {
			return http.StatusOK
		}
		// A's first event is stuck until B's arrives: if B queued behind
		// A, this would time out.
		select {
		case <-bArrived:
		case <-time.After(5 * time.Second):
			t.Errorf("account B's webhook was held up behind account A's")
		}
		return http.StatusInternalServerError
	})
	s := newServer(t, WithWebhookRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond))
	s.AddWebhookEndpoint(rc.URL)
	s.SetMetric(Metric{EventName: "api_call"})
	a := createAccount(t, s, "A", "")
	b := createAccount(t, s, "B", "")
	mu.Lock()
	accountB = b
	mu.Unlock()

	grantCreditsRaw(t, s, a, "units", "1")                                     // 1: granted (fails three times)
	ingest(t, s, obj{"uniqueId": "a1", "account": a, "eventName": "api_call"}) // 2: depleted
	grantCreditsRaw(t, s, a, "units", "2")                                     // 3: granted
	grantCreditsRaw(t, s, b, "units", "1")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))

	var gotA []string
	for _, h := range rc.got() {
		typ, data := h.envelope(t)
		if data["accountId"] == a {
			gotA = append(gotA, typ+" "+h.header.Get("webhook-id"))
		}
	}
	var want []string
	for _, d := range s.Deliveries() {
		if d.AccountID == a {
			for range d.Attempts {
				want = append(want, d.Type+" "+d.ID)
			}
		}
	}
	require.Equal(t, want, gotA)
	require.Len(t, gotA, 6, "three failed attempts, then the three events in order")
	require.Equal(t, []string{"account.credits.granted", "account.credits.balance_depleted", "account.credits.granted"},
		[]string{s.Deliveries()[0].Type, s.Deliveries()[1].Type, s.Deliveries()[2].Type})
}

func TestWebhookEndpointFilters(t *testing.T) {
	all := newReceiver(t, nil)
	checkoutOnly := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(all.URL)
	s.AddWebhookEndpoint(checkoutOnly.URL, "checkout.session.completed", "invoice.paid")
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "5")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{"accountId": id}))
	require.NoError(t, s.CompleteCheckout(context.Background(), sess.CheckoutSessionID))
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))

	require.Equal(t, []string{
		"account.credits.granted",
		"checkout.session.completed",
		"subscription.created",
		"subscription.activated",
		"invoice.paid",
	}, all.types(t))
	require.Equal(t, []string{"checkout.session.completed", "invoice.paid"}, checkoutOnly.types(t))
	// One event has one id, whichever endpoint it goes to.
	require.Equal(t, all.got()[1].header.Get("webhook-id"), checkoutOnly.got()[0].header.Get("webhook-id"))
}

func TestEventsBeforeAnEndpointAreNotDelivered(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	grantCreditsRaw(t, s, id, "units", "5")
	s.AddWebhookEndpoint(rc.URL)
	grantCreditsRaw(t, s, id, "units", "6")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Len(t, rc.got(), 1)
	_, data := rc.got()[0].envelope(t)
	require.Equal(t, "6", data["amount"])
}

func TestFlushWebhooksHonoursContext(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(int, hook) int {
		<-release
		return http.StatusOK
	})
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)), "nothing pending")
	grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.FlushWebhooks(ctx), context.DeadlineExceeded)
	require.Equal(t, DeliveryPending, s.Deliveries()[0].Status)

	close(release)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Equal(t, DeliverySucceeded, s.Deliveries()[0].Status)
}

// Close abandons a delivery in flight (and the retries it would have had),
// and leaves no goroutine behind (TestMain checks with goleak).
func TestCloseAbandonsDeliveries(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(int, hook) int {
		arrived <- struct{}{}
		<-release
		return http.StatusOK
	})
	defer close(release)
	s := NewServer(WithWebhookRetrySchedule(time.Hour))
	s.AddWebhookEndpoint(rc.URL)
	grantCreditsRaw(t, s, createAccount(t, s, "Acme", ""), "units", "5")
	<-arrived

	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a hanging webhook endpoint")
	}
	d := s.Deliveries()[0]
	require.Equal(t, DeliveryFailed, d.Status)
	require.Contains(t, d.Err, "server closed")
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)), "nothing is pending after Close")
}

func TestAddWebhookEndpointRejectsBadURLs(t *testing.T) {
	s := newServer(t)
	for _, u := range []string{"", "/hooks", "ftp://example.com/x", "http://"} {
		require.Panics(t, func() { s.AddWebhookEndpoint(u) }, "%q", u)
	}
}
