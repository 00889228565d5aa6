package alguna

import (
	"context"
	"errors"
)

// PortalService opens Alguna's hosted customer portal, where customers manage
// their subscription, invoices and payment methods (step 7 of the guide).
type PortalService struct {
	owner *Client
}

// client is the Client the service sends through, or nil when the service
// was not made by NewClient: its methods then answer errNoClient.
func (s *PortalService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

var createPortalSession = post("/portal/customer-session/customer-portal")

// PortalSessionParams names the account and the portal's sections. Every
// setting left nil keeps Alguna's default, which is true.
type PortalSessionParams struct {
	// AccountID or AccountAlias (exactly one) names the customer.
	AccountID              string                  `json:"accountId,omitempty"`
	AccountAlias           string                  `json:"accountAlias,omitempty"`
	PlanOverviewSettings   *PlanOverviewSettings   `json:"planOverviewSettings,omitempty"`
	InvoiceListSettings    *InvoiceListSettings    `json:"invoiceListSettings,omitempty"`
	BillingDetailsSettings *BillingDetailsSettings `json:"billingDetailsSettings,omitempty"`
}

// PlanOverviewSettings configures the subscription section. Set
// AllowSubscriptionCancel to Bool(false) for customers who must contact sales
// to cancel; the pointer makes that explicit false reach the API.
type PlanOverviewSettings struct {
	ShowSection             *bool `json:"showSection,omitempty"`
	AllowSubscriptionCancel *bool `json:"allowSubscriptionCancel,omitempty"`
}

// InvoiceListSettings configures the invoice history section.
type InvoiceListSettings struct {
	ShowSection *bool `json:"showSection,omitempty"`
}

// BillingDetailsSettings configures the billing details and payment methods
// section.
type BillingDetailsSettings struct {
	ShowSection *bool `json:"showSection,omitempty"`
}

// PortalSession is a short-lived portal link; create one per click on
// "Manage billing" and redirect to URL.
type PortalSession struct {
	URL string `json:"sessionUrl"`
}

func (p *PortalSession) check() error {
	if p.URL == "" {
		return errors.New("portal session has no sessionUrl")
	}
	return nil
}

// CreateSession creates a customer portal session.
//
// POST /portal/customer-session/customer-portal
func (s *PortalService) CreateSession(ctx context.Context, p *PortalSessionParams, opts ...RequestOption) (*PortalSession, error) {
	switch {
	case p == nil:
		return nil, invalid("portal params are nil")
	case p.AccountID == "" && p.AccountAlias == "":
		return nil, invalid("account id or account alias is required")
	case p.AccountID != "" && p.AccountAlias != "":
		return nil, invalid("give account id or account alias, not both")
	}
	var out PortalSession
	if err := s.client().do(ctx, createPortalSession.with(), nil, p, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
