// Package e2e drives the trial-to-upgrade example in a real browser.
//
// It is a module of its own so that users of alguna-go never download a
// browser driver. Its tests build examples/trial-to-upgrade, start it with
// -serve against the bundled fake Alguna, and click through the guide the way
// a customer would, in headless Chromium: sign up, use the trial credits
// until they run out, pay on the hosted checkout page, land on the app's
// welcome page, and manage billing in the customer portal.
//
// Run them from this directory:
//
//	go test ./...
//
// They need Chromium at /usr/bin/chromium (Debian's chromium package), or at
// the path in E2E_CHROMIUM. Without it the tests skip, unless CI is set, in
// which case they fail. Screenshots of the hosted pages and the app's log are
// written to artifacts/, which is not committed.
package e2e
