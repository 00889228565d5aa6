package algunatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds what one API request may carry; 100 events with 50
// properties each fit comfortably.
const maxBodyBytes = 8 << 20

// maxIdempotencyKeyLen is Alguna's documented limit for Idempotency-Key.
const maxIdempotencyKeyLen = 255

// apiHandler answers one authenticated API request whose body has already
// been read. It returns the status and the value to send as JSON, so that the
// middleware can record the answer for idempotent replay.
type apiHandler func(r *http.Request, body []byte) (int, any)

// apiError is Alguna's documented error body, with the machine-readable
// code the SDK's Error.Code reads.
type apiError struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// Error codes. Most follow from the status (errorCode); the few that name a
// more particular condition are given where it is detected.
const (
	codeValidationFailed     = "validation_failed"
	codeUnauthorized         = "unauthorized"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeConflict             = "conflict"
	codeRequestTooLarge      = "request_too_large"
	codeUnprocessable        = "unprocessable_entity"
	codeRateLimited          = "rate_limited"
	codeInternalError        = "internal_error"
	codeAliasTaken           = "alias_taken"
	codeIdempotencyKeyReused = "idempotency_key_reused"
	codeIdempotencyKeyInUse  = "idempotency_key_in_use"
)

// errorCode is the code of an error answer that has no more particular one.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeValidationFailed
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusConflict:
		return codeConflict
	case http.StatusRequestEntityTooLarge:
		return codeRequestTooLarge
	case http.StatusUnprocessableEntity:
		return codeUnprocessable
	case http.StatusTooManyRequests:
		return codeRateLimited
	}
	if status >= 500 {
		return codeInternalError
	}
	return "error"
}

func newAPIError(status int, code, detail string) apiError {
	if code == "" {
		code = errorCode(status)
	}
	return apiError{Status: status, Detail: detail, Code: code}
}

// fail is the return value of a handler that refuses a request.
func fail(status int, format string, args ...any) (int, any) {
	return status, newAPIError(status, "", fmt.Sprintf(format, args...))
}

// failCode is fail with a code more particular than the status's.
func failCode(status int, code, format string, args ...any) (int, any) {
	return status, newAPIError(status, code, fmt.Sprintf(format, args...))
}

// writeError writes an error answer outside a handler (authentication,
// routing, limits).
func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, newAPIError(status, code, detail))
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	apiPaths := map[string]bool{}
	api := func(method, path string, h apiHandler) {
		mux.Handle(method+" "+path, s.api(h))
		if !apiPaths[path] {
			apiPaths[path] = true
			// A pattern without a method loses to the ones with one, so this
			// only answers the methods the API does not have, and does so in
			// JSON rather than the mux's plain text.
			mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
				markAPI(w)
				writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
			})
		}
	}

	api(http.MethodPost, "/accounts", s.createAccount)
	api(http.MethodGet, "/accounts", s.listAccounts)
	api(http.MethodGet, "/accounts/{id}", s.getAccount)
	api(http.MethodPatch, "/accounts/{id}", s.updateAccount)
	api(http.MethodGet, "/account-lookup", s.lookupAccount)
	api(http.MethodPost, "/accounts/{id}/credits/grants", s.grantCredits)
	api(http.MethodGet, "/accounts/{id}/credits/balance", s.creditBalance)
	api(http.MethodGet, "/accounts/{id}/credits/availability", s.creditAvailability)
	api(http.MethodPost, "/customer-session/checkout", s.createCheckoutSession)
	api(http.MethodPost, "/events", s.ingestEvents)
	api(http.MethodPost, "/portal/customer-session/customer-portal", s.createPortalSession)
	api(http.MethodGet, "/subscriptions", s.listSubscriptions)
	api(http.MethodGet, "/subscriptions/{id}", s.getSubscription)
	api(http.MethodGet, "/invoices", s.listInvoices)
	api(http.MethodGet, "/invoices/{id}", s.getInvoice)
	api(http.MethodGet, "/credit-grants", s.listGrants)
	api(http.MethodGet, "/credit-grants/{id}", s.getGrant)
	api(http.MethodGet, "/plans", s.listPlans)
	api(http.MethodGet, "/plans/{id}", s.getPlan)

	// Hosted pages: what a browser sees. No API key, no injected faults.
	mux.HandleFunc("GET /checkout", s.checkoutFlowPage)
	mux.HandleFunc("GET /checkout/session/{id}", s.checkoutPage)
	mux.HandleFunc("POST /checkout/session/{id}/pay", s.checkoutPay)
	mux.HandleFunc("GET /checkout/session/{id}/complete", s.checkoutThankYou)
	mux.HandleFunc("GET /portal/session/{token}", s.portalPage)
	mux.HandleFunc("GET /portal/session/{token}/cancel", s.portalCancelConfirm)
	mux.HandleFunc("POST /portal/session/{token}/cancel", s.portalCancel)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		markAPI(w)
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.observe(mux)
}

