package alguna_test

import (
	"context"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// The public API contract of the design document, spelled out so that
// renaming or re-typing any of it breaks the build of this test: users'
// code, the examples and outside checks compile against these names.
var (
	_ string = alguna.DefaultBaseURL

	_ func(string, ...alguna.Option) (*alguna.Client, error) = alguna.NewClient
	_ func(string) alguna.Option                             = alguna.WithBaseURL
	_ func(string) alguna.Option                             = alguna.WithPlainHTTPBaseURL
	_ func(*http.Client) alguna.Option                       = alguna.WithHTTPClient
	_ func(int) alguna.Option                                = alguna.WithMaxRetries
	_ func(time.Duration, time.Duration) alguna.Option       = alguna.WithRetryWait
	_ func(string) alguna.Option                             = alguna.WithUserAgent
	_ func(*slog.Logger) alguna.Option                       = alguna.WithLogger
	_ func(string) alguna.Option                             = alguna.WithCheckoutBaseURL
	_ func(string) alguna.RequestOption                      = alguna.WithIdempotencyKey
	_ func(string, string) alguna.RequestOption              = alguna.WithHeader
	_ func(bool) *bool                                       = alguna.Bool
	_ func(string) *string                                   = alguna.String
	_ func(*alguna.Error) string                             = (*alguna.Error).Error
	_ func(*alguna.Error, error) bool                        = (*alguna.Error).Is
	_                                                        = []error{alguna.ErrBadRequest, alguna.ErrUnauthorized, alguna.ErrNotFound, alguna.ErrConflict, alguna.ErrUnprocessable, alguna.ErrRateLimited, alguna.ErrServer}
	_                                                        = alguna.Error{StatusCode: 0, Code: "", Message: "", RequestID: "", Body: nil}
	_                                                        = alguna.ValidationError{Problems: nil}
	_ struct {
		Accounts *alguna.AccountsService
		Credits  *alguna.CreditsService
		Checkout *alguna.CheckoutService
		Events   *alguna.EventsService
		Portal   *alguna.PortalService
	} = struct {
		Accounts *alguna.AccountsService
		Credits  *alguna.CreditsService
		Checkout *alguna.CheckoutService
		Events   *alguna.EventsService
		Portal   *alguna.PortalService
	}{(&alguna.Client{}).Accounts, (&alguna.Client{}).Credits, (&alguna.Client{}).Checkout, (&alguna.Client{}).Events, (&alguna.Client{}).Portal}

	_ = alguna.Account{ID: "", Name: "", Email: "", Alias: "", Aliases: nil, Currency: "", CreatedAt: time.Time{}, UpdatedAt: time.Time{}}
	_ = alguna.AccountCreateParams{Name: "", Email: "", Alias: ""}
	_ = alguna.AccountUpdateParams{Name: nil, Email: nil, Alias: nil}
	_ = alguna.ListOptions{Page: 0, Limit: 0, Sort: ""}

	_ func(*alguna.AccountsService, context.Context, *alguna.AccountCreateParams, ...alguna.RequestOption) (*alguna.Account, error)                          = (*alguna.AccountsService).Create
	_ func(*alguna.AccountsService, context.Context, string, ...alguna.RequestOption) (*alguna.Account, error)                                               = (*alguna.AccountsService).Get
	_ func(*alguna.AccountsService, context.Context, string, *alguna.AccountUpdateParams, ...alguna.RequestOption) (*alguna.Account, error)                  = (*alguna.AccountsService).Update
	_ func(*alguna.AccountsService, context.Context, string, ...alguna.RequestOption) (string, error)                                                        = (*alguna.AccountsService).Lookup
	_ func(*alguna.AccountsService, context.Context, *alguna.ListOptions, ...alguna.RequestOption) (*alguna.AccountList, error)                              = (*alguna.AccountsService).List
	_ func(*alguna.AccountsService, context.Context, *alguna.ListOptions, ...alguna.RequestOption) iter.Seq2[*alguna.Account, error]                         = (*alguna.AccountsService).All
	_ func(*alguna.CreditsService, context.Context, string, *alguna.CreditGrantParams, ...alguna.RequestOption) (*alguna.CreditGrant, error)                 = (*alguna.CreditsService).Grant
	_ func(*alguna.CreditsService, context.Context, string, alguna.CreditType, ...alguna.RequestOption) (*alguna.CreditBalance, error)                       = (*alguna.CreditsService).Balance
	_ func(*alguna.CreditsService, context.Context, string, alguna.CreditType, decimal.Decimal, ...alguna.RequestOption) (*alguna.CreditAvailability, error) = (*alguna.CreditsService).Availability
	_ func(*alguna.CheckoutService, context.Context, *alguna.CheckoutSessionParams, ...alguna.RequestOption) (*alguna.CheckoutSession, error)                = (*alguna.CheckoutService).CreateSession
	_ func(*alguna.CheckoutService, string, string, string) (string, error)                                                                                  = (*alguna.CheckoutService).FlowURL
	_ func(*alguna.PortalService, context.Context, *alguna.PortalSessionParams, ...alguna.RequestOption) (*alguna.PortalSession, error)                      = (*alguna.PortalService).CreateSession
	_ func(*alguna.EventsService, context.Context, []alguna.Event, ...alguna.RequestOption) (*alguna.IngestResult, error)                                    = (*alguna.EventsService).Ingest
	_ func(*alguna.EventsService, alguna.BatcherOptions) (*alguna.Batcher, error)                                                                            = (*alguna.EventsService).NewBatcher
	_ func(*alguna.Batcher, context.Context, alguna.Event) error                                                                                             = (*alguna.Batcher).Enqueue
	_ func(*alguna.Batcher, context.Context) error                                                                                                           = (*alguna.Batcher).Flush
	_ func(*alguna.Batcher, context.Context) error                                                                                                           = (*alguna.Batcher).Close
	_ func(*alguna.Batcher) alguna.BatcherStats                                                                                                              = (*alguna.Batcher).Stats

	_ = []alguna.CreditType{alguna.CreditTypeUnits, alguna.CreditTypeMonetary}
	_ = alguna.CreditGrantParams{CreditType: "", Amount: decimal.Decimal{}, Reason: "", ExpiresAt: (*time.Time)(nil)}
	_ = alguna.CreditGrant{ID: "", AccountID: "", CreditType: "", Amount: decimal.Decimal{}, Reason: "", ExpiresAt: nil, CreatedAt: time.Time{}}
	_ = alguna.CreditBalance{AccountID: "", CreditType: "", Balance: decimal.Decimal{}}
	_ = alguna.CreditAvailability{Available: false, Balance: decimal.Decimal{}, Required: decimal.Decimal{}, Shortfall: decimal.Decimal{}}
	_ = alguna.CheckoutSessionParams{AccountID: "", AccountEmail: "", Currency: "", SuccessURL: "", PassThroughToken: ""}
	_ = alguna.CheckoutSession{ID: "", URL: ""}
	_ = alguna.PortalSessionParams{AccountID: "", AccountAlias: "", PlanOverviewSettings: &alguna.PlanOverviewSettings{ShowSection: nil, AllowSubscriptionCancel: nil}, InvoiceListSettings: &alguna.InvoiceListSettings{ShowSection: nil}, BillingDetailsSettings: &alguna.BillingDetailsSettings{ShowSection: nil}}
	_ = alguna.PortalSession{URL: ""}
	_ = alguna.Event{UniqueID: "", Account: "", EventName: "", Timestamp: time.Time{}, Properties: map[string]any(nil)}
	_ = alguna.IngestResult{Ingested: []string(nil), Failed: []string(nil)}
	_ = alguna.BatcherOptions{MaxBatchSize: 0, FlushInterval: time.Duration(0), QueueSize: 0, Concurrency: 0, DropWhenFull: false, OnFailure: func([]alguna.Event, error) {}}
	_ = alguna.BatcherStats{Enqueued: 0, Ingested: 0, Failed: 0, Dropped: 0, Retried: 0, Pending: 0}
	_ = []error{alguna.ErrBatcherClosed, alguna.ErrQueueFull}

	_                                                                                                                   = []string{alguna.WebhookCreditsBalanceDepleted, alguna.WebhookCreditsGranted, alguna.WebhookCheckoutSessionCompleted, alguna.WebhookSubscriptionCreated, alguna.WebhookSubscriptionActivated, alguna.WebhookSubscriptionCanceled, alguna.WebhookInvoiceIssued, alguna.WebhookInvoicePaid}
	_                                                                                                                   = alguna.WebhookEvent{ID: "", Type: "", Timestamp: time.Time{}, Data: nil}
	_ func(*alguna.WebhookEvent) (any, error)                                                                           = (*alguna.WebhookEvent).Decode
	_                                                                                                                   = alguna.CreditsBalanceDepleted{AccountID: "", Amount: decimal.Decimal{}, Type: alguna.CreditTypeUnits}
	_                                                                                                                   = alguna.CheckoutSessionCompleted{ID: "", AccountID: "", Status: "", Amount: decimal.Decimal{}, Currency: "", InvoiceID: "", PaymentID: "", PassThroughToken: ""}
	_ func(string, ...alguna.WebhookOption) (*alguna.WebhookVerifier, error)                                            = alguna.NewWebhookVerifier
	_ func(...string) alguna.WebhookOption                                                                              = alguna.WithWebhookSecrets
	_ func(time.Duration) alguna.WebhookOption                                                                          = alguna.WithWebhookTolerance
	_ func(func() time.Time) alguna.WebhookOption                                                                       = alguna.WithWebhookClock
	_ func(*alguna.WebhookVerifier, http.Header, []byte) (*alguna.WebhookEvent, error)                                  = (*alguna.WebhookVerifier).Verify
	_                                                                                                                   = []error{alguna.ErrWebhookHeaders, alguna.ErrWebhookSignature, alguna.ErrWebhookTimestamp, alguna.ErrWebhookPayload}
	_ func(*alguna.WebhookVerifier, ...alguna.WebhookHandlerOption) *alguna.WebhookHandler                              = alguna.NewWebhookHandler
	_ http.Handler                                                                                                      = (*alguna.WebhookHandler)(nil)
	_ func(*alguna.WebhookHandler, func(context.Context, *alguna.WebhookEvent, *alguna.CreditsBalanceDepleted) error)   = (*alguna.WebhookHandler).OnCreditsBalanceDepleted
	_ func(*alguna.WebhookHandler, func(context.Context, *alguna.WebhookEvent, *alguna.CheckoutSessionCompleted) error) = (*alguna.WebhookHandler).OnCheckoutSessionCompleted
	_ func(*alguna.WebhookHandler, func(context.Context, *alguna.WebhookEvent, *alguna.Subscription) error)             = (*alguna.WebhookHandler).OnSubscriptionCreated
	_ func(*alguna.WebhookHandler, func(context.Context, *alguna.WebhookEvent, *alguna.Invoice) error)                  = (*alguna.WebhookHandler).OnInvoicePaid
	_ func(*alguna.WebhookHandler, string, func(context.Context, *alguna.WebhookEvent) error)                           = (*alguna.WebhookHandler).On

	_ func(...algunatest.Option) *algunatest.Server             = algunatest.NewServer
	_ func(*algunatest.Server, ...alguna.Option) *alguna.Client = (*algunatest.Server).Client
	_ func(*algunatest.Server)                                  = (*algunatest.Server).Close
	_ func(*algunatest.Server, string, ...string)               = (*algunatest.Server).AddWebhookEndpoint
	_ func(*algunatest.Server, algunatest.Metric)               = (*algunatest.Server).SetMetric
	_ func(*algunatest.Server, context.Context, string) error   = (*algunatest.Server).CompleteCheckout
	_ func(*algunatest.Server) []alguna.Event                   = (*algunatest.Server).Events
	_ func(*algunatest.Server, algunatest.Faults)               = (*algunatest.Server).SetFaults
	_ func(*algunatest.Server, context.Context) error           = (*algunatest.Server).FlushWebhooks
	_                                                           = algunatest.Server{URL: "", APIKey: "", WebhookSecret: ""}
	_                                                           = algunatest.Metric{EventName: "", CreditType: alguna.CreditTypeUnits, Aggregation: algunatest.AggregationCount, Property: ""}
	_                                                           = []algunatest.Aggregation{algunatest.AggregationCount, algunatest.AggregationCountUnique, algunatest.AggregationSum, algunatest.AggregationMax}
	_                                                           = algunatest.Faults{ErrorRate: 0, RateLimitRate: 0, ResetRate: 0, RetryAfter: time.Duration(0), Latency: time.Duration(0), Seed: 0}
)

// The names added this round, as the issues pin them.
var (
	_                                                              = alguna.BatcherOptions{MaxEventsPerSecond: 0}
	_ func(*alguna.Batcher, context.Context, []alguna.Event) error = (*alguna.Batcher).EnqueueMany
	_ func() alguna.Option                                         = alguna.WithSandbox
	_ string                                                       = alguna.SandboxBaseURL
	_ struct {
		Subscriptions *alguna.SubscriptionsService
		Invoices      *alguna.InvoicesService
		Plans         *alguna.PlansService
	} = struct {
		Subscriptions *alguna.SubscriptionsService
		Invoices      *alguna.InvoicesService
		Plans         *alguna.PlansService
	}{(&alguna.Client{}).Subscriptions, (&alguna.Client{}).Invoices, (&alguna.Client{}).Plans}

	_ func(*alguna.SubscriptionsService, context.Context, *alguna.SubscriptionListParams, ...alguna.RequestOption) (*alguna.SubscriptionList, error)      = (*alguna.SubscriptionsService).List
	_ func(*alguna.SubscriptionsService, context.Context, *alguna.SubscriptionListParams, ...alguna.RequestOption) iter.Seq2[*alguna.Subscription, error] = (*alguna.SubscriptionsService).All
	_ func(*alguna.SubscriptionsService, context.Context, string, ...alguna.RequestOption) (*alguna.Subscription, error)                                  = (*alguna.SubscriptionsService).Get
	_                                                                                                                                                     = alguna.SubscriptionListParams{ListOptions: alguna.ListOptions{}, AccountID: "", Status: alguna.SubscriptionStatusActive}

	_ func(*alguna.InvoicesService, context.Context, *alguna.InvoiceListParams, ...alguna.RequestOption) (*alguna.InvoiceList, error)      = (*alguna.InvoicesService).List
	_ func(*alguna.InvoicesService, context.Context, *alguna.InvoiceListParams, ...alguna.RequestOption) iter.Seq2[*alguna.Invoice, error] = (*alguna.InvoicesService).All
	_ func(*alguna.InvoicesService, context.Context, string, ...alguna.RequestOption) (*alguna.Invoice, error)                             = (*alguna.InvoicesService).Get
	_                                                                                                                                      = alguna.InvoiceListParams{ListOptions: alguna.ListOptions{}, AccountID: "", Status: alguna.InvoiceStatusPaid}

	_ func(*alguna.PlansService, context.Context, *alguna.ListOptions, ...alguna.RequestOption) (*alguna.PlanList, error)      = (*alguna.PlansService).List
	_ func(*alguna.PlansService, context.Context, *alguna.ListOptions, ...alguna.RequestOption) iter.Seq2[*alguna.Plan, error] = (*alguna.PlansService).All
	_ func(*alguna.PlansService, context.Context, string, ...alguna.RequestOption) (*alguna.Plan, error)                       = (*alguna.PlansService).Get

	_ func(*alguna.CreditsService, context.Context, string, *alguna.ListOptions, ...alguna.RequestOption) (*alguna.CreditGrantList, error)      = (*alguna.CreditsService).ListGrants
	_ func(*alguna.CreditsService, context.Context, string, *alguna.ListOptions, ...alguna.RequestOption) iter.Seq2[*alguna.CreditGrant, error] = (*alguna.CreditsService).AllGrants
	_ func(*alguna.CreditsService, context.Context, string, ...alguna.RequestOption) (*alguna.CreditGrant, error)                               = (*alguna.CreditsService).GetGrant
	_                                                                                                                                           = alguna.CreditGrantList{PageCount: 0, Data: []*alguna.CreditGrant(nil)}
	_                                                                                                                                           = alguna.CreditGrant{RemainingAmount: decimal.NullDecimal{}, Status: alguna.CreditGrantStatusActive, ExpiresAt: nil, Priority: nil}
	_                                                                                                                                           = alguna.CreditGrantParams{Currency: ""}

	_ = alguna.AccountCreateParams{Aliases: []string(nil), Contacts: []alguna.Contact(nil), Currency: "", BillingAddress: (*alguna.Address)(nil)}
	_ = alguna.AccountUpdateParams{Aliases: []string(nil), Contacts: []alguna.Contact(nil), Currency: (*string)(nil), BillingAddress: (*alguna.Address)(nil)}

	_                                                 = alguna.Error{Method: "", Path: ""}
	_ func(*alguna.Error) bool                        = (*alguna.Error).Retryable
	_ func(*alguna.ResponseInfo) alguna.RequestOption = alguna.WithResponseInfo
	_                                                 = alguna.ResponseInfo{StatusCode: 0, Header: http.Header(nil), RequestID: ""}
)
