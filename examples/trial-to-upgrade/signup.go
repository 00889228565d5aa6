package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/alguna/alguna-go"
)

// ensureAccount returns the Alguna account whose alias is userID, creating
// it when there is none. It is safe to repeat and to run twice at once: a
// sign-up that failed half-way, a double-clicked form and a retry after
// Alguna's 24 hours of idempotency all end on the same account.
//
// The lookup comes first because Alguna refuses (422) a second account
// with a taken alias, and remembers an idempotency key for 24 hours only.
// The key, derived from the user id, makes concurrent creates one; when
// another sign-up of the user created the account between the lookup and
// the create, the 422 is answered by looking up again.
func ensureAccount(ctx context.Context, client *alguna.Client, userID, name, email string) (id string, created bool, err error) {
	id, err = client.Accounts.Lookup(ctx, userID)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, alguna.ErrNotFound) {
		return "", false, fmt.Errorf("looking the account up: %w", err)
	}
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: name, Email: email, Alias: userID},
		alguna.WithIdempotencyKey("signup-"+userID))
	if err == nil {
		return acc.ID, true, nil
	}
	if !errors.Is(err, alguna.ErrUnprocessable) {
		return "", false, fmt.Errorf("creating the account: %w", err)
	}
	// Taken since the lookup, or refused for another reason (a bad email,
	// say), which a second lookup tells apart.
	id, lookupErr := client.Accounts.Lookup(ctx, userID)
	if lookupErr != nil {
		return "", false, fmt.Errorf("creating the account: %w", err)
	}
	return id, false, nil
}

// ensureTrialGrant grants the account the trial credits unless its grant
// list already holds them, and returns the trial grant. The idempotency key
// makes grants that run at once, or a retry within Alguna's 24 hours, one
// grant; the grant list covers a later repeat.
func ensureTrialGrant(ctx context.Context, client *alguna.Client, accountID, userID string) (*alguna.CreditGrant, error) {
	c, err := readCredits(ctx, client, accountID)
	if err != nil {
		return nil, err
	}
	if c.Trial != nil {
		return c.Trial, nil
	}
	g, err := client.Credits.Grant(ctx, accountID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     trialCredits,
		Reason:     trialReason,
	}, alguna.WithIdempotencyKey("trial-credits-"+userID))
	if err != nil {
		return nil, fmt.Errorf("granting trial credits: %w", err)
	}
	return g, nil
}
