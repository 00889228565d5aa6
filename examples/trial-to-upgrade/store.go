package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/shopspring/decimal"
)

// Plan is where a user stands in the self-serve flow.
type Plan string

const (
	// PlanTrial users spend the trial credits granted at sign-up.
	PlanTrial Plan = "trial"
	// PlanNeedsUpgrade users have used up their trial credits.
	PlanNeedsUpgrade Plan = "needs_upgrade"
	// PlanPaid users have a subscription; their usage is billed.
	PlanPaid Plan = "paid"
)

// User is this application's own user record. The guide's point: besides
// its own data, the application stores only the Alguna account id.
type User struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Enterprise bool   `json:"enterprise"`
	AccountID  string `json:"accountId"`
	Plan       Plan   `json:"plan"`
	// CheckoutToken is the pass-through token of every checkout the user
	// has started since they last paid; the completion webhook must carry
	// it back.
	CheckoutToken string `json:"-"`
	// Granted is every credit the app has granted the user's account: the
	// trial. What Alguna's balance has lost of it is what Alguna has
	// metered.
	Granted decimal.Decimal `json:"-"`
	// Reserved is the cost of every action the user has been allowed on
	// credits, less that of the actions whose usage events failed. The part
	// Alguna has not metered yet is not in its balance.
	Reserved decimal.Decimal `json:"-"`
}

// Spendable is what the user can still spend of balance, the credits
// Alguna reports on their account: balance less the reservations Alguna
// has not metered yet.
//
// Alguna meters usage events asynchronously (within about 15 minutes), so
// its balance lags behind the actions the app has allowed, and it does not
// say which events it has metered. Granted less balance says how much: what
// is reserved beyond that is still to be metered. Another grant on the
// account (say, from the dashboard) makes that estimate of the unmetered
// part too high, never too low, so the trial limit still holds.
func (u User) Spendable(balance decimal.Decimal) decimal.Decimal {
	metered := decimal.Max(decimal.Zero, u.Granted.Sub(balance))
	unmetered := decimal.Max(decimal.Zero, u.Reserved.Sub(metered))
	return decimal.Max(decimal.Zero, balance.Sub(unmetered))
}

var errNoUser = errors.New("no such user")

// Store stands in for the application's database.
type Store struct {
	mu        sync.Mutex
	users     map[string]*User
	byAccount map[string]string // Alguna account id → user id
	next      int
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{users: map[string]*User{}, byAccount: map[string]string{}}
}

// Add creates a user and returns a copy.
func (s *Store) Add(name, email string, enterprise bool) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	u := &User{ID: fmt.Sprintf("user_%d", s.next), Name: name, Email: email, Enterprise: enterprise, Plan: PlanTrial}
	s.users[u.ID] = u
	return *u
}

// Get returns a copy of a user.
func (s *Store) Get(id string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, errNoUser
	}
	return *u, nil
}

// Upgrade makes the owner of an Alguna account a paying customer, if token
// is the pass-through token of the checkout the app started for them; the
// check and the change happen under one lock, so that a webhook delivered
// twice at once upgrades once. ours is false when no user of ours owns the
// account.
func (s *Store) Upgrade(accountID, token string) (u User, ours, matched bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, found := s.byAccount[accountID]
	if !found {
		return User{}, false, false
	}
	p := s.users[id]
	if p.CheckoutToken == "" || token != p.CheckoutToken {
		return *p, true, false
	}
	p.Plan, p.CheckoutToken = PlanPaid, ""
	return *p, true, true
}

// Reserve sets cost aside for one action of the user's, if what they can
// spend of balance (see Spendable) covers it. The check and the
// reservation happen under one lock, so that of many requests arriving at
// once, each reading the same balance from Alguna, no more are allowed
// than the credits pay for.
func (s *Store) Reserve(id string, balance, cost decimal.Decimal) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return false, errNoUser
	}
	if u.Spendable(balance).LessThan(cost) {
		return false, nil
	}
	u.Reserved = u.Reserved.Add(cost)
	return true, nil
}

// Release gives back a reservation of the user who owns an Alguna account,
// for an action whose usage event will never be metered: it was not sent,
// or Alguna refused it.
func (s *Store) Release(accountID string, cost decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, found := s.byAccount[accountID]; found {
		u := s.users[id]
		u.Reserved = decimal.Max(decimal.Zero, u.Reserved.Sub(cost))
	}
}

// Update changes a user under the store's lock.
func (s *Store) Update(id string, change func(*User)) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, errNoUser
	}
	change(u)
	if u.AccountID != "" {
		s.byAccount[u.AccountID] = u.ID
	}
	return *u, nil
}

// Transition moves the user who owns an Alguna account from one plan to
// another, and leaves a user on any other plan alone: webhooks can arrive
// late, twice or out of order. ok is false when no user of ours owns the
// account (another app on the same Alguna workspace).
func (s *Store) Transition(accountID string, from, to Plan) (u User, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, found := s.byAccount[accountID]
	if !found {
		return User{}, false
	}
	p := s.users[id]
	if p.Plan == from {
		p.Plan = to
	}
	return *p, true
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
