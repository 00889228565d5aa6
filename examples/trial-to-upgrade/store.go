package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/shopspring/decimal"
)

// User is this application's own user record. The guide's point: besides
// its own data (here a name, an email and whether sales look after the
// customer), the application stores only the Alguna account id. Plan,
// subscription, invoices and credits are read from Alguna when they are
// shown (see readBilling).
type User struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Enterprise bool   `json:"enterprise"`
	// AccountID is the user's Alguna account; empty until sign-up has
	// found or created it.
	AccountID string `json:"accountId"`
	// CheckoutToken is the pass-through token of every checkout the user
	// has started since the last one Alguna confirmed; the completion
	// webhook carries it back.
	CheckoutToken string `json:"-"`
	// Reserved is the cost of every action the user has been allowed on
	// credits, less that of the actions whose usage events failed. The part
	// Alguna has not metered yet is not in its grants' remaining amounts
	// (see Credits.Spendable).
	Reserved decimal.Decimal `json:"-"`
}

var errNoUser = errors.New("no such user")

// Store stands in for the application's database.
type Store struct {
	mu        sync.Mutex
	users     map[string]*User
	byAccount map[string]string // Alguna account id → user id
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{users: map[string]*User{}, byAccount: map[string]string{}}
}

// Add creates a user and returns a copy. The id is random: it is the
// user's alias in Alguna, which outlives this in-memory store, so a
// counter starting at 1 on every run would name the previous run's users.
func (s *Store) Add(name, email string, enterprise bool) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		u := &User{ID: newUserID(), Name: name, Email: email, Enterprise: enterprise}
		if _, taken := s.users[u.ID]; !taken {
			s.users[u.ID] = u
			return *u
		}
	}
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

// SetAccount records the user's Alguna account, unless one is recorded
// already: sign-ups of one user that run at once find the same account,
// and the first to finish keeps it.
func (s *Store) SetAccount(id, accountID string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, errNoUser
	}
	if u.AccountID == "" {
		u.AccountID = accountID
		s.byAccount[accountID] = u.ID
	}
	return *u, nil
}

// CheckoutToken returns the user's pass-through token, making one when no
// checkout is pending: every checkout they open until Alguna confirms one,
// in another tab or after going back, carries the same token.
func (s *Store) CheckoutToken(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return "", errNoUser
	}
	if u.CheckoutToken == "" {
		u.CheckoutToken = newToken()
	}
	return u.CheckoutToken, nil
}

// ConfirmCheckout spends the pending pass-through token of the user who
// owns an Alguna account, if token is it; the check and the change happen
// under one lock, so that a webhook delivered twice at once confirms once.
// ours is false when no user of ours owns the account.
func (s *Store) ConfirmCheckout(accountID, token string) (u User, ours, matched bool) {
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
	p.CheckoutToken = ""
	return *p, true, true
}

// Reserve sets cost aside for one action of the user's, if what they can
// spend of c (see Credits.Spendable) covers it. The check and the
// reservation happen under one lock, so that of many requests arriving at
// once, each reading the same grants from Alguna, no more are allowed than
// the credits pay for.
func (s *Store) Reserve(id string, c Credits, cost decimal.Decimal) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return false, errNoUser
	}
	if c.Spendable(u.Reserved).LessThan(cost) {
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

// newUserID returns a user id no other run of the app has made: 96 random
// bits.
func newUserID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "user_" + hex.EncodeToString(b[:])
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
