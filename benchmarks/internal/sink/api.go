package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file is the rest of Alguna's API as the per-call comparison needs
// it: every call of the SDK, each answered with a body of the shape
// Alguna's reference shows (and the bundled fake, algunatest, answers), so
// that each client decodes a realistic answer. The sink checks what a
// real endpoint would before answering: the API key, the path's ids, the
// query parameters the call needs, a JSON body with its required fields,
// and an Idempotency-Key on every POST and PATCH except POST /events.

// APIKey is the key the sink accepts, as "Bearer " + APIKey.
const APIKey = "k_bench"

// PageItems is the number of items every list answers.
const PageItems = 10

// The ids the sink's answers carry. A client that asks for one of them gets
// it back; lists hold ids derived from them.
const (
	AccountID      = "acc_bench0001"
	GrantID        = "cg_bench0001"
	SubscriptionID = "sub_bench0001"
	InvoiceID      = "inv_bench0001"
	PlanID         = "plan_bench0001"
	CheckoutID     = "cs_bench0001"
)

// stamp is the time every answer's timestamps are at, in RFC 3339 with
// microseconds as Alguna writes them.
var stamp = time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC)

type addressJSON struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type contactJSON struct {
	ID               string   `json:"id"`
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	IsPrimary        bool     `json:"isPrimary"`
	EmailPreferences []string `json:"emailPreferences"`
}

// fullAccount is an account as the reference shows it, with every field.
type fullAccount struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Email          string        `json:"email,omitempty"`
	Alias          string        `json:"alias,omitempty"`
	Aliases        []string      `json:"aliases"`
	Currency       string        `json:"currency"`
	BillingAddress *addressJSON  `json:"billingAddress,omitempty"`
	Contacts       []contactJSON `json:"contacts"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

func newFullAccount(id string) fullAccount {
	return fullAccount{
		ID: id, Name: "Acme Inc", Email: "billing@acme.example", Alias: "cus_4821",
		Aliases:  []string{"cus_4821"},
		Currency: "USD",
		BillingAddress: &addressJSON{
			Line1: "1 Market Street", Line2: "Suite 300", City: "San Francisco", State: "CA",
			PostalCode: "94105", Country: "US",
		},
		Contacts: []contactJSON{{
			ID: "con_bench0001", Email: "billing@acme.example", FirstName: "Ada", LastName: "Lovelace",
			IsPrimary: true, EmailPreferences: []string{"billing", "updates"},
		}},
		CreatedAt: stamp, UpdatedAt: stamp,
	}
}

type grantAnswer struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"accountId"`
	CreditType string    `json:"creditType"`
	Amount     string    `json:"amount"`
	Reason     string    `json:"reason,omitempty"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
}

// grantRef is a grant as GET /credit-grants shows it (the reference's
// names: type and description).
type grantRef struct {
	ID              string    `json:"id"`
	AccountID       string    `json:"accountId"`
	Type            string    `json:"type"`
	Amount          string    `json:"amount"`
	RemainingAmount string    `json:"remainingAmount"`
	ExpiresAt       time.Time `json:"expiresAt"`
	Priority        int       `json:"priority"`
	Status          string    `json:"status"`
	Description     string    `json:"description"`
	CreatedAt       time.Time `json:"createdAt"`
}

func newGrantRef(id, account string) grantRef {
	return grantRef{
		ID: id, AccountID: account, Type: "units", Amount: "50", RemainingAmount: "37.5",
		ExpiresAt: stamp.AddDate(0, 1, 0), Priority: 1, Status: "active",
		Description: "Welcome credits", CreatedAt: stamp,
	}
}

type subscriptionJSON struct {
	ID                string    `json:"id"`
	AccountID         string    `json:"accountId"`
	Name              string    `json:"name"`
	Description       string    `json:"description"`
	Status            string    `json:"status"`
	PlanID            string    `json:"planId"`
	Currency          string    `json:"currency"`
	TrialPeriodDays   int       `json:"trialPeriodDays"`
	ContractStartDate time.Time `json:"contractStartDate"`
	ContractEndDate   time.Time `json:"contractEndDate"`
	AutoRenew         bool      `json:"autoRenew"`
	ActivatedAt       time.Time `json:"activatedAt"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

func newSubscription(id, account string) subscriptionJSON {
	return subscriptionJSON{
		ID: id, AccountID: account, Name: "Pro", Description: "Pro plan, monthly", Status: "active",
		PlanID: PlanID, Currency: "USD", TrialPeriodDays: 14,
		ContractStartDate: stamp, ContractEndDate: stamp.AddDate(1, 0, 0), AutoRenew: true,
		ActivatedAt: stamp, CreatedAt: stamp, UpdatedAt: stamp,
	}
}

