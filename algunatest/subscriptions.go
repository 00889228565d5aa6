package algunatest

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// subscription is an account's subscription to a plan. Checkout creates
// it active; the portal cancels it.
type subscription struct {
	id                string
	accountID         string
	name              string
	description       string
	planID            string
	status            alguna.SubscriptionStatus
	currency          string
	amount            decimal.Decimal
	interval          string
	trialPeriodDays   int
	contractStartDate time.Time
	contractEndDate   time.Time // zero while open-ended
	activatedAt       time.Time
	// canceledAt is when the subscription was canceled, which in the fake
	// is also when it ended: the portal cancels at once.
	canceledAt        time.Time
	cancelationReason string
	createdAt         time.Time
	updatedAt         time.Time
	seq               int // creation order among all subscriptions
}

// subscriptionJSON is a subscription on the wire, in the API's answers and
// in the subscription.* webhooks alike.
type subscriptionJSON struct {
	ID                string                    `json:"id"`
	AccountID         string                    `json:"accountId"`
	Name              string                    `json:"name"`
	Description       string                    `json:"description,omitempty"`
	Status            alguna.SubscriptionStatus `json:"status"`
	PlanID            string                    `json:"planId,omitempty"`
	Currency          string                    `json:"currency"`
	TrialPeriodDays   int                       `json:"trialPeriodDays"`
	ContractStartDate string                    `json:"contractStartDate"`
	ContractEndDate   string                    `json:"contractEndDate,omitempty"`
	AutoRenew         bool                      `json:"autoRenew"`
	ActivatedAt       string                    `json:"activatedAt,omitempty"`
	EndedAt           string                    `json:"endedAt,omitempty"`
	CanceledAt        string                    `json:"canceledAt,omitempty"`
	CancelationReason string                    `json:"cancelationReason,omitempty"`
	CreatedAt         string                    `json:"createdAt"`
	UpdatedAt         string                    `json:"updatedAt"`
}

func (s *subscription) json() subscriptionJSON {
	out := subscriptionJSON{
		ID:                s.id,
		AccountID:         s.accountID,
		Name:              s.name,
		Description:       s.description,
		Status:            s.status,
		PlanID:            s.planID,
		Currency:          s.currency,
		TrialPeriodDays:   s.trialPeriodDays,
		ContractStartDate: formatTime(s.contractStartDate),
		// A running subscription renews each period until it is canceled.
		AutoRenew:         s.status == alguna.SubscriptionStatusActive,
		CancelationReason: s.cancelationReason,
		CreatedAt:         formatTime(s.createdAt),
		UpdatedAt:         formatTime(s.updatedAt),
	}
	if !s.activatedAt.IsZero() {
		out.ActivatedAt = formatTime(s.activatedAt)
	}
	if !s.contractEndDate.IsZero() {
		out.ContractEndDate = formatTime(s.contractEndDate)
	}
	if !s.canceledAt.IsZero() {
		out.CanceledAt = formatTime(s.canceledAt)
		out.EndedAt = out.CanceledAt
	}
	return out
}

// addSubscriptionLocked files a new subscription under its account and in
// the server-wide list.
func (s *Server) addSubscriptionLocked(a *account, sub *subscription) {
	sub.seq = len(s.st.subscriptionOrder)
	a.subscriptions = append(a.subscriptions, sub)
	s.st.subscriptions[sub.id] = sub
	s.st.subscriptionOrder = append(s.st.subscriptionOrder, sub)
}

var subscriptionStatuses = []alguna.SubscriptionStatus{
	alguna.SubscriptionStatusDraft, alguna.SubscriptionStatusActive, alguna.SubscriptionStatusCanceled,
}

var subscriptionSortFields = map[string]func(a, b *subscription) int{
	"createdAt": func(a, b *subscription) int { return cmp.Compare(a.seq, b.seq) },
	"updatedAt": func(a, b *subscription) int { return a.updatedAt.Compare(b.updatedAt) },
	"id":        func(a, b *subscription) int { return cmp.Compare(a.id, b.id) },
}

type subscriptionList struct {
	Items []subscriptionJSON `json:"items"`
}

// listSubscriptions is GET /subscriptions?accountId=&status=&page=&limit=&sort=.
// accountId may be the account's id or an alias.
func (s *Server) listSubscriptions(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	pq, err := parsePageQuery(q)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	status := alguna.SubscriptionStatus(q.Get("status"))
	if status != "" && !slices.Contains(subscriptionStatuses, status) {
		return fail(http.StatusBadRequest, "status must be draft, active or canceled, got %s", quoteShort(string(status)))
	}
	less, err := sortOrder(q.Get("sort"), "createdAt:asc", subscriptionSortFields, "createdAt, updatedAt, id")
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.st.subscriptionOrder
	if ref := q.Get("accountId"); ref != "" {
		a := s.resolveLocked(ref)
		if a == nil {
			return accountNotFound(ref)
		}
		all = a.subscriptions
	}
	var match []*subscription
	for _, sub := range all {
		if status == "" || sub.status == status {
			match = append(match, sub)
		}
	}
	slices.SortStableFunc(match, less)
	out := subscriptionList{Items: []subscriptionJSON{}}
	for _, sub := range pageOf(match, pq) {
		out.Items = append(out.Items, sub.json())
	}
	return http.StatusOK, out
}

// getSubscription is GET /subscriptions/{id}.
func (s *Server) getSubscription(r *http.Request, _ []byte) (int, any) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.st.subscriptions[id]
	if !ok {
		return fail(http.StatusNotFound, "subscription %s not found", shorten(id))
	}
	return http.StatusOK, sub.json()
}
