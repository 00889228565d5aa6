package alguna

import (
	"context"
	"net/http"
	"testing"
)

// TestPortalWire checks the portal call on the wire and the decoding of its answer.
func TestPortalWire(t *testing.T) {
	runWire(t, []wireCase{
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
	})
}

// TestPortalValidation checks what the portal call refuses before sending.
func TestPortalValidation(t *testing.T) {
	runValidation(t, []validationCase{
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
	})
}
