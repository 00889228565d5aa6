package alguna

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

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
