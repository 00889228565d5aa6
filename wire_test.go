package alguna

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// The guide's example bodies, as they must appear on the wire.
const (
	guideAccountRequest = `{
		"name": "Acme Corp",
		"email": "billing@acme.com",
		"alias": "your-internal-id-123"
	}`
	guideAccountResponse = `{
		"id": "acc_abc123",
		"name": "Acme Corp",
		"email": "billing@acme.com",
		"alias": "your-internal-id-123"
	}`
	guideGrantRequest = `{
		"creditType": "units",
		"amount": "50",
		"reason": "Welcome credits"
	}`
	// The guide shows no grant answer; this is the shape of Alguna's
	// credits reference.
	grantResponse = `{
		"id": "cg_123",
		"accountId": "acc_abc123",
		"creditType": "units",
		"amount": "50",
		"reason": "Welcome credits",
		"status": "active",
		"createdAt": "2025-03-03T17:06:07.473879Z"
	}`
	guideBalanceResponse = `{
		"accountId": "acc_abc123",
		"creditType": "units",
		"balance": "50"
	}`
	guideAvailabilityResponse = `{
		"available": true,
		"balance": "50",
		"required": "10",
		"shortfall": "0"
	}`
	guideCheckoutRequest = `{
		"accountId": "acc_abc123",
		"accountEmail": "billing@acme.com",
		"currency": "USD",
		"successUrl": "https://yourapp.com/welcome",
		"passThroughToken": "your-internal-reference"
	}`
	guideCheckoutResponse = `{
		"checkoutSessionId": "chk_xyz789",
		"url": "https://billing.yourcompany.com/checkout/session/..."
	}`
	guidePortalRequest = `{
		"accountId": "acc_abc123",
		"planOverviewSettings": {
			"showSection": true,
			"allowSubscriptionCancel": true
		},
		"invoiceListSettings": {
			"showSection": true
		},
		"billingDetailsSettings": {
			"showSection": true
		}
	}`
	guidePortalResponse = `{
		"sessionUrl": "https://billing.yourcompany.com/portal/..."
	}`
	// The guide shows one event; POST /events takes a list of them.
	guideEventsRequest = `[{
		"uniqueId": "evt_123456",
		"account": "acc_abc123",
		"eventName": "api_call",
		"timestamp": "2025-03-09T15:03:17Z",
		"properties": {
			"endpoint": "/v1/analyze",
			"tokens": 1500
		}
	}]`
	eventsResponse = `{"ingested": ["evt_123456"], "failed": []}`
)

var guideAccount = &Account{
	ID:    "acc_abc123",
	Name:  "Acme Corp",
	Email: "billing@acme.com",
	Alias: "your-internal-id-123",
}

func guideEvent() Event {
	return Event{
		UniqueID:  "evt_123456",
		Account:   "acc_abc123",
		EventName: "api_call",
		Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC),
		Properties: map[string]any{
			"endpoint": "/v1/analyze",
			"tokens":   1500,
		},
	}
}