// api wraps a handler with what every API call goes through, in the order a
// real deployment would apply it: injected faults (the network and the load
// balancer), authentication, the rate limits, then idempotent replay around
// the handler.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := markAPI(w)
		if s.injectFault(w, r, rec) {
			return
		}
		if status, detail := s.authenticate(r); status != 0 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, status, "", detail)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "could not read the request body: "+err.Error())
			return
		}
		if len(body) > maxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body is larger than %d bytes", maxBodyBytes))
			return
		}
		events := 0
		if r.Method == http.MethodPost && r.URL.Path == "/events" {
			split := splitEventsOnce(body)
			events = len(split.raws)
			r = r.WithContext(context.WithValue(r.Context(), splitEventsKey{}, split))
		}
		if rec != nil {
			rec.Events = events
		}
		if wait := s.spendRateLimit(events); wait > 0 {
			secs := retryAfterSeconds(wait)
			if rec != nil {
				rec.RetryAfter = time.Duration(secs) * time.Second
			}
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			writeError(w, http.StatusTooManyRequests, "", fmt.Sprintf("rate limit exceeded; retry after %d s", secs))
			return
		}

		run := func() response { return encode(h(r, body)) }
		key := r.Header.Get("Idempotency-Key")
		if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
			run().write(w, false)
			return
		}
		resp, replayed := s.idempotent(r.Context(), key, fingerprint(r, body), run)
		resp.write(w, replayed)
	})
}

// authenticate checks the bearer token and returns a status and detail when
// the request must be refused.
func (s *Server) authenticate(r *http.Request) (int, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return http.StatusUnauthorized, "missing Authorization header: send \"Authorization: Bearer <API key>\""
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return http.StatusUnauthorized, "the Authorization header must use the Bearer scheme"
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.APIKey)) != 1 {
		return http.StatusUnauthorized, "invalid API key"
	}
	return 0, ""
}

// response is an encoded API answer, kept whole for idempotent replay.
type response struct {
	status int
	body   []byte
}

func encode(status int, v any) response {
	body, err := json.Marshal(v)
	if err != nil {
		// Every value handlers return is plain data; failing to encode one
		// is a bug in the fake, and the test should see it as a 500.
		status = http.StatusInternalServerError
		body, _ = json.Marshal(newAPIError(status, "", "algunatest: encoding the response: "+err.Error()))
	}
	return response{status: status, body: body}
}

func (resp response) write(w http.ResponseWriter, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	encode(status, v).write(w, false)
}

// idemEntry is the remembered outcome of the first request made with one
// Idempotency-Key. done is closed once resp is set, so that a concurrent
// repeat (a client retrying while the first attempt still runs) waits for it
// instead of running the operation twice.
type idemEntry struct {
	key         string
	fingerprint [32]byte
	createdAt   time.Time
	done        chan struct{}
	resp        response
	panicked    bool // set before done is closed
	waiting     int  // repeats that came while the first ran; guarded by Server.mu
}

