package alguna

import (
	"encoding/json"
	"fmt"
	"time"
)

// lenientTime decodes an RFC 3339 time, a bare date ("2025-03-01", read as
// midnight UTC), or null. Billing systems often send dates without a time,
// and a webhook payload that fails to decode is retried for days.
type lenientTime struct{ t *time.Time }

func (l *lenientTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		l.t = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		l.t = nil
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			l.t = &t
			return nil
		}
	}
	return fmt.Errorf("%q is neither an RFC 3339 time nor a date", s)
}
