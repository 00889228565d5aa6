package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// A sign-up that is safe to repeat, and to run twice at once: look your
// user's alias up first, create the account only when it is absent, and
// derive the idempotency keys from your own user id, so that a retried or
// concurrent sign-up ends with the same account and one trial grant.
func ExampleAccountsService_Lookup() {
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	signUp := func(ctx context.Context, userID, name, email string) (string, error) {
		id, err := client.Accounts.Lookup(ctx, userID)
		switch {
		case errors.Is(err, alguna.ErrNotFound):
			var acc *alguna.Account
			acc, err = client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: name, Email: email, Alias: userID},
				alguna.WithIdempotencyKey("signup-"+userID))
			switch {
			case errors.Is(err, alguna.ErrUnprocessable):
				// Another sign-up of this user won the race, or the create
				// was refused for another reason: then that is the error.
				if won, lerr := client.Accounts.Lookup(ctx, userID); lerr == nil {
					id, err = won, nil
				}
			case err == nil:
				id = acc.ID
			}
		}
		if err != nil {
			return "", err
		}
		// The trial grant, once: its idempotency key covers a retry within
		// Alguna's 24 hours, and the grant list a later one.
		grants, err := client.Credits.ListGrants(ctx, id, nil)
		if err != nil {
			return "", err
		}
		for _, g := range grants.Data {
			if g.Reason == "Welcome credits" {
				return id, nil
			}
		}
		_, err = client.Credits.Grant(ctx, id, &alguna.CreditGrantParams{
			CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50), Reason: "Welcome credits",
		}, alguna.WithIdempotencyKey("trial-"+userID))
		return id, err
	}

	first, err := signUp(ctx, "user-123", "Acme Corp", "billing@acme.com")
	if err != nil {
		log.Fatal(err)
	}
	again, err := signUp(ctx, "user-123", "Acme Corp", "billing@acme.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same account:", first == again)
	fmt.Println("trial credits:", srv.Balance(first, alguna.CreditTypeUnits))
	// Output:
	// same account: true
	// trial credits: 50
}
