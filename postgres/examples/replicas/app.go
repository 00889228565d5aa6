package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/postgres"
)

// replica is one instance of the app: its own pool, HTTP server, webhook
// handler and relay, with everything shared kept in PostgreSQL.
type replica struct {
	name   string
	pool   *pgxpool.Pool
	outbox *postgres.Outbox
	relay  *postgres.Relay
	server *http.Server
	addr   string

	stopRelay context.CancelFunc
	relayDone chan error
	stopOnce  sync.Once
}

// replicaConfig is what every replica is started with.
type replicaConfig struct {
	dsn, schema string
	client      *alguna.Client
	verifier    *alguna.WebhookVerifier
	logger      *slog.Logger
}

// startReplica starts a replica: it migrates the schema (every replica
// does, at start-up; Migrate makes that safe), serves, and runs a relay.
func startReplica(ctx context.Context, name string, c replicaConfig) (*replica, error) {
	cfg, err := pgxpool.ParseConfig(c.dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "alguna-example-" + name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := &replica{name: name, pool: pool}
	if err := r.init(ctx, c); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

func (r *replica) init(ctx context.Context, c replicaConfig) error {
	schema := postgres.WithSchema(c.schema)
	if err := postgres.Migrate(ctx, r.pool, schema); err != nil {
		return err
	}
	if err := createAppTables(ctx, r.pool, c.schema); err != nil {
		return err
	}
	var err error
	if r.outbox, err = postgres.NewOutbox(r.pool, schema); err != nil {
		return err
	}
	deduper, err := postgres.NewWebhookDeduper(r.pool, schema)
	if err != nil {
		return err
	}
	hooks := alguna.NewWebhookHandler(c.verifier, alguna.WithWebhookDeduper(deduper), alguna.WithWebhookLogger(c.logger))
	hooks.OnCreditsBalanceDepleted(func(ctx context.Context, ev *alguna.WebhookEvent, d *alguna.CreditsBalanceDepleted) error {
		return r.promptUpgrade(ctx, c.schema, ev.ID, d.AccountID)
	})

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks", hooks)
	mux.HandleFunc("POST /analyze", func(w http.ResponseWriter, req *http.Request) {
		account := req.URL.Query().Get("account")
		if account == "" {
			http.Error(w, "account is required", http.StatusBadRequest)
			return
		}
		if err := r.analyze(req.Context(), c.schema, account); err != nil {
			c.logger.Error("analyze", "replica", r.name, "error", err)
			http.Error(w, "not done", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Replica", r.name)
		w.WriteHeader(http.StatusNoContent)
	})

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.addr = ln.Addr().String()
	r.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.server.Serve(ln) }()

	r.relay = r.outbox.Relay(c.client, postgres.RelayOptions{
		// The account's budget, shared by both replicas' relays.
		MaxEventsPerSecond: 1000,
		OnFailure: func(events []alguna.Event, err error) {
			c.logger.Error("usage events refused", "replica", r.name, "events", len(events), "error", err)
		},
		Logger: c.logger,
	})
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	r.stopRelay, r.relayDone = stopRelay, make(chan error, 1)
	go func() { r.relayDone <- r.relay.Run(relayCtx) }()
	return nil
}

// createAppTables makes the app's own tables, beside the SDK's.
func createAppTables(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	s := pgx.Identifier{schema}.Sanitize()
	// Serialized like Migrate, since both replicas start at once.
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('alguna-example:' || $1))", schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			CREATE TABLE IF NOT EXISTS `+s+`.analyses (
				id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				account    text        NOT NULL,
				replica    text        NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now()
			);
			-- No unique key on purpose: one row per run of the callback,
			-- so that the walkthrough shows the deduper alone keeps it to
			-- one. An app would add UNIQUE (account) as well.
			CREATE TABLE IF NOT EXISTS `+s+`.upgrade_prompts (
				id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				account    text        NOT NULL,
				webhook_id text        NOT NULL,
				replica    text        NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now()
			)`)
		return err
	})
}

// analyze is the billable work: its result and its usage event commit
// together, or not at all.
func (r *replica) analyze(ctx context.Context, schema, account string) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "analyses"}.Sanitize()+" (account, replica) VALUES ($1, $2)",
			account, r.name); err != nil {
			return err
		}
		return r.outbox.Add(ctx, tx, alguna.Event{
			Account:    account,
			EventName:  "api_call",
			Properties: map[string]any{"replica": r.name},
		})
	})
}

// promptUpgrade records that the account must be asked to upgrade. The
// deduper runs it once per webhook id, across both replicas.
func (r *replica) promptUpgrade(ctx context.Context, schema, webhookID, accountID string) error {
	_, err := r.pool.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "upgrade_prompts"}.Sanitize()+
		" (account, webhook_id, replica) VALUES ($1, $2, $3)", accountID, webhookID, r.name)
	return err
}

// stop shuts the replica down: the server, then the relay, then the pool.
func (r *replica) stop(ctx context.Context) error {
	var err error
	r.stopOnce.Do(func() {
		err = r.server.Shutdown(ctx)
		r.stopRelay()
		select {
		case rerr := <-r.relayDone:
			err = errors.Join(err, rerr)
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("%s: relay did not stop: %w", r.name, ctx.Err()))
		}
		r.pool.Close()
	})
	return err
}
