// Package alguna is the Go client for the Alguna billing API.
//
// It covers the self-serve billing flow end to end: accounts, trial credits,
// usage events (with a Batcher that never loses one silently), hosted
// checkout, webhooks and the customer portal, and reads what a product needs
// afterwards from Alguna rather than storing it: subscriptions, invoices,
// plans and credit grants. The algunatest package is a stateful fake of
// Alguna for running that whole flow inside go test.
//
// # Options
//
// Every kind of option is checked when the object it configures is built,
// and a wrong one is reported with the option's name:
//
//   - Option (NewClient), WebhookOption (NewWebhookVerifier) and
//     BatcherOptions (EventsService.NewBatcher): the constructor returns an
//     error, such as "alguna: WithRetryWait: the minimum wait 2s exceeds the
//     maximum 1s".
//   - WebhookHandlerOption: NewWebhookHandler returns no error, so a wrong
//     one panics at construction with a message naming it, as
//     NewWebhookHandler(nil) does and as http.ServeMux does for a nil
//     handler: it is a mistake in the program, found at start-up.
//   - RequestOption (the last arguments of every call): a wrong one (an
//     empty idempotency key) makes that call fail with a *ValidationError
//     naming the option, before anything is sent.
//
// No option keeps a default silently in place of a wrong value. A nil
// option is skipped.
//
// # Zero values
//
// The SDK's types are made by their constructors (NewClient, NewBatcher,
// NewWebhookVerifier, NewWebhookHandler, NewMemoryWebhookDeduper). Used
// without one, their methods return an error that names the constructor;
// a WebhookHandler answers 500 and logs why.
package alguna
