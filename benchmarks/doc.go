// Package benchmarks compares alguna-go with the libraries its users would
// otherwise pick, and with hand-written code, on the same machine and the
// same work: event batching against posthog-go and a pre-encoded poster,
// webhook verification against the Standard Webhooks and svix verifiers,
// every service call against a hand-written net/http + encoding/json
// request, the durable spool against a hand-written write-and-fsync loop on
// the same disk, and the Batcher against the bundled fake's ingestion limit.
// The comparisons are benchmarks in this package's tests; the command in
// cmd/report runs them and writes BENCHMARKS.md at the root of the
// repository.
//
// This is a separate module, so that users of alguna-go never download the
// peer libraries.
package benchmarks
