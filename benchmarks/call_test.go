package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/benchmarks/internal/sink"
)

// BenchmarkCall makes one call per op against the Alguna sink, for every
// call of the SDK, through the SDK and through a hand-written net/http +
// encoding/json request that puts the same bytes on the wire: the same
// method, path and query, the same headers (a random Idempotency-Key on
// every POST and PATCH but POST /events) and the same JSON body.
// TestCallsSendTheSameRequest checks that they do. The difference is the
// SDK's per-call overhead. Each op checks the answer, and the sink must have
// answered exactly b.N requests with success (no hidden retries).
func BenchmarkCall(b *testing.B) {
	for _, cc := range callCases {
		b.Run("call="+cc.name+"/client=alguna", func(b *testing.B) {
			c := newBenchClient(b, sinks.Alguna, &http.Client{Transport: newTransport(), Timeout: 30 * time.Second})
			runCalls(b, cc.want, func(ctx context.Context) (string, error) { return cc.sdk(ctx, c) })
		})
		b.Run("call="+cc.name+"/client=hand-written", func(b *testing.B) {
			h := newHandClient(sinks.Alguna, &http.Client{Transport: newTransport(), Timeout: 30 * time.Second})
			runCalls(b, cc.want, func(ctx context.Context) (string, error) { return cc.hand(ctx, h) })
		})
	}
}

