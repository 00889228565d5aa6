package alguna

import "time"

// The guide's example bodies, as they must appear on the wire.
const (
	guideAccountRequest = `{
		"name": "Acme Corp",
		"email": "billing@acme.com",
		"alias": "your-internal-id-123"
	}`
	guideAccountResponse = `{
		"id": "acc_abc123",
		"name": "Acme Corp",
		"email": "billing@acme.com",
		"alias": "your-internal-id-123"
	}`
	guideGrantRequest = `{
		"creditType": "units",
		"amount": "50",
		"reason": "Welcome credits"
	}`
	// The guide shows no grant answer; this is the shape of Alguna's
	// credits reference.
	grantResponse = `{
		"id": "cg_123",
		"accountId": "acc_abc123",
		"creditType": "units",
		"amount": "50",
		"reason": "Welcome credits",
		"status": "active",
		"createdAt": "2025-03-03T17:06:07.473879Z"
	}`
	guideBalanceResponse = `{
		"accountId": "acc_abc123",
		"creditType": "units",
		"balance": "50"
	}`
	guideAvailabilityResponse = `{
		"available": true,
		"balance": "50",
		"required": "10",
		"shortfall": "0"
	}`
	guideCheckoutRequest = `{
		"accountId": "acc_abc123",
		"accountEmail": "billing@acme.com",
		"currency": "USD",
		"successUrl": "https://yourapp.com/welcome",
		"passThroughToken": "your-internal-reference"
	}`
	guideCheckoutResponse = `{
		"checkoutSessionId": "chk_xyz789",
		"url": "https://billing.yourcompany.com/checkout/session/..."
	}`
	guidePortalRequest = `{
		"accountId": "acc_abc123",
		"planOverviewSettings": {
			"showSection": true,
			"allowSubscriptionCancel": true
		},
		"invoiceListSettings": {
			"showSection": true
		},
		"billingDetailsSettings": {
			"showSection": true
		}
	}`
	guidePortalResponse = `{
		"sessionUrl": "https://billing.yourcompany.com/portal/..."
	}`
	// The guide shows one event; POST /events takes a list of them.
	guideEventsRequest = `[{
		"uniqueId": "evt_123456",
		"account": "acc_abc123",
		"eventName": "api_call",
		"timestamp": "2025-03-09T15:03:17Z",
		"properties": {
			"endpoint": "/v1/analyze",
			"tokens": 1500
		}
	}]`
	eventsResponse = `{"ingested": ["evt_123456"], "failed": []}`
)

var guideAccount = &Account{
	ID:    "acc_abc123",
	Name:  "Acme Corp",
	Email: "billing@acme.com",
	Alias: "your-internal-id-123",
}

func guideEvent() Event {
	return Event{
		UniqueID:  "evt_123456",
		Account:   "acc_abc123",
		EventName: "api_call",
		Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC),
		Properties: map[string]any{
			"endpoint": "/v1/analyze",
			"tokens":   1500,
		},
	}
}
