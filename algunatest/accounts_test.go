package algunatest

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	accountIDPattern = regexp.MustCompile(`^acc_[a-z2-7]{16}$`)
	microTimePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
)

func TestCreateAndGetAccount(t *testing.T) {
	s := newServer(t)
	r := call(t, s, http.MethodPost, "/accounts", obj{"name": "Acme Corp", "email": "billing@acme.com", "alias": "your-internal-id-123"})
	require.Equal(t, http.StatusCreated, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	created := decode[obj](t, r)
	require.Regexp(t, accountIDPattern, created["id"])
	require.Equal(t, "Acme Corp", created["name"])
	require.Equal(t, "billing@acme.com", created["email"])
	require.Equal(t, "your-internal-id-123", created["alias"])
	require.Equal(t, []any{"your-internal-id-123"}, created["aliases"])
	require.Equal(t, "USD", created["currency"])
	require.Regexp(t, microTimePattern, created["createdAt"])
	require.Equal(t, created["createdAt"], created["updatedAt"])

	got := call(t, s, http.MethodGet, "/accounts/"+created["id"].(string), nil)
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, created, decode[obj](t, got))
}

func TestCreateAccountValidation(t *testing.T) {
	s := newServer(t)
	createAccount(t, s, "Taken", "taken-alias")
	tests := []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"no name", obj{"email": "a@example.com"}, http.StatusBadRequest, "name is required"},
		{"blank name", obj{"name": "   "}, http.StatusBadRequest, "name is required"},
		{"bad email", obj{"name": "A", "email": "not an email"}, http.StatusBadRequest, "email is not a valid email address"},
		{"bad currency", obj{"name": "A", "currency": "dollars"}, http.StatusBadRequest, "currency must be a three-letter"},
		{"name not a string", obj{"name": 12}, http.StatusBadRequest, "name must not be a JSON number"},
		{"not JSON", "{name:", http.StatusBadRequest, "not valid JSON"},
		{"empty body", "", http.StatusBadRequest, "request body is empty"},
		{"alias taken", obj{"name": "B", "alias": "taken-alias"}, http.StatusUnprocessableEntity, `alias "taken-alias" is already used`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireError(t, call(t, s, http.MethodPost, "/accounts", tt.body), tt.status, tt.detail)
		})
	}
}

func TestGetUnknownAccount(t *testing.T) {
	s := newServer(t)
	requireError(t, call(t, s, http.MethodGet, "/accounts/acc_nope", nil), http.StatusNotFound, "account acc_nope not found")
}

func TestUpdateAccount(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC))
	s := newServer(t, WithClock(clock.now))
	id := createAccount(t, s, "Acme", "old-alias")
	clock.add(time.Minute)

	r := call(t, s, http.MethodPatch, "/accounts/"+id, obj{"name": "Acme Corp", "alias": "new-alias", "email": nil})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	got := decode[obj](t, r)
	require.Equal(t, "Acme Corp", got["name"])
	require.Equal(t, "billing@example.com", got["email"], "null leaves a field as it is")
	require.Equal(t, "new-alias", got["alias"])
	require.Equal(t, "2025-03-03T17:06:07.473879Z", got["createdAt"])
	require.Equal(t, "2025-03-03T17:07:07.473879Z", got["updatedAt"])

	lookup := call(t, s, http.MethodGet, "/account-lookup?alias=new-alias", nil)
	require.Equal(t, http.StatusOK, lookup.status)
	requireError(t, call(t, s, http.MethodGet, "/account-lookup?alias=old-alias", nil), http.StatusNotFound, "old-alias")

	t.Run("errors", func(t *testing.T) {
		other := createAccount(t, s, "Other", "other-alias")
		requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, obj{"name": ""}), http.StatusBadRequest, "name must not be empty")
		requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, obj{"alias": "other-alias"}), http.StatusUnprocessableEntity, other)
		requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, obj{"alias": other}), http.StatusUnprocessableEntity, "already used")
		requireError(t, call(t, s, http.MethodPatch, "/accounts/acc_nope", obj{"name": "X"}), http.StatusNotFound, "acc_nope")
	})
}

func TestListAccounts(t *testing.T) {
	s := newServer(t)
	for i := range 7 {
		createAccount(t, s, fmt.Sprintf("Account %c", 'G'-i), "")
	}
	names := func(r rawResp) []string {
		var out []string
		for _, a := range decode[accountList](t, r).Data {
			out = append(out, a.Name)
		}
		return out
	}

	tests := []struct {
		query     string
		pageCount int
		names     []string
	}{
		{"", 1, []string{"Account G", "Account F", "Account E", "Account D", "Account C", "Account B", "Account A"}},
		{"?limit=3", 3, []string{"Account G", "Account F", "Account E"}},
		{"?limit=3&page=3", 3, []string{"Account A"}},
		{"?limit=3&page=4", 3, nil},
		{"?limit=5&sort=name:asc", 2, []string{"Account A", "Account B", "Account C", "Account D", "Account E"}},
		{"?limit=2&page=2&sort=createdAt:desc", 4, []string{"Account C", "Account D"}},
		{"?limit=500", 1, []string{"Account G", "Account F", "Account E", "Account D", "Account C", "Account B", "Account A"}},
		// Far past the end is an empty page, never an overflow.
		{"?page=9223372036854775807", 1, nil},
		{"?page=9223372036854775807&limit=100", 1, nil},
		{"?page=4611686018427387905&limit=2", 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, s, http.MethodGet, "/accounts"+tt.query, nil)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			require.Equal(t, tt.pageCount, decode[accountList](t, r).PageCount)
			require.Equal(t, tt.names, names(r))
			require.Contains(t, string(r.body), `"data":[`, "data is an array even when empty")
		})
	}

	for _, bad := range []struct{ query, detail string }{
		{"?page=0", "page must be a positive integer"},
		{"?page=-1", "page must be a positive integer"},
		{"?page=99999999999999999999", "page must be a positive integer"},
		{"?limit=99999999999999999999", "limit must be a positive integer"},
		{"?limit=x", "limit must be a positive integer"},
		{"?sort=color:asc", "sort field must be one of"},
		{"?sort=name:up", "sort direction must be asc or desc"},
	} {
		requireError(t, call(t, s, http.MethodGet, "/accounts"+bad.query, nil), http.StatusBadRequest, bad.detail)
	}
}

func TestAccountLookup(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "acme-42")
	for _, alias := range []string{"acme-42", id} {
		r := call(t, s, http.MethodGet, "/account-lookup?alias="+alias, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, obj{"accountId": id}, decode[obj](t, r))
	}
	requireError(t, call(t, s, http.MethodGet, "/account-lookup?alias=nobody", nil), http.StatusNotFound, `"nobody"`)
	requireError(t, call(t, s, http.MethodGet, "/account-lookup", nil), http.StatusBadRequest, "alias is required")
}