// newBenchClient is the SDK's client of the sink at baseURL.
func newBenchClient(tb testing.TB, baseURL string, hc *http.Client) *alguna.Client {
	tb.Helper()
	c, err := alguna.NewClient(sink.APIKey, alguna.WithBaseURL(baseURL), alguna.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// runCalls times b.N sequential calls, each of which must answer want, and
// checks the sink's count.
func runCalls(b *testing.B, want string, call func(context.Context) (string, error)) {
	ctx := context.Background()
	// One call outside the timer opens the connection both clients reuse.
	if _, err := call(ctx); err != nil {
		b.Fatal(err)
	}
	before := readSink(b, sinks.Alguna)
	cpu := sink.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := call(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if got != want {
			b.Fatalf("answer %q, want %q", got, want)
		}
	}
	b.StopTimer()
	cpu = sink.ProcessCPU() - cpu
	got := readSink(b, sinks.Alguna).Sub(before)
	if got.Requests != int64(b.N) {
		b.Fatalf("sink answered %d requests with success, want %d", got.Requests, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "client-cpu-ns/op")
	b.ReportMetric(float64(got.CPU.Nanoseconds())/float64(b.N), "sink-cpu-ns/op")
}

// callCase is one call of the SDK and its hand-written twin. Each returns
// one fact of the answer (an id, a URL, an amount), which must be want,
// after checking the rest of the answer's shape the same way.
type callCase struct {
	name string
	sdk  func(context.Context, *alguna.Client) (string, error)
	hand func(context.Context, *handClient) (string, error)
	want string
}

// The parameters of the calls, the same for both clients.
var (
	accountParams = alguna.AccountCreateParams{Name: "Acme Inc", Email: "billing@acme.example", Alias: "cus_4821"}
	newName       = "Acme Corporation"
	grantAmount   = decimal.NewFromInt(50)
	requiredUnits = decimal.NewFromInt(10)
	checkoutParam = alguna.CheckoutSessionParams{
		AccountID: sink.AccountID, AccountEmail: "billing@acme.example", Currency: "USD",
		SuccessURL: "https://app.acme.example/billing/done", PassThroughToken: "order_8812",
	}
	pageOptions = alguna.ListOptions{Limit: sink.PageItems}
)

// lastID is the id of the last item of a page the sink answers.
func lastID(base string) string { return fmt.Sprintf("%s_%d", base, sink.PageItems-1) }

// page checks that a list holds a full page and returns its last item's id.
func page[T any](items []T, id func(T) string) (string, error) {
	if len(items) != sink.PageItems {
		return "", fmt.Errorf("page of %d items, want %d", len(items), sink.PageItems)
	}
	return id(items[len(items)-1]), nil
}

var callCases = []callCase{
	{
		name: "Accounts.Create", want: "Acme Inc",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			a, err := c.Accounts.Create(ctx, &accountParams)
			if err != nil {
				return "", err
			}
			return a.Name, nonEmpty(a.ID)
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var a handAccount
			err := h.do(ctx, http.MethodPost, "/accounts", nil, &handAccountCreate{
				Name: accountParams.Name, Email: accountParams.Email, Alias: accountParams.Alias,
			}, &a)
			return a.Name, firstErr(err, nonEmpty(a.ID))
		},
	},
	{
		name: "Accounts.Get", want: sink.AccountID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			a, err := c.Accounts.Get(ctx, sink.AccountID)
			if err != nil {
				return "", err
			}
			return a.ID, nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var a handAccount
			err := h.do(ctx, http.MethodGet, "/accounts/"+url.PathEscape(sink.AccountID), nil, nil, &a)
			return a.ID, err
		},
	},
	{
		name: "Accounts.Update", want: newName,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			a, err := c.Accounts.Update(ctx, sink.AccountID, &alguna.AccountUpdateParams{Name: &newName})
			if err != nil {
				return "", err
			}
			return a.Name, nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var a handAccount
			err := h.do(ctx, http.MethodPatch, "/accounts/"+url.PathEscape(sink.AccountID), nil,
				&handAccountUpdate{Name: newName}, &a)
			return a.Name, err
		},
	},
	{
		name: "Accounts.List", want: lastID(sink.AccountID),
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			l, err := c.Accounts.List(ctx, &pageOptions)
			if err != nil {
				return "", err
			}
			return page(l.Data, func(a *alguna.Account) string { return a.ID })
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				PageCount int           `json:"pageCount"`
				Data      []handAccount `json:"data"`
			}
			if err := h.do(ctx, http.MethodGet, "/accounts", url.Values{"limit": {"10"}}, nil, &l); err != nil {
				return "", err
			}
			return page(l.Data, func(a handAccount) string { return a.ID })
		},
	},
	{
		name: "Accounts.Lookup", want: sink.AccountID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			return c.Accounts.Lookup(ctx, accountParams.Alias)
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				AccountID string `json:"accountId"`
			}
			err := h.do(ctx, http.MethodGet, "/account-lookup", url.Values{"alias": {accountParams.Alias}}, nil, &l)
			return l.AccountID, err
		},
	},
	{
		name: "Credits.Grant", want: "50",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			g, err := c.Credits.Grant(ctx, sink.AccountID, &alguna.CreditGrantParams{
				CreditType: alguna.CreditTypeUnits, Amount: grantAmount, Reason: "Welcome credits",
			})
			if err != nil {
				return "", err
			}
			return g.Amount.String(), nonEmpty(g.ID)
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var g handGrant
			err := h.do(ctx, http.MethodPost, "/accounts/"+url.PathEscape(sink.AccountID)+"/credits/grants", nil,
				&handGrantParams{CreditType: "units", Reason: "Welcome credits", Amount: grantAmount.String()}, &g)
			return g.Amount.String(), firstErr(err, nonEmpty(g.ID))
		},
	},
	{
		name: "Credits.Balance", want: "37.5",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			bal, err := c.Credits.Balance(ctx, sink.AccountID, alguna.CreditTypeUnits)
			if err != nil {
				return "", err
			}
			return bal.Balance.String(), nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var bal struct {
				AccountID  string          `json:"accountId"`
				CreditType string          `json:"creditType"`
				Balance    decimal.Decimal `json:"balance"`
			}
			err := h.do(ctx, http.MethodGet, "/accounts/"+url.PathEscape(sink.AccountID)+"/credits/balance",
				url.Values{"type": {"units"}}, nil, &bal)
			return bal.Balance.String(), err
		},
	},
	{
		name: "Credits.Availability", want: "true",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			a, err := c.Credits.Availability(ctx, sink.AccountID, alguna.CreditTypeUnits, requiredUnits)
			if err != nil {
				return "", err
			}
			return fmt.Sprint(a.Available), nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var a struct {
				Available bool            `json:"available"`
				Balance   decimal.Decimal `json:"balance"`
				Required  decimal.Decimal `json:"required"`
				Shortfall decimal.Decimal `json:"shortfall"`
			}
			err := h.do(ctx, http.MethodGet, "/accounts/"+url.PathEscape(sink.AccountID)+"/credits/availability",
				url.Values{"type": {"units"}, "required": {requiredUnits.String()}}, nil, &a)
			return fmt.Sprint(a.Available), err
		},
	},
	{
		name: "Credits.ListGrants", want: lastID(sink.GrantID),
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			l, err := c.Credits.ListGrants(ctx, sink.AccountID, &pageOptions)
			if err != nil {
				return "", err
			}
			return page(l.Data, func(g *alguna.CreditGrant) string { return g.ID })
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				Items []handGrantRef `json:"items"`
			}
			if err := h.do(ctx, http.MethodGet, "/credit-grants",
				url.Values{"accountId": {sink.AccountID}, "limit": {"10"}}, nil, &l); err != nil {
				return "", err
			}
			return page(l.Items, func(g handGrantRef) string { return g.ID })
		},
	},
	{
		name: "Credits.GetGrant", want: sink.GrantID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			g, err := c.Credits.GetGrant(ctx, sink.GrantID)
			if err != nil {
				return "", err
			}
			return g.ID, nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var g handGrantRef
			err := h.do(ctx, http.MethodGet, "/credit-grants/"+url.PathEscape(sink.GrantID), nil, nil, &g)
			return g.ID, err
		},
	},
	{
		name: "Checkout.CreateSession", want: sink.CheckoutID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			s, err := c.Checkout.CreateSession(ctx, &checkoutParam)
			if err != nil {
				return "", err
			}
			return s.ID, nonEmpty(s.URL)
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var s struct {
				ID  string `json:"checkoutSessionId"`
				URL string `json:"url"`
			}
			err := h.do(ctx, http.MethodPost, "/customer-session/checkout", nil, &handCheckoutParams{
				AccountID: checkoutParam.AccountID, AccountEmail: checkoutParam.AccountEmail, Currency: checkoutParam.Currency,
				SuccessURL: checkoutParam.SuccessURL, PassThroughToken: checkoutParam.PassThroughToken,
			}, &s)
			return s.ID, firstErr(err, nonEmpty(s.URL))
		},
	},
	{
		name: "Portal.CreateSession", want: "ok",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			s, err := c.Portal.CreateSession(ctx, &alguna.PortalSessionParams{
				AccountID:            sink.AccountID,
				PlanOverviewSettings: &alguna.PlanOverviewSettings{AllowSubscriptionCancel: alguna.Bool(false)},
			})
			if err != nil {
				return "", err
			}
			return "ok", nonEmpty(s.URL)
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var s struct {
				URL string `json:"sessionUrl"`
			}
			no := false
			err := h.do(ctx, http.MethodPost, "/portal/customer-session/customer-portal", nil, &handPortalParams{
				AccountID: sink.AccountID, PlanOverviewSettings: &handPlanOverview{AllowSubscriptionCancel: &no},
			}, &s)
			return "ok", firstErr(err, nonEmpty(s.URL))
		},
	},
	{
		name: "Events.Ingest", want: "1",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			events := []alguna.Event{{Account: eventAccount, EventName: eventName, Properties: algunaProps}}
			r, err := c.Events.Ingest(ctx, events)
			if err != nil {
				return "", err
			}
			if len(r.Ingested) != 1 || r.Ingested[0] != events[0].UniqueID {
				return "", fmt.Errorf("ingested %q, want the event's id %q", r.Ingested, events[0].UniqueID)
			}
			return fmt.Sprint(len(r.Ingested)), nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			events := []handEvent{{
				UniqueID: uuid.NewString(), Account: eventAccount, EventName: eventName,
				Timestamp: time.Now().UTC(), Properties: algunaProps,
			}}
			var r struct {
				Ingested []string `json:"ingested"`
				Failed   []string `json:"failed"`
			}
			if err := h.do(ctx, http.MethodPost, "/events", nil, events, &r); err != nil {
				return "", err
			}
			if len(r.Ingested) != 1 || r.Ingested[0] != events[0].UniqueID {
				return "", fmt.Errorf("ingested %q, want the event's id %q", r.Ingested, events[0].UniqueID)
			}
			return fmt.Sprint(len(r.Ingested)), nil
		},
	},
	{
		name: "Subscriptions.List", want: lastID(sink.SubscriptionID),
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			l, err := c.Subscriptions.List(ctx, &alguna.SubscriptionListParams{ListOptions: pageOptions, AccountID: sink.AccountID})
			if err != nil {
				return "", err
			}
			return page(l.Data, func(s *alguna.Subscription) string { return s.ID })
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				Items []handSubscription `json:"items"`
			}
			if err := h.do(ctx, http.MethodGet, "/subscriptions",
				url.Values{"accountId": {sink.AccountID}, "limit": {"10"}}, nil, &l); err != nil {
				return "", err
			}
			return page(l.Items, func(s handSubscription) string { return s.ID })
		},
	},
	{
		name: "Subscriptions.Get", want: sink.SubscriptionID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			s, err := c.Subscriptions.Get(ctx, sink.SubscriptionID)
			if err != nil {
				return "", err
			}
			return s.ID, nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var s handSubscription
			err := h.do(ctx, http.MethodGet, "/subscriptions/"+url.PathEscape(sink.SubscriptionID), nil, nil, &s)
			return s.ID, err
		},
	},
	{
		name: "Invoices.List", want: lastID(sink.InvoiceID),
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			l, err := c.Invoices.List(ctx, &alguna.InvoiceListParams{ListOptions: pageOptions, AccountID: sink.AccountID})
			if err != nil {
				return "", err
			}
			return page(l.Data, func(inv *alguna.Invoice) string { return inv.ID })
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				Items []handInvoice `json:"items"`
			}
			if err := h.do(ctx, http.MethodGet, "/invoices",
				url.Values{"accountId": {sink.AccountID}, "limit": {"10"}}, nil, &l); err != nil {
				return "", err
			}
			return page(l.Items, func(inv handInvoice) string { return inv.ID })
		},
	},
	{
		name: "Invoices.Get", want: "200",
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			inv, err := c.Invoices.Get(ctx, sink.InvoiceID)
			if err != nil {
				return "", err
			}
			if len(inv.LineItems) != 2 {
				return "", fmt.Errorf("%d line items, want 2", len(inv.LineItems))
			}
			return inv.Total.String(), nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var inv handInvoiceDetail
			if err := h.do(ctx, http.MethodGet, "/invoices/"+url.PathEscape(sink.InvoiceID), nil, nil, &inv); err != nil {
				return "", err
			}
			if len(inv.LineItems) != 2 {
				return "", fmt.Errorf("%d line items, want 2", len(inv.LineItems))
			}
			return inv.Total.String(), nil
		},
	},
	{
		name: "Plans.List", want: lastID(sink.PlanID),
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			l, err := c.Plans.List(ctx, &pageOptions)
			if err != nil {
				return "", err
			}
			return page(l.Data, func(p *alguna.Plan) string { return p.ID })
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var l struct {
				Items     []handPlan `json:"items"`
				PageCount int        `json:"pageCount"`
			}
			if err := h.do(ctx, http.MethodGet, "/plans", url.Values{"limit": {"10"}}, nil, &l); err != nil {
				return "", err
			}
			return page(l.Items, func(p handPlan) string { return p.ID })
		},
	},
	{
		name: "Plans.Get", want: sink.PlanID,
		sdk: func(ctx context.Context, c *alguna.Client) (string, error) {
			p, err := c.Plans.Get(ctx, sink.PlanID)
			if err != nil {
				return "", err
			}
			return p.ID, nil
		},
		hand: func(ctx context.Context, h *handClient) (string, error) {
			var p handPlan
			err := h.do(ctx, http.MethodGet, "/plans/"+url.PathEscape(sink.PlanID), nil, nil, &p)
			return p.ID, err
		},
	},
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("answer lacks a field it must have")
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// handClient is what a careful program would write to call Alguna without
// the SDK: one helper that sets the headers, marshals the body, checks the
// status and decodes the answer.
type handClient struct {
	hc        *http.Client
	base      string
	auth      string
	userAgent string
}

