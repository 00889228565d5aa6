package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strings"
	"time"
)

// AccountsService manages customer accounts: one per customer of yours.
type AccountsService struct {
	owner *Client
}

// client is the Client the service sends through, or nil when the service
// was not made by NewClient: its methods then answer errNoClient.
func (s *AccountsService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

// Account is a customer in Alguna.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Alias     string    `json:"alias,omitempty"`
	Aliases   []string  `json:"aliases,omitempty"`
	Currency  string    `json:"currency,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// BillingAddress and Contacts appear in Alguna's account reference; they
	// are decoded when the API sends them.
	BillingAddress *Address  `json:"billingAddress,omitempty"`
	Contacts       []Contact `json:"contacts,omitempty"`
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Contact is a person at a customer who receives billing email.
type Contact struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	IsPrimary bool   `json:"isPrimary,omitempty"`
}

func (a *Account) check() error {
	if a.ID == "" {
		return errors.New("account has no id")
	}
	return nil
}

// AccountCreateParams are the fields of a new account, as in step 1 of the
// self-serve guide.
type AccountCreateParams struct {
	// Name is required.
	Name string `json:"name"`
	// Email receives invoices.
	Email string `json:"email,omitempty"`
	// Alias is your own id for the customer; Alguna accepts it wherever it
	// takes an account id, so you need not store Alguna's.
	Alias string `json:"alias,omitempty"`
}

// AccountUpdateParams changes an account. Nil fields are left as they are.
type AccountUpdateParams struct {
	Name  *string `json:"name,omitempty"`
	Email *string `json:"email,omitempty"`
	Alias *string `json:"alias,omitempty"`
}

// ListOptions selects one page of a list.
type ListOptions struct {
	// Page is 1-based; zero means the first page.
	Page int `url:"page,omitempty"`
	// Limit is the page size: 5, 10, 25, 50 or 100. Zero uses Alguna's
	// default.
	Limit int `url:"limit,omitempty"`
	// Sort is "field:asc" or "field:desc".
	Sort string `url:"sort,omitempty"`
}

var sortPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*:(asc|desc)$`)

func (o *ListOptions) validate() error {
	if o == nil {
		return nil
	}
	var p problems
	if o.Page < 0 {
		p.add("page must not be negative, got %d", o.Page)
	}
	switch o.Limit {
	case 0, 5, 10, 25, 50, 100:
	default:
		p.add("limit must be 5, 10, 25, 50 or 100, got %d", o.Limit)
	}
	if o.Sort != "" && !sortPattern.MatchString(o.Sort) {
		p.add("sort must look like \"field:asc\" or \"field:desc\", got %q", o.Sort)
	}
	return p.err()
}

// AccountList is one page of accounts.
type AccountList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int        `json:"pageCount"`
	Data      []*Account `json:"data"`
}

