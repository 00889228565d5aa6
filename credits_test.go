package alguna

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestCreditsWire checks each credits call on the wire and the decoding of its answer.
func TestCreditsWire(t *testing.T) {
	expires := time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)
	runWire(t, []wireCase{
		{
			name: "Credits.Grant as in step 2",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Grant(ctx, "acc_abc123", &CreditGrantParams{
					CreditType: CreditTypeUnits,
					Amount:     decimal.NewFromInt(50),
					Reason:     "Welcome credits",
				})
			},
			response: grantResponse,
			method:   http.MethodPost, path: "/accounts/acc_abc123/credits/grants",
			body: guideGrantRequest,
			want: &CreditGrant{
				ID: "cg_123", AccountID: "acc_abc123", CreditType: CreditTypeUnits,
				Amount: decimal.RequireFromString("50"), Reason: "Welcome credits", Status: "active",
				CreatedAt: time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC),
			},
		},
		{
			name: "Credits.Grant with expiry, priority and a precise amount",
			call: func(ctx context.Context, c *Client) (any, error) {
				prio := 2
				return c.Credits.Grant(ctx, "acc/abc", &CreditGrantParams{
					CreditType: CreditTypeMonetary,
					Amount:     decimal.RequireFromString("12345678901234567890.000000001"),
					Currency:   "USD",
					ExpiresAt:  &expires,
					Priority:   &prio,
				})
			},
			response: `{"id": "cg_9", "accountId": "acc/abc", "creditType": "monetary", "amount": "12345678901234567890.000000001", "expiresAt": "2025-12-31T23:59:59Z", "priority": 2}`,
			method:   http.MethodPost, path: "/accounts/acc%2Fabc/credits/grants",
			body: `{"creditType": "monetary", "amount": "12345678901234567890.000000001", "currency": "USD", "expiresAt": "2025-12-31T23:59:59Z", "priority": 2}`,
			want: &CreditGrant{
				ID: "cg_9", AccountID: "acc/abc", CreditType: CreditTypeMonetary,
				Amount:    decimal.RequireFromString("12345678901234567890.000000001"),
				ExpiresAt: &expires, Priority: func() *int { p := 2; return &p }(),
			},
		},
		{
			name: "Credits.Balance",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Balance(ctx, "acc_abc123", CreditTypeUnits)
			},
			response: guideBalanceResponse,
			method:   http.MethodGet, path: "/accounts/acc_abc123/credits/balance", query: "type=units",
			want: &CreditBalance{AccountID: "acc_abc123", CreditType: CreditTypeUnits, Balance: decimal.RequireFromString("50")},
		},
		{
			name: "Credits.Balance keeps precision",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Balance(ctx, "acc 1", CreditTypeMonetary)
			},
			response: `{"accountId": "acc 1", "creditType": "monetary", "balance": "12345678901234567890.000000001"}`,
			method:   http.MethodGet, path: "/accounts/acc%201/credits/balance", query: "type=monetary",
			want: &CreditBalance{AccountID: "acc 1", CreditType: CreditTypeMonetary, Balance: decimal.RequireFromString("12345678901234567890.000000001")},
		},
		{
			name: "Credits.Availability",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Availability(ctx, "acc_abc123", CreditTypeUnits, decimal.NewFromInt(10))
			},
			response: guideAvailabilityResponse,
			method:   http.MethodGet, path: "/accounts/acc_abc123/credits/availability", query: "required=10&type=units",
			want: &CreditAvailability{
				Available: true, Balance: decimal.RequireFromString("50"),
				Required: decimal.RequireFromString("10"), Shortfall: decimal.RequireFromString("0"),
			},
		},
		{
			name: "Credits.Availability with a precise requirement, answered with numbers",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Availability(ctx, "acc_abc123", CreditTypeMonetary, decimal.RequireFromString("12345678901234567890.000000001"))
			},
			response: `{"available": false, "balance": 0.5, "required": 12345678901234567890.000000001, "shortfall": "12345678901234567889.500000001"}`,
			method:   http.MethodGet, path: "/accounts/acc_abc123/credits/availability", query: "required=12345678901234567890.000000001&type=monetary",
			want: &CreditAvailability{
				Available: false, Balance: decimal.RequireFromString("0.5"),
				Required:  decimal.RequireFromString("12345678901234567890.000000001"),
				Shortfall: decimal.RequireFromString("12345678901234567889.500000001"),
			},
		},
	})
}

// TestCreditsValidation checks what the credits calls refuse before sending.
func TestCreditsValidation(t *testing.T) {
	var zeroTime time.Time
	grant := func(ct CreditType, amount string) *CreditGrantParams {
		return &CreditGrantParams{CreditType: ct, Amount: decimal.RequireFromString(amount)}
	}
	runValidation(t, []validationCase{
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
			g := grant(CreditTypeMonetary, "-0.01")
			g.Currency = "USD"
			_, err := c.Credits.Grant(ctx, "acc_1", g)
			return err
		}, []string{"amount must be positive, got -0.01"}},
		{"monetary grant without a currency", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.Grant(ctx, "acc_1", grant(CreditTypeMonetary, "10"))
			return err
		}, []string{"currency is required for a monetary grant"}},
		{"grant with a bad currency", func(ctx context.Context, c *Client) error {
			g := grant(CreditTypeMonetary, "10")
			g.Currency = "dollars"
			_, err := c.Credits.Grant(ctx, "acc_1", g)
			return err
		}, []string{`currency "dollars" is not a three-letter ISO 4217 code`}},
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
	})
}