func newHandClient(base string, hc *http.Client) *handClient {
	return &handClient{hc: hc, base: base, auth: "Bearer " + sink.APIKey, userAgent: "alguna-go/" + alguna.Version}
}

func (h *handClient) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := h.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", h.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", h.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Alguna's idempotency key for events is each event's uniqueId.
	if (method == http.MethodPost || method == http.MethodPatch) && path != "/events" {
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, detail)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// The hand-written client's own types, declared as such a program would:
// the fields each answer has, money as decimal.Decimal, times as time.Time.

type handAccountCreate struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Alias string `json:"alias,omitempty"`
}

type handAccountUpdate struct {
	Name string `json:"name"`
}

type handAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type handContact struct {
	ID               string   `json:"id"`
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	IsPrimary        bool     `json:"isPrimary"`
	EmailPreferences []string `json:"emailPreferences"`
}

type handAccount struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Email          string        `json:"email"`
	Alias          string        `json:"alias"`
	Aliases        []string      `json:"aliases"`
	Currency       string        `json:"currency"`
	BillingAddress *handAddress  `json:"billingAddress"`
	Contacts       []handContact `json:"contacts"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

// handGrantParams sends the fields in the order the SDK's encoder writes
// them, amount last, so that both bodies are the same bytes.
type handGrantParams struct {
	CreditType string `json:"creditType"`
	Reason     string `json:"reason,omitempty"`
	Amount     string `json:"amount"`
}

// handGrant is the answer to a grant, in the guide's names.
type handGrant struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"accountId"`
	CreditType string          `json:"creditType"`
	Amount     decimal.Decimal `json:"amount"`
	Reason     string          `json:"reason"`
	Status     string          `json:"status"`
	CreatedAt  time.Time       `json:"createdAt"`
}

