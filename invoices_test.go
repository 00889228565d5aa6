package alguna

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

const invoiceListItem = `{
	"id": "inv_1", "accountId": "acc_abc123", "currency": "USD", "description": "Pro, March",
	"billingPeriodStart": "2025-03-01", "billingPeriodEnd": "2025-03-31T23:59:59Z",
	"status": "paid", "total": "49.00",
	"createdAt": "2025-03-01T09:30:00Z", "updatedAt": "2025-03-01T09:31:00Z"
}`

func TestInvoicesWire(t *testing.T) {
	listed := &Invoice{
		ID: "inv_1", AccountID: "acc_abc123", Currency: "USD", Description: "Pro, March",
		BillingPeriodStart: ptr(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)),
		BillingPeriodEnd:   ptr(time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC)),
		Status:             InvoiceStatusPaid, Total: decimal.RequireFromString("49.00"),
		CreatedAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 3, 1, 9, 31, 0, 0, time.UTC),
	}
	runWire(t, []wireCase{
		{
			name: "Invoices.List of an account's paid invoices",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Invoices.List(ctx, &InvoiceListParams{AccountID: "acc_abc123", Status: InvoiceStatusPaid, ListOptions: ListOptions{Limit: 10}})
			},
			response: `{"items": [` + invoiceListItem + `]}`,
			method:   http.MethodGet, path: "/invoices", query: "accountId=acc_abc123&limit=10&status=paid",
			want: &InvoiceList{Data: []*Invoice{listed}},
		},
		{
			name: "Invoices.Get with line items and amounts, numbers or strings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Invoices.Get(ctx, "inv_1")
			},
			response: `{"id": "inv_1", "accountId": "acc_abc123", "subscriptionId": "sub_1", "currency": "USD", "status": "paid",
				"total": "49.00", "subtotal": "49.00", "tax": 0, "amountPaid": "49.00", "amountRemaining": "0.00",
				"issueDate": "2025-03-01", "dueDate": "2025-03-15",
				"lineItems": [{"id": "li_1", "description": "Pro", "planId": "plan_pro", "quantity": "1", "unitPrice": "49.00", "amount": "49.00"}],
				"createdAt": "2025-03-01T09:30:00Z", "updatedAt": "2025-03-01T09:31:00Z"}`,
			method: http.MethodGet, path: "/invoices/inv_1",
			want: &Invoice{
				ID: "inv_1", AccountID: "acc_abc123", SubscriptionID: "sub_1", Currency: "USD", Status: InvoiceStatusPaid,
				Total:           decimal.RequireFromString("49.00"),
				Subtotal:        decimal.NewNullDecimal(decimal.RequireFromString("49.00")),
				Tax:             decimal.NewNullDecimal(decimal.RequireFromString("0")),
				AmountPaid:      decimal.NewNullDecimal(decimal.RequireFromString("49.00")),
				AmountRemaining: decimal.NewNullDecimal(decimal.RequireFromString("0.00")),
				IssueDate:       ptr(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)),
				DueDate:         ptr(time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)),
				LineItems: []InvoiceLineItem{{ID: "li_1", Description: "Pro", PlanID: "plan_pro",
					Quantity: decimal.RequireFromString("1"), UnitPrice: decimal.RequireFromString("49.00"), Amount: decimal.RequireFromString("49.00")}},
				CreatedAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 3, 1, 9, 31, 0, 0, time.UTC),
			},
		},
	})
}

// A listed invoice carries no detail amounts: they read as not set, never
// as a zero amount paid.
func TestInvoiceListAmountsNotSet(t *testing.T) {
	c, mock := newMockClient(t)
	recordJSON(mock, http.StatusOK, `{"items": [`+invoiceListItem+`]}`)
	l, err := c.Invoices.List(testCtx(t), nil)
	require.NoError(t, err)
	require.False(t, l.Data[0].AmountPaid.Valid)
	require.False(t, l.Data[0].AmountRemaining.Valid)
	require.Equal(t, "49", l.Data[0].Total.String())
}

func TestInvoicesValidation(t *testing.T) {
	runValidation(t, []validationCase{
		{"get without id", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Get(ctx, "")
			return err
		}, []string{"invoice id is required"}},
		{"list with a bad sort", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.List(ctx, &InvoiceListParams{ListOptions: ListOptions{Sort: "total"}})
			return err
		}, []string{`sort must look like "field:asc"`}},
	})
}
