package alguna

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/numlimit"
)

// Limits Alguna puts on usage events.
const (
	// MaxEventsPerRequest is the most events one POST /events may carry.
	MaxEventsPerRequest = 100
	// MaxUniqueIDLength is the longest uniqueId, in characters.
	MaxUniqueIDLength = 255
	// MaxEventProperties is the most properties one event may have.
	MaxEventProperties = 50
)

// EventsService sends usage events (step 6 of the self-serve guide). For
// steady traffic use a Batcher; Ingest suits scripts and backfills.
type EventsService struct {
	owner *Client
}

// client is the Client the service sends through, or nil when the service
// was not made by NewClient: its methods then answer errNoClient.
func (s *EventsService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

var ingestEvents = endpoint{method: http.MethodPost, template: "/events", keyless: true}

// Event is one usage event. Alguna aggregates events into billable metrics by
// EventName.
type Event struct {
	// UniqueID makes the event idempotent: Alguna counts an id once however
	// often it is sent (within its 7-day dedupe window). Filled with a new
	// UUID when empty. At most 255 characters, and valid UTF-8: an id with
	// invalid bytes is refused, never rewritten, since two such ids would
	// otherwise be sent as one.
	UniqueID string `json:"uniqueId"`
	// Account is the Alguna account id or your alias for the account.
	Account string `json:"account"`
	// EventName must match a billable metric.
	EventName string `json:"eventName"`
	// Timestamp is when the usage happened. Filled with the current time
	// (UTC) when zero, so that a retry cannot move the event into another
	// billing period.
	Timestamp time.Time `json:"timestamp"`
	// Properties are flat, at most 50: values may be strings (valid UTF-8),
	// integers, finite floats, json.Number or decimal.Decimal (sent as a
	// JSON number, digits intact). A number may have at most 100 digits and
	// an exponent within ±400 (a decimal.Decimal counts its digits written
	// out in full), so that whoever adds them up does bounded work. Events
	// are taken as they are when they are accepted: a Batcher or Ingest
	// reads the map during the call, and the caller may reuse it at once.
	Properties map[string]any `json:"properties,omitempty"`
}

// MarshalJSON writes the event as Alguna expects it, with the timestamp in
// RFC 3339 (UTC) and properties in key order.
func (e Event) MarshalJSON() ([]byte, error) {
	if p := e.problems(); len(p) > 0 {
		return nil, &ValidationError{Problems: p}
	}
	return appendEvent(make([]byte, 0, 256), &e), nil
}

// UnmarshalJSON reads an event, with number properties as json.Number
// holding the digits as written, so that an event read back is sent again
// byte for byte and no amount passes through a float64.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event
	var p plain
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return err
	}
	*e = Event(p)
	return nil
}

// Prepare validates e exactly as Batcher.Enqueue does, fixes an empty
// UniqueID (a new UUID) and a zero Timestamp (now, in UTC) in e, and returns
// the JSON that Enqueue would send for it. It is for programs that record
// usage before sending it, such as a transactional outbox: store the bytes,
// and later read them back with json.Unmarshal into an Event and enqueue
// that, which sends the very same bytes, with the same id.
func (e *Event) Prepare() ([]byte, error) {
	if p := e.problems(); len(p) > 0 {
		return nil, &ValidationError{Problems: p}
	}
	e.fill(time.Now())
	return appendEvent(make([]byte, 0, 256), e), nil
}

// problems lists what is wrong with the event, without allocating when
// nothing is.
func (e *Event) problems() []string {
	var ps problems
	// Invalid UTF-8 is refused, never replaced: two ids that differ only
	// in invalid bytes would otherwise be sent as one, and Alguna would
	// count one event where the caller meant two.
	switch {
	case e.Account == "":
		ps.add("account is required")
	case !utf8.ValidString(e.Account):
		ps.add("account is not valid UTF-8")
	}
	switch {
	case e.EventName == "":
		ps.add("eventName is required")
	case !utf8.ValidString(e.EventName):
		ps.add("eventName is not valid UTF-8")
	}
	if !utf8.ValidString(e.UniqueID) {
		ps.add("uniqueId is not valid UTF-8")
	} else if n := utf8.RuneCountInString(e.UniqueID); n > MaxUniqueIDLength {
		ps.add("uniqueId is %d characters, more than %d", n, MaxUniqueIDLength)
	}
	if y := e.Timestamp.Year(); !e.Timestamp.IsZero() && (y < 1 || y > 9999) {
		// RFC 3339 has four-digit years; such a time cannot be sent.
		ps.add("timestamp %s is outside the years 1 to 9999", e.Timestamp.Format(time.RFC3339))
	}
	if len(e.Properties) > MaxEventProperties {
		ps.add("%d properties, more than %d", len(e.Properties), MaxEventProperties)
	}
	var props problems
	for k, v := range e.Properties {
		switch {
		case k == "":
			props.add("property name is empty")
		case !utf8.ValidString(k):
			props.add("property %q: name is not valid UTF-8", k)
		}
		if msg := propertyProblem(v); msg != "" {
			props.add("property %q: %s", k, msg)
		}
	}
	// Map order is random; sorted problems read the same on every run.
	slices.Sort(props)
	return append(ps, props...)
}

