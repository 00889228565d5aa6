package postgres_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// A replica's start-up: the tables, the shared webhook deduper, a relay
// that delivers the outbox (one replica's relay sends; the others stand
// by), and a handler whose work records its usage.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	client, err := alguna.NewClient(os.Getenv("ALGUNA_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := alguna.NewWebhookVerifier(os.Getenv("ALGUNA_WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}

	// Every replica, at start-up: idempotent, under an advisory lock.
	if err := postgres.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}

	// Webhooks: one claim per delivery id, across all replicas.
	deduper, err := postgres.NewWebhookDeduper(pool)
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/alguna", alguna.NewWebhookHandler(verifier, alguna.WithWebhookDeduper(deduper)))

	// Usage: a relay in every replica; one sends, the others stand by.
	outbox, err := postgres.NewOutbox(pool)
	if err != nil {
		log.Fatal(err)
	}
	relay := outbox.Relay(client, postgres.RelayOptions{MaxEventsPerSecond: 1000})
	go func() {
		if err := relay.Run(ctx); err != nil {
			log.Fatal(err) // a wrong API key, or Migrate not run: every row is kept
		}
	}()

	// In a request handler: the work and its usage commit together, or not at all.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// ... the billable work, in tx ...
		return outbox.Add(ctx, tx, alguna.Event{Account: "user-123", EventName: "api_call"})
	})
	if err != nil {
		log.Print(err)
	}
}

// The billable work and its usage commit together, or not at all.
func ExampleOutbox_Add() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := postgres.NewOutbox(pool)
	if err != nil {
		log.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE reports SET status = 'done' WHERE id = $1", 42); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, alguna.Event{
			Account:    "user-123",
			EventName:  "report_generated",
			Properties: map[string]any{"pages": 12},
		})
	})
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		log.Print(invalid.Problems) // nothing was committed
	}
}