// TestWire checks, for every service method, the request on the wire
// (method, escaped path, query, headers, exact JSON body) and the decoding of
// the answer.
func TestWire(t *testing.T) {
	expires := time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		name     string
		call     func(ctx context.Context, c *Client) (any, error)
		response string
		method   string
		path     string
		query    string // raw, exactly as go-querystring encodes it
		body     string // empty: no body
		want     any
	}{
		{
			name: "Accounts.Create as in step 1",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com", Alias: "your-internal-id-123"})
			},
			response: guideAccountResponse,
			method:   http.MethodPost, path: "/accounts",
			body: guideAccountRequest,
			want: guideAccount,
		},
		{
			name: "Accounts.Create with only a name omits email and alias",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme Corp"})
			},
			response: `{"id": "acc_abc123", "name": "Acme Corp"}`,
			method:   http.MethodPost, path: "/accounts",
			body: `{"name": "Acme Corp"}`,
			want: &Account{ID: "acc_abc123", Name: "Acme Corp"},
		},
		{
			name: "Accounts.Get",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Get(ctx, "acc_abc123")
			},
			response: guideAccountResponse,
			method:   http.MethodGet, path: "/accounts/acc_abc123",
			want: guideAccount,
		},
		{
			name: "Accounts.Get escapes the id",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Get(ctx, "acc/1 x?y#z")
			},
			response: guideAccountResponse,
			method:   http.MethodGet, path: "/accounts/acc%2F1%20x%3Fy%23z",
			want: guideAccount,
		},
		{
			name: "Accounts.Update sends only the fields set",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Update(ctx, "acc_abc123", &AccountUpdateParams{Name: String("Acme Inc")})
			},
			response: `{"id": "acc_abc123", "name": "Acme Inc", "email": "billing@acme.com"}`,
			method:   http.MethodPatch, path: "/accounts/acc_abc123",
			body: `{"name": "Acme Inc"}`,
			want: &Account{ID: "acc_abc123", Name: "Acme Inc", Email: "billing@acme.com"},
		},
		{
			name: "Accounts.Update sends an explicit empty email",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Update(ctx, "acc 1", &AccountUpdateParams{Email: String(""), Alias: String("crm-42")})
			},
			response: `{"id": "acc 1", "name": "Acme Corp", "alias": "crm-42"}`,
			method:   http.MethodPatch, path: "/accounts/acc%201",
			body: `{"email": "", "alias": "crm-42"}`,
			want: &Account{ID: "acc 1", Name: "Acme Corp", Alias: "crm-42"},
		},
		{
			name: "Accounts.Lookup",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Lookup(ctx, "your-internal-id-123")
			},
			response: `{"accountId": "acc_abc123"}`,
			method:   http.MethodGet, path: "/account-lookup", query: "alias=your-internal-id-123",
			want: "acc_abc123",
		},
		{
			name: "Accounts.Lookup escapes the alias",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Lookup(ctx, "team a&b/c=d")
			},
			response: `{"accountId": "acc_abc123"}`,
			method:   http.MethodGet, path: "/account-lookup", query: "alias=team+a%26b%2Fc%3Dd",
			want: "acc_abc123",
		},
		{
			name: "Accounts.List without options",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.List(ctx, nil)
			},
			response: `{"pageCount": 1, "data": [` + guideAccountResponse + `]}`,
			method:   http.MethodGet, path: "/accounts",
			want: &AccountList{PageCount: 1, Data: []*Account{guideAccount}},
		},
		{
			name: "Accounts.List with page, limit and sort",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.List(ctx, &ListOptions{Page: 2, Limit: 50, Sort: "createdAt:desc"})
			},
			response: `{"pageCount": 3, "data": []}`,
			method:   http.MethodGet, path: "/accounts", query: "limit=50&page=2&sort=createdAt%3Adesc",
			want: &AccountList{PageCount: 3, Data: []*Account{}},
		},
		{
			name: "Accounts.List accepts the items shape",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.List(ctx, &ListOptions{Limit: 5})
			},
			response: `{"items": [` + guideAccountResponse + `]}`,
			method:   http.MethodGet, path: "/accounts", query: "limit=5",
			want: &AccountList{Data: []*Account{guideAccount}},
		},
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
					ExpiresAt:  &expires,
					Priority:   &prio,
				})
			},
			response: `{"id": "cg_9", "accountId": "acc/abc", "creditType": "monetary", "amount": "12345678901234567890.000000001", "expiresAt": "2025-12-31T23:59:59Z", "priority": 2}`,
			method:   http.MethodPost, path: "/accounts/acc%2Fabc/credits/grants",
			body: `{"creditType": "monetary", "amount": "12345678901234567890.000000001", "expiresAt": "2025-12-31T23:59:59Z", "priority": 2}`,
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
		{
			name: "Checkout.CreateSession as in step 4",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Checkout.CreateSession(ctx, &CheckoutSessionParams{
					AccountID:        "acc_abc123",
					AccountEmail:     "billing@acme.com",
					Currency:         "USD",
					SuccessURL:       "https://yourapp.com/welcome",
					PassThroughToken: "your-internal-reference",
				})
			},
			response: guideCheckoutResponse,
			method:   http.MethodPost, path: "/customer-session/checkout",
			body: guideCheckoutRequest,
			want: &CheckoutSession{ID: "chk_xyz789", URL: "https://billing.yourcompany.com/checkout/session/..."},
		},
		{
			name: "Checkout.CreateSession with only the account",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_abc123"})
			},
			response: guideCheckoutResponse,
			method:   http.MethodPost, path: "/customer-session/checkout",
			body: `{"accountId": "acc_abc123"}`,
			want: &CheckoutSession{ID: "chk_xyz789", URL: "https://billing.yourcompany.com/checkout/session/..."},
		},
		{
			name: "Portal.CreateSession as in step 7",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Portal.CreateSession(ctx, &PortalSessionParams{
					AccountID: "acc_abc123",
					PlanOverviewSettings: &PlanOverviewSettings{
						ShowSection:             Bool(true),
						AllowSubscriptionCancel: Bool(true),
					},
					InvoiceListSettings:    &InvoiceListSettings{ShowSection: Bool(true)},
					BillingDetailsSettings: &BillingDetailsSettings{ShowSection: Bool(true)},
				})
			},
			response: guidePortalResponse,
			method:   http.MethodPost, path: "/portal/customer-session/customer-portal",
			body: guidePortalRequest,
			want: &PortalSession{URL: "https://billing.yourcompany.com/portal/..."},
		},
		{
			name: "Portal.CreateSession sends explicit false and omits unset settings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Portal.CreateSession(ctx, &PortalSessionParams{
					AccountAlias:         "your-internal-id-123",
					PlanOverviewSettings: &PlanOverviewSettings{AllowSubscriptionCancel: Bool(false)},
					InvoiceListSettings:  &InvoiceListSettings{ShowSection: Bool(false)},
				})
			},
			response: guidePortalResponse,
			method:   http.MethodPost, path: "/portal/customer-session/customer-portal",
			body: `{
				"accountAlias": "your-internal-id-123",
				"planOverviewSettings": {"allowSubscriptionCancel": false},
				"invoiceListSettings": {"showSection": false}
			}`,
			want: &PortalSession{URL: "https://billing.yourcompany.com/portal/..."},
		},
		{
			name: "Portal.CreateSession with defaults sends the account only",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Portal.CreateSession(ctx, &PortalSessionParams{AccountID: "acc_abc123"})
			},
			response: guidePortalResponse,
			method:   http.MethodPost, path: "/portal/customer-session/customer-portal",
			body: `{"accountId": "acc_abc123"}`,
			want: &PortalSession{URL: "https://billing.yourcompany.com/portal/..."},
		},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			rec := recordJSON(mock, http.StatusOK, tt.response)

			got, err := tt.call(testCtx(t), c)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			req := rec.only(t)
			require.Equal(t, tt.method, req.Method)
			require.Equal(t, tt.path, req.Path)
			require.Equal(t, tt.query, req.RawQuery)
			if tt.body == "" {
				require.Empty(t, req.Body)
			} else {
				require.JSONEq(t, tt.body, string(req.Body))
			}
			requireHeaders(t, req, "alguna-go/"+Version)
		})
	}
}