type invoiceJSON struct {
	ID                 string    `json:"id"`
	AccountID          string    `json:"accountId"`
	Currency           string    `json:"currency"`
	Description        string    `json:"description"`
	BillingPeriodStart time.Time `json:"billingPeriodStart"`
	BillingPeriodEnd   time.Time `json:"billingPeriodEnd"`
	Status             string    `json:"status"`
	Total              string    `json:"total"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

func newInvoice(id, account string) invoiceJSON {
	return invoiceJSON{
		ID: id, AccountID: account, Currency: "USD", Description: "Pro plan, March 2025",
		BillingPeriodStart: stamp, BillingPeriodEnd: stamp.AddDate(0, 1, 0),
		Status: "paid", Total: "200.00", CreatedAt: stamp, UpdatedAt: stamp,
	}
}

type lineItemJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	PlanID      string `json:"planId,omitempty"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unitPrice"`
	Amount      string `json:"amount"`
}

type invoiceDetailJSON struct {
	invoiceJSON
	SubscriptionID  string         `json:"subscriptionId"`
	IssueDate       time.Time      `json:"issueDate"`
	DueDate         time.Time      `json:"dueDate"`
	LineItems       []lineItemJSON `json:"lineItems"`
	Subtotal        string         `json:"subtotal"`
	Tax             string         `json:"tax"`
	AmountPaid      string         `json:"amountPaid"`
	AmountRemaining string         `json:"amountRemaining"`
}

type priceJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Interval string `json:"interval"`
}

type planJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Currency    string      `json:"currency"`
	Prices      []priceJSON `json:"prices"`
}

func newPlan(id string) planJSON {
	return planJSON{
		ID: id, Name: "Pro", Description: "For growing teams", Currency: "USD",
		Prices: []priceJSON{{"49.00", "USD", "month"}, {"490.00", "USD", "year"}},
	}
}

// pageID is the id of the i-th item of a list, from the item's base id.
func pageID(base string, i int) string { return base + "_" + strconv.Itoa(i) }

// apiHandler answers one call: it returns the status and the value to
// encode, or an error status with a detail.
type apiHandler func(r *http.Request, body []byte) (int, any)

// errorAnswer is Alguna's documented error body.
type errorAnswer struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func refuse(status int, format string, args ...any) (int, any) {
	return status, errorAnswer{Status: status, Detail: fmt.Sprintf(format, args...)}
}

// api wraps a handler with the checks every call gets and counts what it
// accepted.
func (c *counters) api(keyed bool, h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, out := c.serveAPI(r, keyed, h)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	}
}

func (c *counters) serveAPI(r *http.Request, keyed bool, h apiHandler) (int, any) {
	if r.Header.Get("Authorization") != "Bearer "+APIKey {
		return refuse(http.StatusUnauthorized, "missing or bad API key")
	}
	if r.Header.Get("Accept") != "application/json" {
		return refuse(http.StatusNotAcceptable, "Accept must be application/json")
	}
	if keyed && r.Header.Get("Idempotency-Key") == "" {
		return refuse(http.StatusBadRequest, "Idempotency-Key is required on %s %s", r.Method, r.URL.Path)
	}
	var data []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return refuse(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		}
		in, cr, err := body(r)
		if err != nil {
			return refuse(http.StatusBadRequest, "reading body: %v", err)
		}
		if data, err = io.ReadAll(in); err != nil {
			return refuse(http.StatusBadRequest, "reading body: %v", err)
		}
		c.bytes.Add(cr.n)
	}
	status, out := h(r, data)
	if status/100 == 2 {
		c.requests.Add(1)
	}
	return status, out
}

