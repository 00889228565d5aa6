package alguna

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
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

var ingestEvents = endpoint{http.MethodPost, "/events"}

// Event is one usage event. Alguna aggregates events into billable metrics by
// EventName.
type Event struct {
	// UniqueID makes the event idempotent: Alguna counts an id once however
	// often it is sent. Filled with a new UUID when empty.
	UniqueID string `json:"uniqueId"`
	// Account is the Alguna account id or your alias for the account.
	Account string `json:"account"`
	// EventName must match a billable metric.
	EventName string `json:"eventName"`
	// Timestamp is when the usage happened. Filled with the current time
	// (UTC) when zero, so that a retry cannot move the event into another
	// billing period.
	Timestamp time.Time `json:"timestamp"`
	// Properties are flat: values may be strings, integers, finite floats,
	// json.Number or decimal.Decimal (sent as a JSON number, digits intact).
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

// eventIDs hands out random bytes for event ids from buffers filled 4 KiB
// at a time: reading crypto/rand once per event was a tenth of the
// Batcher's cost, and its interface call moved every id to the heap.
var eventIDs = sync.Pool{New: func() any { return new(idBuffer) }}

type idBuffer struct {
	buf  [4096]byte
	next int
}

// newEventID returns a random (version 4) UUID.
func newEventID() string {
	b := eventIDs.Get().(*idBuffer)
	if b.next == 0 || b.next+16 > len(b.buf) {
		// crypto/rand.Read never fails on the platforms Go supports.
		_, _ = rand.Read(b.buf[:])
		b.next = 0
	}
	var id uuid.UUID
	copy(id[:], b.buf[b.next:b.next+16])
	// Used bytes are wiped, so that no id can be read back from the pool.
	clear(b.buf[b.next : b.next+16])
	b.next += 16
	if b.next == len(b.buf) {
		b.next = 0
	}
	eventIDs.Put(b)
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
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
//
// On an error, the result holds the answers of the requests that completed;
// because ids and timestamps are now fixed in events, calling Ingest again
// with the same slice is safe: Alguna counts each uniqueId once.
//
// POST /events
func (s *EventsService) Ingest(ctx context.Context, events []Event, opts ...RequestOption) (*IngestResult, error) {
	var ps problems
	for i := range events {
		for _, p := range events[i].problems() {
			ps.add("events[%d]: %s", i, p)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	chunks := (len(events) + MaxEventsPerRequest - 1) / MaxEventsPerRequest
	if chunks > 1 {
		// Each request needs its own idempotency key: with one key for all,
		// Alguna would replay the first answer for the rest.
		var rc requestConfig
		rc.apply(opts)
		if k := rc.idempotencyKey; k != "" && len(k)+len(chunkSuffix(chunks-1)) > maxIdempotencyKey {
			return nil, invalid(fmt.Sprintf("idempotency key is too long to number %d requests", chunks))
		}
	}
	now := time.Now()
	for i := range events {
		events[i].fill(now)
	}
	out := &IngestResult{Ingested: []string{}, Failed: []string{}}
	for c := 0; c < chunks; c++ {
		chunk := events[c*MaxEventsPerRequest : min((c+1)*MaxEventsPerRequest, len(events))]
		chunkOpts := opts
		if chunks > 1 {
			chunkOpts = append(slices.Clip(opts), withKeySuffix(chunkSuffix(c)))
		}
		var res IngestResult
		if err := s.client().do(ctx, ingestEvents.with(), nil, encodeEvents(chunk), &res, chunkOpts); err != nil {
			return out, err
		}
		out.Ingested = append(out.Ingested, res.Ingested...)
		out.Failed = append(out.Failed, res.Failed...)
	}
	return out, nil
}

func chunkSuffix(i int) string { return "-" + strconv.Itoa(i) }

// encodeEvents writes events as the JSON array POST /events takes.
func encodeEvents(events []Event) rawJSON {
	size := 2
	for i := range events {
		e := &events[i]
		// Field names, quotes and timestamp take about 90 bytes; a property
		// about 30 beyond its name.
		size += 90 + len(e.UniqueID) + len(e.Account) + len(e.EventName) + 30*len(e.Properties)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendEvent(buf, &events[i])
	}
	return append(buf, ']')
}

// appendEvent encodes a validated event by hand: encoding/json would reflect
// over every event and allocate for every property, and the Batcher encodes
// millions.
func appendEvent(buf []byte, e *Event) []byte {
	buf = append(buf, `{"uniqueId":`...)
	buf = appendJSONString(buf, e.UniqueID)
	buf = append(buf, `,"account":`...)
	buf = appendJSONString(buf, e.Account)
	buf = append(buf, `,"eventName":`...)
	buf = appendJSONString(buf, e.EventName)
	buf = append(buf, `,"timestamp":"`...)
	buf = e.Timestamp.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, '"')
	if len(e.Properties) > 0 {
		buf = append(buf, `,"properties":{`...)
		var stack [MaxEventProperties]string
		keys := stack[:0]
		for k := range e.Properties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendProperty(buf, e.Properties[k])
		}
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

func appendProperty(buf []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(buf, x)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case int8:
		return strconv.AppendInt(buf, int64(x), 10)
	case int16:
		return strconv.AppendInt(buf, int64(x), 10)
	case int32:
		return strconv.AppendInt(buf, int64(x), 10)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case uint:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(buf, x, 10)
	case float32:
		return appendFloat(buf, float64(x), 32)
	case float64:
		return appendFloat(buf, x, 64)
	case json.Number:
		return append(buf, x...)
	case decimal.Decimal:
		return append(buf, x.String()...)
	}
	// Unreachable for validated events; null keeps the JSON well-formed.
	return append(buf, "null"...)
}

// appendFloat writes a finite float the way encoding/json does: plain
// notation for everyday magnitudes, exponent form for tiny or huge ones.
func appendFloat(buf []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(buf, f, format, -1, bits)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Events are validated first, so
// s is valid UTF-8; should invalid bytes reach it anyway they become U+FFFD,
// as encoding/json does, so that the output is always valid JSON.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript that evals it.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// validJSONNumber checks the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
