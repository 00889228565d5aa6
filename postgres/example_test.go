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

// A replica's start-up: the tables, the shared webhook deduper, and a relay
// that delivers the outbox (one replica's relay sends; the others stand
// by).
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}

	client, err := alguna.NewClient(os.Getenv("ALGUNA_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := alguna.NewWebhookVerifier(os.Getenv("ALGUNA_WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	deduper, err := postgres.NewWebhookDeduper(pool)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier, alguna.WithWebhookDeduper(deduper))
	http.Handle("POST /webhooks/alguna", hooks)

	outbox, err := postgres.NewOutbox(pool)
	if err != nil {
		log.Fatal(err)
	}
	relay := outbox.Relay(client, postgres.RelayOptions{
		// The account's budget, for all replicas together.
		MaxEventsPerSecond: 1000,
		OnFailure: func(events []alguna.Event, err error) {
			log.Printf("%d usage events refused, kept in alguna.usage_outbox_failed: %v", len(events), err)
		},
	})
	go func() {
		if err := relay.Run(ctx); err != nil {
			// A wrong API key, or tables missing: every row is kept.
			log.Fatal(err)
		}
	}()
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