// idempotencyWindow is how long Alguna remembers an Idempotency-Key.
const idempotencyWindow = 24 * time.Hour

// fingerprint identifies what a request asks for, so that one key reused
// for a different request is caught instead of silently answered with an
// unrelated response.
func fingerprint(r *http.Request, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.RequestURI()))
	h.Write([]byte{0})
	h.Write(body)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// idempotent runs the operation once per key and replays its answer, status
// and body, to every later request with the same key.
func (s *Server) idempotent(ctx context.Context, key string, fp [32]byte, run func() response) (response, bool) {
	if len(key) > maxIdempotencyKeyLen {
		return encode(fail(http.StatusBadRequest, "Idempotency-Key is longer than %d characters", maxIdempotencyKeyLen)), false
	}
	s.mu.Lock()
	now := s.now()
	s.forgetIdempotencyKeysLocked(now)
	e, seen := s.st.idem[key]
	if !seen {
		e = &idemEntry{key: key, fingerprint: fp, createdAt: now, done: make(chan struct{})}
		s.st.idem[key] = e
		s.st.idemOrder = append(s.st.idemOrder, e)
	} else if e.fingerprint == fp {
		e.waiting++
	}
	s.mu.Unlock()

	if !seen {
		s.runOnce(e, run)
		return e.resp, false
	}
	if e.fingerprint != fp {
		return encode(failCode(http.StatusUnprocessableEntity, codeIdempotencyKeyReused,
			"Idempotency-Key %q was already used for a different request", key)), false
	}
	select {
	case <-e.done:
		if e.panicked {
			return e.resp, false
		}
		return e.resp, true
	case <-ctx.Done():
		return encode(failCode(http.StatusConflict, codeIdempotencyKeyInUse,
			"a request with Idempotency-Key %q is still in progress", key)), false
	}
}

// runOnce runs the first request of a key. If the handler panics, the key
// is forgotten (the operation did not complete, so a retry runs it anew),
// the requests waiting on it are answered 500, and the panic goes on to the
// recovery in observe.
func (s *Server) runOnce(e *idemEntry, run func() response) {
	defer func() {
		if p := recover(); p != nil {
			s.mu.Lock()
			if s.st.idem[e.key] == e {
				delete(s.st.idem, e.key)
			}
			s.mu.Unlock()
			e.panicked = true
			e.resp = encode(http.StatusInternalServerError, newAPIError(http.StatusInternalServerError, "",
				"algunatest: the first request with this Idempotency-Key failed inside the fake"))
			close(e.done)
			panic(p)
		}
	}()
	e.resp = run()
	close(e.done)
}

// forgetIdempotencyKeysLocked drops keys older than the replay window, so
// that a long-running fake does not remember every request forever. Keys are
// kept in the order they were first used, so only the front is looked at.
func (s *Server) forgetIdempotencyKeysLocked(now time.Time) {
	n := 0
	for _, e := range s.st.idemOrder {
		if now.Sub(e.createdAt) < idempotencyWindow {
			break
		}
		if s.st.idem[e.key] == e { // not a newer entry for a key a panic freed
			delete(s.st.idem, e.key)
		}
		n++
	}
	if n > 0 {
		clear(s.st.idemOrder[:n])
		s.st.idemOrder = s.st.idemOrder[n:]
	}
}

// decodeJSON decodes a request body into v, explaining what is wrong in the
// words a 400 detail should use.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			// A number the field's integer type cannot hold: the error
			// carries the number's text, which may be a megabyte long.
			if n, ok := strings.CutPrefix(typeErr.Value, "number "); ok {
				return fmt.Errorf("%s must be a whole number within range, got %s", typeErr.Field, shorten(n))
			}
			return fmt.Errorf("%s must not be a JSON %s", typeErr.Field, typeErr.Value)
		}
		return fmt.Errorf("request body is not valid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("request body holds more than one JSON value")
	}
	return nil
}
