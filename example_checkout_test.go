package alguna_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

func ExampleCheckoutService_CreateSession() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	account, err := client.Accounts.Create(context.Background(), &alguna.AccountCreateParams{
		Name: "Acme Corp", Email: "billing@acme.com", Alias: "user-123",
	})
	if err != nil {
		log.Fatal(err)
	}
	// In your app, the signed-in user's Alguna id, stored at sign-up.
	accountID := account.ID

	// Step 4, option B: a handler of your app starts hosted checkout and
	// redirects the browser to it.
	upgrade := func(w http.ResponseWriter, r *http.Request) {
		session, err := client.Checkout.CreateSession(r.Context(), &alguna.CheckoutSessionParams{
			AccountID:        accountID,
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
	fmt.Println("redirect:", rec.Code)

	// Where the browser lands: the fake serves a real checkout page.
	resp, err := http.Get(rec.Header().Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println("checkout page:", resp.StatusCode)

	session := fake.CheckoutSessions()[0]
	fmt.Println(session.Status, session.Amount, session.Currency, session.PassThroughToken)
	// Output:
	// redirect: 303
	// checkout page: 200
	// open 49 USD your-internal-reference
}

func ExampleCheckoutService_FlowURL() {
	// FlowURL needs no API call, so this client is never used to send
	// anything: it only knows the host of your hosted billing pages.
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

	// Without the billing host the link cannot be built.
	noHost, err := alguna.NewClient("sk_test_example")
	if err != nil {
		log.Fatal(err)
	}
	_, err = noHost.Checkout.FlowURL("flow_123", "acc_abc123", "")
	fmt.Println(err)
	// Output:
	// https://billing.yourcompany.com/checkout?flowId=flow_123&accountId=acc_abc123&pt=your-internal-reference
	// alguna: invalid request: no checkout base URL configured: use WithCheckoutBaseURL
}

// In a test, the fake's client builds flow links on the fake's own hosted
// pages, so the link your app renders can be followed like a browser would.
func ExampleCheckoutService_FlowURL_testing() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	account, err := client.Accounts.Create(context.Background(), &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}

	link, err := client.Checkout.FlowURL(algunatest.DefaultFlowID, account.ID, "your-internal-reference")
	if err != nil {
		log.Fatal(err)
	}
	// The link opens a checkout session and redirects to its page.
	resp, err := http.Get(link)
	if err != nil {
		log.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("checkout page:", resp.StatusCode, strings.Contains(string(page), `id="pay"`))

	session := fake.CheckoutSessions()[0]
	fmt.Println(session.FlowID, session.Status, session.PassThroughToken)
	// Output:
	// checkout page: 200 true
	// flow_default open your-internal-reference
}

func ExamplePortalService_CreateSession() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	// A paying customer: checkout, paid on the hosted page.
	checkout, err := client.Checkout.CreateSession(ctx, &alguna.CheckoutSessionParams{AccountID: account.ID})
	if err != nil {
		log.Fatal(err)
	}
	if err := fake.CompleteCheckout(ctx, checkout.ID); err != nil {
		log.Fatal(err)
	}

	// Step 7: "Manage billing". Enterprise customers cancel through sales,
	// so the portal hides self-service cancellation. Settings left nil keep
	// Alguna's default, true. A session is short-lived: make one per click.
	session, err := client.Portal.CreateSession(ctx, &alguna.PortalSessionParams{
		AccountAlias: "user-123", // or AccountID
		PlanOverviewSettings: &alguna.PlanOverviewSettings{
			AllowSubscriptionCancel: alguna.Bool(false),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The fake serves the portal page the customer would see.
	resp, err := http.Get(session.URL)
	if err != nil {
		log.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("portal page:", resp.StatusCode)
	fmt.Println("subscription shown:", strings.Contains(string(page), `id="subscription"`))
	fmt.Println("cancel button shown:", strings.Contains(string(page), `id="cancel-subscription"`))
	// Output:
	// portal page: 200
	// subscription shown: true
	// cancel button shown: false
}
