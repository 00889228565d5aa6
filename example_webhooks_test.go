package alguna_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// Mount the handler on your mux and register a callback per event type you
// act on; everything else is acknowledged. Failed callbacks answer 500 so
// that Alguna retries; a delivery that already succeeded is not run again.
func ExampleNewWebhookHandler() {
	// The endpoint's secret, from Settings → Webhooks in Alguna's dashboard.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// In production: alguna.NewWebhookVerifier(os.Getenv("ALGUNA_WEBHOOK_SECRET"))
	verifier, err := alguna.NewWebhookVerifier(secret)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier)

	hooks.OnCreditsBalanceDepleted(func(ctx context.Context, e *alguna.WebhookEvent, p *alguna.CreditsBalanceDepleted) error {
		fmt.Printf("account %s is out of %s credits: offer an upgrade\n", p.AccountID, p.Type)
		return nil
	})
	hooks.OnCheckoutSessionCompleted(func(ctx context.Context, e *alguna.WebhookEvent, p *alguna.CheckoutSessionCompleted) error {
		// Grant paid features here; return an error to have Alguna retry.
		fmt.Printf("account %s paid %s %s (token %s)\n", p.AccountID, p.Amount.StringFixed(2), p.Currency, p.PassThroughToken)
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/alguna", hooks)

	// What Alguna's delivery does, twice (a retry after a lost answer),
	// signed by algunatest as Alguna signs it: the second runs nothing.
	delivery := algunatest.Webhook{
		ID:   "msg_2mYB8dQ0e8kLJ5bJfzqvGm1VxTn",
		Type: alguna.WebhookCheckoutSessionCompleted,
		Data: map[string]any{ // the guide's payload (step 5)
			"id": "chk_xyz789", "accountId": "acc_abc123", "status": "completed",
			"amount": "49.00", "currency": "USD", "invoiceId": "inv_abc123", "paymentId": "pay_def456",
			"passThroughToken": "your-internal-reference",
		},
	}
	for range 2 {
		r, err := delivery.Request("/webhooks/alguna", secret)
		if err != nil {
			log.Fatal(err)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println("status", w.Code)
	}

	// A delivery signed with another secret never reaches a callback.
	forged, err := algunatest.Webhook{Type: alguna.WebhookCheckoutSessionCompleted}.
		Request("/webhooks/alguna", "whsec_y/CW1YYcYLZIHngIQBkcRQuKjNsmkK0w")
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, forged)
	fmt.Println("forged: status", w.Code)
	// Output:
	// account acc_abc123 paid 49.00 USD (token your-internal-reference)
	// status 204
	// status 204
	// forged: status 401
}

// A test of your webhook endpoint: the fake sends real, signed deliveries
// of what happens in it.
func ExampleNewWebhookHandler_testing() {
	ctx := context.Background()
	fake := algunatest.NewServer()
	defer fake.Close()

	verifier, err := alguna.NewWebhookVerifier(fake.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier)
	granted := make(chan *alguna.CreditsGranted, 1)
	hooks.OnCreditsGranted(func(_ context.Context, _ *alguna.WebhookEvent, g *alguna.CreditsGranted) error {
		granted <- g
		return nil
	})
	app := httptest.NewServer(hooks)
	defer app.Close()
	fake.AddWebhookEndpoint(app.URL) // all event types

	client := fake.Client()
	acc, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Credits.Grant(ctx, acc.ID, &alguna.CreditGrantParams{CreditType: alguna.CreditTypeUnits, Amount: decimal.NewFromInt(50)})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.FlushWebhooks(ctx); err != nil { // every delivery answered
		log.Fatal(err)
	}
	g := <-granted
	fmt.Println(g.AccountID == acc.ID, g.Amount, g.Type)
	// Output: true 50 units
}

// Return an error from a callback to have the delivery retried: the handler
// answers 500, Alguna sends the same event again later with the same
// webhook-id, and the callback runs again until it succeeds.
func ExampleWebhookHandler_OnCheckoutSessionCompleted() {
	ctx := context.Background()
	fake := algunatest.NewServer()
	defer fake.Close()
	verifier, err := alguna.NewWebhookVerifier(fake.WebhookSecret)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier)

	var calls atomic.Int32
	hooks.OnCheckoutSessionCompleted(func(ctx context.Context, e *alguna.WebhookEvent, p *alguna.CheckoutSessionCompleted) error {
		if calls.Add(1) == 1 {
			// Your database is briefly down: the upgrade is not recorded
			// yet, so do not acknowledge the event.
			return errors.New("database unavailable")
		}
		// Match the token to the upgrade your app started, then grant the
		// paid plan.
		fmt.Println("upgrade", p.PassThroughToken, "paid:", p.Amount.StringFixed(2), p.Currency)
		return nil
	})
	app := httptest.NewServer(hooks)
	defer app.Close()
	fake.AddWebhookEndpoint(app.URL, alguna.WebhookCheckoutSessionCompleted)

	client := fake.Client()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{
		AccountID: account.ID, PassThroughToken: "upgrade-7781",
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, session.ID); err != nil {
		log.Fatal(err)
	}
	if err := fake.FlushWebhooks(ctx); err != nil {
		log.Fatal(err)
	}

	d := fake.Deliveries()[0]
	fmt.Println(d.Type, d.Status, "after", d.Attempts, "attempts")
	// Output:
	// upgrade upgrade-7781 paid: 49.00 USD
	// checkout.session.completed succeeded after 2 attempts
}

