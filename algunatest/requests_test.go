package algunatest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

var requestIDPattern = regexp.MustCompile(`^req_[a-z2-7]{16}$`)

// serveWith serves h behind the server's own outer layer (request ids, the
// log, panic recovery), as routes does for the real handlers, so that a
// test can put a misbehaving handler where a real one would be.
func serveWith(t *testing.T, s *Server, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(s.observe(h))
	t.Cleanup(ts.Close)
	return ts.URL
}

func rawRequest(t *testing.T, method, url, key, idemKey string) (rawResp, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"name":"x"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return trySend(freshConnClient(t), req)
}

func TestHandlerPanicBecomes500(t *testing.T) {
	s := newServer(t)
	var calls atomic.Int32
	api := serveWith(t, s, s.api(func(*http.Request, []byte) (int, any) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return http.StatusCreated, obj{"ok": true}
	}))

	r, err := rawRequest(t, http.MethodPost, api+"/accounts", s.APIKey, "key-1")
	require.NoError(t, err, "the client gets an answer, not a dropped connection")
	require.Equal(t, http.StatusInternalServerError, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Regexp(t, requestIDPattern, r.header.Get("X-Request-Id"))
	require.Equal(t, obj{"status": float64(500), "detail": "algunatest: internal error: boom", "code": "internal_error"}, decode[obj](t, r))

	panics := s.Panics()
	require.Len(t, panics, 1)
	require.Equal(t, r.header.Get("X-Request-Id"), panics[0].RequestID)
	require.Equal(t, "POST", panics[0].Method)
	require.Equal(t, "/accounts", panics[0].Path)
	require.Equal(t, "boom", panics[0].Value)
	require.Contains(t, panics[0].Stack, "TestHandlerPanicBecomes500")

	// The operation never completed, so its key is not replayed: a retry
	// runs it.
	again, err := rawRequest(t, http.MethodPost, api+"/accounts", s.APIKey, "key-1")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, again.status, "body: %s", again.body)
	require.Empty(t, again.header.Get("Idempotent-Replayed"))

	log := s.Requests()
	require.Len(t, log, 2)
	require.Equal(t, http.StatusInternalServerError, log[0].Status)
	require.Equal(t, http.StatusCreated, log[1].Status)
}

// A request waiting on a key whose first request panics gets the 500 too,
// rather than waiting for ever.
func TestHandlerPanicReleasesWaitingRepeats(t *testing.T) {
	s := newServer(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	api := serveWith(t, s, s.api(func(*http.Request, []byte) (int, any) {
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-release
			panic(errors.New("late failure"))
		}
		return http.StatusCreated, obj{}
	}))
	var wg sync.WaitGroup
	results := make([]rawResp, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], _ = rawRequest(t, http.MethodPost, api+"/accounts", s.APIKey, "k")
	}()
	<-entered
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[1], _ = rawRequest(t, http.MethodPost, api+"/accounts", s.APIKey, "k")
	}()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		e := s.st.idem["k"]
		return e != nil && e.waiting == 1
	}, 5*time.Second, time.Millisecond, "the repeat waits on the first request")
	close(release)
	wg.Wait()
	for _, r := range results {
		require.Equal(t, http.StatusInternalServerError, r.status, "body: %s", r.body)
		require.Empty(t, r.header.Get("Idempotent-Replayed"))
	}
}

func TestPagePanicBecomes500(t *testing.T) {
	s := newServer(t)
	var views map[string]int // never made: writing to it is a runtime error
	page := serveWith(t, s, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		views[r.URL.Path]++
	}))
	r, err := trySend(httpClient(t), mustRequest(t, http.MethodGet, page+"/portal/session/x"))
	require.NoError(t, err)
	requireError(t, r, http.StatusInternalServerError, "assignment to entry in nil map")
	require.Equal(t, "internal_error", decode[obj](t, r)["code"])
	require.Len(t, s.Panics(), 1)
	require.Empty(t, s.Requests(), "a hosted page is not an API request")
}

// Once part of an answer is out, a 500 can no longer be sent; the
// connection is cut so the client sees the answer is broken.
func TestPanicAfterAnswerStartedCutsTheConnection(t *testing.T) {
	s := newServer(t)
	page := serveWith(t, s, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("half"))
		panic("midway")
	}))
	_, err := trySend(httpClient(t), mustRequest(t, http.MethodGet, page+"/"))
	require.Error(t, err)
	require.Len(t, s.Panics(), 1)
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}

// Reset faults drop connections on purpose; they are not panics.
func TestResetFaultIsNotAPanic(t *testing.T) {
	s := newServer(t)
	s.SetFaults(Faults{ResetRate: 1})
	_, err := tryCall(freshConnClient(t), s, http.MethodGet, "/accounts", nil)
	require.Error(t, err)
	require.Empty(t, s.Panics())
	log := s.Requests()
	require.Len(t, log, 1)
	require.Zero(t, log[0].Status, "no answer was sent")
}

