package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go"
)

// State is where a user stands in the self-serve flow. It is never stored:
// each page view works it out from what Alguna holds for the account.
type State string

const (
	// StateSettingUp users have no Alguna account or no trial grant yet:
	// their sign-up stopped half-way and can be finished.
	StateSettingUp State = "setting_up"
	// StateTrial users have never subscribed and have credits to spend.
	StateTrial State = "trial"
	// StateTrialUsedUp users have never subscribed and have spent their
	// trial credits: they are offered the upgrade.
	StateTrialUsedUp State = "trial_used_up"
	// StatePaid users have an active subscription; their usage is billed
	// on it.
	StatePaid State = "paid"
	// StateCanceled users had a subscription that has ended: they are
	// offered to subscribe again, and spend what credits they still have
	// until then.
	StateCanceled State = "canceled"
)

// callTimeout bounds the calls to Alguna behind one request, retries
// included: a page that says "try again" beats one that hangs while Alguna
// is unreachable.
const callTimeout = 10 * time.Second

// invoicesShown is how many of the latest paid invoices the dashboard
// lists; the portal has them all.
const invoicesShown = 10

// Billing is what Alguna holds for one account, read once per page view.
type Billing struct {
	State State `json:"state"`
	// Subscription is the active subscription or, when there is none, the
	// one that ended last; nil when the account never subscribed.
	Subscription *alguna.Subscription `json:"subscription"`
	// Plan is Subscription's plan, nil when Subscription is.
	Plan *alguna.Plan `json:"plan"`
	// Invoices are the latest paid invoices, newest first.
	Invoices []*alguna.Invoice `json:"invoices"`
	// Credits are the account's units credits, from its grant list.
	Credits Credits `json:"credits"`
	// Available is what the user can still spend of Credits: Credits less
	// the reservations Alguna has not metered yet.
	Available decimal.Decimal `json:"available"`
}

// Credits sums an account's grants of units credits as Alguna lists them.
type Credits struct {
	// Trial is the grant sign-up made, nil until it is made.
	Trial *alguna.CreditGrant `json:"trial"`
	// Remaining is what the active grants have left, as far as Alguna has
	// metered the usage sent to it.
	Remaining decimal.Decimal `json:"remaining"`
	// Consumed is what metered usage has taken from all the grants,
	// expired and voided ones included.
	Consumed decimal.Decimal `json:"consumed"`
}

// Spendable is what the user can still spend of c, given reserved, the
// cost of every action the app has allowed on credits: the remaining
// credits less the reservations Alguna has not metered yet.
//
// Alguna meters usage events asynchronously (within about 15 minutes), so
// the grants' remaining amounts lag behind the actions the app has
// allowed, and Alguna does not say which events it has metered. What the
// grants have lost says how much: what is reserved beyond that is still to
// be metered. Usage of a paying customer reserves nothing, yet Alguna may
// meter it against credits left over: until the trial's last reserved
// actions are metered, that makes them look metered already, by no more
// than they are.
func (c Credits) Spendable(reserved decimal.Decimal) decimal.Decimal {
	unmetered := decimal.Max(decimal.Zero, reserved.Sub(c.Consumed))
	return decimal.Max(decimal.Zero, c.Remaining.Sub(unmetered))
}

// trialReason marks the trial grant in the account's grant list: sign-up
// looks for it before granting, so a repeated sign-up grants once.
const trialReason = "Welcome credits"

// readCredits sums the account's units grants.
func readCredits(ctx context.Context, client *alguna.Client, accountID string) (Credits, error) {
	c := Credits{Remaining: decimal.Zero, Consumed: decimal.Zero}
	for g, err := range client.Credits.AllGrants(ctx, accountID, &alguna.ListOptions{Limit: 100}) {
		if err != nil {
			return Credits{}, fmt.Errorf("listing credit grants: %w", err)
		}
		if g.CreditType != alguna.CreditTypeUnits {
			continue
		}
		if !g.RemainingAmount.Valid {
			// Unknown is not zero: guessing either way would let the user
			// spend credits they do not have, or refuse ones they do.
			return Credits{}, fmt.Errorf("listing credit grants: grant %s has no remainingAmount", g.ID)
		}
		left := g.RemainingAmount.Decimal
		c.Consumed = c.Consumed.Add(decimal.Max(decimal.Zero, g.Amount.Sub(left)))
		if g.Status == alguna.CreditGrantStatusActive || g.Status == "" {
			c.Remaining = c.Remaining.Add(left)
		}
		if g.Reason == trialReason && c.Trial == nil {
			c.Trial = g
		}
	}
	return c, nil
}

