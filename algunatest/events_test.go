package algunatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

func TestIngestShapes(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "acme")
	one := func(uid string) string {
		return fmt.Sprintf(`{"uniqueId":%q,"account":%q,"eventName":"api_call","timestamp":"2025-03-09T15:03:17Z"}`, uid, id)
	}
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"array", "[" + one("a1") + "," + one("a2") + "]", []string{"a1", "a2"}},
		{"single object, as the guide shows", one("s1"), []string{"s1"}},
		{"wrapped", `{"events":[` + one("w1") + `]}`, []string{"w1"}},
		{"whitespace around", "\n  [" + one("ws1") + "]  \n", []string{"ws1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/events", tt.body)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			require.Equal(t, ingestResult{Ingested: tt.want, Failed: []string{}}, decode[ingestResult](t, r))
		})
	}
	require.Len(t, s.Events(), 5)
}

func TestIngestStoresEvents(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 9, 15, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "your-internal-id-123")
	res := ingest(t, s,
		obj{"uniqueId": "evt_123456", "account": id, "eventName": "api_call", "timestamp": "2025-03-09T16:03:17.5+01:00",
			"properties": obj{"endpoint": "/v1/analyze", "tokens": 1500, "cost": "0.0015"}},
		obj{"account": "your-internal-id-123", "eventName": "api_call"},
	)
	require.Len(t, res.Ingested, 2)
	require.Equal(t, "evt_123456", res.Ingested[0])
	require.True(t, strings.HasPrefix(res.Ingested[1], "evt_"), "a missing uniqueId is generated: %s", res.Ingested[1])

	events := s.Events()
	require.Equal(t, []alguna.Event{
		{
			UniqueID:   "evt_123456",
			Account:    id,
			EventName:  "api_call",
			Timestamp:  time.Date(2025, 3, 9, 15, 3, 17, 500000000, time.UTC),
			Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": json.Number("1500"), "cost": "0.0015"},
		},
		{
			UniqueID:  res.Ingested[1],
			Account:   "your-internal-id-123",
			EventName: "api_call",
			Timestamp: clock.now(), // a missing timestamp is the time of arrival
		},
	}, events)

	events[0].Properties["tokens"] = json.Number("1")
	require.Equal(t, json.Number("1500"), s.Events()[0].Properties["tokens"], "Events returns copies")
}

func TestIngestDedupesByUniqueID(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	id := createAccount(t, s, "Acme", "acme")
	grantCreditsRaw(t, s, id, "units", "10")
	ev := obj{"uniqueId": "evt_1", "account": id, "eventName": "api_call"}

	require.Equal(t, []string{"evt_1"}, ingest(t, s, ev).Ingested)
	require.Equal(t, []string{"evt_1"}, ingest(t, s, ev).Ingested, "a resend is acknowledged")
	byAlias := obj{"uniqueId": "evt_1", "account": "acme", "eventName": "api_call"}
	require.Equal(t, []string{"evt_1", "evt_1"}, ingest(t, s, byAlias, byAlias).Ingested)

	require.Len(t, s.Events(), 1, "but counted once")
	require.Equal(t, "9", s.Balance(id, alguna.CreditTypeUnits).String())
}

func TestIngestUnknownAccountFails(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	id := createAccount(t, s, "Acme", "acme")
	res := ingest(t, s,
		obj{"uniqueId": "ok-1", "account": "acme", "eventName": "api_call"},
		obj{"uniqueId": "bad-1", "account": "nobody", "eventName": "api_call"},
		obj{"uniqueId": "ok-2", "account": id, "eventName": "api_call"},
	)
	require.Equal(t, ingestResult{Ingested: []string{"ok-1", "ok-2"}, Failed: []string{"bad-1"}}, res)
	require.Len(t, s.Events(), 2)

	// A failed event was never stored, so it can be sent again once the
	// account exists.
	late := createAccount(t, s, "Late", "nobody")
	res = ingest(t, s, obj{"uniqueId": "bad-1", "account": "nobody", "eventName": "api_call"})
	require.Equal(t, []string{"bad-1"}, res.Ingested)
	require.Equal(t, "1", s.Usage(late, alguna.CreditTypeUnits).String())
}

func TestIngestValidation(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	valid := func(edit func(obj)) obj {
		e := obj{"uniqueId": "u", "account": id, "eventName": "api_call", "timestamp": "2025-03-09T15:03:17Z"}
		if edit != nil {
			edit(e)
		}
		return e
	}
	props := func(n int) obj {
		p := obj{}
		for i := range n {
			p[fmt.Sprint("p", i)] = i
		}
		return p
	}
	many := make([]obj, 101)
	for i := range many {
		many[i] = valid(func(e obj) { e["uniqueId"] = fmt.Sprint("m", i) })
	}

	tests := []struct {
		name   string
		body   any
		detail string
	}{
		{"empty array", "[]", "no events"},
		{"empty body", "", "request body is empty"},
		{"not JSON", "[{", "not valid JSON"},
		{"a string", `"event"`, "must be a JSON array of events"},
		{"events not an array", `{"events": {}}`, `"events" must be a JSON array`},
		{"101 events", many, "too many events: 101 in one request, at most 100"},
		{"no account", []obj{valid(func(e obj) { delete(e, "account") })}, "events[0]: account is required"},
		{"no eventName", []obj{valid(nil), valid(func(e obj) { e["eventName"] = "" })}, "events[1]: eventName is required"},
		{"uniqueId too long", []obj{valid(func(e obj) { e["uniqueId"] = strings.Repeat("é", 256) })}, "uniqueId is 256 characters long, at most 255"},
		{"bad timestamp", []obj{valid(func(e obj) { e["timestamp"] = "yesterday" })}, "timestamp must be an RFC 3339 time"},
		{"51 properties", []obj{valid(func(e obj) { e["properties"] = props(51) })}, "51 properties, at most 50"},
		{"bool property", []obj{valid(func(e obj) { e["properties"] = obj{"isTrial": true} })}, `property "isTrial" is a boolean`},
		{"null property", []obj{valid(func(e obj) { e["properties"] = obj{"x": nil} })}, `property "x" is null`},
		{"nested object", []obj{valid(func(e obj) { e["properties"] = obj{"x": obj{"y": 1}} })}, `property "x" is nested`},
		{"nested array", []obj{valid(func(e obj) { e["properties"] = obj{"x": []int{1}} })}, `property "x" is nested`},
		{"empty property name", []obj{valid(func(e obj) { e["properties"] = obj{"": 1} })}, "property names must not be empty"},
		{"account not a string", []obj{valid(func(e obj) { e["account"] = 42 })}, "account must not be a JSON number"},
		{"event not an object", `[1]`, "events[0]: not a valid event object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, call(t, s, http.MethodPost, "/events", tt.body), http.StatusBadRequest, tt.detail)
		})
	}
	require.Empty(t, s.Events(), "a refused request ingests nothing, not even its valid events")

	t.Run("limits are inclusive", func(t *testing.T) {
		ok := []obj{valid(func(e obj) {
			e["uniqueId"] = strings.Repeat("é", 255)
			e["properties"] = props(50)
		})}
		require.Len(t, ingest(t, s, ok...).Ingested, 1)
		require.Len(t, ingest(t, s, many[:100]...).Ingested, 100)
	})
}
