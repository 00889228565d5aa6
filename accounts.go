package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"time"
	"unicode/utf8"
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
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	// Alias is the guide's single alias; Aliases is the reference's list.
	// An account made with either may be answered with both.
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

func (a *Account) listID() string      { return a.ID }
func (a *Account) listAccount() string { return a.ID }

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// EmailPreference is a kind of email a contact receives.
type EmailPreference string

// The email preferences Alguna documents.
const (
	// EmailPreferenceUpdates is product and account updates.
	EmailPreferenceUpdates EmailPreference = "updates"
	// EmailPreferenceBilling is invoices and payment notices.
	EmailPreferenceBilling EmailPreference = "billing"
)

// Contact is a person at a customer who receives billing email.
type Contact struct {
	// ID is Alguna's; leave it empty when creating a contact.
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	IsPrimary bool   `json:"isPrimary,omitempty"`
	// EmailPreferences says which emails the contact receives.
	EmailPreferences EmailPreferences `json:"emailPreferences,omitempty"`
}

// EmailPreferences is the kinds of email a contact receives.
type EmailPreferences []EmailPreference

// UnmarshalJSON reads the reference's list of names; any other shape is
// ignored rather than failing the whole account.
func (p *EmailPreferences) UnmarshalJSON(b []byte) error {
	var list []EmailPreference
	if json.Unmarshal(b, &list) != nil {
		list = nil
	}
	*p = list
	return nil
}

func (a *Account) check() error {
	if a.ID == "" {
		return errors.New("account has no id")
	}
	return nil
}

// AccountCreateParams are the fields of a new account. A caller who sets
// only the guide's Name, Email and Alias sends exactly the body of step 1 of
// the self-serve guide; the other fields are those of Alguna's account
// reference, and both styles may be mixed: everything set is sent.
type AccountCreateParams struct {
	// Name is required.
	Name string `json:"name"`
	// Email receives invoices (the guide's field).
	Email string `json:"email,omitempty"`
	// Alias is your own id for the customer (the guide's field). API paths
	// take Alguna's account id, which Accounts.Lookup finds from an alias;
	// usage events and portal sessions take the alias itself.
	Alias string `json:"alias,omitempty"`
	// Aliases are more ids of yours for the customer (the reference's
	// field).
	Aliases []string `json:"aliases,omitempty"`
	// Contacts receive billing email (the reference's field).
	Contacts []Contact `json:"contacts,omitempty"`
	// Currency is the account's ISO 4217 currency, such as "USD".
	Currency string `json:"currency,omitempty"`
	// BillingAddress goes on invoices.
	BillingAddress *Address `json:"billingAddress,omitempty"`
}

// AccountUpdateParams changes an account. Nil fields are left as they are.
// A list that is set replaces the account's whole list: an empty, non-nil
// list clears it.
type AccountUpdateParams struct {
	Name           *string   `json:"name,omitempty"`
	Email          *string   `json:"email,omitempty"`
	Alias          *string   `json:"alias,omitempty"`
	Aliases        []string  `json:"aliases,omitzero"`
	Contacts       []Contact `json:"contacts,omitzero"`
	Currency       *string   `json:"currency,omitempty"`
	BillingAddress *Address  `json:"billingAddress,omitempty"`
}

// AccountList is one page of accounts.
type AccountList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int        `json:"pageCount"`
	Data      []*Account `json:"data"`
}

func (l *AccountList) page() ([]*Account, int) { return l.Data, l.PageCount }

// UnmarshalJSON accepts both list shapes Alguna uses: {"data": [...]} and
// {"items": [...]}.
func (l *AccountList) UnmarshalJSON(b []byte) error {
	var page pageWire[Account]
	if err := json.Unmarshal(b, &page); err != nil {
		return err
	}
	if err := page.check(); err != nil {
		return err
	}
	l.PageCount, l.Data = page.PageCount, page.items()
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

// Create makes a new account. Call it when a user signs up; to make a
// repeated or concurrent sign-up safe, look the alias up first and create
// only when it is absent, with an idempotency key derived from your user id
// (see the package's sign-up example).
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
	accountFieldProblems(&ps, &p.Name, &p.Email, &p.Alias, &p.Currency, p.Aliases, p.Contacts, p.BillingAddress)
	return ps.err()
}

