package alguna

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const planResponse = `{"id": "plan_pro", "name": "Pro", "description": "For teams", "currency": "USD",
	"prices": [{"amount": "49.00", "currency": "USD", "interval": "month"}]}`

func TestPlansWire(t *testing.T) {
	plan := &Plan{ID: "plan_pro", Name: "Pro", Description: "For teams", Currency: "USD", Raw: json.RawMessage(planResponse)}
	runWire(t, []wireCase{
		{
			name: "Plans.List in the reference's shape",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Plans.List(ctx, &ListOptions{Limit: 50})
			},
			response: `{"items": [` + planResponse + `], "pageCount": 1, "limit": 50}`,
			method:   http.MethodGet, path: "/plans", query: "limit=50",
			want: &PlanList{PageCount: 1, Data: []*Plan{plan}},
		},
		{
			name: "Plans.Get keeps the fields not captured in Raw",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Plans.Get(ctx, "plan_pro")
			},
			response: planResponse,
			method:   http.MethodGet, path: "/plans/plan_pro",
			want: plan,
		},
	})
}

func TestPlanRawIsACopy(t *testing.T) {
	c, mock := newMockClient(t)
	recordJSON(mock, http.StatusOK, planResponse)
	p, err := c.Plans.Get(testCtx(t), "plan_pro")
	require.NoError(t, err)
	// Later calls reuse the buffers answers are read into; Raw must not
	// change with them.
	recordJSON(mock, http.StatusOK, `{"id": "plan_other", "name": "`+string(make([]byte, 200))+`"}`)
	_, _ = c.Plans.Get(testCtx(t), "plan_other")
	var prices struct {
		Prices []struct{ Amount, Interval string }
	}
	require.NoError(t, json.Unmarshal(p.Raw, &prices))
	require.Equal(t, "month", prices.Prices[0].Interval)
}

func TestPlansValidation(t *testing.T) {
	runValidation(t, []validationCase{
		{"get without id", func(ctx context.Context, c *Client) error {
			_, err := c.Plans.Get(ctx, "")
			return err
		}, []string{"plan id is required"}},
		{"list with a bad limit", func(ctx context.Context, c *Client) error {
			_, err := c.Plans.List(ctx, &ListOptions{Limit: 1000})
			return err
		}, []string{"limit must be"}},
	})
}
