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
// sessions. Beyond the guide, what a self-serve product reads after
// checkout, as Alguna's reference shows it: accounts with aliases,
// contacts, currency and billing address; GET /subscriptions and
// /invoices (filtered by accountId, an id or an alias, and status) and
// their single-item calls, an invoice with its line items and what is paid
// and remaining; GET /plans from a catalogue set with WithPlan and SetPlan,
// of which every checkout flow sells a plan; and GET /credit-grants, whose
// remainingAmount goes down as usage consumes the grants.
//
// The state is consistent across them: a paid checkout's subscription and
// invoice are what the lists return and what the webhooks carried, and a
// cancellation in the portal ends the subscription (endedAt). An account
// with an active subscription cannot check out again: its checkout pages
// and CompleteCheckout answer 409 (ErrActiveSubscription) rather than bill
// the same period twice. Alguna documents no upgrade through checkout, so
// this is the fake's choice; creating the session through the API still
// succeeds.
//
// It answers like Alguna where a test would notice: 401 for a wrong key,
// 404 for an unknown account, {"status", "detail", "code"} error bodies
// whose code is machine-readable (validation_failed, unauthorized,
// not_found, conflict, alias_taken, rate_limited, internal_error, …), an
// X-Request-Id on every answer, 400 for events over Alguna's limits (100 a
// request, uniqueId of 255 characters, 50 flat string or number
// properties) and for numbers too large to be real quantities (the bound
// the SDK applies before sending), uniqueId dedupe, and the replay of an
// Idempotency-Key repeated within 24 hours. A page number past the end is
// an empty page.
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
// # Faults and rate limits
//
// SetFaults makes a seeded, deterministic share of API requests fail with
// 500, with 429 and Retry-After, or with a dropped connection, to test retry
// logic; a faulted request never changes state.
//
// WithRateLimit and SetRateLimit make the fake enforce rates such as
// Alguna's documented 1000 events and 100 requests a second: past them it
// answers 429 with a Retry-After that, once waited out, lets the request
// through (see RateLimit). Requests logs every API request with its status,
// arrival time, events and Retry-After, so that a test can check a client's
// pacing.
//
// # Signed deliveries
//
// Webhook signs a delivery of any event type the way the fake does, for
// testing a webhook handler with no server running; SampleWebhookData has a
// realistic payload for each. Emit sends one through a running server's
// delivery path, for event types its own flow never produces.
//
// # Speed
//
// BenchmarkIngest measures how many events a second the fake takes in, in
// batches of 100 from parallel senders, over raw HTTP and through the SDK's
// client: the rate at which a test suite can meter usage into it.
//
// # Concurrency
//
// A Server is safe for concurrent use by any number of clients and test
// goroutines. Its state sits behind one mutex that is never held while a
// webhook is sent or a response written, nor for work that a request's
// input could make unbounded. A panic in a handler is a bug in the fake: it
// is answered with a 500 (code internal_error) and kept for Panics.
//
// Configuration mistakes (an invalid option, metric or webhook URL) panic,
// as httptest does: they are bugs in the test, not conditions to handle.
// Programs that take configuration from users call Start, which returns them
// as errors.
package algunatest
