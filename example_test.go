package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// The Examples of this package run against algunatest, the bundled fake of
// Alguna, so that each one runs offline and prints what it did. Real code
// makes its client with NewClient and a key from the environment; the calls
// are the same.

func ExampleNewClient() {
	fake := algunatest.NewServer() // stands in for Alguna in this example
	defer fake.Close()

	apiKey := fake.APIKey // in production: os.Getenv("ALGUNA_API_KEY")
	client, err := alguna.NewClient(apiKey,
		alguna.WithBaseURL(fake.URL), // in production: left out, for https://api.alguna.io
		// Optional: name your product in the User-Agent, tune retries, send
		// the SDK's retry log to your logger, and set the host of your
		// hosted billing pages for Checkout.FlowURL.
		alguna.WithUserAgent("myapp/1.2"),
		alguna.WithMaxRetries(5),
		alguna.WithRetryWait(time.Second, 20*time.Second),
		alguna.WithLogger(slog.Default()),
		alguna.WithCheckoutBaseURL("https://billing.yourcompany.com"),
	)
	if err != nil {
		log.Fatal(err)
	}

	// One client per process, shared by every goroutine.
	account, err := client.Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", account.Name)

	// A missing key is refused at once rather than on the first call: an
	// unset environment variable shows up at start-up.
	_, err = alguna.NewClient("")
	fmt.Println(err)
	// Output:
	// created: Acme Corp
	// alguna: the API key is empty
}

func ExampleWithHTTPClient() {
	fake := algunatest.NewServer()
	defer fake.Close()
	ctx := context.Background()

	// The client's own default times out each attempt after 60 seconds.
	// Bring your own http.Client for another timeout, a proxy or
	// instrumentation ...
	client, err := alguna.NewClient(fake.APIKey, alguna.WithBaseURL(fake.URL),
		alguna.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}

	// ... or bound a whole call, retries included, with its context.
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	account, err := client.Accounts.Create(callCtx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", account.Name)

	// A context that has already ended stops the call before it is sent.
	ended, stop := context.WithCancel(ctx)
	stop()
	_, err = client.Credits.Balance(ended, account.ID, alguna.CreditTypeUnits)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// created: Acme Corp
	// true
}

func ExampleWithSandbox() {
	// Staging talks to Alguna's sandbox, with a sandbox key. Nothing is
	// sent until the first call.
	client, err := alguna.NewClient("sk_sandbox_example", alguna.WithSandbox())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client) // the key is never printed

	// The sandbox is a host of its own, so it cannot be combined with
	// another one.
	_, err = alguna.NewClient("sk_sandbox_example", alguna.WithSandbox(), alguna.WithBaseURL("https://api.alguna.io"))
	fmt.Println(err)
	// Output:
	// alguna.Client{baseURL: https://api.sandbox.alguna.io, apiKey: [redacted]}
	// alguna: WithSandbox and a base URL option name two different hosts; give one
}

func ExampleWithPlainHTTPBaseURL() {
	// In a compose network the fake is another container, reached by
	// plain http under its service name. WithBaseURL refuses that, as it
	// would send a real key in clear text; WithPlainHTTPBaseURL says that
	// this is meant, for a key that opens only the fake.
	_, err := alguna.NewClient("sk_test_local", alguna.WithBaseURL("http://algunafake:8089"))
	fmt.Println(err)
	client, err := alguna.NewClient("sk_test_local", alguna.WithPlainHTTPBaseURL("http://algunafake:8089"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client)
	// Output:
	// alguna: WithBaseURL: "http://algunafake:8089" uses plain http, which is allowed only for loopback hosts; use https (or WithPlainHTTPBaseURL for a fake on another host)
	// alguna.Client{baseURL: http://algunafake:8089, apiKey: [redacted]}
}

// A sign-up retried after a crash: the idempotency key, derived from your
// own user id, makes Alguna answer the retry with the account it created
// the first time instead of creating a second one.
func ExampleWithIdempotencyKey() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()

	signUp := func(userID string) (*alguna.Account, error) {
		return client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: userID},
			alguna.WithIdempotencyKey("signup-"+userID))
	}
	first, err := signUp("user-123")
	if err != nil {
		log.Fatal(err)
	}
	// The process died before it stored first.ID; the job runs again.
	again, err := signUp("user-123")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same account:", first.ID == again.ID)

	list, err := client.Accounts.List(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accounts:", len(list.Data))
	// Output:
	// same account: true
	// accounts: 1
}

// WithResponseInfo reads what a successful answer said besides its body,
// such as the request id that Alguna's support asks for.
func ExampleWithResponseInfo() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()

	var info alguna.ResponseInfo
	_, err := client.Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme Corp"},
		alguna.WithResponseInfo(&info))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", info.StatusCode)
	fmt.Println("content type:", info.Header.Get("Content-Type"))

	// The id names this request in the server's log.
	requests := fake.Requests()
	fmt.Println("request id logged:", info.RequestID != "" && requests[len(requests)-1].ID == info.RequestID)
	// Output:
	// status: 201
	// content type: application/json
	// request id logged: true
}

func ExampleError() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()

	_, err := client.Accounts.Get(ctx, "acc_missing")

	// Match the kind of failure with errors.Is ...
	if errors.Is(err, alguna.ErrNotFound) {
		fmt.Println("no such account")
	}
	// ... and read the details with errors.As.
	var apiErr *alguna.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message)
		fmt.Println(apiErr.Method, apiErr.Path)
		fmt.Println("request id to quote to support:", apiErr.RequestID != "")
		fmt.Println("worth retrying:", apiErr.Retryable())
	}

	// Mistakes caught before sending are a *ValidationError.
	_, err = client.Credits.Grant(ctx, "acc_abc123", &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     decimal.NewFromInt(-5),
	})
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println(invalid.Problems)
	}
	// Output:
	// no such account
	// 404 not_found account acc_missing not found
	// GET /accounts/acc_missing
	// request id to quote to support: true
	// worth retrying: false
	// [amount must be positive, got -5]
}

// Mistakes the SDK can see are refused before anything is sent, with every
// problem listed at once.
func ExampleValidationError() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()

	_, err := client.Credits.Grant(context.Background(), "acc_abc123", &alguna.CreditGrantParams{
		CreditType: "points",
		Amount:     decimal.NewFromInt(-5),
	})
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println("requests sent:", len(fake.Requests()))
	// Output:
	// credit type "points" is not "units" or "monetary"
	// amount must be positive, got -5
	// requests sent: 0
}
