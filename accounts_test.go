package alguna

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

// pager serves GET /accounts from fixed pages, by the page parameter.
type pager struct {
	mu        sync.Mutex
	pages     [][]string // account ids per page, 1-based on the wire
	pageCount int        // sent when positive
	shape     string     // "data" or "items"
	failPage  int        // answer this page with a 500
	ignoreNum bool       // answer page 1 whatever page is asked for
	queries   []string
}

func (p *pager) respond(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, req.URL.RawQuery)
	page, err := strconv.Atoi(req.URL.Query().Get("page"))
	if err != nil {
		return httpmock.NewStringResponse(400, `{"detail": "page is required"}`), nil
	}
	if p.ignoreNum {
		page = 1
	}
	if page == p.failPage {
		return httpmock.NewStringResponse(500, `{"detail": "boom"}`), nil
	}
	var items []string
	if page >= 1 && page <= len(p.pages) {
		for _, id := range p.pages[page-1] {
			items = append(items, fmt.Sprintf(`{"id": %q, "name": "Account %s"}`, id, id))
		}
	}
	shape := p.shape
	if shape == "" {
		shape = "data"
	}
	body := fmt.Sprintf(`{%q: [%s]`, shape, strings.Join(items, ","))
	if p.pageCount > 0 {
		body += fmt.Sprintf(`, "pageCount": %d`, p.pageCount)
	}
	return httpmock.NewStringResponse(200, body+"}"), nil
}

func (p *pager) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.queries...)
}

func TestAccountsAll(t *testing.T) {
	tests := []struct {
		name      string
		pager     *pager
		opts      *ListOptions
		stopAfter int // break out of the loop after this many accounts; 0: never
		wantIDs   []string
		wantErr   error
		queries   []string
	}{
		{
			name:    "stops at pageCount",
			pager:   &pager{pages: [][]string{{"a", "b"}, {"c", "d"}, {"e"}, {"never"}}, pageCount: 3},
			wantIDs: []string{"a", "b", "c", "d", "e"},
			queries: []string{"page=1", "page=2", "page=3"},
		},
		{
			name:    "stops at an empty page",
			pager:   &pager{pages: [][]string{{"a", "b"}, {"c"}}},
			wantIDs: []string{"a", "b", "c"},
			queries: []string{"page=1", "page=2", "page=3"},
		},
		{
			name:    "stops at a short page when the limit is known",
			pager:   &pager{pages: [][]string{{"a", "b", "c", "d", "e"}, {"f", "g"}, {"never"}}},
			opts:    &ListOptions{Limit: 5, Sort: "createdAt:asc"},
			wantIDs: []string{"a", "b", "c", "d", "e", "f", "g"},
			queries: []string{"limit=5&page=1&sort=createdAt%3Aasc", "limit=5&page=2&sort=createdAt%3Aasc"},
		},
		{
			name:    "starts at the given page",
			pager:   &pager{pages: [][]string{{"a"}, {"b"}, {"c"}, {"d"}}, pageCount: 4},
			opts:    &ListOptions{Page: 3},
			wantIDs: []string{"c", "d"},
			queries: []string{"page=3", "page=4"},
		},
		{
			name:    "accepts the items shape",
			pager:   &pager{pages: [][]string{{"a"}, {"b"}}, pageCount: 2, shape: "items"},
			wantIDs: []string{"a", "b"},
			queries: []string{"page=1", "page=2"},
		},
		{
			name:    "yields an error once and stops",
			pager:   &pager{pages: [][]string{{"a", "b"}, {"c"}, {"d"}}, pageCount: 3, failPage: 2},
			wantIDs: []string{"a", "b"},
			wantErr: ErrServer,
			queries: []string{"page=1", "page=2"},
		},
		{
			name:    "a server that ignores page is not walked forever",
			pager:   &pager{pages: [][]string{{"a", "b"}}, ignoreNum: true},
			wantIDs: []string{"a", "b"},
			wantErr: ErrInvalidResponse,
			queries: []string{"page=1", "page=2"},
		},
		{
			name:      "an early break sends no more requests",
			pager:     &pager{pages: [][]string{{"a", "b"}, {"c", "d"}, {"e"}}, pageCount: 3},
			stopAfter: 3,
			wantIDs:   []string{"a", "b", "c"},
			queries:   []string{"page=1", "page=2"},
		},
		{
			name:      "a break on a page's last account sends no more requests",
			pager:     &pager{pages: [][]string{{"a", "b"}, {"c"}}, pageCount: 2},
			stopAfter: 2,
			wantIDs:   []string{"a", "b"},
			queries:   []string{"page=1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t, WithMaxRetries(0))
			mock.RegisterResponder(http.MethodGet, "=~^"+testBase+"/accounts", tt.pager.respond)

			var ids []string
			var errs []error
			for acc, err := range c.Accounts.All(testCtx(t), tt.opts) {
				if err != nil {
					require.Nil(t, acc)
					errs = append(errs, err)
					continue // the iterator must end by itself
				}
				ids = append(ids, acc.ID)
				if tt.stopAfter > 0 && len(ids) == tt.stopAfter {
					break
				}
			}
			require.Equal(t, tt.wantIDs, ids)
			if tt.wantErr != nil {
				require.Len(t, errs, 1)
				require.ErrorIs(t, errs[0], tt.wantErr)
			} else {
				require.Empty(t, errs)
			}
			require.Equal(t, tt.queries, tt.pager.seen())
		})
	}
}

