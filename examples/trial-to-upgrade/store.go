package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
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

// ByAccount returns a copy of the user who owns an Alguna account.
func (s *Store) ByAccount(accountID string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byAccount[accountID]
	if !ok {
		return User{}, errNoUser
	}
	return *s.users[id], nil
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

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
