package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"time"

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

// CreditsService grants credits and reads balances: the trial credits of
// step 2 of the self-serve guide.
type CreditsService struct {
	owner *Client
}

// client is the Client the service sends through, or nil when the service
// was not made by NewClient: its methods then answer errNoClient.
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

// CreditGrant is credits granted to an account.
type CreditGrant struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"accountId"`
	CreditType CreditType      `json:"creditType"`
	Amount     decimal.Decimal `json:"amount"`
	Reason     string          `json:"reason,omitempty"`
	ExpiresAt  *time.Time      `json:"expiresAt,omitempty"`
	Priority   *int            `json:"priority,omitempty"`
	// Status is active, exhausted, expired or voided.
	Status    string    `json:"status,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

func (g *CreditGrant) check() error {
	if g.ID == "" && g.AccountID == "" {
		return errors.New("grant answer has neither id nor accountId")
	}
	return nil
}

// CreditBalance is an account's balance of one credit type.
type CreditBalance struct {
	AccountID  string          `json:"accountId"`
	CreditType CreditType      `json:"creditType"`
	Balance    decimal.Decimal `json:"balance"`
}

// UnmarshalJSON insists on a balance: a missing one must not read as zero,
// which would look like depleted credits.
func (b *CreditBalance) UnmarshalJSON(data []byte) error {
	type plain CreditBalance
	var raw struct {
		plain
		Balance *decimal.Decimal `json:"balance"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw.Balance == nil {
		return errors.New(`balance answer has no "balance"`)
	}
	*b = CreditBalance(raw.plain)
	b.Balance = *raw.Balance
	return nil
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
	type plain CreditAvailability
	var raw struct {
		plain
		Available *bool `json:"available"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw.Available == nil {
		return errors.New(`availability answer has no "available"`)
	}
	*a = CreditAvailability(raw.plain)
	a.Available = *raw.Available
	return nil
}

// The credits endpoints.
var (
	grantCredits       = post("/accounts/{id}/credits/grants")
	creditBalance      = get("/accounts/{id}/credits/balance")
	creditAvailability = get("/accounts/{id}/credits/availability")
)

type creditQuery struct {
	Type     CreditType `url:"type"`
	Required string     `url:"required,omitempty"`
}

// Grant adds credits to an account, such as trial credits at sign-up. Pass
// WithIdempotencyKey derived from your own record (e.g. "trial-"+userID) to
// make sure a user is never granted twice.
//
// POST /accounts/{accountId}/credits/grants
func (s *CreditsService) Grant(ctx context.Context, accountID string, p *CreditGrantParams, opts ...RequestOption) (*CreditGrant, error) {
	var ps problems
	if accountID == "" {
		ps.add("account id is required")
	}
	if p == nil {
		ps.add("grant params are nil")
	} else {
		if !p.CreditType.Valid() {
			ps.add("credit type %q is not %q or %q", p.CreditType, CreditTypeUnits, CreditTypeMonetary)
		}
		if err := numlimit.Decimal(p.Amount); err != nil {
			ps.add("amount: %v", err)
		} else if !p.Amount.IsPositive() {
			ps.add("amount must be positive, got %s", p.Amount)
		}
		if p.ExpiresAt != nil && p.ExpiresAt.IsZero() {
			ps.add("expiresAt is set but zero")
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	var out CreditGrant
	if err := s.client().do(ctx, grantCredits.with(accountID), nil, p, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Balance returns the account's current balance of one credit type.
//
// GET /accounts/{accountId}/credits/balance?type={creditType}
func (s *CreditsService) Balance(ctx context.Context, accountID string, t CreditType, opts ...RequestOption) (*CreditBalance, error) {
	if err := creditProblems(accountID, t).err(); err != nil {
		return nil, err
	}
	var out CreditBalance
	if err := s.client().do(ctx, creditBalance.with(accountID), creditQuery{Type: t}, nil, &out, opts); err != nil {
		return nil, err
	}
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
	var out CreditAvailability
	q := creditQuery{Type: t, Required: required.String()}
	if err := s.client().do(ctx, creditAvailability.with(accountID), q, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
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