func TestUserAgentNamesProduct(t *testing.T) {
	c, mock := newMockClient(t, WithUserAgent("myapp/1.2"))
	rec := recordJSON(mock, http.StatusOK, guideBalanceResponse)
	_, err := c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits)
	require.NoError(t, err)
	requireHeaders(t, rec.only(t), "alguna-go/"+Version+" myapp/1.2")
}

func TestWithHeader(t *testing.T) {
	c, mock := newMockClient(t)
	rec := recordJSON(mock, http.StatusOK, guideBalanceResponse)
	_, err := c.Credits.Balance(testCtx(t), "acc_abc123", CreditTypeUnits,
		WithHeader("Alguna-Version", "2026-04-01"), WithHeader("x-trace", "abc"))
	require.NoError(t, err)
	req := rec.only(t)
	require.Equal(t, []string{"2026-04-01"}, req.Header.Values("Alguna-Version"))
	require.Equal(t, []string{"abc"}, req.Header.Values("X-Trace"))
	require.Equal(t, "Bearer "+testKey, req.Header.Get("Authorization"))
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

// Alguna's reference pages show a richer account than the guide; all of it
// decodes, unknown fields are ignored, and microsecond timestamps are kept.
func TestAccountDecodesReferenceShape(t *testing.T) {
	c, mock := newMockClient(t)
	recordJSON(mock, http.StatusOK, `{
		"id": "acc_abc123",
		"name": "Acme Corp",
		"email": "billing@acme.com",
		"aliases": ["your-internal-id-123", "crm-42"],
		"currency": "USD",
		"billingAddress": {"line1": "1 Main St", "line2": "Floor 2", "city": "Springfield", "state": "IL", "postalCode": "62701"},
		"contacts": [{"id": "con_1", "email": "ap@acme.com", "firstName": "Ada", "lastName": "Lovelace", "isPrimary": true, "emailPreferences": {"invoices": true}}],
		"createdAt": "2025-03-03T17:06:07.473879Z",
		"updatedAt": "2025-03-04T08:00:00.000001+02:00",
		"somethingNew": {"nested": [1, 2, 3]}
	}`)
	got, err := c.Accounts.Get(testCtx(t), "acc_abc123")
	require.NoError(t, err)
	require.Equal(t, []string{"your-internal-id-123", "crm-42"}, got.Aliases)
	require.Equal(t, "USD", got.Currency)
	require.Equal(t, &Address{Line1: "1 Main St", Line2: "Floor 2", City: "Springfield", State: "IL", PostalCode: "62701"}, got.BillingAddress)
	require.Equal(t, []Contact{{ID: "con_1", Email: "ap@acme.com", FirstName: "Ada", LastName: "Lovelace", IsPrimary: true}}, got.Contacts)
	require.True(t, got.CreatedAt.Equal(time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC)), got.CreatedAt)
	require.Equal(t, 473879000, got.CreatedAt.Nanosecond())
	require.True(t, got.UpdatedAt.Equal(time.Date(2025, 3, 4, 6, 0, 0, 1000, time.UTC)), got.UpdatedAt)
}

