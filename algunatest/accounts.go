package algunatest

import (
	"cmp"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/alguna/alguna-go"
)

// defaultCurrency is what an account bills in until told otherwise.
const defaultCurrency = "USD"

// account is one customer and everything billed to it.
type account struct {
	id        string
	name      string
	email     string
	alias     string
	currency  string
	createdAt time.Time
	updatedAt time.Time
	seq       int // creation order, to break createdAt ties when sorting

	credits       map[alguna.CreditType]*ledger
	subscriptions []*subscription
	invoices      []*invoice
	payments      []*payment
}

// accountJSON is an account on the wire.
type accountJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Email     string   `json:"email,omitempty"`
	Alias     string   `json:"alias,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
	Currency  string   `json:"currency,omitempty"`
	CreatedAt string   `json:"createdAt"`
	UpdatedAt string   `json:"updatedAt"`
}

func (a *account) json() accountJSON {
	out := accountJSON{
		ID:        a.id,
		Name:      a.name,
		Email:     a.email,
		Alias:     a.alias,
		Currency:  a.currency,
		CreatedAt: formatTime(a.createdAt),
		UpdatedAt: formatTime(a.updatedAt),
	}
	if a.alias != "" {
		out.Aliases = []string{a.alias}
	}
	return out
}

// resolveLocked finds an account by its id or its alias, as events and the
// lookup call allow.
func (s *Server) resolveLocked(idOrAlias string) *account {
	if a, ok := s.st.accounts[idOrAlias]; ok {
		return a
	}
	return s.st.aliases[idOrAlias]
}

// aliasConflictLocked reports why alias cannot name self: it is taken by
// another account, as an alias or as an id.
func (s *Server) aliasConflictLocked(alias string, self *account) (int, any, bool) {
	other := s.resolveLocked(alias)
	if other == nil || other == self {
		return 0, nil, false
	}
	status, body := failCode(http.StatusUnprocessableEntity, codeAliasTaken, "alias %q is already used by account %s", alias, other.id)
	return status, body, true
}

type accountCreateRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Alias    string `json:"alias"`
	Currency string `json:"currency"`
}

// createAccount is POST /accounts.
func (s *Server) createAccount(r *http.Request, body []byte) (int, any) {
	var req accountCreateRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	req.Name = strings.TrimSpace(req.Name)
	req.Alias = strings.TrimSpace(req.Alias)
	if problems := validateAccountFields(&req.Name, &req.Email, &req.Currency, true); problems != "" {
		return fail(http.StatusBadRequest, "Validation failed: %s", problems)
	}
	currency := req.Currency
	if currency == "" {
		currency = defaultCurrency
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Alias != "" {
		if status, body, bad := s.aliasConflictLocked(req.Alias, nil); bad {
			return status, body
		}
	}
	now := s.now()
	a := &account{
		id:        newID("acc"),
		name:      req.Name,
		email:     req.Email,
		alias:     req.Alias,
		currency:  currency,
		createdAt: now,
		updatedAt: now,
		seq:       len(s.st.accountOrder),
		credits:   make(map[alguna.CreditType]*ledger),
	}
	s.st.accounts[a.id] = a
	s.st.accountOrder = append(s.st.accountOrder, a)
	if a.alias != "" {
		s.st.aliases[a.alias] = a
	}
	return http.StatusCreated, a.json()
}

// validateAccountFields checks the fields create and update share. name is
// required on create; on update a nil pointer means "leave as it is".
func validateAccountFields(name, email, currency *string, creating bool) string {
	var problems []string
	if name != nil && *name == "" {
		if creating {
			problems = append(problems, "name is required")
		} else {
			problems = append(problems, "name must not be empty")
		}
	}
	if email != nil && *email != "" {
		if addr, err := mail.ParseAddress(*email); err != nil || addr.Address != *email {
			problems = append(problems, "email is not a valid email address")
		}
	}
	if currency != nil && *currency != "" {
		*currency = strings.ToUpper(*currency)
		if !validCurrency(*currency) {
			problems = append(problems, "currency must be a three-letter ISO 4217 code")
		}
	}
	return strings.Join(problems, "; ")
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
	return fail(http.StatusNotFound, "account %s not found", id)
}

type accountUpdateRequest struct {
	Name     *string `json:"name"`
	Email    *string `json:"email"`
	Alias    *string `json:"alias"`
	Currency *string `json:"currency"`
}

// updateAccount is PATCH /accounts/{id}: fields left out (or null) stay as
// they are. A new alias replaces the old one, which stops resolving.
func (s *Server) updateAccount(r *http.Request, body []byte) (int, any) {
	id := r.PathValue("id")
	var req accountUpdateRequest
	if err := decodeJSON(body, &req); err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	if req.Name != nil {
		*req.Name = strings.TrimSpace(*req.Name)
	}
	if req.Alias != nil {
		*req.Alias = strings.TrimSpace(*req.Alias)
	}
	if problems := validateAccountFields(req.Name, req.Email, req.Currency, false); problems != "" {
		return fail(http.StatusBadRequest, "Validation failed: %s", problems)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[id]
	if !ok {
		return accountNotFound(id)
	}
	if req.Alias != nil && *req.Alias != "" {
		if status, body, bad := s.aliasConflictLocked(*req.Alias, a); bad {
			return status, body
		}
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
	if req.Alias != nil && *req.Alias != a.alias {
		if a.alias != "" {
			delete(s.st.aliases, a.alias)
		}
		a.alias = *req.Alias
		if a.alias != "" {
			s.st.aliases[a.alias] = a
		}
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
		return fail(http.StatusNotFound, "no account has the alias %q", alias)
	}
	return http.StatusOK, lookupResult{AccountID: a.id}
}
