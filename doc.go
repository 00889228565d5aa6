// Package alguna is the Go client for the Alguna billing API.
//
// It covers the self-serve billing flow end to end: accounts, trial credits,
// usage events (with a Batcher that never loses one silently), hosted
// checkout, webhooks and the customer portal. The algunatest package is a
// stateful fake of Alguna for running that whole flow inside go test.
package alguna
