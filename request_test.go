package alguna

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestRequestOptionValidation checks that a wrong request option fails the call before sending, naming the option.
func TestRequestOptionValidation(t *testing.T) {
	grant := func(ct CreditType, amount string) *CreditGrantParams {
		return &CreditGrantParams{CreditType: ct, Amount: decimal.RequireFromString(amount)}
	}
	runValidation(t, []validationCase{
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
	})
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
