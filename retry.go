package alguna

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// This file is the one retry policy: which answers are retried, how long to
// wait between attempts, and the loop that sends a call. Single calls and
// the Batcher both send through send; what differs between them is the
// policy they pass.

const (
	defaultMaxRetries   = 3
	defaultMinRetryWait = 500 * time.Millisecond
	defaultMaxRetryWait = 30 * time.Second
	// maxRetryAfter caps a server's Retry-After, so that a misbehaving proxy
	// cannot park a call for hours.
	maxRetryAfter = 60 * time.Second
	// maxResponseBody bounds what is read of one response: the largest
	// legitimate answer (a page of 100 accounts) is far below it.
	maxResponseBody = 32 << 20
)

// retrier holds the retry settings of a Client.
type retrier struct {
	maxRetries       int
	minWait, maxWait time.Duration
	// clock is what every wait between attempts (backoff, Retry-After,
	// pacing) reads and sleeps on, so that tests can replace it and need no
	// real sleeps.
	clock clock
}

// clock tells the time and waits.
type clock interface {
	Now() time.Time
	// Sleep waits d, or less when ctx ends first (its error then).
	Sleep(ctx context.Context, d time.Duration) error
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time                                   { return time.Now() }
func (wallClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// policy is what differs between one call and another. The zero policy is
// a single call's: at most WithMaxRetries retries, a malformed answer is an
// error at once.
type policy struct {
	// untilCtx retries for as long as ctx lasts, whatever WithMaxRetries
	// says: the Batcher never gives up on a batch while it runs.
	untilCtx bool
	// retryMalformed retries a 2xx answer whose body does not decode. Only
	// events may be resent blindly (Alguna counts each uniqueId once); a
	// repeated create could act twice.
	retryMalformed bool
	// hold, when set, is a Retry-After shared by every call of one owner:
	// an answer asking to wait holds all of them.
	hold *hold
	// pace, when set, runs before every request, first or retried: the
	// Batcher's token bucket.
	pace func(ctx context.Context) error
	// retried counts every request sent again.
	retried *atomic.Int64
	// retry, when set, replaces the client's waits between attempts.
	retry *retrier
}

// retryableStatus is the set of answers worth repeating: 408, 409 (a
// concurrent request with the same idempotency key is still running), 429
// and 5xx other than 501.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented:
		return false
	default:
		return code >= 500 && code <= 599
	}
}

// wait is how long to wait before attempt+1: what the server asked for
// when it said (capped at maxRetryAfter), else exponential backoff with
// jitter; never less than the minimum wait, so that a "Retry-After: 0"
// cannot make a tight loop.
func (r *retrier) wait(attempt int, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	if hasRetryAfter {
		return max(retryAfter, r.minWait)
	}
	return backoff(r.minWait, r.maxWait, attempt)
}

// backoff waits exponentially longer after each attempt, with jitter so that
// many clients failing together do not retry together.
func backoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	base := minWait
	for i := 0; i < attempt && base < maxWait; i++ {
		base *= 2
	}
	if base > maxWait || base <= 0 {
		base = maxWait
	}
	// Equal jitter: half fixed, half random, never below the minimum.
	half := base / 2
	wait := half
	if half > 0 {
		// Jitter only spreads retries out; it guards no secret.
		wait += rand.N(half + 1) //nolint:gosec // G404: not security-sensitive
	}
	return max(wait, minWait)
}

// parseRetryAfter reads a Retry-After value, in seconds or as an HTTP date,
// capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// hold is a Retry-After shared by several senders: once an answer asks to
// wait, none of them sends again before the time has passed.
type hold struct {
	mu    sync.Mutex
	until time.Time
}

// extend makes the hold last at least until t.
func (h *hold) extend(t time.Time) {
	h.mu.Lock()
	if t.After(h.until) {
		h.until = t
	}
	h.mu.Unlock()
}

