package alguna

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alguna/alguna-go/internal/jsonscan"
	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// DefaultWebhookTolerance is how far a delivery's signing time may be from
// the receiver's clock, in either direction, as the Standard Webhooks spec
// recommends.
const DefaultWebhookTolerance = 5 * time.Minute

// maxWebhookIDLen bounds the webhook-id header. Ids are dedupe keys kept in
// memory, so an unbounded id would let one delivery pin a lot of memory;
// Alguna's ids are about 30 characters.
const maxWebhookIDLen = 255

// WebhookOption configures a WebhookVerifier.
type WebhookOption func(*WebhookVerifier) error

// WithWebhookSecrets adds secrets that are accepted besides the first one, so
// that a secret can be rotated without dropping deliveries signed with the
// old one.
func WithWebhookSecrets(more ...string) WebhookOption {
	return func(v *WebhookVerifier) error {
		for i, s := range more {
			key, err := standardwebhooks.ParseSecret(s)
			if err != nil {
				return fmt.Errorf("alguna: webhook secret %d: %w", i+2, err)
			}
			v.keys = append(v.keys, standardwebhooks.NewKey(key))
		}
		return nil
	}
}

// WithWebhookTolerance sets how far a delivery's webhook-timestamp may lie
// from now, in the past or in the future; it must be positive. A longer
// window tolerates clock skew, a shorter one narrows the replay window.
func WithWebhookTolerance(d time.Duration) WebhookOption {
	return func(v *WebhookVerifier) error {
		if d <= 0 {
			return fmt.Errorf("alguna: webhook tolerance must be positive, got %v", d)
		}
		v.tolerance = d
		return nil
	}
}

// WithWebhookClock replaces the wall clock used for the timestamp check,
// so that tests can verify recorded deliveries.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(v *WebhookVerifier) error {
		if now == nil {
			return errors.New("alguna: webhook clock must not be nil")
		}
		v.now = now
		return nil
	}
}

// WebhookVerifier checks that a delivery was signed by Alguna, recently,
// following the Standard Webhooks scheme. It is safe for concurrent use.
type WebhookVerifier struct {
	keys      []*standardwebhooks.Key
	tolerance time.Duration
	now       func() time.Time
}

// NewWebhookVerifier returns a verifier for the endpoint secret shown in
// Alguna's dashboard ("whsec_<base64>", or the bare base64 part). It fails on
// an empty or undecodable secret rather than accepting nothing later.
func NewWebhookVerifier(secret string, opts ...WebhookOption) (*WebhookVerifier, error) {
	key, err := standardwebhooks.ParseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("alguna: webhook secret: %w", err)
	}
	v := &WebhookVerifier{
		keys:      []*standardwebhooks.Key{standardwebhooks.NewKey(key)},
		tolerance: DefaultWebhookTolerance,
		now:       time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// String describes the verifier without its keys, so that logging or
// printing one by mistake does not leak a secret.
func (v *WebhookVerifier) String() string {
	return fmt.Sprintf("alguna.WebhookVerifier{secrets: %d, tolerance: %v}", len(v.keys), v.tolerance)
}

// GoString is String for %#v, for the same reason.
func (v *WebhookVerifier) GoString() string { return v.String() }

// Verify checks one delivery and returns its event. body must be the raw
// request body exactly as received: re-encoded JSON has different bytes and
// fails the signature.
//
// Checks run cheapest and most telling first: the headers (the webhook-*
// names, each falling back to its svix-* twin), then the timestamp, then the
// signature, and only then is the body parsed, so that nothing an attacker
// sends is decoded before it is authenticated. Verify reads the envelope's
// type and timestamp and checks the structure of data; the contents of data
// are checked by Decode, when the payload is wanted.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) (*WebhookEvent, error) {
	if v == nil || v.now == nil {
		return nil, errNoVerifier
	}
	id := webhookID(h)
	ts := webhookHeader(h, "Webhook-Timestamp", "webhook-timestamp", "Svix-Timestamp", "svix-timestamp")
	sig := webhookHeader(h, "Webhook-Signature", "webhook-signature", "Svix-Signature", "svix-signature")
	switch {
	case id == "":
		return nil, fmt.Errorf("%w: webhook-id is missing", ErrWebhookHeaders)
	case len(id) > maxWebhookIDLen:
		return nil, fmt.Errorf("%w: webhook-id is longer than %d bytes", ErrWebhookHeaders, maxWebhookIDLen)
	case ts == "":
		return nil, fmt.Errorf("%w: webhook-timestamp is missing", ErrWebhookHeaders)
	case !isDigits(ts):
		return nil, fmt.Errorf("%w: webhook-timestamp is not a number of seconds", ErrWebhookHeaders)
	case strings.TrimSpace(sig) == "":
		return nil, fmt.Errorf("%w: webhook-signature is missing", ErrWebhookHeaders)
	}

	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		// All digits, so the only failure left is a value past int64:
		// a time absurdly far away rather than a malformed header.
		return nil, fmt.Errorf("%w: webhook-timestamp is out of range", ErrWebhookTimestamp)
	}
	// Whole seconds on both sides, as the signer sees them, so that the
	// window is exactly ±tolerance whatever the sub-second part of now.
	now := v.now().Unix()
	if age := time.Unix(now, 0).Sub(time.Unix(unix, 0)); age > v.tolerance {
		return nil, fmt.Errorf("%w: signed %ds ago", ErrWebhookTimestamp, now-unix)
	} else if age < -v.tolerance {
		return nil, fmt.Errorf("%w: signed %ds in the future", ErrWebhookTimestamp, unix-now)
	}

	if !standardwebhooks.MatchKeys(v.keys, id, ts, body, sig) {
		return nil, ErrWebhookSignature
	}

	e := &WebhookEvent{ID: id}
	if err := e.parseEnvelope(body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWebhookPayload, err)
	}
	if e.Type == "" {
		return nil, fmt.Errorf("%w: the envelope has no type", ErrWebhookPayload)
	}
	return e, nil
}

// parseEnvelope reads type, timestamp and data from a verified body. It
// walks the envelope's top level and passes data on as it is: a full
// encoding/json pass over data cost more than the signature check itself
// (BENCHMARKS.md), and Decode checks data when the payload is wanted.
func (e *WebhookEvent) parseEnvelope(body []byte) error {
	return jsonscan.Object(body, func(key, value []byte) error {
		switch {
		case jsonscan.KeyIs(key, "type"):
			e.Type = ""
			if jsonscan.IsNull(value) {
				return nil
			}
			t, err := jsonscan.Unquote(value)
			if err != nil {
				return errors.New("type is not a string")
			}
			e.Type = t
		case jsonscan.KeyIs(key, "timestamp"):
			e.Timestamp = time.Time{}
			if err := e.Timestamp.UnmarshalJSON(value); err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
		case jsonscan.KeyIs(key, "data"):
			// A copy: the caller may reuse the body's buffer.
			e.Data = append(json.RawMessage(nil), value...)
		}
		return nil
	})
}

func webhookID(h http.Header) string {
	return webhookHeader(h, "Webhook-Id", "webhook-id", "Svix-Id", "svix-id")
}

// webhookHeader returns the first non-empty value among the canonical and
// lower-case spellings of the primary header, then of the fallback. Servers
// canonicalise header names, but headers built by hand in a map literal
// (tests, other frameworks) often keep the lower-case spelling the spec uses.
func webhookHeader(h http.Header, canon, lower, fallbackCanon, fallbackLower string) string {
	for _, k := range [...]string{canon, lower, fallbackCanon, fallbackLower} {
		if vs := h[k]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