// On registers a callback that gets the event undecoded: for reading only
// the fields you need, or for a type this SDK does not know yet.
func ExampleWebhookHandler_On() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifier, err := alguna.NewWebhookVerifier(secret)
	if err != nil {
		log.Fatal(err)
	}
	hooks := alguna.NewWebhookHandler(verifier)
	hooks.On(alguna.WebhookInvoiceIssued, func(ctx context.Context, e *alguna.WebhookEvent) error {
		var inv struct {
			AccountID string          `json:"accountId"`
			Total     decimal.Decimal `json:"total"`
			Currency  string          `json:"currency"`
		}
		if err := json.Unmarshal(e.Data, &inv); err != nil {
			return err // 500: a bug here is retried once it is fixed
		}
		fmt.Println("email the invoice to", inv.AccountID, "for", inv.Total.StringFixed(2), inv.Currency)
		return nil
	})

	// A delivery as Alguna sends it, with algunatest's sample invoice.
	invoice, err := algunatest.SampleWebhookData(alguna.WebhookInvoiceIssued)
	if err != nil {
		log.Fatal(err)
	}
	invoice["accountId"] = "acc_abc123"
	r, err := algunatest.Webhook{Type: alguna.WebhookInvoiceIssued, Data: invoice}.Request("/webhooks/alguna", secret)
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	hooks.ServeHTTP(w, r)
	fmt.Println("status", w.Code)
	// Output:
	// email the invoice to acc_abc123 for 49.00 USD
	// status 204
}

// Verify a delivery yourself when you have your own HTTP stack: pass the
// headers and the raw body, untouched, then Decode the typed payload. The
// event's ID is the key for skipping a delivery you have handled before.
func ExampleWebhookVerifier_Verify() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// In production: alguna.NewWebhookVerifier(os.Getenv("ALGUNA_WEBHOOK_SECRET"))
	verifier, err := alguna.NewWebhookVerifier(secret)
	if err != nil {
		log.Fatal(err)
	}

	receive := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, alguna.DefaultWebhookMaxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		event, err := verifier.Verify(r.Header, body)
		switch {
		case errors.Is(err, alguna.ErrWebhookSignature), errors.Is(err, alguna.ErrWebhookTimestamp):
			http.Error(w, "not from Alguna, or replayed", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, "malformed", http.StatusBadRequest)
			return
		}
		payload, err := event.Decode()
		if err != nil {
			http.Error(w, "malformed", http.StatusBadRequest)
			return
		}
		switch p := payload.(type) {
		case *alguna.CheckoutSessionCompleted:
			fmt.Println(event.ID, "checkout paid:", p.Amount, p.Currency, "token", p.PassThroughToken)
		case *alguna.CreditsBalanceDepleted:
			fmt.Println(event.ID, "depleted", p.AccountID)
		default:
			fmt.Println(event.ID, "not handled:", event.Type)
		}
		w.WriteHeader(http.StatusNoContent)
	}

	for _, delivery := range []struct {
		name    string
		webhook algunatest.Webhook
		secret  string
	}{
		{"from Alguna", algunatest.Webhook{ID: "msg_1", Type: alguna.WebhookCheckoutSessionCompleted}, secret},
		{"other secret", algunatest.Webhook{ID: "msg_2", Type: alguna.WebhookCheckoutSessionCompleted}, "whsec_y/CW1YYcYLZIHngIQBkcRQuKjNsmkK0w"},
		{"signed an hour ago", algunatest.Webhook{ID: "msg_3", Type: alguna.WebhookCheckoutSessionCompleted, Time: time.Now().Add(-time.Hour)}, secret},
	} {
		r, err := delivery.webhook.Request("/webhooks/alguna", delivery.secret)
		if err != nil {
			log.Fatal(err)
		}
		w := httptest.NewRecorder()
		receive(w, r)
		fmt.Println(delivery.name+":", w.Code)
	}
	// Output:
	// msg_1 checkout paid: 49 USD token your-internal-reference
	// from Alguna: 204
	// other secret: 401
	// signed an hour ago: 401
}

// To rotate the endpoint's secret, accept both while Alguna switches over,
// then drop the old one.
func ExampleWithWebhookSecrets() {
	const (
		oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		newSecret = "whsec_y/CW1YYcYLZIHngIQBkcRQuKjNsmkK0w"
	)
	during, err := alguna.NewWebhookVerifier(newSecret, alguna.WithWebhookSecrets(oldSecret))
	if err != nil {
		log.Fatal(err)
	}
	after, err := alguna.NewWebhookVerifier(newSecret)
	if err != nil {
		log.Fatal(err)
	}

	for _, signer := range []struct{ name, secret string }{{"old", oldSecret}, {"new", newSecret}} {
		header, body, err := algunatest.Webhook{Type: alguna.WebhookInvoicePaid}.Sign(signer.secret)
		if err != nil {
			log.Fatal(err)
		}
		_, errDuring := during.Verify(header, body)
		_, errAfter := after.Verify(header, body)
		fmt.Printf("signed with the %s secret: accepted during rotation %t, after %t\n",
			signer.name, errDuring == nil, errAfter == nil)
	}
	// Output:
	// signed with the old secret: accepted during rotation true, after false
	// signed with the new secret: accepted during rotation true, after true
}
