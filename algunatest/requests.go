package algunatest

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"time"
)

// Request is one API request as the server answered it, for tests of a
// client's pacing and retries: that it waits out a 429's Retry-After, say,
// or how many of its requests were rate limited.
type Request struct {
	// ID is the X-Request-Id the answer carried.
	ID string
	// Method is the HTTP method.
	Method string
	// Path is the request's path, without its query.
	Path string
	// Status is the status answered; 0 when the connection was dropped
	// without an answer (a ResetRate fault, or the client going away
	// during injected latency).
	Status int
	// At is when the request arrived, by the server's clock (WithClock).
	At time.Time
	// Events is how many events a POST /events carried; 0 for other
	// requests and for those refused before their body was read (a 401,
	// an injected fault).
	Events int
	// RetryAfter is the Retry-After answered with a 429, in whole seconds;
	// 0 for other answers.
	RetryAfter time.Duration
}

// Requests returns every API request the server has answered (hosted pages
// are not API requests), in the order their answers started; a request is
// in the log before any of its answer reaches the client. Like Events and
// Deliveries, the log is kept whole for the server's life: a test suite's
// volume of requests fits in memory easily.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.Clone(s.requests)
}

// Panic is a panic that a handler of the fake raised and the server
// recovered from, answering the request with a 500. Each one is a bug in
// the fake; a test can assert there were none.
type Panic struct {
	// RequestID is the X-Request-Id of the request that was answered 500.
	RequestID string
	// Method and Path are the request's.
	Method, Path string
	// Value is the panic's value, as fmt.Sprint writes it.
	Value string
	// Stack is the panicking goroutine's stack.
	Stack string
}

// Panics returns the panics the server has recovered from, oldest first.
func (s *Server) Panics() []Panic {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.Clone(s.panics)
}

// statusWriter remembers what was answered, for the request log and for
// knowing whether a panic can still be answered with a 500. It logs an API
// request as its status is written, before any of the answer reaches the
// client, so that a test reading Requests after its call returns finds it.
type statusWriter struct {
	http.ResponseWriter
	s      *Server
	status int
	api    bool // an API request, for the log
	logged bool
	rec    Request
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		w.log()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, which a reset
// fault hijacks.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// log adds an API request to the log, once, with the status answered so
// far: 0 when none was.
func (w *statusWriter) log() {
	if !w.api || w.logged {
		return
	}
	w.logged = true
	rec := w.rec
	rec.Status = w.status
	w.s.logMu.Lock()
	w.s.requests = append(w.s.requests, rec)
	w.s.logMu.Unlock()
}

// markAPI records that the request is an API request and returns its log
// entry to fill in; nil when w is not the server's (a handler called
// directly).
func markAPI(w http.ResponseWriter) *Request {
	sw, ok := w.(*statusWriter)
	if !ok {
		return nil
	}
	sw.api = true
	return &sw.rec
}

// logUnanswered logs a request that will get no answer at all, before its
// connection is dropped.
func logUnanswered(w http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		sw.log()
	}
}

// observe is the outermost handler: it gives every answer an X-Request-Id,
// logs API requests, and turns a panic in any handler into a 500 JSON
// answer instead of a dropped connection. It takes logMu, never mu, so that
// a panic raised while mu was held cannot deadlock the recovery.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, s: s, rec: Request{
			ID:     newID("req"),
			Method: r.Method,
			Path:   r.URL.Path,
			At:     s.now(),
		}}
		w.Header().Set("X-Request-Id", sw.rec.ID)
		defer func() {
			p := recover()
			if p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					// A deliberate drop (a reset fault): not a bug.
					sw.log()
					panic(p)
				}
				s.recordPanic(sw, p)
				if sw.status != 0 {
					// Part of an answer is out; all that is left is to
					// end the connection so the client sees it is cut.
					panic(http.ErrAbortHandler)
				}
				writeError(sw, http.StatusInternalServerError, codeInternalError,
					fmt.Sprintf("algunatest: internal error: %v", p))
			}
			sw.log() // a request that was never answered
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) recordPanic(sw *statusWriter, p any) {
	s.logMu.Lock()
	s.panics = append(s.panics, Panic{
		RequestID: sw.rec.ID,
		Method:    sw.rec.Method,
		Path:      sw.rec.Path,
		Value:     fmt.Sprint(p),
		Stack:     string(debug.Stack()),
	})
	s.logMu.Unlock()
}
