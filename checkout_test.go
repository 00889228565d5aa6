package alguna

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckoutWire checks each checkout call on the wire and the decoding of its answer.
func TestCheckoutWire(t *testing.T) {
	runWire(t, []wireCase{
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
	})
}

// TestCheckoutValidation checks what the checkout calls refuse before sending.
func TestCheckoutValidation(t *testing.T) {
	runValidation(t, []validationCase{
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
	})
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
