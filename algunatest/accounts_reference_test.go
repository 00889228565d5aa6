package algunatest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

var contactIDPattern = regexp.MustCompile(`^ctc_[a-z2-7]{16}$`)

// The account shape of Alguna's reference: aliases, contacts, currency and
// billing address, next to the guide's scalar email and alias.
func TestAccountReferenceFields(t *testing.T) {
	s := newServer(t)
	s.SetMetric(Metric{EventName: "api_call"})
	r := call(t, s, http.MethodPost, "/accounts", obj{
		"name":     "Acme Corp",
		"email":    "billing@acme.com",
		"alias":    "user-123",
		"aliases":  []string{" acme ", "user-123", "crm-77"},
		"currency": "eur",
		"billingAddress": obj{
			"line1": "1 Main St", "line2": "Floor 2", "city": "Springfield", "state": "IL", "postalCode": "62701", "country": "US",
		},
		"contacts": []obj{
			{"email": "ann@acme.com", "firstName": "Ann", "lastName": "Lee", "isPrimary": true, "emailPreferences": []string{"billing", "updates", "billing"}},
			{"email": "bob@acme.com"},
		},
	})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	a := decode[obj](t, r)
	id := a["id"].(string)
	require.Equal(t, "user-123", a["alias"], "the guide's alias, first of the aliases")
	require.Equal(t, []any{"user-123", "acme", "crm-77"}, a["aliases"], "trimmed, without repeats")
	require.Equal(t, "billing@acme.com", a["email"])
	require.Equal(t, "EUR", a["currency"])
	require.Equal(t, obj{"line1": "1 Main St", "line2": "Floor 2", "city": "Springfield", "state": "IL", "postalCode": "62701", "country": "US"}, a["billingAddress"])
	contacts := a["contacts"].([]any)
	require.Len(t, contacts, 2)
	ann, bob := contacts[0].(obj), contacts[1].(obj)
	require.Regexp(t, contactIDPattern, ann["id"])
	require.Regexp(t, contactIDPattern, bob["id"])
	require.NotEqual(t, ann["id"], bob["id"])
	delete(ann, "id")
	delete(bob, "id")
	require.Equal(t, obj{"email": "ann@acme.com", "firstName": "Ann", "lastName": "Lee", "isPrimary": true, "emailPreferences": []any{"billing", "updates"}}, ann)
	require.Equal(t, obj{"email": "bob@acme.com", "isPrimary": false, "emailPreferences": []any{}}, bob)
	require.Equal(t, string(r.body), string(call(t, s, http.MethodGet, "/accounts/"+id, nil).body), "GET answers what POST did")

	// Every alias resolves, in lookups and in events.
	for _, alias := range []string{"user-123", "acme", "crm-77", id} {
		require.Equal(t, obj{"accountId": id}, decode[obj](t, call(t, s, http.MethodGet, "/account-lookup?alias="+alias, nil)))
	}
	grantCreditsRaw(t, s, id, "units", "5")
	require.Equal(t, []string{"e1"}, ingest(t, s, obj{"uniqueId": "e1", "account": "crm-77", "eventName": "api_call"}).Ingested)
	require.Equal(t, "1", s.Usage(id, alguna.CreditTypeUnits).String())

	// An alias is one account's only.
	for _, taken := range []obj{
		{"name": "Other", "aliases": []string{"fresh", "acme"}},
		{"name": "Other", "alias": "crm-77"},
		{"name": "Other", "aliases": []string{id}},
	} {
		r := call(t, s, http.MethodPost, "/accounts", taken)
		requireError(t, r, http.StatusUnprocessableEntity, "is already used by account "+id)
		require.Equal(t, "alias_taken", decode[obj](t, r)["code"])
	}
	requireError(t, call(t, s, http.MethodGet, "/account-lookup?alias=fresh", nil), http.StatusNotFound, "fresh")

	t.Run("guide-only account", func(t *testing.T) {
		plain := decode[obj](t, call(t, s, http.MethodPost, "/accounts", obj{"name": "Plain"}))
		require.Equal(t, []any{}, plain["aliases"], "an array even when empty")
		require.Equal(t, []any{}, plain["contacts"])
		require.NotContains(t, plain, "alias")
		require.NotContains(t, plain, "email")
		require.NotContains(t, plain, "billingAddress")
	})
}

