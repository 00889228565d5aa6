package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// InvoicesService reads customers' invoices: what an account was billed and
// what it has paid.
type InvoicesService struct {
	owner *Client
}

// client is the Client the service sends through; see AccountsService.
func (s *InvoicesService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

// InvoiceStatus is an invoice's state.
type InvoiceStatus string

// The invoice statuses Alguna documents.
const (
	// InvoiceStatusDraft is an invoice not yet issued.
	InvoiceStatusDraft InvoiceStatus = "draft"
	// InvoiceStatusIssued is an invoice sent and awaiting payment.
	InvoiceStatusIssued InvoiceStatus = "issued"
	// InvoiceStatusPaid is an invoice fully paid.
	InvoiceStatusPaid InvoiceStatus = "paid"
	// InvoiceStatusVoid is an invoice cancelled after it was issued.
	InvoiceStatusVoid InvoiceStatus = "void"
	// InvoiceStatusOverdue is an issued invoice past its due date.
	InvoiceStatusOverdue InvoiceStatus = "overdue"
)

// Invoice is a bill, as GET /invoices answers it and as every invoice.*
// webhook carries it. The fields from DueDate on come with GET
// /invoices/{id}; in a list they are empty.
type Invoice struct {
	ID                 string          `json:"id"`
	AccountID          string          `json:"accountId"`
	SubscriptionID     string          `json:"subscriptionId,omitempty"`
	Currency           string          `json:"currency"`
	Description        string          `json:"description,omitempty"`
	BillingPeriodStart *time.Time      `json:"billingPeriodStart,omitempty"` // nil on one-off invoices
	BillingPeriodEnd   *time.Time      `json:"billingPeriodEnd,omitempty"`
	Status             InvoiceStatus   `json:"status"`
	Total              decimal.Decimal `json:"total"`
	CreatedAt          time.Time       `json:"createdAt"`
	UpdatedAt          time.Time       `json:"updatedAt"`

	IssueDate *time.Time        `json:"issueDate,omitempty"`
	DueDate   *time.Time        `json:"dueDate,omitempty"`
	LineItems []InvoiceLineItem `json:"lineItems,omitempty"`
	// Subtotal, Tax, AmountPaid and AmountRemaining are set (Valid) when
	// the answer holds them.
	Subtotal        decimal.NullDecimal `json:"subtotal,omitzero"`
	Tax             decimal.NullDecimal `json:"tax,omitzero"`
	AmountPaid      decimal.NullDecimal `json:"amountPaid,omitzero"`
	AmountRemaining decimal.NullDecimal `json:"amountRemaining,omitzero"`
}

// InvoiceLineItem is one line of an invoice.
type InvoiceLineItem struct {
	ID          string          `json:"id"`
	Description string          `json:"description,omitempty"`
	PlanID      string          `json:"planId,omitempty"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unitPrice"`
	Amount      decimal.Decimal `json:"amount"`
}

func (inv *Invoice) listID() string      { return inv.ID }
func (inv *Invoice) listAccount() string { return inv.AccountID }

func (inv *Invoice) check() error {
	if inv.ID == "" {
		return errors.New("invoice has no id")
	}
	return nil
}

// UnmarshalJSON accepts the billing period bounds, issue and due dates as
// RFC 3339 times or as bare dates ("2025-03-01", read as midnight UTC).
func (inv *Invoice) UnmarshalJSON(b []byte) error {
	var w invoiceWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*inv = *w.invoice()
	return nil
}

// invoiceWire is an invoice as the API writes it; see subscriptionWire.
type invoiceWire struct {
	invoiceFields
	BillingPeriodStart lenientTime `json:"billingPeriodStart"`
	BillingPeriodEnd   lenientTime `json:"billingPeriodEnd"`
	IssueDate          lenientTime `json:"issueDate"`
	DueDate            lenientTime `json:"dueDate"`
}

// invoiceFields is Invoice without its methods.
type invoiceFields Invoice

func (w *invoiceWire) invoice() *Invoice {
	inv := Invoice(w.invoiceFields)
	inv.BillingPeriodStart, inv.BillingPeriodEnd = w.BillingPeriodStart.t, w.BillingPeriodEnd.t
	inv.IssueDate, inv.DueDate = w.IssueDate.t, w.DueDate.t
	return &inv
}

func (w *invoiceWire) check() error { return (*Invoice)(&w.invoiceFields).check() }

// InvoiceListParams selects invoices.
type InvoiceListParams struct {
	ListOptions
	// AccountID keeps one account's invoices. It is the Alguna account id;
	// Accounts.Lookup finds it from an alias.
	AccountID string `url:"accountId,omitempty"`
	// Status keeps invoices in that state.
	Status InvoiceStatus `url:"status,omitempty"`
}

// accountID is the account the list is filtered by, or "".
func (p *InvoiceListParams) accountID() string {
	if p == nil {
		return ""
	}
	return p.AccountID
}

func (p *InvoiceListParams) validate() error {
	if p == nil {
		return nil
	}
	return filterProblems(&p.ListOptions, p.AccountID, string(p.Status)).err()
}

// InvoiceList is one page of invoices.
type InvoiceList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int
	Data      []*Invoice
}

func (l *InvoiceList) page() ([]*Invoice, int) { return l.Data, l.PageCount }

// The invoices endpoints.
var (
	listInvoices = get("/invoices")
	getInvoice   = get("/invoices/{id}")
)

// List fetches one page of invoices. Filtered by account, the answer is
// checked to hold only that account's invoices: an answer holding another's
// fails with ErrInvalidResponse rather than show it.
//
// GET /invoices?accountId={accountId}&status={status}&page={page}&limit={limit}
func (s *InvoicesService) List(ctx context.Context, p *InvoiceListParams, opts ...RequestOption) (*InvoiceList, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	items, pageCount, err := fetchPage(ctx, s.client(), listInvoices.with(), queryOf(p), p.accountID(), opts, infallible((*invoiceWire).invoice))
	if err != nil {
		return nil, err
	}
	return &InvoiceList{PageCount: pageCount, Data: items}, nil
}

// All walks every invoice p selects, page by page from p.Page, until the
// last page. An error ends the walk after it is yielded.
//
// GET /invoices?accountId={accountId}&status={status}&page={page}&limit={limit}
func (s *InvoicesService) All(ctx context.Context, p *InvoiceListParams, opts ...RequestOption) iter.Seq2[*Invoice, error] {
	var q InvoiceListParams
	if p != nil {
		q = *p
	}
	return paginate[Invoice](ctx, listInvoices, &q.ListOptions, func(ctx context.Context, page ListOptions) (*InvoiceList, error) {
		q.ListOptions = page
		return s.List(ctx, &q, opts...)
	})
}

// Get fetches one invoice with its line items and amounts.
//
// GET /invoices/{id}
func (s *InvoicesService) Get(ctx context.Context, id string, opts ...RequestOption) (*Invoice, error) {
	if id == "" {
		return nil, invalid("invoice id is required")
	}
	var w invoiceWire
	if err := s.client().do(ctx, getInvoice.with(id), nil, nil, &w, opts); err != nil {
		return nil, err
	}
	return w.invoice(), nil
}
