package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"time"
)

// SubscriptionsService reads customers' subscriptions: whether an account's
// subscription is active, and on which plan. Subscriptions start at hosted
// checkout and end in the customer portal; the guide's point is that your
// product need not store them, and reads them from Alguna instead.
type SubscriptionsService struct {
	owner *Client
}

// client is the Client the service sends through; see AccountsService.
func (s *SubscriptionsService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

// SubscriptionStatus is a subscription's lifecycle state.
type SubscriptionStatus string

// The subscription statuses Alguna documents.
const (
	// SubscriptionStatusDraft is a subscription not yet activated.
	SubscriptionStatusDraft SubscriptionStatus = "draft"
	// SubscriptionStatusActive is a running subscription.
	SubscriptionStatusActive SubscriptionStatus = "active"
	// SubscriptionStatusCanceled is a subscription that has ended.
	SubscriptionStatusCanceled SubscriptionStatus = "canceled"
)

// Subscription is a customer's subscription to a plan, as GET /subscriptions
// answers it and as every subscription.* webhook carries it.
type Subscription struct {
	ID          string             `json:"id"`
	AccountID   string             `json:"accountId"`
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	Status      SubscriptionStatus `json:"status"`
	Currency    string             `json:"currency"`
	PlanID      string             `json:"planId,omitempty"`
	// TrialPeriodDays is the length of the subscription's trial, if any.
	TrialPeriodDays int `json:"trialPeriodDays,omitempty"`
	// AutoRenew says whether the contract renews at its end.
	AutoRenew         bool       `json:"autoRenew,omitempty"`
	ContractStartDate *time.Time `json:"contractStartDate,omitempty"`
	ContractEndDate   *time.Time `json:"contractEndDate,omitempty"` // nil while open-ended
	ActivatedAt       *time.Time `json:"activatedAt,omitempty"`     // nil until activated
	EndedAt           *time.Time `json:"endedAt,omitempty"`         // nil while running
	CancelationReason string     `json:"cancelationReason,omitempty"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
}

func (s *Subscription) listID() string      { return s.ID }
func (s *Subscription) listAccount() string { return s.AccountID }

func (s *Subscription) check() error {
	if s.ID == "" {
		return errors.New("subscription has no id")
	}
	return nil
}

// UnmarshalJSON accepts the contract, activation and end dates as RFC 3339
// times or as bare dates ("2025-03-01", read as midnight UTC), which Alguna
// documents for subscriptions.
func (s *Subscription) UnmarshalJSON(b []byte) error {
	var w subscriptionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = *w.subscription()
	return nil
}

// subscriptionWire is a subscription as the API writes it: the plain fields,
// with lenient dates in place of the time fields.
type subscriptionWire struct {
	subscriptionFields
	ContractStartDate lenientTime `json:"contractStartDate"`
	ContractEndDate   lenientTime `json:"contractEndDate"`
	ActivatedAt       lenientTime `json:"activatedAt"`
	EndedAt           lenientTime `json:"endedAt"`
}

// subscriptionFields is Subscription without its methods, so that
// subscriptionWire's decoding does not call Subscription.UnmarshalJSON.
type subscriptionFields Subscription

func (w *subscriptionWire) subscription() *Subscription {
	s := Subscription(w.subscriptionFields)
	s.ContractStartDate, s.ContractEndDate = w.ContractStartDate.t, w.ContractEndDate.t
	s.ActivatedAt, s.EndedAt = w.ActivatedAt.t, w.EndedAt.t
	return &s
}

func (w *subscriptionWire) check() error { return (*Subscription)(&w.subscriptionFields).check() }

// SubscriptionListParams selects subscriptions.
type SubscriptionListParams struct {
	ListOptions
	// AccountID keeps one account's subscriptions. It is the Alguna
	// account id; Accounts.Lookup finds it from an alias.
	AccountID string `url:"accountId,omitempty"`
	// Status keeps subscriptions in that state.
	Status SubscriptionStatus `url:"status,omitempty"`
}

// accountID is the account the list is filtered by, or "".
func (p *SubscriptionListParams) accountID() string {
	if p == nil {
		return ""
	}
	return p.AccountID
}

func (p *SubscriptionListParams) validate() error {
	if p == nil {
		return nil
	}
	return filterProblems(&p.ListOptions, p.AccountID, string(p.Status)).err()
}

// SubscriptionList is one page of subscriptions.
type SubscriptionList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int
	Data      []*Subscription
}

func (l *SubscriptionList) page() ([]*Subscription, int) { return l.Data, l.PageCount }

// The subscriptions endpoints.
var (
	listSubscriptions = get("/subscriptions")
	getSubscription   = get("/subscriptions/{id}")
)

// List fetches one page of subscriptions. Filtered by account, the answer
// is checked to hold only that account's subscriptions: an answer holding
// another's fails with ErrInvalidResponse rather than show it.
//
// GET /subscriptions?accountId={accountId}&status={status}&page={page}&limit={limit}
func (s *SubscriptionsService) List(ctx context.Context, p *SubscriptionListParams, opts ...RequestOption) (*SubscriptionList, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	items, pageCount, err := fetchPage(ctx, s.client(), listSubscriptions.with(), queryOf(p), p.accountID(), opts, infallible((*subscriptionWire).subscription))
	if err != nil {
		return nil, err
	}
	return &SubscriptionList{PageCount: pageCount, Data: items}, nil
}

// All walks every subscription p selects, page by page from p.Page, until
// the last page. An error ends the walk after it is yielded.
//
// GET /subscriptions?accountId={accountId}&status={status}&page={page}&limit={limit}
func (s *SubscriptionsService) All(ctx context.Context, p *SubscriptionListParams, opts ...RequestOption) iter.Seq2[*Subscription, error] {
	var q SubscriptionListParams
	if p != nil {
		q = *p
	}
	return paginate[Subscription](ctx, listSubscriptions, &q.ListOptions, func(ctx context.Context, page ListOptions) (*SubscriptionList, error) {
		q.ListOptions = page
		return s.List(ctx, &q, opts...)
	})
}

// Get fetches one subscription.
//
// GET /subscriptions/{id}
func (s *SubscriptionsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Subscription, error) {
	if id == "" {
		return nil, invalid("subscription id is required")
	}
	var w subscriptionWire
	if err := s.client().do(ctx, getSubscription.with(id), nil, nil, &w, opts); err != nil {
		return nil, err
	}
	return w.subscription(), nil
}
