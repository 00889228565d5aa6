package algunatest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alguna/alguna-go"
)

// defaultCurrency is what an account bills in until told otherwise.
const defaultCurrency = "USD"

// Bounds on what one account holds, so that a request cannot make the fake
// keep unbounded lists; Alguna documents none.
const (
	maxAliases     = 100
	maxAliasLen    = 255
	maxContacts    = 100
	maxAddressPart = 255
)

// account is one customer and everything billed to it.
type account struct {
	id    string
	name  string
	email string
	// aliases are every name the account answers to besides its id: the
	// guide's one alias and the reference's list are one list, whose
	// first entry the answers also show as the guide's scalar alias.
	aliases        []string
	currency       string
	billingAddress *address
	contacts       []contact
	createdAt      time.Time
	updatedAt      time.Time
	seq            int // creation order, to break createdAt ties when sorting

	credits       map[alguna.CreditType]*ledger
	subscriptions []*subscription
	invoices      []*invoice
	payments      []*payment
}

// address is a billing address, as the reference shows it.
type address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Contact email preferences, the two the reference lists.
const (
	emailPrefUpdates = "updates"
	emailPrefBilling = "billing"
)

// contact is a person at the customer, with the emails they want.
type contact struct {
	id               string
	email            string
	firstName        string
	lastName         string
	isPrimary        bool
	emailPreferences []string
}

type contactJSON struct {
	ID               string   `json:"id"`
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName,omitempty"`
	LastName         string   `json:"lastName,omitempty"`
	IsPrimary        bool     `json:"isPrimary"`
	EmailPreferences []string `json:"emailPreferences"`
}

// accountJSON is an account on the wire: the reference's shape, with the
// guide's scalar email and alias when set.
type accountJSON struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Email          string        `json:"email,omitempty"`
	Alias          string        `json:"alias,omitempty"`
	Aliases        []string      `json:"aliases"`
	Currency       string        `json:"currency,omitempty"`
	BillingAddress *address      `json:"billingAddress,omitempty"`
	Contacts       []contactJSON `json:"contacts"`
	CreatedAt      string        `json:"createdAt"`
	UpdatedAt      string        `json:"updatedAt"`
}

func (a *account) json() accountJSON {
	out := accountJSON{
		ID:        a.id,
		Name:      a.name,
		Email:     a.email,
		Aliases:   slices.Clone(a.aliases),
		Currency:  a.currency,
		Contacts:  make([]contactJSON, 0, len(a.contacts)),
		CreatedAt: formatTime(a.createdAt),
		UpdatedAt: formatTime(a.updatedAt),
	}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	if len(a.aliases) > 0 {
		out.Alias = a.aliases[0]
	}
	if a.billingAddress != nil {
		addr := *a.billingAddress
		out.BillingAddress = &addr
	}
	for _, c := range a.contacts {
		out.Contacts = append(out.Contacts, contactJSON{
			ID:               c.id,
			Email:            c.email,
			FirstName:        c.firstName,
			LastName:         c.lastName,
			IsPrimary:        c.isPrimary,
			EmailPreferences: append([]string{}, c.emailPreferences...),
		})
	}
	return out
}

// resolveLocked finds an account by its id or any of its aliases, as
// events and the lookup call allow.
func (s *Server) resolveLocked(idOrAlias string) *account {
	if a, ok := s.st.accounts[idOrAlias]; ok {
		return a
	}
	return s.st.aliases[idOrAlias]
}

// aliasConflictLocked reports why one of aliases cannot name self: it is
// taken by another account, as an alias or as an id.
func (s *Server) aliasConflictLocked(aliases []string, self *account) (int, any, bool) {
	for _, alias := range aliases {
		other := s.resolveLocked(alias)
		if other == nil || other == self {
			continue
		}
		status, body := failCode(http.StatusUnprocessableEntity, codeAliasTaken, "alias %q is already used by account %s", alias, other.id)
		return status, body, true
	}
	return 0, nil, false
}

// setAliasesLocked replaces the account's aliases and the index that
// resolves them.
func (s *Server) setAliasesLocked(a *account, aliases []string) {
	for _, old := range a.aliases {
		if s.st.aliases[old] == a {
			delete(s.st.aliases, old)
		}
	}
	a.aliases = aliases
	for _, alias := range aliases {
		s.st.aliases[alias] = a
	}
}

