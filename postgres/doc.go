// Package postgres keeps on PostgreSQL what alguna-go's promises need once a
// product runs many instances: a WebhookDeduper that sees every replica's
// deliveries, and a transactional outbox for usage events, whose Relay
// delivers them from any number of machines.
//
// Migrate creates the tables (in the schema "alguna" unless WithSchema says
// otherwise); run it at start-up, from every replica if convenient:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	if err := postgres.Migrate(ctx, pool); err != nil { ... }
//
// Webhooks: one claim per delivery id across all replicas, with a lease so
// that a replica that dies in the middle of a callback does not block the id.
//
//	deduper, err := postgres.NewWebhookDeduper(pool)
//	handler := alguna.NewWebhookHandler(verifier, alguna.WithWebhookDeduper(deduper))
//
// Usage: record events in the transaction that does the billable work, so
// that usage is recorded if and only if the work commits, and run a Relay in
// every replica; one of them sends at a time, within one shared rate budget,
// and another takes over when it dies.
//
//	outbox, err := postgres.NewOutbox(pool)
//	relay := outbox.Relay(client, postgres.RelayOptions{MaxEventsPerSecond: 1000})
//	go func() {
//		// Nil once ctx ends; an error for a wrong API key or a missing
//		// table, with every row kept.
//		if err := relay.Run(ctx); err != nil { ... }
//	}()
//	...
//	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		// ... the business work, in tx ...
//		return outbox.Add(ctx, tx, alguna.Event{Account: "acc_123", EventName: "api_call"})
//	})
//
// Events Alguna refuses for good move to the usage_outbox_failed table, with
// the reason, and reach RelayOptions.OnFailure. The relays need a direct
// connection to PostgreSQL (or a pooler in session mode): they hold an
// advisory lock and LISTEN for the commits' notifications.
//
// This is a module of its own, so that programs that do not use PostgreSQL
// never download a driver.
package postgres