// UnmarshalJSON accepts both list shapes Alguna uses: {"data": [...]} and
// {"items": [...]}.
func (l *AccountList) UnmarshalJSON(b []byte) error {
	var raw struct {
		PageCount int        `json:"pageCount"`
		Data      []*Account `json:"data"`
		Items     []*Account `json:"items"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Data == nil && raw.Items == nil {
		return errors.New(`list has neither "data" nor "items"`)
	}
	l.PageCount = raw.PageCount
	l.Data = raw.Data
	if l.Data == nil {
		l.Data = raw.Items
	}
	return nil
}

// The accounts endpoints.
var (
	createAccount = post("/accounts")
	getAccount    = get("/accounts/{id}")
	updateAccount = patch("/accounts/{id}")
	listAccounts  = get("/accounts")
	lookupAccount = get("/account-lookup")
)

// Create makes a new account. Call it when a user signs up.
//
// POST /accounts
func (s *AccountsService) Create(ctx context.Context, p *AccountCreateParams, opts ...RequestOption) (*Account, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var out Account
	if err := s.client().do(ctx, createAccount.with(), nil, p, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

func (p *AccountCreateParams) validate() error {
	if p == nil {
		return invalid("account params are nil")
	}
	var ps problems
	if strings.TrimSpace(p.Name) == "" {
		ps.add("name is required")
	}
	if p.Email != "" && !plausibleEmail(p.Email) {
		ps.add("email %q is not an email address", p.Email)
	}
	return ps.err()
}

// Get fetches an account by its Alguna id.
//
// GET /accounts/{id}
func (s *AccountsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Account, error) {
	if id == "" {
		return nil, invalid("account id is required")
	}
	var out Account
	if err := s.client().do(ctx, getAccount.with(id), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update changes the fields of p that are set.
//
// PATCH /accounts/{id}
func (s *AccountsService) Update(ctx context.Context, id string, p *AccountUpdateParams, opts ...RequestOption) (*Account, error) {
	var ps problems
	if id == "" {
		ps.add("account id is required")
	}
	switch {
	case p == nil:
		ps.add("update params are nil")
	case p.Name == nil && p.Email == nil && p.Alias == nil:
		ps.add("update params change nothing")
	default:
		if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
			ps.add("name must not be empty")
		}
		if p.Email != nil && *p.Email != "" && !plausibleEmail(*p.Email) {
			ps.add("email %q is not an email address", *p.Email)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	var out Account
	if err := s.client().do(ctx, updateAccount.with(id), nil, p, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Lookup finds the Alguna id of the account with the given alias (your own
// id for the customer). Alguna also accepts the account id itself.
//
// GET /account-lookup?alias={alias}
func (s *AccountsService) Lookup(ctx context.Context, alias string, opts ...RequestOption) (string, error) {
	if alias == "" {
		return "", invalid("alias is required")
	}
	var out accountLookup
	q := struct {
		Alias string `url:"alias"`
	}{alias}
	if err := s.client().do(ctx, lookupAccount.with(), q, nil, &out, opts); err != nil {
		return "", err
	}
	return out.AccountID, nil
}

type accountLookup struct {
	AccountID string `json:"accountId"`
}

func (a *accountLookup) check() error {
	if a.AccountID == "" {
		return errors.New("lookup answer has no accountId")
	}
	return nil
}

// List fetches one page of accounts.
//
// GET /accounts?page={page}&limit={limit}&sort={sort}
func (s *AccountsService) List(ctx context.Context, o *ListOptions, opts ...RequestOption) (*AccountList, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var q any
	if o != nil {
		q = o
	}
	var out AccountList
	if err := s.client().do(ctx, listAccounts.with(), q, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// All walks every account, page by page from o.Page, until the last page.
// An error ends the walk after it is yielded.
//
//	for acc, err := range client.Accounts.All(ctx, nil) {
//		if err != nil { return err }
//		...
//	}
func (s *AccountsService) All(ctx context.Context, o *ListOptions) iter.Seq2[*Account, error] {
	return func(yield func(*Account, error) bool) {
		var page ListOptions
		if o != nil {
			page = *o
		}
		if page.Page == 0 {
			page.Page = 1
		}
		var prevFirst string
		for {
			list, err := s.List(ctx, &page)
			if err != nil {
				yield(nil, err)
				return
			}
			// A server that ignores page would otherwise be walked forever.
			if len(list.Data) > 0 && page.Page > 1 && list.Data[0].ID == prevFirst {
				yield(nil, fmt.Errorf("alguna: GET /accounts: %w: page %d repeats page %d", ErrInvalidResponse, page.Page, page.Page-1))
				return
			}
			if len(list.Data) > 0 {
				prevFirst = list.Data[0].ID
			}
			for _, a := range list.Data {
				if !yield(a, nil) {
					return
				}
			}
			if lastPage(page, list) {
				return
			}
			page.Page++
		}
	}
}

// lastPage tells when to stop walking: at the page count when the API gives
// one, else at an empty or short page.
func lastPage(o ListOptions, l *AccountList) bool {
	if len(l.Data) == 0 {
		return true
	}
	if l.PageCount > 0 {
		return o.Page >= l.PageCount
	}
	return o.Limit > 0 && len(l.Data) < o.Limit
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n")
}
