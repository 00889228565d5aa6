package alguna

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestValidation checks every problem caught before sending: each returns a
// *ValidationError naming it, and no request reaches the transport.
func TestValidation(t *testing.T) {
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
	var zeroTime time.Time
	grant := func(ct CreditType, amount string) *CreditGrantParams {
		return &CreditGrantParams{CreditType: ct, Amount: decimal.RequireFromString(amount)}
	}

	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
		want []string // substrings, one per expected problem, in order
	}{
		// Accounts.
		{"create nil params", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, nil)
			return err
		}, []string{"account params are nil"}},
		{"create without name", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Email: "billing@acme.com"})
			return err
		}, []string{"name is required"}},
		{"create with blank name", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: " \t"})
			return err
		}, []string{"name is required"}},
		{"create with bad email", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Email: "billing.acme.com"})
			return err
		}, []string{`email "billing.acme.com" is not an email address`}},
		{"create lists every problem", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Email: "a b@acme.com"})
			return err
		}, []string{"name is required", "is not an email address"}},
		{"get without id", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "")
			return err
		}, []string{"account id is required"}},
		{"update without id", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "", &AccountUpdateParams{Name: String("x")})
			return err
		}, []string{"account id is required"}},
		{"update nil params", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "acc_1", nil)
			return err
		}, []string{"update params are nil"}},
		{"update changing nothing", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{})
			return err
		}, []string{"update params change nothing"}},
		{"update to a blank name", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Name: String(" ")})
			return err
		}, []string{"name must not be empty"}},
		{"update to a bad email", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Email: String("@acme.com")})
			return err
		}, []string{"is not an email address"}},
		{"lookup without alias", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Lookup(ctx, "")
			return err
		}, []string{"alias is required"}},
		{"list with negative page", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Page: -1})
			return err
		}, []string{"page must not be negative"}},
		{"list with bad limit", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Limit: 7})
			return err
		}, []string{"limit must be 5, 10, 25, 50 or 100, got 7"}},
		{"list with limit over 100", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Limit: 500})
			return err
		}, []string{"limit must be"}},
		{"list with sort lacking a direction", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Sort: "createdAt"})
			return err
		}, []string{"sort must look like"}},
		{"list with unknown sort direction", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Sort: "createdAt:up"})
			return err
		}, []string{"sort must look like"}},
		{"list with injected sort", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.List(ctx, &ListOptions{Sort: "name&x=1:asc"})
			return err
		}, []string{"sort must look like"}},
		{"all with bad options", func(ctx context.Context, c *Client) error {
			var errs []error
			for a, err := range c.Accounts.All(ctx, &ListOptions{Limit: 3}) {
				require.Nil(t, a)
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			return errs[0]
		}, []string{"limit must be"}},

		// Credits.
		{"grant without account", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "", grant(CreditTypeUnits, "50"))
			return err
		}, []string{"account id is required"}},
		{"grant nil params", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", nil)
			return err
		}, []string{"grant params are nil"}},
		{"grant of an unknown credit type", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant("points", "50"))
			return err
		}, []string{`credit type "points" is not "units" or "monetary"`}},
		{"grant without credit type", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant("", "50"))
			return err
		}, []string{`credit type ""`}},
		{"grant of zero", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant(CreditTypeUnits, "0"))
			return err
		}, []string{"amount must be positive, got 0"}},
		{"grant of a negative amount", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant(CreditTypeMonetary, "-0.01"))
			return err
		}, []string{"amount must be positive, got -0.01"}},
		{"grant of an unset amount", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", &CreditGrantParams{CreditType: CreditTypeUnits})
			return err
		}, []string{"amount must be positive"}},
		{"grant with a zero expiry", func(ctx context.Context, c *Client) error {
			p := grant(CreditTypeUnits, "5")
			p.ExpiresAt = &zeroTime
			_, err := c.Credits.Grant(ctx, "acc_1", p)
			return err
		}, []string{"expiresAt is set but zero"}},
		{"grant lists every problem", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "", grant("credits", "-1"))
			return err
		}, []string{"account id is required", `credit type "credits"`, "amount must be positive"}},
		{"balance without account", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Balance(ctx, "", CreditTypeUnits)
			return err
		}, []string{"account id is required"}},
		{"balance of an unknown type", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Balance(ctx, "acc_1", "Units")
			return err
		}, []string{`credit type "Units"`}},
		{"availability with negative requirement", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Availability(ctx, "acc_1", CreditTypeUnits, decimal.NewFromInt(-1))
			return err
		}, []string{"required must not be negative, got -1"}},
		{"availability of an unknown type", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Availability(ctx, "", "", decimal.NewFromInt(1))
			return err
		}, []string{"account id is required", `credit type ""`}},

		// Checkout.
		{"checkout nil params", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, nil)
			return err
		}, []string{"checkout params are nil"}},
		{"checkout without account", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{Currency: "USD"})
			return err
		}, []string{"account id is required"}},
		{"checkout with bad email", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1", AccountEmail: "nobody"})
			return err
		}, []string{`account email "nobody"`}},
		{"checkout with bad currency", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1", Currency: "US$"})
			return err
		}, []string{`currency "US$"`}},
		{"checkout with a relative success URL", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1", SuccessURL: "/welcome"})
			return err
		}, []string{"success URL"}},
		{"checkout with a non-http success URL", func(ctx context.Context, c *Client) error {
			_, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1", SuccessURL: "javascript:alert(1)"})
			return err
		}, []string{"not an http or https URL"}},
		{"flow URL without flow or account", func(_ context.Context, c *Client) error {
			_, err := c.Checkout.FlowURL("", "", "pt")
			return err
		}, []string{"no checkout base URL configured", "flow id is required", "account id is required"}},

		// Portal.
		{"portal nil params", func(ctx context.Context, c *Client) error {
			_, err := c.Portal.CreateSession(ctx, nil)
			return err
		}, []string{"portal params are nil"}},
		{"portal with neither id nor alias", func(ctx context.Context, c *Client) error {
			_, err := c.Portal.CreateSession(ctx, &PortalSessionParams{InvoiceListSettings: &InvoiceListSettings{ShowSection: Bool(false)}})
			return err
		}, []string{"account id or account alias is required"}},
		{"portal with both id and alias", func(ctx context.Context, c *Client) error {
			_, err := c.Portal.CreateSession(ctx, &PortalSessionParams{AccountID: "acc_1", AccountAlias: "crm-1"})
			return err
		}, []string{"not both"}},

		// Request options.
		{"empty idempotency key", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"}, WithIdempotencyKey(""))
			return err
		}, []string{"WithIdempotencyKey: the key is empty"}},
		{"idempotency key over 255 characters", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"}, WithIdempotencyKey(strings.Repeat("k", 256)))
			return err
		}, []string{"WithIdempotencyKey: the key is 256 characters, more than 255"}},
		{"idempotency key with a space", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant(CreditTypeUnits, "1"), WithIdempotencyKey("trial user-1"))
			return err
		}, []string{"printable ASCII"}},
		{"idempotency key with a line break", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant(CreditTypeUnits, "1"), WithIdempotencyKey("k\r\nX-Evil: 1"))
			return err
		}, []string{"printable ASCII"}},
		{"idempotency key not ASCII", func(ctx context.Context, c *Client) error {
			_, err := c.Portal.CreateSession(ctx, &PortalSessionParams{AccountID: "acc_1"}, WithIdempotencyKey("clé"))
			return err
		}, []string{"printable ASCII"}},
		{"header without a name", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("", "x"))
			return err
		}, []string{`WithHeader: "" is not a valid header`}},
		{"header name with a space", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("Alguna Version", "x"))
			return err
		}, []string{`WithHeader: "Alguna Version"`}},
		{"header name with a colon", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("X-A:", "x"))
			return err
		}, []string{`WithHeader: "X-A:"`}},
		{"header value with a line break", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("X-A", "v\r\nAuthorization: Bearer stolen"))
			return err
		}, []string{`WithHeader: "X-A"`}},
		{"Authorization header", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("authorization", "Bearer other"))
			return err
		}, []string{"Authorization header comes from the client's API key"}},
		{"Idempotency-Key header", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"}, WithHeader("Idempotency-Key", "k"))
			return err
		}, []string{"WithIdempotencyKey"}},
		{"bad options all reported", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Get(ctx, "acc_1", WithHeader("a b", "x"), WithIdempotencyKey(""))
			return err
		}, []string{`WithHeader: "a b"`, "WithIdempotencyKey: the key is empty"}},

		// Events.
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			rec := recordJSON(mock, http.StatusOK, `{}`)

			err := tt.call(testCtx(t), c)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, len(tt.want), "problems: %q", ve.Problems)
			for i, want := range tt.want {
				require.Contains(t, ve.Problems[i], want)
			}
			require.True(t, strings.HasPrefix(err.Error(), "alguna: invalid request: "), err.Error())
			require.Empty(t, rec.requests(), "no request may be sent")
			require.Zero(t, mock.GetTotalCallCount())
		})
	}
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
