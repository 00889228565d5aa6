package algunatest

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Invoice statuses, as Alguna documents them. Checkout creates paid ones.
const (
	invoiceDraft   = "draft"
	invoiceIssued  = "issued"
	invoicePaid    = "paid"
	invoiceVoid    = "void"
	invoiceOverdue = "overdue"
)

type invoice struct {
	id                 string
	accountID          string
	subscriptionID     string
	currency           string
	description        string
	billingPeriodStart time.Time
	billingPeriodEnd   time.Time
	issueDate          time.Time
	dueDate            time.Time
	status             string
	lineItems          []lineItem
	total              decimal.Decimal // subtotal plus tax
	tax                decimal.Decimal
	amountPaid         decimal.Decimal
	createdAt          time.Time
	updatedAt          time.Time
	seq                int // creation order among all invoices
}

type lineItem struct {
	id          string
	description string
	planID      string
	quantity    decimal.Decimal
	unitPrice   decimal.Decimal
}

func (li lineItem) amount() decimal.Decimal { return li.quantity.Mul(li.unitPrice) }

func (i *invoice) subtotal() decimal.Decimal {
	sum := decimal.Zero
	for _, li := range i.lineItems {
		sum = sum.Add(li.amount())
	}
	return sum
}

// invoiceJSON is an invoice as lists and the invoice.* webhooks show it.
type invoiceJSON struct {
	ID                 string `json:"id"`
	AccountID          string `json:"accountId"`
	Currency           string `json:"currency"`
	Description        string `json:"description"`
	BillingPeriodStart string `json:"billingPeriodStart"`
	BillingPeriodEnd   string `json:"billingPeriodEnd"`
	Status             string `json:"status"`
	Total              string `json:"total"`
	CreatedAt          string `json:"createdAt"`
	UpdatedAt          string `json:"updatedAt"`
}

// invoiceDetailJSON is one invoice as GET /invoices/{id} shows it.
type invoiceDetailJSON struct {
	invoiceJSON
	SubscriptionID  string         `json:"subscriptionId,omitempty"`
	IssueDate       string         `json:"issueDate"`
	DueDate         string         `json:"dueDate"`
	LineItems       []lineItemJSON `json:"lineItems"`
	Subtotal        string         `json:"subtotal"`
	Tax             string         `json:"tax"`
	AmountPaid      string         `json:"amountPaid"`
	AmountRemaining string         `json:"amountRemaining"`
}

type lineItemJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	PlanID      string `json:"planId,omitempty"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unitPrice"`
	Amount      string `json:"amount"`
}

func (i *invoice) json() invoiceJSON {
	return invoiceJSON{
		ID:                 i.id,
		AccountID:          i.accountID,
		Currency:           i.currency,
		Description:        i.description,
		BillingPeriodStart: formatTime(i.billingPeriodStart),
		BillingPeriodEnd:   formatTime(i.billingPeriodEnd),
		Status:             i.status,
		Total:              formatMoney(i.total),
		CreatedAt:          formatTime(i.createdAt),
		UpdatedAt:          formatTime(i.updatedAt),
	}
}

func (i *invoice) detailJSON() invoiceDetailJSON {
	out := invoiceDetailJSON{
		invoiceJSON:     i.json(),
		SubscriptionID:  i.subscriptionID,
		IssueDate:       formatTime(i.issueDate),
		DueDate:         formatTime(i.dueDate),
		LineItems:       make([]lineItemJSON, 0, len(i.lineItems)),
		Subtotal:        formatMoney(i.subtotal()),
		Tax:             formatMoney(i.tax),
		AmountPaid:      formatMoney(i.amountPaid),
		AmountRemaining: formatMoney(i.total.Sub(i.amountPaid)),
	}
	for _, li := range i.lineItems {
		out.LineItems = append(out.LineItems, lineItemJSON{
			ID:          li.id,
			Description: li.description,
			PlanID:      li.planID,
			Quantity:    li.quantity.String(),
			UnitPrice:   formatMoney(li.unitPrice),
			Amount:      formatMoney(li.amount()),
		})
	}
	return out
}

// addInvoiceLocked files a new invoice under its account and in the
// server-wide list.
func (s *Server) addInvoiceLocked(a *account, inv *invoice) {
	inv.seq = len(s.st.invoiceOrder)
	a.invoices = append(a.invoices, inv)
	s.st.invoices[inv.id] = inv
	s.st.invoiceOrder = append(s.st.invoiceOrder, inv)
}

type payment struct {
	id        string
	invoiceID string
	amount    decimal.Decimal
	currency  string
	status    string
	createdAt time.Time
}

var invoiceStatuses = []string{invoiceDraft, invoiceIssued, invoicePaid, invoiceVoid, invoiceOverdue}

var invoiceSortFields = map[string]func(a, b *invoice) int{
	"createdAt": func(a, b *invoice) int { return cmp.Compare(a.seq, b.seq) },
	"updatedAt": func(a, b *invoice) int { return a.updatedAt.Compare(b.updatedAt) },
	"id":        func(a, b *invoice) int { return cmp.Compare(a.id, b.id) },
}

type invoiceList struct {
	Items []invoiceJSON `json:"items"`
}

// listInvoices is GET /invoices?accountId=&status=&page=&limit=&sort=.
// accountId may be the account's id or an alias.
func (s *Server) listInvoices(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	pq, err := parsePageQuery(q)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	status := q.Get("status")
	if status != "" && !slices.Contains(invoiceStatuses, status) {
		return fail(http.StatusBadRequest, "status must be draft, issued, paid, void or overdue, got %s", quoteShort(status))
	}
	less, err := sortOrder(q.Get("sort"), "createdAt:asc", invoiceSortFields, "createdAt, updatedAt, id")
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.st.invoiceOrder
	if ref := q.Get("accountId"); ref != "" {
		a := s.resolveLocked(ref)
		if a == nil {
			return accountNotFound(ref)
		}
		all = a.invoices
	}
	var match []*invoice
	for _, inv := range all {
		if status == "" || inv.status == status {
			match = append(match, inv)
		}
	}
	slices.SortStableFunc(match, less)
	out := invoiceList{Items: []invoiceJSON{}}
	for _, inv := range pageOf(match, pq) {
		out.Items = append(out.Items, inv.json())
	}
	return http.StatusOK, out
}

// getInvoice is GET /invoices/{id}.
func (s *Server) getInvoice(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.st.invoices[id]
	if !ok {
		return fail(http.StatusNotFound, "invoice %s not found", shorten(id))
	}
	return http.StatusOK, inv.detailJSON()
}
