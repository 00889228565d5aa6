package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alguna/alguna-go"
)

// The integration guide's checkout.session.completed event, signed as Alguna
// signs it, with the Standard Webhooks spec's test secret. The examples pin
// the clock to its signing time; production code leaves the clock alone.
const (
	exampleSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	exampleID        = "msg_2mYB8dQ0e8kLJ5bJfzqvGm1VxTn"
	exampleTimestamp = "1741021568"
	exampleSignature = "v1,Gw2ektqfKwdVYEEuqzecJIsl6in1uK6YW5tAx+ifAmg="
	exampleBody      = `{"type":"checkout.session.completed","timestamp":"2025-03-03T17:06:07.473879Z","data":{"id":"chk_xyz789","accountId":"acc_abc123","status":"completed","amount":"49.00","currency":"USD","invoiceId":"inv_abc123","paymentId":"pay_def456","passThroughToken":"your-internal-reference"}}`
)

func exampleClock() time.Time { return time.Unix(1741021568, 0) }

// Mount the handler on your mux and register a callback per event type you
// act on; everything else is acknowledged. Failed callbacks answer 500 so
// that Alguna retries; a delivery that already succeeded is not run again.
func ExampleNewWebhookHandler() {
	// In production: alguna.NewWebhookVerifier(os.Getenv("ALGUNA_WEBHOOK_SECRET"))
	verifier, err := alguna.NewWebhookVerifier(exampleSecret, alguna.WithWebhookClock(exampleClock))
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

	// What Alguna's delivery does, twice (a retry after a lost answer).
	for range 2 {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/alguna", strings.NewReader(exampleBody))
		r.Header.Set("webhook-id", exampleID)
		r.Header.Set("webhook-timestamp", exampleTimestamp)
		r.Header.Set("webhook-signature", exampleSignature)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println("status", w.Code)
	}
	// Output:
	// account acc_abc123 paid 49.00 USD (token your-internal-reference)
	// status 204
	// status 204
}

// Verify a delivery yourself when you have your own HTTP stack: pass the
// headers and the raw body, untouched, then Decode the typed payload.
func ExampleWebhookVerifier_Verify() {
	verifier, err := alguna.NewWebhookVerifier(exampleSecret, alguna.WithWebhookClock(exampleClock))
	if err != nil {
		log.Fatal(err)
	}

	header := http.Header{}
	header.Set("webhook-id", exampleID)
	header.Set("webhook-timestamp", exampleTimestamp)
	header.Set("webhook-signature", exampleSignature)

	event, err := verifier.Verify(header, []byte(exampleBody))
	switch {
	case errors.Is(err, alguna.ErrWebhookSignature), errors.Is(err, alguna.ErrWebhookTimestamp):
		fmt.Println("not from Alguna, or replayed: answer 401")
		return
	case err != nil:
		fmt.Println("malformed: answer 400:", err)
		return
	}
	fmt.Println(event.ID, event.Type, event.Timestamp.Format(time.RFC3339))

	payload, err := event.Decode()
	if err != nil {
		log.Fatal(err)
	}
	switch p := payload.(type) {
	case *alguna.CheckoutSessionCompleted:
		fmt.Println("checkout", p.ID, "paid invoice", p.InvoiceID, "for", p.Amount, p.Currency)
	case *alguna.CreditsBalanceDepleted:
		fmt.Println("depleted", p.AccountID)
	default:
		fmt.Println("not handled:", event.Type)
	}

	// The same bytes with one character changed are refused.
	_, err = verifier.Verify(header, []byte(strings.Replace(exampleBody, "49.00", "0.49", 1)))
	fmt.Println(errors.Is(err, alguna.ErrWebhookSignature))
	// Output:
	// msg_2mYB8dQ0e8kLJ5bJfzqvGm1VxTn checkout.session.completed 2025-03-03T17:06:07Z
	// checkout chk_xyz789 paid invoice inv_abc123 for 49 USD
	// true
}
