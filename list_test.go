package alguna

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A filter the server ignored must never show one customer another's
// data: every list filtered by account checks each item's account.
func TestListsFilteredByAccountRefuseOtherAccounts(t *testing.T) {
	calls := map[string]func(ctx context.Context, c *Client) error{
		"Subscriptions.List": func(ctx context.Context, c *Client) error {
			_, err := c.Subscriptions.List(ctx, &SubscriptionListParams{AccountID: "acc_mine"})
			return err
		},
		"Subscriptions.All": func(ctx context.Context, c *Client) error {
			for _, err := range c.Subscriptions.All(ctx, &SubscriptionListParams{AccountID: "acc_mine"}) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"Invoices.List": func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.List(ctx, &InvoiceListParams{AccountID: "acc_mine"})
			return err
		},
		"Credits.ListGrants": func(ctx context.Context, c *Client) error {
			_, err := c.Credits.ListGrants(ctx, "acc_mine", nil)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			recordJSON(mock, http.StatusOK, `{"items": [{"id": "x_1", "accountId": "acc_mine"}, {"id": "x_2", "accountId": "acc_other"}]}`)
			err := call(testCtx(t), c)
			require.ErrorIs(t, err, ErrInvalidResponse)
			require.Contains(t, err.Error(), `"acc_other"`)
			require.Contains(t, err.Error(), "Accounts.Lookup", "the error says what the filter takes")
		})
	}
	t.Run("the right account's items pass", func(t *testing.T) {
		c, mock := newMockClient(t)
		recordJSON(mock, http.StatusOK, `{"items": [{"id": "sub_1", "accountId": "acc_mine"}]}`)
		l, err := c.Subscriptions.List(testCtx(t), &SubscriptionListParams{AccountID: "acc_mine"})
		require.NoError(t, err)
		require.Len(t, l.Data, 1)
	})
	t.Run("a null item", func(t *testing.T) {
		c, mock := newMockClient(t)
		recordJSON(mock, http.StatusOK, `{"items": [null]}`)
		_, err := c.Plans.List(testCtx(t), nil)
		require.ErrorIs(t, err, ErrInvalidResponse)
	})
}

// Every All walks pages with the same paginator: the query of each page,
// the stop at the page count, and the refusal of a repeated page.
func TestEveryAllPaginates(t *testing.T) {
	walks := map[string]func(ctx context.Context, c *Client) ([]string, error){
		"Subscriptions.All": func(ctx context.Context, c *Client) ([]string, error) {
			return ids(c.Subscriptions.All(ctx, &SubscriptionListParams{AccountID: "acc_1", ListOptions: ListOptions{Limit: 5}}))
		},
		"Invoices.All": func(ctx context.Context, c *Client) ([]string, error) {
			return ids(c.Invoices.All(ctx, &InvoiceListParams{AccountID: "acc_1", ListOptions: ListOptions{Limit: 5}}))
		},
		"Plans.All": func(ctx context.Context, c *Client) ([]string, error) {
			return ids(c.Plans.All(ctx, &ListOptions{Limit: 5}))
		},
		"Credits.AllGrants": func(ctx context.Context, c *Client) ([]string, error) {
			return ids(c.Credits.AllGrants(ctx, "acc_1", &ListOptions{Limit: 5}))
		},
		"Accounts.All": func(ctx context.Context, c *Client) ([]string, error) {
			return ids(c.Accounts.All(ctx, &ListOptions{Limit: 5}))
		},
	}
	for name, walk := range walks {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			page := func(items string) func(*http.Request) (*http.Response, error) {
				return jsonResponder(http.StatusOK, `{"pageCount": 2, "items": [`+items+`]}`, nil)
			}
			rec := record(mock,
				page(`{"id": "a", "accountId": "acc_1"}, {"id": "b", "accountId": "acc_1"}`),
				page(`{"id": "c", "accountId": "acc_1"}`))
			got, err := walk(testCtx(t), c)
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b", "c"}, got)
			reqs := rec.requests()
			require.Len(t, reqs, 2, "stops at the page count")
			require.Contains(t, reqs[0].RawQuery, "page=1")
			require.Contains(t, reqs[1].RawQuery, "page=2")
			require.Contains(t, reqs[1].RawQuery, "limit=5")

			// A server that ignores page is caught, not walked forever.
			c, mock = newMockClient(t)
			record(mock, jsonResponder(http.StatusOK, `{"items": [{"id": "a", "accountId": "acc_1"}, {"id": "b", "accountId": "acc_1"}, {"id": "c", "accountId": "acc_1"}, {"id": "d", "accountId": "acc_1"}, {"id": "e", "accountId": "acc_1"}]}`, nil))
			_, err = walk(testCtx(t), c)
			require.ErrorIs(t, err, ErrInvalidResponse)
			require.Contains(t, err.Error(), "page 2 repeats page 1")
		})
	}
}

type identified interface{ listID() string }

func ids[T identified](seq func(yield func(T, error) bool)) ([]string, error) {
	var out []string
	for it, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, it.listID())
	}
	return out, nil
}