type contactRequest struct {
	ID               string   `json:"id"`
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	IsPrimary        bool     `json:"isPrimary"`
	EmailPreferences []string `json:"emailPreferences"`
}

type accountCreateRequest struct {
	Name           string           `json:"name"`
	Email          string           `json:"email"`
	Alias          string           `json:"alias"`
	Aliases        []string         `json:"aliases"`
	Currency       string           `json:"currency"`
	BillingAddress *address         `json:"billingAddress"`
	Contacts       []contactRequest `json:"contacts"`
}

// createAccount is POST /accounts. It takes the guide's body ({name, email,
// alias}) and the reference's (aliases, contacts, currency,
// billingAddress), or both at once.
func (s *Server) createAccount(_ *http.Request, body []byte) (int, any) {
	var req accountCreateRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	req.Name = strings.TrimSpace(req.Name)
	var v accountValidation
	v.fields(&req.Name, &req.Email, &req.Currency, true)
	var one []string
	if alias := strings.TrimSpace(req.Alias); alias != "" {
		one = []string{alias}
	}
	aliases := v.aliases(one, req.Aliases)
	addr := v.address(req.BillingAddress)
	contacts, problems := contactsFrom(req.Contacts)
	if problems == "" {
		problems = assignContactIDs(contacts, nil)
	}
	if problems != "" {
		v.add("%s", problems)
	}
	if problems := v.String(); problems != "" {
		return fail(http.StatusBadRequest, "Validation failed: %s", problems)
	}
	currency := req.Currency
	if currency == "" {
		currency = defaultCurrency
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if status, body, bad := s.aliasConflictLocked(aliases, nil); bad {
		return status, body
	}
	now := s.now()
	a := &account{
		id:             newID("acc"),
		name:           req.Name,
		email:          req.Email,
		currency:       currency,
		billingAddress: addr,
		contacts:       contacts,
		createdAt:      now,
		updatedAt:      now,
		seq:            len(s.st.accountOrder),
		credits:        make(map[alguna.CreditType]*ledger),
	}
	s.st.accounts[a.id] = a
	s.st.accountOrder = append(s.st.accountOrder, a)
	s.setAliasesLocked(a, aliases)
	return http.StatusCreated, a.json()
}

// accountValidation collects what is wrong with an account's fields, so
// that one answer names every problem.
type accountValidation struct {
	problems []string
	more     int // problems past maxProblems, counted but not listed
}

// maxProblems bounds the problems one answer lists, so that a request of a
// million bad entries does not get a million lines back.
const maxProblems = 10

func (v *accountValidation) add(format string, args ...any) {
	if len(v.problems) == maxProblems {
		v.more++
		return
	}
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *accountValidation) String() string {
	s := strings.Join(v.problems, "; ")
	if v.more > 0 {
		s += fmt.Sprintf("; and %d more", v.more)
	}
	return s
}

// fields checks the scalar fields create and update share. name is
// required on create; on update a nil pointer means "leave as it is".
func (v *accountValidation) fields(name, email, currency *string, creating bool) {
	if name != nil && *name == "" {
		if creating {
			v.add("name is required")
		} else {
			v.add("name must not be empty")
		}
	}
	if email != nil && *email != "" && !validEmail(*email) {
		v.add("email is not a valid email address")
	}
	if currency != nil && *currency != "" {
		*currency = strings.ToUpper(*currency)
		if !validCurrency(*currency) {
			v.add("currency must be a three-letter ISO 4217 code")
		}
	}
}

// aliases merges the guide's alias (first, when given) with the reference's
// list, trimmed and without repeats.
func (v *accountValidation) aliases(first, list []string) []string {
	if n := len(first) + len(list); n > maxAliases {
		v.add("%d aliases, at most %d are allowed", n, maxAliases)
		return nil
	}
	out := make([]string, 0, len(first)+len(list))
	seen := make(map[string]bool, len(first)+len(list))
	for i, alias := range append(slices.Clip(first), list...) {
		field := "alias"
		if len(first) == 0 || i >= len(first) {
			field = fmt.Sprintf("aliases[%d]", i-len(first))
		}
		alias = strings.TrimSpace(alias)
		switch n := utf8.RuneCountInString(alias); {
		case n == 0:
			v.add("%s must not be empty", field)
			continue
		case n > maxAliasLen:
			v.add("%s is %d characters long, at most %d are allowed", field, n, maxAliasLen)
			continue
		}
		if !seen[alias] {
			seen[alias] = true
			out = append(out, alias)
		}
	}
	return out
}

// address checks a billing address; an address with nothing in it is none.
func (v *accountValidation) address(a *address) *address {
	if a == nil {
		return nil
	}
	out := *a
	for _, part := range []struct {
		name string
		v    *string
	}{
		{"line1", &out.Line1}, {"line2", &out.Line2}, {"city", &out.City},
		{"state", &out.State}, {"postalCode", &out.PostalCode}, {"country", &out.Country},
	} {
		*part.v = strings.TrimSpace(*part.v)
		if n := utf8.RuneCountInString(*part.v); n > maxAddressPart {
			v.add("billingAddress.%s is %d characters long, at most %d are allowed", part.name, n, maxAddressPart)
		}
	}
	if out == (address{}) {
		return nil
	}
	return &out
}

// contactsFrom checks the contacts of a request; the ones without an id
// are new and get their ids from assignContactIDs.
func contactsFrom(req []contactRequest) ([]contact, string) {
	var v accountValidation
	if len(req) > maxContacts {
		v.add("%d contacts, at most %d are allowed", len(req), maxContacts)
		return nil, v.String()
	}
	out := make([]contact, 0, len(req))
	primary := 0
	for i, c := range req {
		email := strings.TrimSpace(c.Email)
		switch {
		case email == "":
			v.add("contacts[%d].email is required", i)
		case !validEmail(email):
			v.add("contacts[%d].email is not a valid email address", i)
		}
		prefs := []string{}
		for _, p := range c.EmailPreferences {
			if p != emailPrefUpdates && p != emailPrefBilling {
				v.add("contacts[%d].emailPreferences may hold %q and %q, got %s", i, emailPrefUpdates, emailPrefBilling, quoteShort(p))
				continue
			}
			if !slices.Contains(prefs, p) {
				prefs = append(prefs, p)
			}
		}
		if c.IsPrimary {
			primary++
		}
		out = append(out, contact{
			id:               c.ID,
			email:            email,
			firstName:        strings.TrimSpace(c.FirstName),
			lastName:         strings.TrimSpace(c.LastName),
			isPrimary:        c.IsPrimary,
			emailPreferences: prefs,
		})
	}
	if primary > 1 {
		v.add("contacts: %d are primary, at most one may be", primary)
	}
	return out, v.String()
}

// assignContactIDs gives new contacts their ids. A contact sent with an id
// must be one of the account's current contacts, which keeps its id; the
// fake assigns every other id.
func assignContactIDs(contacts, current []contact) string {
	var v accountValidation
	for i := range contacts {
		c := &contacts[i]
		if c.id == "" {
			c.id = newID("ctc")
			continue
		}
		if !slices.ContainsFunc(current, func(k contact) bool { return k.id == c.id }) {
			v.add("contacts[%d].id %s is not a contact of this account; leave it out for a new contact", i, quoteShort(c.id))
		}
	}
	return v.String()
}

func validEmail(e string) bool {
	addr, err := mail.ParseAddress(e)
	return err == nil && addr.Address == e
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// getAccount is GET /accounts/{id}.
func (s *Server) getAccount(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	return http.StatusOK, a.json()
}

func accountNotFound(id string) (int, any) {
	return fail(http.StatusNotFound, "account %s not found", shorten(id))
}

type accountUpdateRequest struct {
	Name           *string           `json:"name"`
	Email          *string           `json:"email"`
	Alias          *string           `json:"alias"`
	Aliases        *[]string         `json:"aliases"`
	Currency       *string           `json:"currency"`
	BillingAddress *address          `json:"billingAddress"`
	Contacts       *[]contactRequest `json:"contacts"`
}

// updateAccount is PATCH /accounts/{id}: fields left out (or null) stay as
// they are. A list that is sent (aliases, contacts) replaces the whole list,
// and an empty one clears it. The guide's alias replaces the first alias,
// which stops resolving; sent with aliases, it goes first in the new list.
func (s *Server) updateAccount(r *http.Request, body []byte) (int, any) {
	id := r.PathValue("id")
	var req accountUpdateRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	if req.Name != nil {
		*req.Name = strings.TrimSpace(*req.Name)
	}
	var v accountValidation
	v.fields(req.Name, req.Email, req.Currency, false)
	var one []string
	if req.Alias != nil {
		if alias := strings.TrimSpace(*req.Alias); alias != "" {
			one = []string{alias}
		}
	}
	var list []string
	if req.Aliases != nil {
		list = *req.Aliases
	}
	merged := v.aliases(one, list)
	addr := v.address(req.BillingAddress)
	var contacts []contact
	if req.Contacts != nil {
		var problems string
		if contacts, problems = contactsFrom(*req.Contacts); problems != "" {
			v.add("%s", problems)
		}
	}
	if problems := v.String(); problems != "" {
		return fail(http.StatusBadRequest, "Validation failed: %s", problems)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	if req.Contacts != nil {
		if problems := assignContactIDs(contacts, a.contacts); problems != "" {
			return fail(http.StatusBadRequest, "Validation failed: %s", problems)
		}
	}
	aliases := a.aliases
	switch {
	case req.Aliases != nil:
		aliases = merged
	case req.Alias != nil:
		// The guide's alias is the first; replacing it keeps the rest.
		rest := a.aliases
		if len(rest) > 0 {
			rest = rest[1:]
		}
		aliases = (&accountValidation{}).aliases(one, rest)
	}
	if status, body, bad := s.aliasConflictLocked(aliases, a); bad {
		return status, body
	}
	if req.Name != nil {
		a.name = *req.Name
	}
	if req.Email != nil {
		a.email = *req.Email
	}
	if req.Currency != nil && *req.Currency != "" {
		a.currency = *req.Currency
	}
	if req.BillingAddress != nil {
		a.billingAddress = addr
	}
	if req.Contacts != nil {
		a.contacts = contacts
	}
	if !slices.Equal(aliases, a.aliases) {
		s.setAliasesLocked(a, slices.Clone(aliases))
	}
	a.updatedAt = s.now()
	return http.StatusOK, a.json()
}

type accountList struct {
	PageCount int           `json:"pageCount"`
	Data      []accountJSON `json:"data"`
}

// listAccounts is GET /accounts?page=&limit=&sort=field:asc|desc.
func (s *Server) listAccounts(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	pq, err := parsePageQuery(q)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	less, err := sortOrder(q.Get("sort"), "createdAt:asc", accountSortFields, "createdAt, updatedAt, name, email, id")
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	all := slices.Clone(s.st.accountOrder)
	slices.SortStableFunc(all, less)
	out := accountList{PageCount: pq.pageCount(len(all)), Data: []accountJSON{}}
	for _, a := range pageOf(all, pq) {
		out.Data = append(out.Data, a.json())
	}
	return http.StatusOK, out
}

// accountSortFields are what GET /accounts sorts by; createdAt is the
// order accounts were created in, which also breaks ties of equal times.
var accountSortFields = map[string]func(a, b *account) int{
	"createdAt": func(a, b *account) int { return cmp.Compare(a.seq, b.seq) },
	"updatedAt": func(a, b *account) int { return a.updatedAt.Compare(b.updatedAt) },
	"name":      func(a, b *account) int { return cmp.Compare(a.name, b.name) },
	"email":     func(a, b *account) int { return cmp.Compare(a.email, b.email) },
	"id":        func(a, b *account) int { return cmp.Compare(a.id, b.id) },
}

type lookupResult struct {
	AccountID string `json:"accountId"`
}

// lookupAccount is GET /account-lookup?alias=…; the alias may also be the
// account's id.
func (s *Server) lookupAccount(r *http.Request, _ []byte) (int, any) {
	alias := r.URL.Query().Get("alias")
	if alias == "" {
		return fail(http.StatusBadRequest, "alias is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.resolveLocked(alias)
	if a == nil {
		return fail(http.StatusNotFound, "no account has the alias %s", quoteShort(alias))
	}
	return http.StatusOK, lookupResult{AccountID: a.id}
}
