package algunatest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// Alguna's documented limits on POST /events.
const (
	maxEventsPerRequest = 100
	maxUniqueIDLen      = 255
	maxProperties       = 50
)

// storedEvent is an ingested event. Property values are strings or
// json.Number, exactly as sent.
type storedEvent struct {
	uniqueID   string
	account    string // as sent: an id or an alias
	eventName  string
	timestamp  time.Time
	properties map[string]any
}

// eventRequest is one event as it arrives.
type eventRequest struct {
	UniqueID   *string        `json:"uniqueId"`
	Account    string         `json:"account"`
	EventName  string         `json:"eventName"`
	Timestamp  *string        `json:"timestamp"`
	Properties map[string]any `json:"properties"`
}

type ingestResult struct {
	Ingested []string `json:"ingested"`
	Failed   []string `json:"failed"`
}

// ingestEvents is POST /events. The whole request is refused (400) when any
// event is malformed, so that nothing is half-ingested; an event naming an
// account that does not exist is not malformed, and lands in "failed" the way
// Alguna reports per-event failures.
func (s *Server) ingestEvents(r *http.Request, body []byte) (int, any) {
	split, ok := r.Context().Value(splitEventsKey{}).(splitResult)
	if !ok {
		split = splitEventsOnce(body)
	}
	raws, err := split.raws, split.err
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	switch {
	case len(raws) == 0:
		return fail(http.StatusBadRequest, "no events: send a JSON array of 1 to %d events", maxEventsPerRequest)
	case len(raws) > maxEventsPerRequest:
		return fail(http.StatusBadRequest, "too many events: %d in one request, at most %d are allowed", len(raws), maxEventsPerRequest)
	}

	now := s.now()
	events := make([]storedEvent, len(raws))
	for i, raw := range raws {
		if err := parseEvent(raw, now, &events[i]); err != nil {
			return fail(http.StatusBadRequest, "events[%d]: %v", i, err)
		}
	}

	out := ingestResult{Ingested: make([]string, 0, len(events)), Failed: []string{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		ev := &events[i]
		a := s.resolveLocked(ev.account)
		if a == nil {
			out.Failed = append(out.Failed, ev.uniqueID)
			continue
		}
		out.Ingested = append(out.Ingested, ev.uniqueID)
		if _, dup := s.st.seenEvents[ev.uniqueID]; dup {
			continue // already counted: a resend is acknowledged, never counted twice
		}
		s.st.seenEvents[ev.uniqueID] = struct{}{}
		s.st.events = append(s.st.events, *ev)
		s.meterLocked(a, ev, now)
	}
	return http.StatusOK, out
}

// splitResult is a POST /events body split into its events. The API
// middleware splits it once, to count the events for the rate limit and the
// request log, and hands the result to the handler in the request's context.
type splitResult struct {
	raws []json.RawMessage
	err  error
}

type splitEventsKey struct{}

func splitEventsOnce(body []byte) splitResult {
	raws, err := splitEvents(body)
	if err != nil {
		raws = nil
	}
	return splitResult{raws: raws, err: err}
}

// splitEvents accepts the shapes events arrive in: a JSON array (what the
// SDK sends), a single event object (what the guide shows) or
// {"events": [...]}.
func splitEvents(body []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("request body is empty; send a JSON array of events")
	}
	var raws []json.RawMessage
	switch trimmed[0] {
	case '[':
		if err := decodeJSON(trimmed, &raws); err != nil {
			return nil, err
		}
		return raws, nil
	case '{':
		var wrapper map[string]json.RawMessage
		if err := decodeJSON(trimmed, &wrapper); err != nil {
			return nil, err
		}
		list, ok := wrapper["events"]
		if !ok {
			return []json.RawMessage{trimmed}, nil
		}
		if err := json.Unmarshal(list, &raws); err != nil {
			return nil, errors.New(`"events" must be a JSON array of events`)
		}
		return raws, nil
	}
	return nil, errors.New("request body must be a JSON array of events, one event object, or {\"events\": [...]}")
}

// parseEvent decodes and checks one event, filling in what Alguna fills in:
// an id when there is none and the time of arrival when there is no
// timestamp.
func parseEvent(raw json.RawMessage, now time.Time, ev *storedEvent) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exact: they may be money
	var req eventRequest
	if err := dec.Decode(&req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return fmt.Errorf("%s must not be a JSON %s", typeErr.Field, typeErr.Value)
		}
		return fmt.Errorf("not a valid event object: %w", err)
	}
	switch {
	case req.Account == "":
		return errors.New("account is required")
	case req.EventName == "":
		return errors.New("eventName is required")
	}
	if req.UniqueID == nil || *req.UniqueID == "" {
		id := newID("evt")
		req.UniqueID = &id
	}
	if n := utf8.RuneCountInString(*req.UniqueID); n > maxUniqueIDLen {
		return fmt.Errorf("uniqueId is %d characters long, at most %d are allowed", n, maxUniqueIDLen)
	}
	ts := now
	if req.Timestamp != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.Timestamp)
		if err != nil {
			return fmt.Errorf("timestamp must be an RFC 3339 time such as \"2025-03-09T15:03:17Z\", got %q", *req.Timestamp)
		}
		ts = t.UTC()
	}
	if len(req.Properties) > maxProperties {
		return fmt.Errorf("%d properties, at most %d are allowed", len(req.Properties), maxProperties)
	}
	for k, v := range req.Properties {
		if k == "" {
			return errors.New("property names must not be empty")
		}
		switch v.(type) {
		case string, json.Number:
		case nil:
			return fmt.Errorf("property %q is null; values must be strings or numbers", k)
		case bool:
			return fmt.Errorf("property %q is a boolean; values must be strings or numbers (send \"true\" as a string)", k)
		default:
			return fmt.Errorf("property %q is nested; properties must be flat, with string or number values", k)
		}
		if err := checkPropertyNumber(v); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
	}
	*ev = storedEvent{
		uniqueID:   *req.UniqueID,
		account:    req.Account,
		eventName:  req.EventName,
		timestamp:  ts,
		properties: req.Properties,
	}
	return nil
}

// propertyText is the identity of a property value for count unique: the
// text sent, so "7" and 7 count as one value.
func propertyText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// propertyNumber reads a property value as a decimal, from a JSON number or
// a string holding one.
func propertyNumber(v any) (decimal.Decimal, bool) {
	var text string
	switch v := v.(type) {
	case string:
		text = v
	case json.Number:
		text = v.String()
	default:
		return decimal.Decimal{}, false
	}
	// Every number was bounded when its event arrived; parseDecimal bounds
	// it again so that no path can reach unbounded arithmetic.
	d, err := parseDecimal(text)
	return d, err == nil
}

// cloneProperties copies a property map so that callers of the accessors
// cannot change what the server stored.
func cloneProperties(p map[string]any) map[string]any {
	if p == nil {
		return nil
	}
	return maps.Clone(p)
}

// Events returns every distinct event the server has ingested, in the order
// it ingested them: a resent uniqueId appears once, and events that failed
// (for an unknown account) not at all. Account is as sent, an id or an
// alias; number properties are json.Number, holding the exact text sent.
func (s *Server) Events() []alguna.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]alguna.Event, len(s.st.events))
	for i, ev := range s.st.events {
		out[i] = alguna.Event{
			UniqueID:   ev.uniqueID,
			Account:    ev.account,
			EventName:  ev.eventName,
			Timestamp:  ev.timestamp,
			Properties: cloneProperties(ev.properties),
		}
	}
	return out
}
