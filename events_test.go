package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestEventInvalidUTF8IsRefused checks that no string an event carries is
// rewritten: an id such as "usage-\xff" would otherwise be sent as
// "usage-\ufffd", merging two different ids into one billed event.
func TestEventInvalidUTF8IsRefused(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *Event)
		want string
	}{
		{"uniqueId", func(e *Event) { e.UniqueID = "usage-\xff" }, "uniqueId is not valid UTF-8"},
		{"account", func(e *Event) { e.Account = "acc_\xc3" }, "account is not valid UTF-8"},
		{"eventName", func(e *Event) { e.EventName = "api\xed\xa0\x80call" }, "eventName is not valid UTF-8"},
		{"property name", func(e *Event) { e.Properties = map[string]any{"tok\xffens": 1} }, `property "tok\xffens": name is not valid UTF-8`},
		{"property value", func(e *Event) { e.Properties = map[string]any{"endpoint": "/v1/\xfe"} }, `property "endpoint": value is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := guideEvent()
			tc.edit(&e)

			c, mock := newMockClient(t)
			rec := recordJSON(mock, 200, eventsResponse)
			_, err := c.Events.Ingest(testCtx(t), []Event{e})
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Contains(t, err.Error(), tc.want)
			require.Empty(t, rec.requests(), "nothing is sent")

			b, err := c.Events.NewBatcher(BatcherOptions{})
			require.NoError(t, err)
			err = b.Enqueue(testCtx(t), e)
			require.ErrorAs(t, err, &ve)
			require.Contains(t, err.Error(), tc.want)
			require.NoError(t, b.Close(testCtx(t)))
			require.Zero(t, b.Stats().Enqueued)
			require.Empty(t, rec.requests(), "nothing is sent")
		})
	}
}

// TestEventValidUTF8IsSentIntact checks the other side: valid multi-byte
// text travels as it is, never escaped or replaced.
func TestEventValidUTF8IsSentIntact(t *testing.T) {
	c, mock := newMockClient(t)
	rec := recordJSON(mock, 200, `{"ingested":["usage-ü-日本"],"failed":[]}`)
	e := guideEvent()
	e.UniqueID = "usage-ü-日本"
	e.Properties = map[string]any{"städte": "Zürich 🚀"}
	_, err := c.Events.Ingest(testCtx(t), []Event{e})
	require.NoError(t, err)
	body := string(rec.only(t).Body)
	require.Contains(t, body, `"uniqueId":"usage-ü-日本"`)
	require.Contains(t, body, `"städte":"Zürich 🚀"`)
}

// TestEventNumberSizeIsBounded checks that a number too large to add up in
// bounded time is refused before anything is encoded: 1e100000000 would
// otherwise hang whoever sums it, and decimal.New(1, 2_000_000) is written
// out digit by digit.
func TestEventNumberSizeIsBounded(t *testing.T) {
	tests := []struct {
		name  string
		value any
		ok    bool
	}{
		{"decimal with a huge exponent", decimal.New(1, 2_000_000), false},
		{"decimal with an absurd exponent", decimal.New(1, 100_000_000), false},
		{"decimal with a tiny exponent", decimal.New(1, -2_000_000), false},
		{"json.Number with a huge exponent", json.Number("1e100000000"), false},
		{"json.Number with too many digits", json.Number(strings.Repeat("9", 101)), false},
		{"decimal of 100 digits", decimal.RequireFromString(strings.Repeat("9", 100)), true},
		{"decimal with many fraction digits", decimal.RequireFromString("12345678901234567890.000000001"), true},
		{"json.Number with an exponent", json.Number("1.5e300"), true},
		{"largest float64", 1.7976931348623157e308, true},
		{"smallest float64", 5e-324, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			rec := recordJSON(mock, 200, eventsResponse)
			e := guideEvent()
			e.Properties = map[string]any{"tokens": tc.value}
			start := time.Now()
			_, err := c.Events.Ingest(testCtx(t), []Event{e})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Contains(t, err.Error(), `property "tokens"`)
			require.Empty(t, rec.requests())
			// Not a timing assertion on speed: a check written digit by
			// digit takes minutes, which the test's deadline would catch.
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// TestGrantAmountSizeIsBounded checks that money amounts get the same bound
// as event properties: an amount is written out in full on the wire.
func TestGrantAmountSizeIsBounded(t *testing.T) {
	c, mock := newMockClient(t)
	rec := recordJSON(mock, 200, `{}`)
	_, err := c.Credits.Grant(testCtx(t), "acc_1", &CreditGrantParams{
		CreditType: CreditTypeUnits, Amount: decimal.New(1, 100_000_000),
	})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "amount")
	_, err = c.Credits.Availability(testCtx(t), "acc_1", CreditTypeUnits, decimal.New(1, 100_000_000))
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "required")
	require.Empty(t, rec.requests())
	require.False(t, errors.Is(err, context.DeadlineExceeded))
}

// TestEventDecodeKeepsNumbersExact checks that an event read back from its
// JSON (for OnFailure, or from the spool) is sent again byte for byte.
func TestEventDecodeKeepsNumbersExact(t *testing.T) {
	e := Event{UniqueID: "x", Account: "acc_1", EventName: "api_call", Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)}
	e.Properties = map[string]any{"a": uint64(18446744073709551615), "b": 0.1, "c": json.Number("1e400")}
	payload := appendEvent(nil, &e)
	got, err := decodeEvent(payload)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": json.Number("18446744073709551615"), "b": json.Number("0.1"), "c": json.Number("1e400")}, got.Properties)
	require.Equal(t, string(payload), string(appendEvent(nil, &got)), "the event is sent again byte for byte")
}

// TestEncodeAgreesWithValidation checks that the Batcher's one-pass check
// (encodeEvent) accepts exactly the events Event.problems accepts.
func TestEncodeAgreesWithValidation(t *testing.T) {
	base := guideEvent()
	many := map[string]any{}
	for i := range MaxEventProperties + 1 {
		many[fmt.Sprintf("p%02d", i)] = i
	}
	edits := []func(e *Event){
		func(*Event) {},
		func(e *Event) { e.UniqueID = "" },
		func(e *Event) { e.Timestamp = time.Time{} },
		func(e *Event) { e.Account = "" },
		func(e *Event) { e.EventName = "" },
		func(e *Event) { e.UniqueID = strings.Repeat("é", MaxUniqueIDLength) },
		func(e *Event) { e.UniqueID = strings.Repeat("é", MaxUniqueIDLength+1) },
		func(e *Event) { e.UniqueID = strings.Repeat("x", MaxUniqueIDLength+1) },
		func(e *Event) { e.UniqueID = "a\xffb" },
		func(e *Event) { e.Account = "\xc3" },
		func(e *Event) { e.EventName = "ok\x00ctl" },
		func(e *Event) { e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(e *Event) { e.Properties = many },
		func(e *Event) { e.Properties = map[string]any{"": 1} },
		func(e *Event) { e.Properties = map[string]any{"k\xff": 1} },
		func(e *Event) { e.Properties = map[string]any{"k": "v\xff"} },
		func(e *Event) { e.Properties = map[string]any{"k": true} },
		func(e *Event) { e.Properties = map[string]any{"k": nil} },
		func(e *Event) { e.Properties = map[string]any{"k": []int{1}} },
		func(e *Event) { e.Properties = map[string]any{"k": math.NaN()} },
		func(e *Event) { e.Properties = map[string]any{"k": float32(math.Inf(1))} },
		func(e *Event) { e.Properties = map[string]any{"k": json.Number("1e")} },
		func(e *Event) { e.Properties = map[string]any{"k": json.Number("1e401")} },
		func(e *Event) { e.Properties = map[string]any{"k": decimal.New(1, 200)} },
		func(e *Event) { e.Properties = map[string]any{"k": decimal.New(1, 20)} },
		func(e *Event) { e.Properties = map[string]any{"k": uint8(7), "l": int16(-3), "m": 1.5, "n": "x"} },
	}
	for i, edit := range edits {
		e := base
		e.Properties = maps.Clone(base.Properties)
		edit(&e)
		_, ok := appendValidEvent(nil, &e, time.Now())
		require.Equal(t, len(e.problems()) == 0, ok, "case %d: problems %v", i, e.problems())
	}
}

// TestEventPrepareRoundTrip checks the outbox's path: Prepare validates and
// fills like Enqueue, and the stored bytes, read back with json.Unmarshal,
// encode to the very same bytes.
func TestEventPrepareRoundTrip(t *testing.T) {
	e := Event{Account: "acc_1", EventName: "api_call", Properties: map[string]any{
		"tokens": 1500, "cost": decimal.RequireFromString("0.000012500"), "big": uint64(18446744073709551615), "ratio": 0.1, "who": "Zoë",
	}}
	data, err := e.Prepare()
	require.NoError(t, err)
	require.NotEmpty(t, e.UniqueID, "the id is fixed in the event")
	require.False(t, e.Timestamp.IsZero())
	require.Equal(t, time.UTC, e.Timestamp.Location())

	var back Event
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, json.Number("1500"), back.Properties["tokens"])
	require.Equal(t, json.Number("0.0000125"), back.Properties["cost"])
	again, err := back.Prepare()
	require.NoError(t, err)
	require.Equal(t, string(data), string(again))
	require.Equal(t, e.UniqueID, back.UniqueID)

	bad := Event{Account: "acc_1"}
	_, err = bad.Prepare()
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Empty(t, bad.UniqueID, "an invalid event is left as it was")
}

// TestEventsWire checks Ingest on the wire and the decoding of its answer.
func TestEventsWire(t *testing.T) {
	runWire(t, []wireCase{
		{
			name: "Events.Ingest as in step 6, as a list",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Events.Ingest(ctx, []Event{guideEvent()})
			},
			response: eventsResponse,
			method:   http.MethodPost, path: "/events",
			body: guideEventsRequest,
			want: &IngestResult{Ingested: []string{"evt_123456"}, Failed: []string{}},
		},
	})
}

// TestEventsValidation checks what Ingest refuses before sending.
func TestEventsValidation(t *testing.T) {
	valid := func() Event { return guideEvent() }
	withProps := func(props map[string]any) []Event {
		e := valid()
		e.Properties = props
		return []Event{e}
	}
	manyProps := map[string]any{}
	for i := range MaxEventProperties + 1 {
		manyProps[fmt.Sprintf("p%02d", i)] = i
	}
	runValidation(t, []validationCase{
		{"event without account", func(ctx context.Context, c *Client) error {
			e := valid()
			e.Account = ""
			_, err := c.Events.Ingest(ctx, []Event{valid(), e})
			return err
		}, []string{"events[1]: account is required"}},
		{"event in year 10000", func(ctx context.Context, c *Client) error {
			e := valid()
			e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			_, err := c.Events.Ingest(ctx, []Event{e})
			return err
		}, []string{"events[0]: timestamp 10000-01-01T00:00:00Z is outside the years 1 to 9999"}},
		{"event without name", func(ctx context.Context, c *Client) error {
			e := valid()
			e.EventName = ""
			_, err := c.Events.Ingest(ctx, []Event{e})
			return err
		}, []string{"events[0]: eventName is required"}},
		{"uniqueId over 255 characters", func(ctx context.Context, c *Client) error {
			e := valid()
			e.UniqueID = strings.Repeat("é", 256)
			_, err := c.Events.Ingest(ctx, []Event{e})
			return err
		}, []string{"events[0]: uniqueId is 256 characters, more than 255"}},
		{"more than 50 properties", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(manyProps))
			return err
		}, []string{"events[0]: 51 properties, more than 50"}},
		{"bool property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"isTrial": true}))
			return err
		}, []string{`events[0]: property "isTrial": bool values are not accepted; send "true" or 1`}},
		{"null property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"user": nil}))
			return err
		}, []string{`property "user": value is null`}},
		{"nested property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"req": map[string]any{"path": "/v1"}}))
			return err
		}, []string{`property "req": value of type map[string]interface {} is not accepted`}},
		{"list property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"tags": []string{"a"}}))
			return err
		}, []string{`property "tags": value of type []string`}},
		{"NaN property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"ms": math.NaN()}))
			return err
		}, []string{`property "ms": value is not a finite number`}},
		{"infinite float32 property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"ms": float32(math.Inf(-1))}))
			return err
		}, []string{`property "ms": value is not a finite number`}},
		{"malformed json.Number property", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"n": json.Number("1e")}))
			return err
		}, []string{`property "n": "1e" is not a number`}},
		{"empty property name", func(ctx context.Context, c *Client) error {
			_, err := c.Events.Ingest(ctx, withProps(map[string]any{"": "x"}))
			return err
		}, []string{"property name is empty"}},
		{"every invalid event named by index, properties sorted", func(ctx context.Context, c *Client) error {
			a, b := valid(), valid()
			a.Account = ""
			b.Properties = map[string]any{"z": false, "a": nil}
			_, err := c.Events.Ingest(ctx, []Event{a, valid(), b})
			return err
		}, []string{"events[0]: account is required", `events[2]: property "a"`, `events[2]: property "z"`}},
	})
}

// Ingest validates before it touches anything: an invalid batch leaves the
// caller's events as they were.
func TestIngestInvalidLeavesEventsAlone(t *testing.T) {
	c, mock := newMockClient(t)
	events := []Event{{Account: "acc_1", EventName: "api_call"}, {EventName: "api_call"}}
	_, err := c.Events.Ingest(testCtx(t), events)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Empty(t, events[0].UniqueID)
	require.True(t, events[0].Timestamp.IsZero())
	require.Zero(t, mock.GetTotalCallCount())
}

func TestEventLimitsAccepted(t *testing.T) {
	props := map[string]any{}
	for i := range MaxEventProperties {
		props[fmt.Sprintf("p%02d", i)] = i
	}
	e := guideEvent()
	e.UniqueID = strings.Repeat("é", MaxUniqueIDLength)
	e.Properties = props
	_, err := json.Marshal(e)
	require.NoError(t, err)
}

func TestEventMarshalJSONValidates(t *testing.T) {
	e := guideEvent()
	e.Properties = map[string]any{"isTrial": true}
	_, err := json.Marshal(e)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "bool values are not accepted")
}

// The hand-written encoder must agree with encoding/json on everything it
// writes, including awkward strings and floats. (Invalid UTF-8 is refused
// before encoding: TestEventInvalidUTF8IsRefused.)
func TestEventEncodingMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\t\n\r", "line sep \u2028 \u2029", "emoji 🎉 and é", "<html>&amp;"}
	floats := []float64{0, math.Copysign(0, -1), 1, 1.5, -2.25, 1e-7, 1e-6, 123456789.125, 1e20, 1e21, 1.7976931348623157e308, 5e-324}
	for i, s := range strs {
		e := Event{UniqueID: s, Account: "acc " + s, EventName: "e", Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 123456789, time.UTC),
			Properties: map[string]any{"s": s, "f": floats[i%len(floats)], "g": floats[(i+5)%len(floats)], s + "k": int64(-9223372036854775808), "u": uint64(18446744073709551615)}}
		got, err := json.Marshal(e)
		require.NoError(t, err)

		type plain Event
		want, err := json.Marshal(plain(e))
		require.NoError(t, err)
		// encoding/json escapes <, > and & as \u003c etc.; both are valid,
		// so compare the decoded values.
		require.JSONEq(t, string(want), string(got), "string %q", s)
		require.Contains(t, string(got), `:-9223372036854775808`)
		require.Contains(t, string(got), `"u":18446744073709551615`)
	}
	// Timestamps go out in UTC; decimals and json.Numbers keep their digits.
	e := Event{UniqueID: "u", Account: "a", EventName: "e", Timestamp: time.Date(2025, 3, 9, 16, 3, 17, 0, time.FixedZone("CET", 3600)),
		Properties: map[string]any{"d": decimal.RequireFromString("12345678901234567890.000000001"), "n": json.Number("-1.5e3"), "f32": float32(0.1)}}
	got, err := json.Marshal(e)
	require.NoError(t, err)
	require.Equal(t, `{"uniqueId":"u","account":"a","eventName":"e","timestamp":"2025-03-09T15:03:17Z","properties":{"d":12345678901234567890.000000001,"f32":0.1,"n":-1.5e3}}`, string(got))
}

// The hand-written timestamp agrees with time.RFC3339Nano for every kind of
// fraction, across second boundaries that refresh its cache.
func TestAppendTimestampMatchesRFC3339Nano(t *testing.T) {
	base := time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)
	for _, ns := range []int{0, 1, 10, 100, 123456789, 500000000, 999999999, 100000, 120000000} {
		for _, sec := range []int{0, 1, 59, 3600 * 24 * 365} {
			ts := base.Add(time.Duration(sec)*time.Second + time.Duration(ns))
			require.Equal(t, ts.Format(time.RFC3339Nano), string(appendTimestamp(nil, ts)))
		}
	}
	for _, ts := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC)} {
		require.Equal(t, ts.Format(time.RFC3339Nano), string(appendTimestamp(nil, ts)))
	}
}