func propertyProblem(v any) string {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return "value is not valid UTF-8"
		}
		return ""
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return ""
	case decimal.Decimal:
		if err := numlimit.Decimal(x); err != nil {
			return err.Error()
		}
		return ""
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "value is not a finite number"
		}
		return ""
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return "value is not a finite number"
		}
		return ""
	case json.Number:
		// The size is checked first: the grammar check is linear too, but
		// the message should say what is wrong with a huge number.
		if err := numlimit.Text(string(x)); err != nil {
			return err.Error()
		}
		if !validJSONNumber(string(x)) {
			return fmt.Sprintf("%q is not a number", string(x))
		}
		return ""
	case nil:
		return "value is null; properties take strings and numbers"
	case bool:
		return fmt.Sprintf("bool values are not accepted; send %q or %d", strconv.FormatBool(x), boolInt(x))
	default:
		return fmt.Sprintf("value of type %T is not accepted; properties are flat strings and numbers", v)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fill gives the event its id and time if it has none. It runs once, when the
// event is accepted, so that every retry carries the same values.
func (e *Event) fill(now time.Time) {
	if e.UniqueID == "" {
		e.UniqueID = newEventID()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now.UTC()
	}
}

// newEventID returns a random (version 4) UUID.
func newEventID() string {
	var b [36]byte
	appendEventID(b[:0])
	return string(b[:])
}

// appendEventID appends a random (version 4) UUID in its usual text form,
// so that the Batcher can write an id straight into an event's JSON. The
// bits come from math/rand/v2's generator (ChaCha8, seeded by the runtime
// from the system's entropy): an id must be unique, not secret — whoever
// can send events can send any id — and reading crypto/rand for each cost
// more than the rest of encoding an event.
func appendEventID(buf []byte) []byte {
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:8], mathrand.Uint64()) //nolint:gosec // G404: see above
	binary.LittleEndian.PutUint64(id[8:], mathrand.Uint64()) //nolint:gosec // G404: see above
	id[6] = id[6]&0x0f | 0x40                                // version 4
	id[8] = id[8]&0x3f | 0x80                                // RFC 4122 variant
	var out [36]byte
	hex := out[:0]
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			hex = append(hex, '-')
		}
		hex = append(hex, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(buf, out[:]...)
}

// IngestResult lists, by uniqueId, what Alguna accepted and refused.
type IngestResult struct {
	Ingested []string `json:"ingested"`
	Failed   []string `json:"failed"`
}

func (r *IngestResult) check() error {
	if r.Ingested == nil && r.Failed == nil {
		return errors.New(`answer has neither "ingested" nor "failed"`)
	}
	return nil
}

// Ingest sends events. It validates all of them first and sends nothing if
// any is invalid (a *ValidationError names each problem by index). It then
// fills empty UniqueIDs and zero Timestamps in the caller's slice, and sends
// the events in requests of at most MaxEventsPerRequest, merging the answers.
// Properties are read during the call: the caller may reuse its maps once
// Ingest returns.
//
// On an error, the result holds the answers of the requests that completed;
// because ids and timestamps are now fixed in events, calling Ingest again
// with the same slice is safe: Alguna counts each uniqueId once. For the
// same reason Ingest sends no Idempotency-Key and refuses WithIdempotencyKey:
// a key could only make Alguna replay a stored answer.
//
// POST /events
func (s *EventsService) Ingest(ctx context.Context, events []Event, opts ...RequestOption) (*IngestResult, error) {
	c := s.client()
	if c == nil {
		return nil, errNoClient
	}
	// Options and events are both checked before anything is filled in,
	// so that a refused call leaves the caller's slice as it was.
	_, optErr := requestOptions(ingestEvents.with(), opts)
	if err := errors.Join(optErr, validateEvents(events)); err != nil {
		return nil, joinValidation(err)
	}
	now := time.Now()
	for i := range events {
		events[i].fill(now)
	}
	out := &IngestResult{Ingested: []string{}, Failed: []string{}}
	for i := 0; i < len(events); i += MaxEventsPerRequest {
		chunk := events[i:min(i+MaxEventsPerRequest, len(events))]
		var res IngestResult
		if err := c.do(ctx, ingestEvents.with(), nil, encodeEvents(chunk), &res, opts); err != nil {
			return out, err
		}
		out.Ingested = append(out.Ingested, res.Ingested...)
		out.Failed = append(out.Failed, res.Failed...)
	}
	return out, nil
}

// validateEvents lists the problems of every event, by index.
func validateEvents(events []Event) error {
	var ps problems
	for i := range events {
		for _, p := range events[i].problems() {
			ps.add("events[%d]: %s", i, p)
		}
	}
	return ps.err()
}