// wait returns once the hold has passed, or with ctx's error.
func (h *hold) wait(ctx context.Context, c clock) error {
	for {
		h.mu.Lock()
		d := h.until.Sub(c.Now())
		h.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := c.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// attemptResult is what one request came to.
type attemptResult struct {
	// err is nil on success, else what the call returns if it stops here.
	err error
	// retry says the request is worth sending again.
	retry         bool
	status        int
	requestID     string
	header        http.Header
	retryAfter    time.Duration
	hasRetryAfter bool
}

// send runs one call: every attempt, the waits between them and the
// observer. out receives the decoded 2xx answer (or is nil).
func (c *Client) send(ctx context.Context, req *request, out any, pol *policy) error {
	r := &c.retry
	if pol.retry != nil {
		r = pol.retry
	}
	info := CallInfo{Method: req.call.method, Route: req.call.template, Path: req.call.path, Host: c.host, Port: c.port}
	start := time.Now()
	ctx = c.observer.StartCall(ctx, info)
	var last attemptResult
	attempts := 0
	err := func() error {
		for attempt := 0; ; attempt++ {
			if pol.hold != nil {
				if err := pol.hold.wait(ctx, r.clock); err != nil {
					return req.ended(err, last.err)
				}
			}
			if pol.pace != nil {
				if err := pol.pace(ctx); err != nil {
					return req.ended(err, last.err)
				}
				// Another worker may have been asked to wait while this
				// one waited for tokens.
				if pol.hold != nil {
					if err := pol.hold.wait(ctx, r.clock); err != nil {
						return req.ended(err, last.err)
					}
				}
			}
			if err := ctx.Err(); err != nil {
				return req.ended(err, last.err)
			}
			if attempt > 0 && pol.retried != nil {
				pol.retried.Add(1)
			}
			attempts++
			last = c.attempt(ctx, req, info, attempt, out, pol, r)
			if !last.retry {
				if last.err == nil && req.info != nil {
					*req.info = ResponseInfo{StatusCode: last.status, Header: last.header, RequestID: last.requestID}
				}
				return last.err
			}
			if !pol.untilCtx && attempt >= r.maxRetries {
				return last.err
			}
			wait := r.wait(attempt, last.retryAfter, last.hasRetryAfter)
			attrs := []slog.Attr{
				slog.String("method", req.call.method), slog.String("path", req.call.path),
				slog.Int("attempt", attempt+1), slog.Duration("wait", wait),
				slog.String("idempotency_key", req.idemKey),
			}
			if last.status != 0 {
				attrs = append(attrs, slog.Int("status", last.status))
			} else {
				attrs = append(attrs, slog.String("error", last.err.Error()))
			}
			c.logger.LogAttrs(ctx, slog.LevelInfo, "alguna: retrying", attrs...)
			if err := r.clock.Sleep(ctx, wait); err != nil {
				return req.ended(err, last.err)
			}
		}
	}()
	if err != nil {
		attrs := []slog.Attr{
			slog.String("method", req.call.method), slog.String("path", req.call.path),
			slog.Int("attempts", attempts), slog.String("idempotency_key", req.idemKey),
		}
		if last.status != 0 {
			attrs = append(attrs, slog.Int("status", last.status), slog.String("request_id", last.requestID))
		} else {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		// An answer about the request itself (a 404 from a lookup, a 422)
		// is the caller's to handle, and often expected: Info. Failures of
		// the service or the network, retries spent: Warn.
		level := slog.LevelWarn
		if last.status >= 400 && last.status < 500 && !last.retry {
			level = slog.LevelInfo
		}
		c.logger.LogAttrs(ctx, level, "alguna: request failed", attrs...)
	}
	c.observer.EndCall(ctx, info, CallResult{
		StatusCode: last.status, Attempts: attempts, RequestID: last.requestID,
		Duration: time.Since(start), Err: err,
	})
	return err
}

// attempt sends the request once and judges the answer.
func (c *Client) attempt(ctx context.Context, req *request, info CallInfo, n int, out any, pol *policy, r *retrier) attemptResult {
	hr, err := req.build(ctx)
	if err != nil {
		return attemptResult{err: &permanentError{fmt.Errorf("alguna: %s %s: building request: %w", req.call.method, req.call.path, err)}}
	}
	c.observer.Attempt(ctx, info, n, hr.Header)
	resp, err := c.httpClient.Do(hr)
	if err != nil {
		// An answer that came with the error (a context that ended as it
		// arrived) must be closed, or its connection leaks.
		if resp != nil {
			_ = resp.Body.Close()
		}
		withoutQuery(err)
		wrapped := fmt.Errorf("alguna: %s %s: %w", req.call.method, req.call.path, err)
		if ctx.Err() != nil {
			return attemptResult{err: wrapped}
		}
		if again, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !again {
			// A request the transport refuses to send, or a certificate
			// that will not verify: no later attempt can do better.
			return attemptResult{err: &permanentError{wrapped}}
		}
		return attemptResult{err: wrapped, retry: true}
	}
	defer func() { _ = resp.Body.Close() }()
	res := attemptResult{status: resp.StatusCode, requestID: requestID(resp.Header)}
	if retryableStatus(resp.StatusCode) {
		res.retryAfter, res.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), r.clock.Now())
		if res.hasRetryAfter && pol.hold != nil {
			// As soon as the answer's headers are in, before its body is
			// read: from now on no worker sharing the hold sends before
			// the time has passed.
			pol.hold.extend(r.clock.Now().Add(r.wait(n, res.retryAfter, true)))
		}
	}

	// Answers are read into pooled buffers: the Batcher reads one per batch,
	// and growing a fresh slice for each was most of its garbage. Nothing
	// may keep a slice of data past this call: decoders copy what they keep,
	// and an *Error gets its own copy of the body.
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer releaseResponseBuffer(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody)); err != nil {
		// The connection broke mid-answer: the call may or may not have
		// happened, and only a retry (with its idempotency key or
		// uniqueIds) can tell.
		res.err = fmt.Errorf("alguna: %s %s: reading response: %w", req.call.method, req.call.path, err)
		res.retry = ctx.Err() == nil
		return res
	}
	data := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.err = newError(req.call, resp, bytes.Clone(data))
		res.retry = retryableStatus(resp.StatusCode)
		return res
	}
	if req.info != nil {
		res.header = resp.Header.Clone()
	}
	if out == nil {
		return res
	}
	if err := decodeAnswer(data, out); err != nil {
		res.err = fmt.Errorf("alguna: %s %s: %w: status %d, %w", req.call.method, req.call.path, ErrInvalidResponse, resp.StatusCode, err)
		res.retry = pol.retryMalformed
	}
	return res
}

