package alguna

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// subscriptionResponse is a subscription in the shape of Alguna's
// reference, with bare dates where the reference shows them.
const subscriptionResponse = `{
	"id": "sub_1", "accountId": "acc_abc123", "name": "Pro", "description": "Pro, monthly",
	"status": "active", "planId": "plan_pro", "currency": "USD", "trialPeriodDays": 14,
	"contractStartDate": "2025-03-01", "contractEndDate": null, "autoRenew": true,
	"activatedAt": "2025-03-01T09:30:00.123456Z", "cancelationReason": "",
	"createdAt": "2025-03-01T09:29:59Z", "updatedAt": "2025-03-01T09:30:00.123456Z",
	"somethingNew": {"a": 1}
}`

var wantSubscription = &Subscription{
	ID: "sub_1", AccountID: "acc_abc123", Name: "Pro", Description: "Pro, monthly",
	Status: SubscriptionStatusActive, PlanID: "plan_pro", Currency: "USD", TrialPeriodDays: 14,
	ContractStartDate: ptr(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)), AutoRenew: true,
	ActivatedAt: ptr(time.Date(2025, 3, 1, 9, 30, 0, 123456000, time.UTC)),
	CreatedAt:   time.Date(2025, 3, 1, 9, 29, 59, 0, time.UTC),
	UpdatedAt:   time.Date(2025, 3, 1, 9, 30, 0, 123456000, time.UTC),
}

func TestSubscriptionsWire(t *testing.T) {
	runWire(t, []wireCase{
		{
			name: "Subscriptions.List of an account's active subscriptions, as the quickstart filters",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Subscriptions.List(ctx, &SubscriptionListParams{AccountID: "acc_abc123", Status: SubscriptionStatusActive})
			},
			response: `{"items": [` + subscriptionResponse + `]}`,
			method:   http.MethodGet, path: "/subscriptions", query: "accountId=acc_abc123&status=active",
			want: &SubscriptionList{Data: []*Subscription{wantSubscription}},
		},
		{
			name: "Subscriptions.List with pages, in the data shape",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Subscriptions.List(ctx, &SubscriptionListParams{ListOptions: ListOptions{Page: 2, Limit: 25, Sort: "createdAt:desc"}})
			},
			response: `{"pageCount": 3, "data": []}`,
			method:   http.MethodGet, path: "/subscriptions", query: "limit=25&page=2&sort=createdAt%3Adesc",
			want: &SubscriptionList{PageCount: 3, Data: []*Subscription{}},
		},
		{
			name: "Subscriptions.List without params",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Subscriptions.List(ctx, nil)
			},
			response: `{"items": []}`,
			method:   http.MethodGet, path: "/subscriptions",
			want: &SubscriptionList{Data: []*Subscription{}},
		},
		{
			name: "Subscriptions.Get escapes the id and reads RFC 3339 contract dates too",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Subscriptions.Get(ctx, "sub/1")
			},
			response: `{"id": "sub/1", "accountId": "acc_1", "status": "canceled", "contractStartDate": "2025-03-01T00:00:00Z",
				"contractEndDate": "2025-04-01", "endedAt": "2025-03-20T10:00:00Z", "cancelationReason": "customer",
				"createdAt": "2025-03-01T00:00:00Z", "updatedAt": "2025-03-20T10:00:00Z"}`,
			method: http.MethodGet, path: "/subscriptions/sub%2F1",
			want: &Subscription{
				ID: "sub/1", AccountID: "acc_1", Status: SubscriptionStatusCanceled,
				ContractStartDate: ptr(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)),
				ContractEndDate:   ptr(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)),
				EndedAt:           ptr(time.Date(2025, 3, 20, 10, 0, 0, 0, time.UTC)), CancelationReason: "customer",
				CreatedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 3, 20, 10, 0, 0, 0, time.UTC),
			},
		},
	})
}

func TestSubscriptionsValidation(t *testing.T) {
	runValidation(t, []validationCase{
		{"get without id", func(ctx context.Context, c *Client) error {
			_, err := c.Subscriptions.Get(ctx, "")
			return err
		}, []string{"subscription id is required"}},
		{"list with a bad limit", func(ctx context.Context, c *Client) error {
			_, err := c.Subscriptions.List(ctx, &SubscriptionListParams{ListOptions: ListOptions{Limit: 7}})
			return err
		}, []string{"limit must be 5, 10, 25, 50 or 100, got 7"}},
		{"list by an account id that is not UTF-8", func(ctx context.Context, c *Client) error {
			_, err := c.Subscriptions.List(ctx, &SubscriptionListParams{AccountID: "acc_\xff"})
			return err
		}, []string{"account id is not valid UTF-8"}},
		{"all with a negative page", func(ctx context.Context, c *Client) error {
			for _, err := range c.Subscriptions.All(ctx, &SubscriptionListParams{ListOptions: ListOptions{Page: -1}}) {
				return err
			}
			return nil
		}, []string{"page must not be negative"}},
	})
}

func ptr[T any](v T) *T { return &v }

// A date that is neither RFC 3339 nor a bare date fails the call as an
// invalid answer, rather than reading as no date; an empty one reads as none.
func TestSubscriptionDatesAreChecked(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"id": "sub_1", "contractStartDate": "March 1st"}`: false,
		`{"id": "sub_1", "contractStartDate": 20250301}`:    false,
		`{"id": "sub_1", "contractStartDate": ""}`:          true,
		`{"id": "sub_1", "contractStartDate": null}`:        true,
	} {
		c, mock := newMockClient(t)
		recordJSON(mock, http.StatusOK, body)
		sub, err := c.Subscriptions.Get(testCtx(t), "sub_1")
		if ok {
			require.NoError(t, err, body)
			require.Nil(t, sub.ContractStartDate)
		} else {
			require.ErrorIs(t, err, ErrInvalidResponse, body)
		}
	}
}