// handGrantRef is a grant as GET /credit-grants shows it, in the
// reference's names.
type handGrantRef struct {
	ID              string          `json:"id"`
	AccountID       string          `json:"accountId"`
	Type            string          `json:"type"`
	Amount          decimal.Decimal `json:"amount"`
	RemainingAmount decimal.Decimal `json:"remainingAmount"`
	Currency        string          `json:"currency"`
	ExpiresAt       *time.Time      `json:"expiresAt"`
	Priority        *int            `json:"priority"`
	Status          string          `json:"status"`
	Description     string          `json:"description"`
	CreatedAt       time.Time       `json:"createdAt"`
}

type handCheckoutParams struct {
	AccountID        string `json:"accountId"`
	AccountEmail     string `json:"accountEmail,omitempty"`
	Currency         string `json:"currency,omitempty"`
	SuccessURL       string `json:"successUrl,omitempty"`
	PassThroughToken string `json:"passThroughToken,omitempty"`
}

type handPlanOverview struct {
	ShowSection             *bool `json:"showSection,omitempty"`
	AllowSubscriptionCancel *bool `json:"allowSubscriptionCancel,omitempty"`
}

type handPortalParams struct {
	AccountID            string            `json:"accountId"`
	PlanOverviewSettings *handPlanOverview `json:"planOverviewSettings,omitempty"`
}

