// Package algunatest is a stateful, in-memory fake of Alguna for tests: it
// runs the self-serve billing guide's whole flow (sign-up, trial credits,
// usage, depletion, hosted checkout, subscription, portal) inside go test,
// with no network and no account.
//
// Unlike a mock that forgets what it is sent, the fake keeps accounts,
// grants, balances, events, checkout sessions, subscriptions and invoices,
// and it sends real webhooks: signed HTTP POSTs by the Standard Webhooks
// rules, retried on failure with the same webhook-id, in order per account.
//
//	srv := algunatest.NewServer()
//	defer srv.Close()
//	srv.AddWebhookEndpoint(myApp.URL + "/webhooks/alguna")
//	srv.SetMetric(algunatest.Metric{EventName: "api_call"}) // 1 credit per event
//	client := srv.Client()
//	// … run the code under test with client and srv.WebhookSecret …
//	srv.FlushWebhooks(ctx) // every webhook delivered
//
// # What it serves
//
// The API endpoints the SDK calls, with the guide's JSON on the wire:
// accounts (create, get, update, list, lookup by alias), credit grants,
// balances and availability, POST /events, checkout sessions and portal
// sessions. It answers like Alguna where a test would notice: 401 for a wrong
// key, 404 for an unknown account, {"status", "detail"} error bodies, 400 for
// events over Alguna's limits (100 a request, uniqueId of 255 characters, 50
// flat string or number properties), uniqueId dedupe, and the replay of an
// Idempotency-Key repeated within 24 hours.
//
// The hosted pages are real HTML, served by the fake itself: the checkout page
// a session's url (or the guide's /checkout?flowId=… link) opens, whose Pay
// button completes the checkout, and the customer portal, whose sections and
// Cancel button follow the session's settings. Their elements carry stable
// ids and data attributes for browser tests:
//
//   - checkout page: section#checkout[data-checkout-session-id][data-status],
//     #plan-name, #amount[data-amount], #currency, and form#checkout-form
//     (or #already-paid once paid) with the card fields #card-number,
//     #card-expiry, #card-cvc and #card-name, pre-filled with the test card
//     4242 4242 4242 4242 (any number that passes the Luhn check pays), and
//     button#pay. Paying redirects (303) to the session's successUrl, or to
//     the thank-you page, #checkout-complete.
//   - a card the form refuses (a number that fails the Luhn check, an
//     expiry date in the past, an empty field) shows the page again with
//     status 422, #payment-error, and a message at each refused field:
//     #card-number-error, #card-expiry-error, #card-cvc-error,
//     #card-name-error. The test card 4000 0000 0000 0002 is declined: 402
//     and #payment-error. Neither pays. A POST to the form's action with
//     none of the card fields pays with the test card, as CompleteCheckout
//     does.
//   - the no-code link /checkout?flowId=…&accountId=…&pt=… opens a session and
//     redirects (303) to its checkout page, so a reload opens no second one.
//   - portal: [data-section="plan-overview"] with #subscription[data-status]
//     and form#cancel-form with button#cancel-subscription, which opens the
//     cancel confirmation (or #no-subscription); [data-section="invoices"]
//     with one tr[data-invoice-id] per invoice (or #no-invoices);
//     [data-section="billing-details"]; #notice after cancelling.
//   - cancel confirmation: section#cancel-confirmation[data-subscription-id]
//     with #cancel-title, a#keep-subscription back to the portal, and
//     form#confirm-cancel-form with button#confirm-cancel, the only thing
//     that cancels. A POST to the cancel URL without the confirmation's
//     fields redirects (303) to the confirmation and cancels nothing.
//   - error and dead-end pages (unknown session 404, expired portal link 410,
//     second payment 409): section#message[data-status], with
//     a#message-link when there is a way back.
//
// # Metering
//
// SetMetric says how events consume credits: count, count unique, sum or max
// of a property, as Alguna's billable metrics do. The first time a balance
// reaches zero the fake sends account.credits.balance_depleted; Balance,
// Usage and Overage show the arithmetic.
//
// # Faults
//
// SetFaults makes a seeded, deterministic share of API requests fail with
// 500, with 429 and Retry-After, or with a dropped connection, to test retry
// logic; a faulted request never changes state.
//
// # Speed
//
// BenchmarkIngest pushes 90,000 to 125,000 events a second into the fake on
// a 2-core machine (AMD EPYC, Go 1.26), in batches of 100, both over raw HTTP
// and through the SDK's client, so a test suite can meter realistic volumes
// without slowing down.
//
// # Concurrency
//
// A Server is safe for concurrent use by any number of clients and test
// goroutines. Its state sits behind one mutex that is never held while a
// webhook is sent or a response written.
//
// Configuration mistakes (an invalid option, metric or webhook URL) panic,
// as httptest does: they are bugs in the test, not conditions to handle.
// Programs that take configuration from users call Start, which returns them
// as errors.
package algunatest
