package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/shopspring/decimal"
)

// guideServer stands in for Alguna in these examples: it answers with the
// JSON of the self-serve billing guide. Real code leaves WithBaseURL out and
// talks to https://api.alguna.io.
func guideServer() *httptest.Server {
	mux := http.NewServeMux()
	answer := func(pattern, body string) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		})
	}
	answer("POST /accounts", `{"id": "acc_abc123", "name": "Acme Corp", "email": "billing@acme.com", "alias": "your-internal-id-123"}`)
	answer("POST /accounts/{id}/credits/grants", `{"id": "cg_1", "accountId": "acc_abc123", "creditType": "units", "amount": "50", "reason": "Welcome credits", "status": "active"}`)
	answer("GET /accounts/{id}/credits/balance", `{"accountId": "acc_abc123", "creditType": "units", "balance": "50"}`)
	answer("POST /customer-session/checkout", `{"checkoutSessionId": "chk_xyz789", "url": "https://billing.yourcompany.com/checkout/session/chk_xyz789"}`)
	answer("POST /portal/customer-session/customer-portal", `{"sessionUrl": "https://billing.yourcompany.com/portal/ps_123"}`)
	mux.HandleFunc("GET /accounts/{id}/credits/availability", func(w http.ResponseWriter, r *http.Request) {
		balance := decimal.NewFromInt(50)
		required, err := decimal.NewFromString(r.URL.Query().Get("required"))
		if err != nil {
			http.Error(w, `{"status": 400, "detail": "required is not a number"}`, http.StatusBadRequest)
			return
		}
		shortfall := decimal.Max(required.Sub(balance), decimal.Zero)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"available": %t, "balance": "%s", "required": "%s", "shortfall": "%s"}`,
			shortfall.IsZero(), balance, required, shortfall)
	})
	mux.HandleFunc("GET /accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_7f3a")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"status": 404, "detail": "account %s not found"}`, r.PathValue("id"))
	})
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("page") {
		case "1":
			_, _ = io.WriteString(w, `{"pageCount": 2, "data": [{"id": "acc_abc123", "name": "Acme Corp"}, {"id": "acc_def456", "name": "Globex"}]}`)
		default:
			_, _ = io.WriteString(w, `{"pageCount": 2, "data": [{"id": "acc_ghi789", "name": "Initech"}]}`)
		}
	})
	return httptest.NewServer(mux)
}

func ExampleNewClient() {
	client, err := alguna.NewClient(os.Getenv("ALGUNA_API_KEY"),
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
		// Without ALGUNA_API_KEY in the environment, NewClient refuses.
		fmt.Println(err)
		return
	}
	_ = client
}

func ExampleAccountsService_Create() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Step 1 of the guide: a user signs up.
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{
		Name:  "Acme Corp",
		Email: "billing@acme.com",
		Alias: "your-internal-id-123", // your own id for the customer
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(account.ID, account.Name)
	// Output: acc_abc123 Acme Corp
}

func ExampleCreditsService_Grant() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Step 2 of the guide: trial credits. The idempotency key, derived from
	// your own user id, makes sure a retried sign-up never grants twice.
	grant, err := client.Credits.Grant(ctx, "acc_abc123", &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     decimal.NewFromInt(50),
		Reason:     "Welcome credits",
	}, alguna.WithIdempotencyKey("trial-your-internal-id-123"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grant.Amount, grant.CreditType, grant.Status)

	balance, err := client.Credits.Balance(ctx, "acc_abc123", alguna.CreditTypeUnits)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("balance:", balance.Balance)
	// Output:
	// 50 units active
	// balance: 50
}

func ExampleCreditsService_Availability() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Before an action that costs 10 units, check the account can pay.
	avail, err := client.Credits.Availability(ctx, "acc_abc123", alguna.CreditTypeUnits, decimal.NewFromInt(10))
	if err != nil {
		log.Fatal(err)
	}
	if avail.Available {
		fmt.Println("go ahead; balance", avail.Balance)
	}

	avail, err = client.Credits.Availability(ctx, "acc_abc123", alguna.CreditTypeUnits, decimal.NewFromInt(80))
	if err != nil {
		log.Fatal(err)
	}
	if !avail.Available {
		fmt.Println("upgrade needed; short by", avail.Shortfall)
	}
	// Output:
	// go ahead; balance 50
	// upgrade needed; short by 30
}

func ExampleCheckoutService_CreateSession() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}

	// Step 4, option B: a handler of your app starts hosted checkout and
	// redirects the browser to it.
	upgrade := func(w http.ResponseWriter, r *http.Request) {
		session, err := client.Checkout.CreateSession(r.Context(), &alguna.CheckoutSessionParams{
			AccountID:        "acc_abc123",
			AccountEmail:     "billing@acme.com",
			Currency:         "USD",
			SuccessURL:       "https://yourapp.com/welcome",
			PassThroughToken: "your-internal-reference",
		})
		if err != nil {
			http.Error(w, "checkout is unavailable", http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, session.URL, http.StatusSeeOther)
	}

	rec := httptest.NewRecorder()
	upgrade(rec, httptest.NewRequest(http.MethodPost, "/upgrade", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 https://billing.yourcompany.com/checkout/session/chk_xyz789
}

func ExampleCheckoutService_FlowURL() {
	client, err := alguna.NewClient("sk_test_example",
		alguna.WithCheckoutBaseURL("https://billing.yourcompany.com"))
	if err != nil {
		log.Fatal(err)
	}

	// Step 4, option A: no API call, just a link to your checkout flow.
	link, err := client.Checkout.FlowURL("flow_123", "acc_abc123", "your-internal-reference")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link)
	// Output: https://billing.yourcompany.com/checkout?flowId=flow_123&accountId=acc_abc123&pt=your-internal-reference
}

func ExamplePortalService_CreateSession() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Step 7: "Manage billing". Enterprise customers cancel through sales,
	// so the portal hides self-service cancellation. Settings left nil keep
	// Alguna's default, true.
	session, err := client.Portal.CreateSession(ctx, &alguna.PortalSessionParams{
		AccountID: "acc_abc123",
		PlanOverviewSettings: &alguna.PlanOverviewSettings{
			AllowSubscriptionCancel: alguna.Bool(false),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(session.URL)
	// Output: https://billing.yourcompany.com/portal/ps_123
}

func ExampleError() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	_, err = client.Accounts.Get(ctx, "acc_missing")

	// Match the kind of failure with errors.Is ...
	if errors.Is(err, alguna.ErrNotFound) {
		fmt.Println("no such account")
	}
	// ... and read the details with errors.As.
	var apiErr *alguna.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message, apiErr.RequestID)
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
	// 404 account acc_missing not found req_7f3a
	// [amount must be positive, got -5]
}

func ExampleAccountsService_All() {
	srv := guideServer()
	defer srv.Close()
	client, err := alguna.NewClient("sk_test_example", alguna.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// All fetches page after page as the loop asks for more.
	for account, err := range client.Accounts.All(ctx, &alguna.ListOptions{Limit: 100}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(account.ID, account.Name)
	}
	// Output:
	// acc_abc123 Acme Corp
	// acc_def456 Globex
	// acc_ghi789 Initech
}

func ExampleWithHTTPClient() {
	// The client's own default times out each attempt after 60 seconds.
	// Bring your own http.Client for another timeout, a proxy or
	// instrumentation ...
	client, err := alguna.NewClient("sk_test_example",
		alguna.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}

	// ... or bound a whole call, retries included, with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = client.Credits.Balance(ctx, "acc_abc123", alguna.CreditTypeUnits)
}
