package algunatest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Faults makes the API misbehave the way a real network and a busy service
// do, so that retry logic can be tested. Each API request draws one number
// from a generator seeded with Seed and, by where it falls, answers 500,
// answers 429, has its connection reset, or is served normally. The draws
// depend only on the seed and the order of requests, so a test that sends
// its requests one after another sees the same faults on every run.
//
// A faulted request never reaches the handler: it changes no state, so a
// retry of it is the first time the server sees the operation. Hosted pages
// are never faulted.
type Faults struct {
	// ErrorRate is the share of requests answered with 500.
	ErrorRate float64
	// RateLimitRate is the share of requests answered with 429 and a
	// Retry-After header.
	RateLimitRate float64
	// ResetRate is the share of requests whose connection is closed
	// without any response.
	ResetRate float64
	// RetryAfter is sent in the 429's Retry-After header, in whole seconds
	// rounded up; zero sends "0", which asks the client to retry at once.
	RetryAfter time.Duration
	// Latency is added before every API request is answered, faulted or
	// not.
	Latency time.Duration
	// Seed seeds the generator. The same seed gives the same sequence of
	// faults.
	Seed int64
}

// faultSource draws the number that decides a request's fate.
type faultSource interface{ Float64() float64 }

type faultKind int

const (
	faultNone faultKind = iota
	faultError
	faultRateLimit
	faultReset
)

// SetFaults replaces the fault settings, also while requests are in flight,
// and restarts the sequence from f.Seed. The zero Faults turns faults off.
// It panics when the rates are negative or add up to more than 1, or a
// duration is negative.
func (s *Server) SetFaults(f Faults) {
	if f.ErrorRate < 0 || f.RateLimitRate < 0 || f.ResetRate < 0 ||
		f.ErrorRate+f.RateLimitRate+f.ResetRate > 1 {
		panic(fmt.Sprintf("algunatest: fault rates must be between 0 and 1 and add up to at most 1, got %v, %v, %v",
			f.ErrorRate, f.RateLimitRate, f.ResetRate))
	}
	if f.RetryAfter < 0 || f.Latency < 0 {
		panic("algunatest: fault durations must not be negative")
	}
	// The seed's bits, reinterpreted: any int64, negative ones included, is
	// a valid seed.
	seed := uint64(f.Seed) //nolint:gosec // a bit-for-bit conversion, not arithmetic
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = f
	// A seeded generator on purpose: the point is that the same seed gives
	// the same faults, which crypto/rand could never do.
	s.st.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // determinism is the requirement
}

// drawFault decides the fate of one API request.
func (s *Server) drawFault() (faultKind, Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.faults
	if s.st.rng == nil || f.ErrorRate+f.RateLimitRate+f.ResetRate == 0 {
		return faultNone, f
	}
	u := s.st.rng.Float64()
	switch {
	case u < f.ErrorRate:
		return faultError, f
	case u < f.ErrorRate+f.RateLimitRate:
		return faultRateLimit, f
	case u < f.ErrorRate+f.RateLimitRate+f.ResetRate:
		return faultReset, f
	}
	return faultNone, f
}

// injectFault applies the configured latency and fault to one request and
// reports whether it has answered (or dropped) it. rec, when not nil, is the
// request's log entry.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, rec *Request) bool {
	kind, f := s.drawFault()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-s.closing:
			t.Stop()
			return true
		}
	}
	switch kind {
	case faultError:
		writeError(w, http.StatusInternalServerError, codeInternalError, "internal server error (injected by algunatest)")
		return true
	case faultRateLimit:
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		if rec != nil {
			rec.RetryAfter = time.Duration(secs) * time.Second
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, http.StatusTooManyRequests, codeRateLimited, "rate limit exceeded (injected by algunatest)")
		return true
	case faultReset:
		logUnanswered(w)
		resetConnection(w)
		return true
	}
	return false
}

// resetConnection drops the connection without writing a byte. Lingering set
// to zero makes the close a TCP reset, which is what a crashed upstream or a
// load balancer timing out looks like to the client.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
