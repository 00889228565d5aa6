package algunatest

import (
	"fmt"
	"math"
	"time"
)

// RateLimit makes the server refuse requests that come faster than the
// limits Alguna documents (1000 events a second for usage ingestion, 100
// requests a second for other endpoints), so that a client's pacing and its
// handling of 429 can be tested. Each limit is a token bucket holding one
// second's worth of tokens (at least one), full at the start.
//
// Every API request spends one request token, and POST /events also spends
// one event token per event it carries. A request the buckets cannot pay
// for is answered 429 with Retry-After (the whole seconds, rounded up and
// at least 1, until the buckets could pay for it) and X-Request-Id, and
// changes nothing: not the fake's state and not the buckets, so a client
// that waits out Retry-After gets through. A POST /events with more events
// than one second's worth passes once the bucket is full, and leaves it
// that far in debt: later requests wait until the debt is paid back, so the
// rate holds on average and a large batch is never refused for ever.
//
// Time is the server's clock (WithClock), so a test with a fake clock
// refills the buckets by moving it.
type RateLimit struct {
	// EventsPerSecond bounds the events POST /events takes in. Zero means
	// no limit.
	EventsPerSecond float64
	// RequestsPerSecond bounds API requests of every kind, POST /events
	// included. Zero means no limit.
	RequestsPerSecond float64
}

func (l RateLimit) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"EventsPerSecond", l.EventsPerSecond}, {"RequestsPerSecond", l.RequestsPerSecond}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("rate limit: %s must be a finite number, zero or more, got %v", f.name, f.v)
		}
	}
	return nil
}

// WithRateLimit starts the server with rate limits, as SetRateLimit sets
// them later.
func WithRateLimit(l RateLimit) Option {
	return func(c *config) error {
		if err := l.validate(); err != nil {
			return err
		}
		c.rateLimit = l
		return nil
	}
}

// SetRateLimit replaces the rate limits, also while requests are in
// flight; both buckets start full. The zero RateLimit turns limiting off.
// It panics when a limit is negative, NaN or infinite.
func (s *Server) SetRateLimit(l RateLimit) {
	if err := l.validate(); err != nil {
		panic("algunatest: " + err.Error())
	}
	now := s.cfg.clock()
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	s.events = newBucket(l.EventsPerSecond, now)
	s.reqs = newBucket(l.RequestsPerSecond, now)
}

// bucket is one token bucket. Tokens can go below zero, after a request
// larger than the burst; see RateLimit.
type bucket struct {
	rate   float64 // tokens a second; 0 is no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, now time.Time) bucket {
	burst := max(rate, 1)
	return bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

func (b *bucket) refill(now time.Time) {
	if b.rate == 0 || !now.After(b.last) {
		return // a clock moved back refills nothing
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// wait is how long until the bucket can pay for n tokens; 0 is now. More
// than a burst is paid for by a full bucket.
func (b *bucket) wait(n float64) time.Duration {
	if b.rate == 0 || n == 0 {
		return 0
	}
	need := min(n, b.burst)
	if b.tokens >= need {
		return 0
	}
	// Capped at a few decades, which a tiny rate and a deep debt could
	// otherwise take past what a Duration holds.
	secs := min((need-b.tokens)/b.rate, maxWaitSeconds)
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

const maxWaitSeconds = 1e9

func (b *bucket) take(n float64) {
	if b.rate != 0 {
		b.tokens -= n
	}
}

// spendRateLimit pays for one request carrying events events, or reports
// how long until it could be paid for. Nothing is spent when it cannot.
func (s *Server) spendRateLimit(events int) time.Duration {
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	if s.reqs.rate == 0 && s.events.rate == 0 {
		return 0
	}
	now := s.cfg.clock()
	s.reqs.refill(now)
	s.events.refill(now)
	wait := max(s.reqs.wait(1), s.events.wait(float64(events)))
	if wait > 0 {
		return wait
	}
	s.reqs.take(1)
	s.events.take(float64(events))
	return 0
}

// retryAfterSeconds is a wait as Retry-After sends it: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}