// decodeBody decodes a request body strictly into v.
func decodeBody(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// requireID checks a path id.
func requireID(r *http.Request, want string) (string, bool) {
	id := r.PathValue("id")
	return id, id == want
}

// registerAPI adds every call but POST /events and POST /accounts (which
// Alguna serves in sink.go) to mux.
func registerAPI(mux *http.ServeMux, c *counters) {
	mux.HandleFunc("GET /accounts/{id}", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, AccountID)
		if !ok {
			return refuse(http.StatusNotFound, "account %s not found", id)
		}
		return http.StatusOK, newFullAccount(id)
	}))
	mux.HandleFunc("PATCH /accounts/{id}", c.api(true, func(r *http.Request, body []byte) (int, any) {
		id, ok := requireID(r, AccountID)
		if !ok {
			return refuse(http.StatusNotFound, "account %s not found", id)
		}
		var p struct {
			Name     *string `json:"name"`
			Email    *string `json:"email"`
			Currency *string `json:"currency"`
		}
		if err := decodeBody(body, &p); err != nil {
			return refuse(http.StatusBadRequest, "body: %v", err)
		}
		if p.Name == nil && p.Email == nil && p.Currency == nil {
			return refuse(http.StatusBadRequest, "nothing to update")
		}
		a := newFullAccount(id)
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Email != nil {
			a.Email = *p.Email
		}
		if p.Currency != nil {
			a.Currency = *p.Currency
		}
		return http.StatusOK, a
	}))
	mux.HandleFunc("GET /accounts", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		if r.URL.Query().Get("limit") != strconv.Itoa(PageItems) {
			return refuse(http.StatusBadRequest, "limit must be %d here", PageItems)
		}
		page := struct {
			PageCount int           `json:"pageCount"`
			Data      []fullAccount `json:"data"`
		}{PageCount: 7}
		for i := range PageItems {
			page.Data = append(page.Data, newFullAccount(pageID(AccountID, i)))
		}
		return http.StatusOK, page
	}))
	mux.HandleFunc("GET /account-lookup", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		if r.URL.Query().Get("alias") == "" {
			return refuse(http.StatusBadRequest, "alias is required")
		}
		return http.StatusOK, struct {
			AccountID string `json:"accountId"`
		}{AccountID}
	}))
	mux.HandleFunc("POST /accounts/{id}/credits/grants", c.api(true, func(r *http.Request, body []byte) (int, any) {
		id, ok := requireID(r, AccountID)
		if !ok {
			return refuse(http.StatusNotFound, "account %s not found", id)
		}
		var p struct {
			CreditType string `json:"creditType"`
			Amount     string `json:"amount"`
			Reason     string `json:"reason"`
		}
		if err := decodeBody(body, &p); err != nil {
			return refuse(http.StatusBadRequest, "body: %v", err)
		}
		if p.CreditType != "units" && p.CreditType != "monetary" {
			return refuse(http.StatusBadRequest, "creditType must be units or monetary")
		}
		if _, err := strconv.ParseFloat(p.Amount, 64); err != nil || strings.HasPrefix(p.Amount, "-") {
			return refuse(http.StatusBadRequest, "amount must be a positive decimal string")
		}
		return http.StatusCreated, grantAnswer{
			ID: GrantID, AccountID: id, CreditType: p.CreditType, Amount: p.Amount, Reason: p.Reason,
			Status: "active", CreatedAt: stamp,
		}
	}))
	mux.HandleFunc("GET /accounts/{id}/credits/balance", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, AccountID)
		if !ok {
			return refuse(http.StatusNotFound, "account %s not found", id)
		}
		t := r.URL.Query().Get("type")
		if t != "units" && t != "monetary" {
			return refuse(http.StatusBadRequest, "type must be units or monetary")
		}
		return http.StatusOK, struct {
			AccountID  string `json:"accountId"`
			CreditType string `json:"creditType"`
			Balance    string `json:"balance"`
		}{id, t, "37.5"}
	}))
	mux.HandleFunc("GET /accounts/{id}/credits/availability", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, AccountID)
		if !ok {
			return refuse(http.StatusNotFound, "account %s not found", id)
		}
		q := r.URL.Query()
		if t := q.Get("type"); t != "units" && t != "monetary" {
			return refuse(http.StatusBadRequest, "type must be units or monetary")
		}
		required := q.Get("required")
		if _, err := strconv.ParseFloat(required, 64); err != nil {
			return refuse(http.StatusBadRequest, "required must be a decimal")
		}
		return http.StatusOK, struct {
			Available bool   `json:"available"`
			Balance   string `json:"balance"`
			Required  string `json:"required"`
			Shortfall string `json:"shortfall"`
		}{true, "37.5", required, "0"}
	}))
	mux.HandleFunc("GET /credit-grants", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		account := r.URL.Query().Get("accountId")
		if account == "" {
			return refuse(http.StatusBadRequest, "accountId is required")
		}
		var page struct {
			Items []grantRef `json:"items"`
		}
		for i := range PageItems {
			page.Items = append(page.Items, newGrantRef(pageID(GrantID, i), account))
		}
		return http.StatusOK, page
	}))
	mux.HandleFunc("GET /credit-grants/{id}", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, GrantID)
		if !ok {
			return refuse(http.StatusNotFound, "grant %s not found", id)
		}
		return http.StatusOK, newGrantRef(id, AccountID)
	}))
	mux.HandleFunc("POST /customer-session/checkout", c.api(true, func(_ *http.Request, body []byte) (int, any) {
		var p struct {
			AccountID        string `json:"accountId"`
			AccountEmail     string `json:"accountEmail"`
			Currency         string `json:"currency"`
			SuccessURL       string `json:"successUrl"`
			PassThroughToken string `json:"passThroughToken"`
		}
		if err := decodeBody(body, &p); err != nil {
			return refuse(http.StatusBadRequest, "body: %v", err)
		}
		if p.AccountID != AccountID {
			return refuse(http.StatusNotFound, "account %s not found", p.AccountID)
		}
		return http.StatusOK, struct {
			CheckoutSessionID string `json:"checkoutSessionId"`
			URL               string `json:"url"`
		}{CheckoutID, "https://billing.acme.example/checkout/" + CheckoutID + "?token=st_5f0c2b9e1d7a4c3e"}
	}))
	mux.HandleFunc("POST /portal/customer-session/customer-portal", c.api(true, func(_ *http.Request, body []byte) (int, any) {
		type section struct {
			ShowSection             *bool `json:"showSection"`
			AllowSubscriptionCancel *bool `json:"allowSubscriptionCancel,omitempty"`
		}
		var p struct {
			AccountID              string   `json:"accountId"`
			AccountAlias           string   `json:"accountAlias"`
			PlanOverviewSettings   *section `json:"planOverviewSettings"`
			InvoiceListSettings    *section `json:"invoiceListSettings"`
			BillingDetailsSettings *section `json:"billingDetailsSettings"`
		}
		if err := decodeBody(body, &p); err != nil {
			return refuse(http.StatusBadRequest, "body: %v", err)
		}
		if (p.AccountID == "") == (p.AccountAlias == "") {
			return refuse(http.StatusBadRequest, "give accountId or accountAlias")
		}
		return http.StatusOK, struct {
			SessionURL string `json:"sessionUrl"`
		}{"https://billing.acme.example/portal/ps_7d1e4a2b9c?token=pt_3b8f6e0a5d2c4f1e"}
	}))
	mux.HandleFunc("GET /subscriptions", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		account := r.URL.Query().Get("accountId")
		if account == "" {
			return refuse(http.StatusBadRequest, "this sink answers only lists filtered by accountId")
		}
		var page struct {
			Items []subscriptionJSON `json:"items"`
		}
		for i := range PageItems {
			page.Items = append(page.Items, newSubscription(pageID(SubscriptionID, i), account))
		}
		return http.StatusOK, page
	}))
	mux.HandleFunc("GET /subscriptions/{id}", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, SubscriptionID)
		if !ok {
			return refuse(http.StatusNotFound, "subscription %s not found", id)
		}
		return http.StatusOK, newSubscription(id, AccountID)
	}))
	mux.HandleFunc("GET /invoices", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		account := r.URL.Query().Get("accountId")
		if account == "" {
			return refuse(http.StatusBadRequest, "this sink answers only lists filtered by accountId")
		}
		var page struct {
			Items []invoiceJSON `json:"items"`
		}
		for i := range PageItems {
			page.Items = append(page.Items, newInvoice(pageID(InvoiceID, i), account))
		}
		return http.StatusOK, page
	}))
	mux.HandleFunc("GET /invoices/{id}", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, InvoiceID)
		if !ok {
			return refuse(http.StatusNotFound, "invoice %s not found", id)
		}
		return http.StatusOK, invoiceDetailJSON{
			invoiceJSON:    newInvoice(id, AccountID),
			SubscriptionID: SubscriptionID, IssueDate: stamp, DueDate: stamp.AddDate(0, 0, 30),
			LineItems: []lineItemJSON{
				{ID: "li_1", Description: "Pro plan", PlanID: PlanID, Quantity: "1", UnitPrice: "49.00", Amount: "49.00"},
				{ID: "li_2", Description: "API calls over the included 10,000", Quantity: "15100", UnitPrice: "0.01", Amount: "151.00"},
			},
			Subtotal: "200.00", Tax: "0.00", AmountPaid: "200.00", AmountRemaining: "0.00",
		}
	}))
	mux.HandleFunc("GET /plans", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		if r.URL.Query().Get("limit") != strconv.Itoa(PageItems) {
			return refuse(http.StatusBadRequest, "limit must be %d here", PageItems)
		}
		page := struct {
			Items     []planJSON `json:"items"`
			PageCount int        `json:"pageCount"`
			Limit     int        `json:"limit"`
		}{PageCount: 1, Limit: PageItems}
		for i := range PageItems {
			page.Items = append(page.Items, newPlan(pageID(PlanID, i)))
		}
		return http.StatusOK, page
	}))
	mux.HandleFunc("GET /plans/{id}", c.api(false, func(r *http.Request, _ []byte) (int, any) {
		id, ok := requireID(r, PlanID)
		if !ok {
			return refuse(http.StatusNotFound, "plan %s not found", id)
		}
		return http.StatusOK, newPlan(id)
	}))
}
