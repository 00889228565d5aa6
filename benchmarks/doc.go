// Package benchmarks compares alguna-go with the libraries its users would
// otherwise pick, on the same machine and the same work: event batching
// against posthog-go, webhook verification against the Standard Webhooks
// and svix verifiers, and one API call against a hand-written net/http
// request. The comparisons are benchmarks in this package's tests; the
// command in cmd/report runs them and writes BENCHMARKS.md at the root of
// the repository.
//
// This is a separate module, so that users of alguna-go never download the
// peer libraries.
package benchmarks