// readActiveSubscription returns the account's active subscription, or nil.
func readActiveSubscription(ctx context.Context, client *alguna.Client, accountID string) (*alguna.Subscription, error) {
	l, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{AccountID: accountID, Status: alguna.SubscriptionStatusActive})
	if err != nil {
		return nil, fmt.Errorf("reading the subscription: %w", err)
	}
	if len(l.Data) == 0 {
		return nil, nil
	}
	return l.Data[0], nil
}

// readSubscription returns the account's active subscription or, without
// one, the one created last of those that ended, with its plan.
func readSubscription(ctx context.Context, client *alguna.Client, accountID string) (*alguna.Subscription, *alguna.Plan, error) {
	sub, err := readActiveSubscription(ctx, client, accountID)
	if err != nil {
		return nil, nil, err
	}
	if sub == nil {
		l, err := client.Subscriptions.List(ctx, &alguna.SubscriptionListParams{
			AccountID:   accountID,
			Status:      alguna.SubscriptionStatusCanceled,
			ListOptions: alguna.ListOptions{Sort: "createdAt:desc", Limit: 5},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reading past subscriptions: %w", err)
		}
		if len(l.Data) == 0 {
			return nil, nil, nil
		}
		sub = l.Data[0]
	}
	plan, err := planOf(ctx, client, sub)
	if err != nil {
		return nil, nil, err
	}
	return sub, plan, nil
}

// planOf reads the plan a subscription is to.
func planOf(ctx context.Context, client *alguna.Client, sub *alguna.Subscription) (*alguna.Plan, error) {
	if sub.PlanID == "" {
		// Nothing to look up: the subscription's own name stands in.
		return &alguna.Plan{Name: sub.Name}, nil
	}
	plan, err := client.Plans.Get(ctx, sub.PlanID)
	if err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", sub.PlanID, err)
	}
	return plan, nil
}

// readBilling reads what the dashboard shows of an account, in one round
// of calls made side by side: at most five requests a page view, well
// within Alguna's 100 a second. reserved is the user's local reservations
// (User.Reserved).
func readBilling(ctx context.Context, client *alguna.Client, accountID string, reserved decimal.Decimal) (*Billing, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var (
		b                           Billing
		wg                          sync.WaitGroup
		subErr, invoiceErr, credErr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		b.Subscription, b.Plan, subErr = readSubscription(ctx, client, accountID)
	}()
	go func() {
		defer wg.Done()
		l, err := client.Invoices.List(ctx, &alguna.InvoiceListParams{
			AccountID:   accountID,
			Status:      alguna.InvoiceStatusPaid,
			ListOptions: alguna.ListOptions{Sort: "createdAt:desc", Limit: invoicesShown},
		})
		if err != nil {
			invoiceErr = fmt.Errorf("listing invoices: %w", err)
			return
		}
		b.Invoices = l.Data
	}()
	go func() {
		defer wg.Done()
		b.Credits, credErr = readCredits(ctx, client, accountID)
	}()
	wg.Wait()
	if err := errors.Join(subErr, invoiceErr, credErr); err != nil {
		return nil, err
	}
	if b.Invoices == nil {
		b.Invoices = []*alguna.Invoice{}
	}
	b.Available = b.Credits.Spendable(reserved)
	b.State = stateOf(b.Subscription, b.Credits, b.Available)
	return &b, nil
}

// stateOf is where the user stands, from what Alguna holds.
func stateOf(sub *alguna.Subscription, c Credits, available decimal.Decimal) State {
	switch {
	case sub != nil && sub.Status == alguna.SubscriptionStatusActive:
		return StatePaid
	case sub != nil:
		return StateCanceled
	case c.Trial == nil:
		return StateSettingUp
	case available.LessThan(actionCost):
		return StateTrialUsedUp
	default:
		return StateTrial
	}
}