func TestPatchAccountLists(t *testing.T) {
	s := newServer(t)
	created := decode[obj](t, call(t, s, http.MethodPost, "/accounts", obj{
		"name": "Acme", "alias": "a1", "aliases": []string{"a2"},
		"contacts":       []obj{{"email": "ann@acme.com", "isPrimary": true}},
		"billingAddress": obj{"city": "Paris", "country": "FR"},
	}))
	id := created["id"].(string)
	annID := created["contacts"].([]any)[0].(obj)["id"]
	patch := func(body obj) obj {
		t.Helper()
		r := call(t, s, http.MethodPatch, "/accounts/"+id, body)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return decode[obj](t, r)
	}
	resolves := func(alias string) bool {
		return call(t, s, http.MethodGet, "/account-lookup?alias="+alias, nil).status == http.StatusOK
	}

	// Omitted fields stay as they are.
	got := patch(obj{"name": "Acme Corp"})
	require.Equal(t, []any{"a1", "a2"}, got["aliases"])
	require.Len(t, got["contacts"], 1)
	require.Equal(t, obj{"city": "Paris", "country": "FR"}, got["billingAddress"])

	// A list that is sent replaces the whole list.
	got = patch(obj{"aliases": []string{"b1", "b2"}})
	require.Equal(t, []any{"b1", "b2"}, got["aliases"])
	require.Equal(t, "b1", got["alias"])
	require.False(t, resolves("a1"))
	require.False(t, resolves("a2"))
	require.True(t, resolves("b2"))

	// The guide's alias replaces the first alias and keeps the others.
	got = patch(obj{"alias": "c1"})
	require.Equal(t, []any{"c1", "b2"}, got["aliases"])
	require.False(t, resolves("b1"))

	// Both: the alias first, then the list.
	got = patch(obj{"alias": "d1", "aliases": []string{"d2", "d1"}})
	require.Equal(t, []any{"d1", "d2"}, got["aliases"])

	// Contacts: one kept by its id, one new; the others are gone.
	got = patch(obj{"contacts": []obj{
		{"id": annID, "email": "ann@acme.com", "firstName": "Ann", "emailPreferences": []string{"updates"}},
		{"email": "cy@acme.com", "isPrimary": true},
	}})
	contacts := got["contacts"].([]any)
	require.Len(t, contacts, 2)
	require.Equal(t, annID, contacts[0].(obj)["id"])
	require.Equal(t, "Ann", contacts[0].(obj)["firstName"])
	require.Equal(t, false, contacts[0].(obj)["isPrimary"])
	require.Regexp(t, contactIDPattern, contacts[1].(obj)["id"])
	require.NotEqual(t, annID, contacts[1].(obj)["id"])

	requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, obj{"contacts": []obj{{"id": "ctc_unknown", "email": "x@acme.com"}}}),
		http.StatusBadRequest, `contacts[0].id "ctc_unknown" is not a contact of this account`)

	got = patch(obj{"billingAddress": obj{"line1": "2 Side St"}})
	require.Equal(t, obj{"line1": "2 Side St"}, got["billingAddress"], "an address that is sent replaces the whole address")

	// An empty list clears it.
	got = patch(obj{"aliases": []string{}, "contacts": []obj{}})
	require.Equal(t, []any{}, got["aliases"])
	require.NotContains(t, got, "alias")
	require.Equal(t, []any{}, got["contacts"])
	require.False(t, resolves("d1"))
	require.Equal(t, "Acme Corp", got["name"])

	// A freed alias can be taken by another account.
	other := createAccount(t, s, "Other", "d1")
	require.Equal(t, obj{"accountId": other}, decode[obj](t, call(t, s, http.MethodGet, "/account-lookup?alias=d1", nil)))
	requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, obj{"aliases": []string{"e1", "d1"}}), http.StatusUnprocessableEntity, `alias "d1" is already used by account `+other)
	require.False(t, resolves("e1"), "a refused update changes nothing")
}