// All leaves the caller's options alone.
func TestAccountsAllKeepsOptions(t *testing.T) {
	c, mock := newMockClient(t)
	p := &pager{pages: [][]string{{"a"}, {"b"}}, pageCount: 2}
	mock.RegisterResponder(http.MethodGet, "=~^"+testBase+"/accounts", p.respond)
	opts := &ListOptions{Limit: 10}
	for _, err := range c.Accounts.All(testCtx(t), opts) {
		require.NoError(t, err)
	}
	require.Equal(t, &ListOptions{Limit: 10}, opts)
}

// TestAccountsWire checks each accounts call on the wire and the decoding of its answer.
func TestAccountsWire(t *testing.T) {
	runWire(t, []wireCase{
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
	})
}

// TestAccountsValidation checks what the accounts calls refuse before sending.
func TestAccountsValidation(t *testing.T) {
	runValidation(t, []validationCase{
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
	})
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

// TestAccountsReferenceFields checks the reference's account fields on the
// wire: a guide-style caller sends exactly the guide's body (TestAccountsWire),
// a caller may set both styles and both are sent, and on update a nil list
// is left alone while an empty one clears.
func TestAccountsReferenceFields(t *testing.T) {
	runWire(t, []wireCase{
		{
			name: "Accounts.Create with both the guide's and the reference's fields",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Create(ctx, &AccountCreateParams{
					Name: "Acme Corp", Email: "billing@acme.com", Alias: "user-123",
					Aliases:        []string{"crm-42"},
					Contacts:       []Contact{{Email: "ap@acme.com", FirstName: "Ada", IsPrimary: true, EmailPreferences: []EmailPreference{EmailPreferenceBilling}}},
					Currency:       "EUR",
					BillingAddress: &Address{Line1: "1 Main St", City: "Springfield", PostalCode: "62701", Country: "US"},
				})
			},
			response: `{"id": "acc_1", "name": "Acme Corp", "alias": "user-123", "aliases": ["user-123", "crm-42"],
				"contacts": [{"id": "ctc_1", "email": "ap@acme.com", "firstName": "Ada", "isPrimary": true, "emailPreferences": ["billing"]}]}`,
			method: http.MethodPost, path: "/accounts",
			body: `{"name": "Acme Corp", "email": "billing@acme.com", "alias": "user-123", "aliases": ["crm-42"],
				"contacts": [{"email": "ap@acme.com", "firstName": "Ada", "isPrimary": true, "emailPreferences": ["billing"]}],
				"currency": "EUR", "billingAddress": {"line1": "1 Main St", "city": "Springfield", "postalCode": "62701", "country": "US"}}`,
			want: &Account{ID: "acc_1", Name: "Acme Corp", Alias: "user-123", Aliases: []string{"user-123", "crm-42"},
				Contacts: []Contact{{ID: "ctc_1", Email: "ap@acme.com", FirstName: "Ada", IsPrimary: true, EmailPreferences: []EmailPreference{EmailPreferenceBilling}}}},
		},
		{
			name: "Accounts.Update leaves nil lists alone and clears empty ones",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Aliases: []string{}, Currency: String("USD")})
			},
			response: `{"id": "acc_1", "name": "Acme Corp", "aliases": [], "currency": "USD"}`,
			method:   http.MethodPatch, path: "/accounts/acc_1",
			body: `{"aliases": [], "currency": "USD"}`,
			want: &Account{ID: "acc_1", Name: "Acme Corp", Aliases: []string{}, Currency: "USD"},
		},
		{
			name: "Accounts.Update replaces the contacts",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Contacts: []Contact{{Email: "new@acme.com"}}})
			},
			response: `{"id": "acc_1", "name": "Acme Corp", "contacts": [{"id": "ctc_2", "email": "new@acme.com"}]}`,
			method:   http.MethodPatch, path: "/accounts/acc_1",
			body: `{"contacts": [{"email": "new@acme.com"}]}`,
			want: &Account{ID: "acc_1", Name: "Acme Corp", Contacts: []Contact{{ID: "ctc_2", Email: "new@acme.com"}}},
		},
	})
	runValidation(t, []validationCase{
		{"create with an empty alias in the list", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Aliases: []string{"a", " "}})
			return err
		}, []string{"aliases[1] is empty"}},
		{"create with an alias twice", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Aliases: []string{"a", "a"}})
			return err
		}, []string{`aliases[1] "a" is given twice`}},
		{"create with an alias that is not UTF-8", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Alias: "user-\xff"})
			return err
		}, []string{"alias is not valid UTF-8"}},
		{"create with a bad contact", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Contacts: []Contact{{Email: "nope", EmailPreferences: []EmailPreference{"marketing"}}}})
			return err
		}, []string{`contacts[0]: email "nope"`, `contacts[0]: email preference "marketing"`}},
		{"create with a bad currency", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme", Currency: "euro"})
			return err
		}, []string{`currency "euro"`}},
		{"update with only an empty list changes something", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Contacts: []Contact{{Email: "x"}}})
			return err
		}, []string{`contacts[0]: email "x"`}},
		{"lookup of an alias that is not UTF-8", func(ctx context.Context, c *Client) error {
			_, err := c.Accounts.Lookup(ctx, "user-\xff")
			return err
		}, []string{"alias is not valid UTF-8"}},
	})
}