type handEvent struct {
	UniqueID   string         `json:"uniqueId"`
	Account    string         `json:"account"`
	EventName  string         `json:"eventName"`
	Timestamp  time.Time      `json:"timestamp"`
	Properties map[string]any `json:"properties,omitempty"`
}

type handSubscription struct {
	ID                string     `json:"id"`
	AccountID         string     `json:"accountId"`
	Name              string     `json:"name"`
	Description       string     `json:"description"`
	Status            string     `json:"status"`
	PlanID            string     `json:"planId"`
	Currency          string     `json:"currency"`
	TrialPeriodDays   int        `json:"trialPeriodDays"`
	AutoRenew         bool       `json:"autoRenew"`
	ContractStartDate *time.Time `json:"contractStartDate"`
	ContractEndDate   *time.Time `json:"contractEndDate"`
	ActivatedAt       *time.Time `json:"activatedAt"`
	EndedAt           *time.Time `json:"endedAt"`
	CancelationReason string     `json:"cancelationReason"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
}

type handInvoice struct {
	ID                 string          `json:"id"`
	AccountID          string          `json:"accountId"`
	SubscriptionID     string          `json:"subscriptionId"`
	Currency           string          `json:"currency"`
	Description        string          `json:"description"`
	BillingPeriodStart *time.Time      `json:"billingPeriodStart"`
	BillingPeriodEnd   *time.Time      `json:"billingPeriodEnd"`
	Status             string          `json:"status"`
	Total              decimal.Decimal `json:"total"`
	CreatedAt          time.Time       `json:"createdAt"`
	UpdatedAt          time.Time       `json:"updatedAt"`
}

type handLineItem struct {
	ID          string          `json:"id"`
	Description string          `json:"description"`
	PlanID      string          `json:"planId"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	Amount      decimal.Decimal `json:"amount"`
}

type handInvoiceDetail struct {
	handInvoice
	IssueDate       *time.Time      `json:"issueDate"`
	DueDate         *time.Time      `json:"dueDate"`
	LineItems       []handLineItem  `json:"lineItems"`
	Subtotal        decimal.Decimal `json:"subtotal"`
	Tax             decimal.Decimal `json:"tax"`
	AmountPaid      decimal.Decimal `json:"amountPaid"`
	AmountRemaining decimal.Decimal `json:"amountRemaining"`
}

// handPlan keeps what Alguna documents of a plan and its prices as they
// came, as the SDK does.
type handPlan struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Currency    string          `json:"currency"`
	Prices      json.RawMessage `json:"prices"`
}
