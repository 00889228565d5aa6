package alguna

import (
	"context"
	"errors"
	"net/url"
)

// CheckoutService sends customers to Alguna's hosted checkout (step 4 of the
// self-serve guide).
type CheckoutService struct {
	owner *Client
}

// client is the Client the service sends through, or nil when the service
// was not made by NewClient: its methods then answer errNoClient.
func (s *CheckoutService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

var createCheckoutSession = post("/customer-session/checkout")

// CheckoutSessionParams configures a hosted checkout session.
type CheckoutSessionParams struct {
	// AccountID is required.
	AccountID    string `json:"accountId"`
	AccountEmail string `json:"accountEmail,omitempty"`
	// Currency is an ISO 4217 code such as "USD".
	Currency string `json:"currency,omitempty"`
	// SuccessURL is where the customer lands after paying.
	SuccessURL string `json:"successUrl,omitempty"`
	// PassThroughToken comes back in the checkout.session.completed webhook,
	// so you can match the payment to the request that started it.
	PassThroughToken string `json:"passThroughToken,omitempty"`
}

// CheckoutSession is a started checkout; redirect the customer to URL.
type CheckoutSession struct {
	ID  string `json:"checkoutSessionId"`
	URL string `json:"url"`
}

func (c *CheckoutSession) check() error {
	if c.URL == "" {
		return errors.New("checkout session has no url")
	}
	return nil
}

// CreateSession starts a hosted checkout for an account.
//
// POST /customer-session/checkout
func (s *CheckoutService) CreateSession(ctx context.Context, p *CheckoutSessionParams, opts ...RequestOption) (*CheckoutSession, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var out CheckoutSession
	if err := s.client().do(ctx, createCheckoutSession.with(), nil, p, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

func (p *CheckoutSessionParams) validate() error {
	if p == nil {
		return invalid("checkout params are nil")
	}
	var ps problems
	if p.AccountID == "" {
		ps.add("account id is required")
	}
	if p.AccountEmail != "" && !plausibleEmail(p.AccountEmail) {
		ps.add("account email %q is not an email address", p.AccountEmail)
	}
	if p.Currency != "" && !isCurrencyCode(p.Currency) {
		ps.add("currency %q is not a three-letter ISO 4217 code", p.Currency)
	}
	if p.SuccessURL != "" {
		if _, err := absoluteURL(p.SuccessURL); err != nil {
			ps.add("success URL: %v", err)
		}
	}
	return ps.err()
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// FlowURL builds the guide's no-code checkout link (option A):
// <checkout base URL>/checkout?flowId=…&accountId=…, with &pt=… when a
// pass-through token is given. It needs WithCheckoutBaseURL, because the
// hosted pages live on your own billing host, not on the API's.
func (s *CheckoutService) FlowURL(flowID, accountID, passThroughToken string) (string, error) {
	c := s.client()
	if c == nil {
		return "", errNoClient
	}
	var ps problems
	if c.checkoutBaseURL == "" {
		ps.add("no checkout base URL configured: use WithCheckoutBaseURL")
	}
	if flowID == "" {
		ps.add("flow id is required")
	}
	if accountID == "" {
		ps.add("account id is required")
	}
	if err := ps.err(); err != nil {
		return "", err
	}
	// Built by hand to keep the guide's parameter order; url.Values would
	// sort them.
	u := c.checkoutBaseURL + "/checkout?flowId=" + url.QueryEscape(flowID) + "&accountId=" + url.QueryEscape(accountID)
	if passThroughToken != "" {
		u += "&pt=" + url.QueryEscape(passThroughToken)
	}
	return u, nil
}