func TestFlowURL(t *testing.T) {
	tests := []struct {
		name                   string
		base                   string
		flow, account, passTok string
		want                   string
	}{
		{
			name: "guide's parameters in the guide's order",
			base: "https://billing.yourcompany.com",
			flow: "flow_1", account: "acc_abc123",
			want: "https://billing.yourcompany.com/checkout?flowId=flow_1&accountId=acc_abc123",
		},
		{
			name: "pass-through token last",
			base: "https://billing.yourcompany.com/",
			flow: "flow_1", account: "acc_abc123", passTok: "ref-7",
			want: "https://billing.yourcompany.com/checkout?flowId=flow_1&accountId=acc_abc123&pt=ref-7",
		},
		{
			name: "values escaped",
			base: "https://billing.yourcompany.com/acme",
			flow: "flow 1&x", account: "acc/1?=", passTok: "a+b c#d",
			want: "https://billing.yourcompany.com/acme/checkout?flowId=flow+1%26x&accountId=acc%2F1%3F%3D&pt=a%2Bb+c%23d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t, WithCheckoutBaseURL(tt.base))
			got, err := c.Checkout.FlowURL(tt.flow, tt.account, tt.passTok)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Zero(t, mock.GetTotalCallCount())
		})
	}
}

func TestFlowURLNeedsCheckoutBaseURL(t *testing.T) {
	c, _ := newMockClient(t)
	got, err := c.Checkout.FlowURL("flow_1", "acc_abc123", "")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), "WithCheckoutBaseURL")
	require.Empty(t, got)
}
