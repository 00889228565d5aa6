package alguna

import (
	"fmt"
	"time"
)

// lenientTime decodes an RFC 3339 time, a bare date ("2025-03-01", read as
// midnight UTC), or null. Billing systems often send dates without a time,
// and a webhook payload that fails to decode is retried for days. It reads
// the string's text (encoding.TextUnmarshaler), so encoding/json hands it
// over without scanning it again; null leaves it unset.
type lenientTime struct{ t *time.Time }

func (l *lenientTime) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		l.t = nil
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, string(b)); err == nil {
			l.t = &t
			return nil
		}
	}
	return fmt.Errorf("%q is neither an RFC 3339 time nor a date", b)
}

// same is the conversion of a type the API's answers decode into directly.
func same[T any](v *T) (*T, error) { return v, nil }

// infallible makes a conversion that cannot fail fit fetchPage.
func infallible[W, T any](f func(*W) *T) func(*W) (*T, error) {
	return func(w *W) (*T, error) { return f(w), nil }
}
