package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func ExampleAccountsService_Create() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()

	// Step 1 of the guide: a user signs up.
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{
		Name:  "Acme Corp",
		Email: "billing@acme.com",
		Alias: "user-123", // your own id for the customer
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(account.Name, account.Email, account.Alias)

	// Store account.ID with your user, or find it again by the alias.
	id, err := client.Accounts.Lookup(ctx, "user-123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found by alias:", id == account.ID)
	// Output:
	// Acme Corp billing@acme.com user-123
	// found by alias: true
}

func ExampleAccountsService_Get() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	created, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com"})
	if err != nil {
		log.Fatal(err)
	}

	// Get takes the Alguna id stored at sign-up.
	account, err := client.Accounts.Get(ctx, created.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(account.Name, account.Email)

	// An id Alguna does not know is an error matching ErrNotFound.
	_, err = client.Accounts.Get(ctx, "acc_deleted")
	fmt.Println(errors.Is(err, alguna.ErrNotFound))
	// Output:
	// Acme Corp billing@acme.com
	// true
}

func ExampleAccountsService_Update() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com"})
	if err != nil {
		log.Fatal(err)
	}

	// Only the fields that are set change: the name stays as it was.
	account, err = client.Accounts.Update(ctx, account.ID, &alguna.AccountUpdateParams{
		Email:    alguna.String("invoices@acme.com"),
		Currency: alguna.String("EUR"),
		BillingAddress: &alguna.Address{
			Line1: "1 Main Street", City: "Dublin", PostalCode: "D01 F5P2", Country: "IE",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(account.Name, account.Email, account.Currency, account.BillingAddress.City)
	// Output: Acme Corp invoices@acme.com EUR Dublin
}

func ExampleAccountsService_List() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	for _, name := range []string{"Acme Corp", "Globex", "Initech"} {
		if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: name}); err != nil {
			log.Fatal(err)
		}
	}

	// One page: the page size is 5, 10, 25, 50 or 100.
	page, err := client.Accounts.List(ctx, &alguna.ListOptions{Limit: 5, Sort: "name:desc"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pages:", page.PageCount)
	for _, account := range page.Data {
		fmt.Println(account.Name)
	}
	// Output:
	// pages: 1
	// Initech
	// Globex
	// Acme Corp
}

func ExampleAccountsService_All() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	for i := range 7 {
		if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: fmt.Sprint("Customer ", i+1)}); err != nil {
			log.Fatal(err)
		}
	}

	// All fetches page after page as the loop asks for more: here two
	// pages of five.
	for account, err := range client.Accounts.All(ctx, &alguna.ListOptions{Limit: 5}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(account.Name)
	}
	// Output:
	// Customer 1
	// Customer 2
	// Customer 3
	// Customer 4
	// Customer 5
	// Customer 6
	// Customer 7
}