// Every answer, error or not, page or API, carries a request id; every
// error body carries a code the SDK exposes as Error.Code.
func TestRequestIDsAndErrorCodes(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "taken")
	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"ok", http.MethodGet, "/accounts", nil, nil, http.StatusOK, ""},
		{"validation", http.MethodPost, "/accounts", obj{}, nil, http.StatusBadRequest, "validation_failed"},
		{"bad JSON", http.MethodPost, "/accounts", "{", nil, http.StatusBadRequest, "validation_failed"},
		{"unauthorized", http.MethodGet, "/accounts", nil, []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized, "unauthorized"},
		{"not found", http.MethodGet, "/accounts/acc_nope", nil, nil, http.StatusNotFound, "not_found"},
		{"no such endpoint", http.MethodGet, "/nothing-here", nil, nil, http.StatusNotFound, "not_found"},
		{"method", http.MethodDelete, "/accounts/" + id, nil, nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"alias taken", http.MethodPost, "/accounts", obj{"name": "B", "alias": "taken"}, nil, http.StatusUnprocessableEntity, "alias_taken"},
		{"unprocessable", http.MethodPost, "/accounts/" + id + "/credits/grants", obj{"creditType": "units", "amount": "0"}, nil, http.StatusUnprocessableEntity, "unprocessable_entity"},
		{"too large", http.MethodPost, "/accounts", `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, nil, http.StatusRequestEntityTooLarge, "request_too_large"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, tt.body, tt.headers...)
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			rid := r.header.Get("X-Request-Id")
			require.Regexp(t, requestIDPattern, rid)
			require.False(t, seen[rid], "every request has its own id")
			seen[rid] = true
			if tt.code != "" {
				e := decode[obj](t, r)
				require.Equal(t, tt.code, e["code"])
				require.EqualValues(t, tt.status, e["status"])
				require.NotEmpty(t, e["detail"])
			}
		})
	}
	page := get(t, httpClient(t), s.URL+"/checkout/session/chk_nope")
	require.Regexp(t, requestIDPattern, page.header.Get("X-Request-Id"))

	t.Run("idempotency key reused", func(t *testing.T) {
		call(t, s, http.MethodPost, "/accounts", obj{"name": "A"}, "Idempotency-Key", "reuse")
		r := call(t, s, http.MethodPost, "/accounts", obj{"name": "B"}, "Idempotency-Key", "reuse")
		require.Equal(t, "idempotency_key_reused", decode[obj](t, r)["code"])
	})
}

// The SDK reads the id and the code into its Error.
func TestSDKErrorCarriesRequestIDAndCode(t *testing.T) {
	s := newServer(t)
	_, err := s.Client().Accounts.Get(ctxTimeout(t), "acc_nope")
	var apiErr *alguna.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "not_found", apiErr.Code)
	require.Regexp(t, requestIDPattern, apiErr.RequestID)
	log := s.Requests()
	require.Equal(t, apiErr.RequestID, log[len(log)-1].ID)
}

func TestRequestLog(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "")
	clock.add(time.Second)
	ingest(t, s, obj{"account": id, "eventName": "a"}, obj{"account": id, "eventName": "b"})
	call(t, s, http.MethodGet, "/accounts?limit=5", nil, "Authorization", "")
	call(t, s, http.MethodPost, "/events", "not json")
	get(t, httpClient(t), s.URL+"/checkout/session/chk_nope") // a page: not logged

	log := s.Requests()
	require.Len(t, log, 4)
	for _, r := range log {
		require.Regexp(t, requestIDPattern, r.ID)
		require.Zero(t, r.RetryAfter)
	}
	strip := func(r Request) Request { r.ID = ""; return r }
	start := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	require.Equal(t, []Request{
		{Method: "POST", Path: "/accounts", Status: http.StatusCreated, At: start},
		{Method: "POST", Path: "/events", Status: http.StatusOK, At: start.Add(time.Second), Events: 2},
		{Method: "GET", Path: "/accounts", Status: http.StatusUnauthorized, At: start.Add(time.Second)},
		{Method: "POST", Path: "/events", Status: http.StatusBadRequest, At: start.Add(time.Second)},
	}, []Request{strip(log[0]), strip(log[1]), strip(log[2]), strip(log[3])})

	s.SetFaults(Faults{RateLimitRate: 1, RetryAfter: 2500 * time.Millisecond})
	call(t, s, http.MethodGet, "/accounts", nil)
	last := s.Requests()[4]
	require.Equal(t, http.StatusTooManyRequests, last.Status)
	require.Equal(t, 3*time.Second, last.RetryAfter)
}

// A detail echoes what was sent only in part, so that a megabyte of input
// does not come back in the answer.
func TestErrorDetailsEchoLittle(t *testing.T) {
	s := newServer(t)
	long := strings.Repeat("é", 5000)
	for _, path := range []string{
		"/accounts/acc_" + long,
		"/account-lookup?alias=" + long,
		"/subscriptions?status=" + long,
		"/invoices?sort=" + long,
		"/credit-grants?page=" + long,
		"/plans/" + long,
	} {
		r := call(t, s, http.MethodGet, path, nil)
		label := path[:20]
		require.GreaterOrEqual(t, r.status, 400, label)
		detail := decode[obj](t, r)["detail"].(string)
		require.Less(t, len(detail), 200, label)
		require.Contains(t, detail, "é", label)
		require.Contains(t, detail, "…", label)
	}
}