// withoutQuery cuts the query out of the URL a transport error quotes: it
// can hold an alias or an email (GET /account-lookup?alias=…), and the
// error ends up in logs and traces. The path stays, as in an *Error.
func withoutQuery(err error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			ue.URL = ue.URL[:i]
		}
	}
}

// decodeAnswer decodes a 2xx body into out: by hand for the answers that
// read only part of a large body, else with encoding/json; then out checks
// that it got a real answer rather than an empty or foreign one.
func decodeAnswer(data []byte, out any) error {
	var err error
	if rd, ok := out.(rawDecoder); ok {
		err = rd.decodeRaw(data)
	} else {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return err
	}
	if ch, ok := out.(checker); ok {
		return ch.check()
	}
	return nil
}

// ended is the error of a call whose context ended, with what the last
// attempt came to, if any.
func (r *request) ended(ctxErr, last error) error {
	if last != nil && !errors.Is(last, ctxErr) {
		return fmt.Errorf("alguna: %s %s: %w (last attempt: %w)", r.call.method, r.call.path, ctxErr, last)
	}
	if last != nil {
		return last
	}
	return fmt.Errorf("alguna: %s %s not sent: %w", r.call.method, r.call.path, ctxErr)
}

var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// releaseResponseBuffer pools a buffer unless an unusually large answer
// grew it: one big page must not stay in memory for good.
func releaseResponseBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		responseBuffers.Put(b)
	}
}