func TestAccountReferenceValidation(t *testing.T) {
	s := newServer(t)
	id := createAccount(t, s, "Acme", "")
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name   string
		body   obj
		detail string
	}{
		{"empty alias in the list", obj{"aliases": []string{"ok", " "}}, "aliases[1] must not be empty"},
		{"alias too long", obj{"aliases": []string{strings.Repeat("é", 256)}}, "aliases[0] is 256 characters long, at most 255"},
		{"scalar alias too long", obj{"alias": strings.Repeat("x", 256)}, "alias is 256 characters long"},
		{"too many aliases", obj{"aliases": many(101, func(i int) any { return fmt.Sprint("a", i) })}, "101 aliases, at most 100"},
		{"aliases not a list", obj{"aliases": "a,b"}, "aliases must not be a JSON string"},
		{"contact without email", obj{"contacts": []obj{{"firstName": "Ann"}}}, "contacts[0].email is required"},
		{"contact email", obj{"contacts": []obj{{"email": "ann"}}}, "contacts[0].email is not a valid email address"},
		{"email preference", obj{"contacts": []obj{{"email": "a@b.co", "emailPreferences": []string{"marketing"}}}}, `contacts[0].emailPreferences may hold "updates" and "billing", got "marketing"`},
		{"two primaries", obj{"contacts": []obj{{"email": "a@b.co", "isPrimary": true}, {"email": "c@b.co", "isPrimary": true}}}, "contacts: 2 are primary, at most one may be"},
		{"too many contacts", obj{"contacts": many(101, func(int) any { return obj{"email": "a@b.co"} })}, "101 contacts, at most 100"},
		{"address part too long", obj{"billingAddress": obj{"city": strings.Repeat("x", 300)}}, "billingAddress.city is 300 characters long, at most 255"},
		{"address not an object", obj{"billingAddress": "Paris"}, "billingAddress must not be a JSON string"},
		{"many problems, ten listed", obj{"contacts": many(100, func(int) any { return obj{"email": "bad"} })}, "contacts[9].email is not a valid email address; and 90 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create := obj{"name": "New"}
			for k, v := range tt.body {
				create[k] = v
			}
			requireError(t, call(t, s, http.MethodPost, "/accounts", create), http.StatusBadRequest, tt.detail)
			requireError(t, call(t, s, http.MethodPatch, "/accounts/"+id, tt.body), http.StatusBadRequest, tt.detail)
		})
	}
	requireError(t, call(t, s, http.MethodPost, "/accounts", obj{"name": "New", "contacts": []obj{{"id": "ctc_mine", "email": "a@b.co"}}}),
		http.StatusBadRequest, "leave it out for a new contact")
	require.Len(t, decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil)).Data, 1, "refused creates create nothing")
}

// Twenty callers sending one create with one Idempotency-Key at once (a
// client retrying while its first attempt is still running) converge on
// one account, and every caller gets it.
func TestConcurrentCreatesWithOneIdempotencyKey(t *testing.T) {
	s := newServer(t)
	c := s.Client()
	ctx := ctxTimeout(t)
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			acc, err := c.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme", Alias: "acme"}, alguna.WithIdempotencyKey("signup-42"))
			errs[i] = err
			if err == nil {
				ids[i] = acc.ID
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	list := decode[accountList](t, call(t, s, http.MethodGet, "/accounts", nil))
	require.Len(t, list.Data, 1, "exactly one account")
	require.Equal(t, ids[0], list.Data[0].ID)
	created := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusCreated {
			created++
		}
	}
	require.Equal(t, n, created, "every caller was answered 201, the first and the replays")
}