// Amounts must stay JSON strings even when an application flips decimal's
// global switch to write numbers.
func TestGrantAmountStaysStringWithoutQuotesSwitch(t *testing.T) {
	saved := decimal.MarshalJSONWithoutQuotes
	decimal.MarshalJSONWithoutQuotes = true
	t.Cleanup(func() { decimal.MarshalJSONWithoutQuotes = saved })

	c, mock := newMockClient(t)
	rec := recordJSON(mock, http.StatusOK, grantResponse)
	_, err := c.Credits.Grant(testCtx(t), "acc_abc123", &CreditGrantParams{
		CreditType: CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
	})
	require.NoError(t, err)
	body := string(rec.only(t).Body)
	require.JSONEq(t, guideGrantRequest, body)
	require.Contains(t, body, `"amount":"50"`)
}

func TestGrantAmountIsAStringOnTheWire(t *testing.T) {
	c, mock := newMockClient(t)
	rec := recordJSON(mock, http.StatusOK, grantResponse)
	_, err := c.Credits.Grant(testCtx(t), "acc_abc123", &CreditGrantParams{
		CreditType: CreditTypeUnits, Amount: decimal.RequireFromString("0.000000000000000001"),
	})
	require.NoError(t, err)
	require.Contains(t, string(rec.only(t).Body), `"amount":"0.000000000000000001"`)
}

// The reference's grant, as GET /credit-grants answers it.
const referenceGrant = `{"id": "cg_1", "accountId": "acc_abc123", "type": "units", "amount": "50",
	"remainingAmount": "12.5", "expiresAt": "2025-12-31T23:59:59Z", "priority": 1,
	"status": "active", "description": "Welcome credits", "createdAt": "2025-03-03T17:06:07.473879Z"}`

func TestCreditGrantsWire(t *testing.T) {
	one := 1
	want := &CreditGrant{
		ID: "cg_1", AccountID: "acc_abc123", CreditType: CreditTypeUnits, Amount: decimal.RequireFromString("50"),
		RemainingAmount: decimal.NewNullDecimal(decimal.RequireFromString("12.5")),
		ExpiresAt:       ptr(time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)), Priority: &one,
		Status: CreditGrantStatusActive, Reason: "Welcome credits",
		CreatedAt: time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC),
	}
	runWire(t, []wireCase{
		{
			name: "Credits.ListGrants of an account, in the reference's names",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.ListGrants(ctx, "acc_abc123", &ListOptions{Limit: 5})
			},
			response: `{"items": [` + referenceGrant + `]}`,
			method:   http.MethodGet, path: "/credit-grants", query: "accountId=acc_abc123&limit=5",
			want: &CreditGrantList{Data: []*CreditGrant{want}},
		},
		{
			name: "Credits.GetGrant in the guide's names",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.GetGrant(ctx, "cg_2")
			},
			response: `{"id": "cg_2", "accountId": "acc_abc123", "creditType": "monetary", "amount": "10.00", "currency": "EUR",
				"reason": "Goodwill", "remainingAmount": "10.00", "status": "active"}`,
			method: http.MethodGet, path: "/credit-grants/cg_2",
			want: &CreditGrant{ID: "cg_2", AccountID: "acc_abc123", CreditType: CreditTypeMonetary, Amount: decimal.RequireFromString("10.00"),
				Currency: "EUR", Reason: "Goodwill", RemainingAmount: decimal.NewNullDecimal(decimal.RequireFromString("10.00")), Status: CreditGrantStatusActive},
		},
		{
			name: "Credits.Grant of money sends its currency",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Credits.Grant(ctx, "acc_abc123", &CreditGrantParams{CreditType: CreditTypeMonetary, Amount: decimal.RequireFromString("25.00"), Currency: "EUR"})
			},
			response: `{"id": "cg_3", "accountId": "acc_abc123", "creditType": "monetary", "amount": "25.00", "currency": "EUR"}`,
			method:   http.MethodPost, path: "/accounts/acc_abc123/credits/grants",
			body: `{"creditType": "monetary", "amount": "25", "currency": "EUR"}`,
			want: &CreditGrant{ID: "cg_3", AccountID: "acc_abc123", CreditType: CreditTypeMonetary, Amount: decimal.RequireFromString("25.00"), Currency: "EUR"},
		},
	})
}

// A new grant's answer need not say what remains: that reads as not set,
// never as nothing left.
func TestNewGrantRemainingNotSet(t *testing.T) {
	c, mock := newMockClient(t)
	recordJSON(mock, http.StatusOK, grantResponse)
	g, err := c.Credits.Grant(testCtx(t), "acc_abc123", &CreditGrantParams{CreditType: CreditTypeUnits, Amount: decimal.NewFromInt(50)})
	require.NoError(t, err)
	require.False(t, g.RemainingAmount.Valid)
}

func TestCreditGrantsValidation(t *testing.T) {
	runValidation(t, []validationCase{
		{"list grants without account", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.ListGrants(ctx, "", nil)
			return err
		}, []string{"account id is required"}},
		{"list grants with a bad limit too", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.ListGrants(ctx, "", &ListOptions{Limit: 3})
			return err
		}, []string{"limit must be", "account id is required"}},
		{"get grant without id", func(ctx context.Context, c *Client) error {
			_, err := c.Credits.GetGrant(ctx, "")
			return err
		}, []string{"grant id is required"}},
	})
}