// accountFieldProblems checks the fields create and update share. Every
// string is refused when it is not valid UTF-8: encoding/json would replace
// the bad bytes, and two aliases that differ only there would become one.
func accountFieldProblems(ps *problems, name, email, alias, currency *string, aliases []string, contacts []Contact, addr *Address) {
	if name != nil && !utf8.ValidString(*name) {
		ps.add("name is not valid UTF-8")
	}
	if email != nil && *email != "" && !plausibleEmail(*email) {
		ps.add("email %q is not an email address", *email)
	}
	if alias != nil && !utf8.ValidString(*alias) {
		ps.add("alias is not valid UTF-8")
	}
	if currency != nil && *currency != "" && !isCurrencyCode(*currency) {
		ps.add("currency %q is not a three-letter ISO 4217 code", *currency)
	}
	seen := make(map[string]bool, len(aliases))
	for i, a := range aliases {
		switch {
		case strings.TrimSpace(a) == "":
			ps.add("aliases[%d] is empty", i)
		case !utf8.ValidString(a):
			ps.add("aliases[%d] is not valid UTF-8", i)
		case seen[a]:
			ps.add("aliases[%d] %q is given twice", i, a)
		}
		seen[a] = true
	}
	for i, c := range contacts {
		if !plausibleEmail(c.Email) {
			ps.add("contacts[%d]: email %q is not an email address", i, c.Email)
		}
		if !utf8.ValidString(c.FirstName) || !utf8.ValidString(c.LastName) {
			ps.add("contacts[%d]: name is not valid UTF-8", i)
		}
		for _, pref := range c.EmailPreferences {
			if pref != EmailPreferenceUpdates && pref != EmailPreferenceBilling {
				ps.add("contacts[%d]: email preference %q is not %q or %q", i, pref, EmailPreferenceUpdates, EmailPreferenceBilling)
			}
		}
	}
	if addr != nil {
		for _, f := range []string{addr.Line1, addr.Line2, addr.City, addr.State, addr.PostalCode, addr.Country} {
			if !utf8.ValidString(f) {
				ps.add("billing address is not valid UTF-8")
				break
			}
		}
	}
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
	case p.Name == nil && p.Email == nil && p.Alias == nil && p.Aliases == nil && p.Contacts == nil &&
		p.Currency == nil && p.BillingAddress == nil:
		ps.add("update params change nothing")
	default:
		if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
			ps.add("name must not be empty")
		}
		accountFieldProblems(&ps, p.Name, p.Email, p.Alias, p.Currency, p.Aliases, p.Contacts, p.BillingAddress)
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
// id for the customer). Alguna also accepts the account id itself. An alias
// no account has is an error matching ErrNotFound.
//
// GET /account-lookup?alias={alias}
func (s *AccountsService) Lookup(ctx context.Context, alias string, opts ...RequestOption) (string, error) {
	switch {
	case alias == "":
		return "", invalid("alias is required")
	case !utf8.ValidString(alias):
		return "", invalid("alias is not valid UTF-8")
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
	items, pageCount, err := fetchPage(ctx, s.client(), listAccounts.with(), queryOf(o), "", opts, same[Account])
	if err != nil {
		return nil, err
	}
	return &AccountList{PageCount: pageCount, Data: items}, nil
}

// All walks every account, page by page from o.Page, until the last page.
// An error ends the walk after it is yielded.
//
//	for acc, err := range client.Accounts.All(ctx, nil) {
//		if err != nil { return err }
//		...
//	}
//
// GET /accounts?page={page}&limit={limit}&sort={sort}
func (s *AccountsService) All(ctx context.Context, o *ListOptions, opts ...RequestOption) iter.Seq2[*Account, error] {
	return paginate[Account](ctx, listAccounts, o, func(ctx context.Context, page ListOptions) (*AccountList, error) {
		return s.List(ctx, &page, opts...)
	})
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && utf8.ValidString(s)
}
