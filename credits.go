package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/numlimit"
)

// CreditType names a kind of credit an account holds.
type CreditType string

// The credit types Alguna knows.
const (
	// CreditTypeUnits is consumed by metered usage (API calls, runs, minutes).
	CreditTypeUnits CreditType = "units"
	// CreditTypeMonetary pays invoices.
	CreditTypeMonetary CreditType = "monetary"
)

// Valid reports whether t is a credit type Alguna knows.
func (t CreditType) Valid() bool {
	return t == CreditTypeUnits || t == CreditTypeMonetary
}

// CreditsService grants credits and reads balances and grants: the trial
// credits of step 2 of the self-serve guide, and how much of them is left.
type CreditsService struct {
	owner *Client
}

// client is the Client the service sends through; see AccountsService.
func (s *CreditsService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

// CreditGrantParams describes credits to add to an account.
type CreditGrantParams struct {
	// CreditType is required.
	CreditType CreditType `json:"creditType"`
	// Amount must be positive. It travels as a JSON string ("50") so that no
	// precision is lost.
	Amount decimal.Decimal `json:"amount"`
	// Currency is the ISO 4217 currency of a monetary grant, which needs
	// one; units grants have none.
	Currency string `json:"currency,omitempty"`
	// Reason is shown in Alguna, e.g. "Welcome credits".
	Reason string `json:"reason,omitempty"`
	// ExpiresAt, when set, ends the grant.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Priority orders consumption between grants: lower is used first.
	Priority *int `json:"priority,omitempty"`
}

// MarshalJSON writes Amount as a string whatever decimal's global
// MarshalJSONWithoutQuotes says, because amounts must never become floats.
func (p CreditGrantParams) MarshalJSON() ([]byte, error) {
	type plain CreditGrantParams
	return json.Marshal(struct {
		plain
		Amount string `json:"amount"`
	}{plain(p), p.Amount.String()})
}

func (p *CreditGrantParams) validate(accountID string) error {
	var ps problems
	if accountID == "" {
		ps.add("account id is required")
	}
	if p == nil {
		ps.add("grant params are nil")
		return ps.err()
	}
	if !p.CreditType.Valid() {
		ps.add("credit type %q is not %q or %q", p.CreditType, CreditTypeUnits, CreditTypeMonetary)
	}
	if err := numlimit.Decimal(p.Amount); err != nil {
		ps.add("amount: %v", err)
	} else if !p.Amount.IsPositive() {
		ps.add("amount must be positive, got %s", p.Amount)
	}
	switch {
	case p.CreditType == CreditTypeMonetary && p.Currency == "":
		ps.add("currency is required for a monetary grant")
	case p.Currency != "" && !isCurrencyCode(p.Currency):
		ps.add("currency %q is not a three-letter ISO 4217 code", p.Currency)
	}
	if !utf8.ValidString(p.Reason) {
		ps.add("reason is not valid UTF-8")
	}
	if p.ExpiresAt != nil && p.ExpiresAt.IsZero() {
		ps.add("expiresAt is set but zero")
	}
	return ps.err()
}

// CreditGrantStatus is a grant's state.
type CreditGrantStatus string

// The grant statuses Alguna documents.
const (
	// CreditGrantStatusActive is a grant with credits left to use.
	CreditGrantStatusActive CreditGrantStatus = "active"
	// CreditGrantStatusExhausted is a grant used up.
	CreditGrantStatusExhausted CreditGrantStatus = "exhausted"
	// CreditGrantStatusExpired is a grant past its expiry.
	CreditGrantStatusExpired CreditGrantStatus = "expired"
	// CreditGrantStatusVoided is a grant voided in Alguna's dashboard.
	CreditGrantStatusVoided CreditGrantStatus = "voided"
)

// CreditGrant is credits granted to an account. The guide's answer to a
// grant and the reference's grant list name two fields differently
// (creditType or type, reason or description); both are read.
type CreditGrant struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"accountId"`
	CreditType CreditType      `json:"creditType"`
	Amount     decimal.Decimal `json:"amount"`
	// RemainingAmount is what is left of Amount, set (Valid) when the
	// answer says: grants listed or fetched say, a new grant may not.
	RemainingAmount decimal.NullDecimal `json:"remainingAmount,omitzero"`
	Currency        string              `json:"currency,omitempty"`
	Reason          string              `json:"reason,omitempty"`
	ExpiresAt       *time.Time          `json:"expiresAt,omitempty"`
	// Priority orders consumption: lower is used first, then the grant that
	// expires first.
	Priority  *int              `json:"priority,omitempty"`
	Status    CreditGrantStatus `json:"status,omitempty"`
	CreatedAt time.Time         `json:"createdAt,omitzero"`
}

func (g *CreditGrant) listID() string      { return g.ID }
func (g *CreditGrant) listAccount() string { return g.AccountID }

func (g *CreditGrant) check() error {
	if g.ID == "" && g.AccountID == "" {
		return errors.New("grant answer has neither id nor accountId")
	}
	return nil
}

// UnmarshalJSON reads the credit type from "creditType" or "type", and the
// reason from "reason" or "description".
func (g *CreditGrant) UnmarshalJSON(b []byte) error {
	var w grantWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*g = *w.grant()
	return nil
}

// grantWire is a grant as either API style writes it; see subscriptionWire.
type grantWire struct {
	grantFields
	Type        CreditType `json:"type"`
	Description string     `json:"description"`
}

// grantFields is CreditGrant without its methods.
type grantFields CreditGrant

func (w *grantWire) grant() *CreditGrant {
	g := CreditGrant(w.grantFields)
	if g.CreditType == "" {
		g.CreditType = w.Type
	}
	if g.Reason == "" {
		g.Reason = w.Description
	}
	return &g
}

func (w *grantWire) check() error { return (*CreditGrant)(&w.grantFields).check() }

// CreditGrantList is one page of an account's grants.
type CreditGrantList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int
	Data      []*CreditGrant
}

func (l *CreditGrantList) page() ([]*CreditGrant, int) { return l.Data, l.PageCount }

// CreditBalance is an account's balance of one credit type.
type CreditBalance struct {
	AccountID  string          `json:"accountId"`
	CreditType CreditType      `json:"creditType"`
	Balance    decimal.Decimal `json:"balance"`
}

// UnmarshalJSON insists on a balance: a missing one must not read as zero,
// which would look like depleted credits.
func (b *CreditBalance) UnmarshalJSON(data []byte) error {
	var w balanceWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if err := w.check(); err != nil {
		return err
	}
	*b = w.balance()
	return nil
}

// balanceWire is the balance answer as decoded by the SDK itself: plain
// fields, so that the answer is scanned once rather than once more inside a
// custom UnmarshalJSON.
type balanceWire struct {
	AccountID  string           `json:"accountId"`
	CreditType CreditType       `json:"creditType"`
	Balance    *decimal.Decimal `json:"balance"`
}

func (w *balanceWire) check() error {
	if w.Balance == nil {
		return errors.New(`balance answer has no "balance"`)
	}
	return nil
}

func (w *balanceWire) balance() CreditBalance {
	return CreditBalance{AccountID: w.AccountID, CreditType: w.CreditType, Balance: *w.Balance}
}

// CreditAvailability says whether an account holds enough credits for an
// action.
type CreditAvailability struct {
	Available bool            `json:"available"`
	Balance   decimal.Decimal `json:"balance"`
	Required  decimal.Decimal `json:"required"`
	// Shortfall is how many credits are missing; zero when Available.
	Shortfall decimal.Decimal `json:"shortfall"`
}

// UnmarshalJSON insists on "available", so that a foreign answer can never
// read as "not available" (or, worse, be taken for a decision at all).
func (a *CreditAvailability) UnmarshalJSON(data []byte) error {
	var w availabilityWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if err := w.check(); err != nil {
		return err
	}
	*a = w.availability()
	return nil
}

// availabilityWire is the availability answer as the SDK decodes it; see
// balanceWire.
type availabilityWire struct {
	Available *bool           `json:"available"`
	Balance   decimal.Decimal `json:"balance"`
	Required  decimal.Decimal `json:"required"`
	Shortfall decimal.Decimal `json:"shortfall"`
}

func (w *availabilityWire) check() error {
	if w.Available == nil {
		return errors.New(`availability answer has no "available"`)
	}
	return nil
}

func (w *availabilityWire) availability() CreditAvailability {
	return CreditAvailability{Available: *w.Available, Balance: w.Balance, Required: w.Required, Shortfall: w.Shortfall}
}

// The credits endpoints.
var (
	grantCredits       = post("/accounts/{id}/credits/grants")
	creditBalance      = get("/accounts/{id}/credits/balance")
	creditAvailability = get("/accounts/{id}/credits/availability")
	listGrants         = get("/credit-grants")
	getGrant           = get("/credit-grants/{id}")
)

type creditQuery struct {
	Type     CreditType `url:"type"`
	Required string     `url:"required,omitempty"`
}

type grantListQuery struct {
	ListOptions
	AccountID string `url:"accountId"`
}

// Grant adds credits to an account, such as trial credits at sign-up. Pass
// WithIdempotencyKey derived from your own record (e.g. "trial-"+userID) to
// make sure a user is never granted twice.
//
// POST /accounts/{accountId}/credits/grants
func (s *CreditsService) Grant(ctx context.Context, accountID string, p *CreditGrantParams, opts ...RequestOption) (*CreditGrant, error) {
	if err := p.validate(accountID); err != nil {
		return nil, err
	}
	var w grantWire
	if err := s.client().do(ctx, grantCredits.with(accountID), nil, p, &w, opts); err != nil {
		return nil, err
	}
	return w.grant(), nil
}

// Balance returns the account's current balance of one credit type.
// Alguna meters events asynchronously, so usage sent in the last minutes
// may not show in it yet.
//
// GET /accounts/{accountId}/credits/balance?type={creditType}
func (s *CreditsService) Balance(ctx context.Context, accountID string, t CreditType, opts ...RequestOption) (*CreditBalance, error) {
	if err := creditProblems(accountID, t).err(); err != nil {
		return nil, err
	}
	var w balanceWire
	if err := s.client().do(ctx, creditBalance.with(accountID), creditQuery{Type: t}, nil, &w, opts); err != nil {
		return nil, err
	}
	out := w.balance()
	return &out, nil
}

// Availability tells whether the account holds at least required credits of
// type t. Check it before an action that consumes credits.
//
// GET /accounts/{accountId}/credits/availability?type={creditType}&required={required}
func (s *CreditsService) Availability(ctx context.Context, accountID string, t CreditType, required decimal.Decimal, opts ...RequestOption) (*CreditAvailability, error) {
	ps := creditProblems(accountID, t)
	if err := numlimit.Decimal(required); err != nil {
		ps.add("required: %v", err)
	} else if required.IsNegative() {
		ps.add("required must not be negative, got %s", required)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	var w availabilityWire
	q := creditQuery{Type: t, Required: required.String()}
	if err := s.client().do(ctx, creditAvailability.with(accountID), q, nil, &w, opts); err != nil {
		return nil, err
	}
	out := w.availability()
	return &out, nil
}

// ListGrants fetches one page of an account's credit grants, with what is
// left of each. The answer is checked to hold only that account's grants:
// an answer holding another's fails with ErrInvalidResponse rather than
// show it.
//
// GET /credit-grants?accountId={accountId}&page={page}&limit={limit}
func (s *CreditsService) ListGrants(ctx context.Context, accountID string, o *ListOptions, opts ...RequestOption) (*CreditGrantList, error) {
	ps := o.problems()
	switch {
	case accountID == "":
		ps.add("account id is required")
	case !utf8.ValidString(accountID):
		ps.add("account id is not valid UTF-8")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	q := grantListQuery{AccountID: accountID}
	if o != nil {
		q.ListOptions = *o
	}
	items, pageCount, err := fetchPage(ctx, s.client(), listGrants.with(), q, accountID, opts, infallible((*grantWire).grant))
	if err != nil {
		return nil, err
	}
	return &CreditGrantList{PageCount: pageCount, Data: items}, nil
}

// AllGrants walks every grant of an account, page by page from o.Page,
// until the last page. An error ends the walk after it is yielded.
//
// GET /credit-grants?accountId={accountId}&page={page}&limit={limit}
func (s *CreditsService) AllGrants(ctx context.Context, accountID string, o *ListOptions, opts ...RequestOption) iter.Seq2[*CreditGrant, error] {
	return paginate[CreditGrant](ctx, listGrants, o, func(ctx context.Context, page ListOptions) (*CreditGrantList, error) {
		return s.ListGrants(ctx, accountID, &page, opts...)
	})
}

// GetGrant fetches one credit grant.
//
// GET /credit-grants/{id}
func (s *CreditsService) GetGrant(ctx context.Context, id string, opts ...RequestOption) (*CreditGrant, error) {
	if id == "" {
		return nil, invalid("grant id is required")
	}
	var w grantWire
	if err := s.client().do(ctx, getGrant.with(id), nil, nil, &w, opts); err != nil {
		return nil, err
	}
	return w.grant(), nil
}

func creditProblems(accountID string, t CreditType) problems {
	var ps problems
	if accountID == "" {
		ps.add("account id is required")
	}
	if !t.Valid() {
		ps.add("credit type %q is not %q or %q", t, CreditTypeUnits, CreditTypeMonetary)
	}
	return ps
}
