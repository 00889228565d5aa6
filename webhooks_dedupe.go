package alguna

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// WebhookClaim is a deduper's answer to "may this delivery run?".
type WebhookClaim int

// The answers a WebhookDeduper gives to Claim.
const (
	// WebhookClaimAcquired means this delivery now owns the id and runs the
	// callback; the handler reports the outcome with Complete or Release.
	WebhookClaimAcquired WebhookClaim = iota + 1
	// WebhookClaimBusy means another delivery of the id is running right now.
	// The handler answers 409 so that Alguna retries later, by when the
	// first delivery has either completed (and the retry is acknowledged) or
	// released the id (and the retry runs).
	WebhookClaimBusy
	// WebhookClaimDone means the id was handled successfully before; the
	// handler acknowledges it again without running the callback.
	WebhookClaimDone
)

// WebhookDeduper records which deliveries were handled, so that a retried or
// duplicated delivery runs its callback at most once successfully and never
// twice at the same time. Implement it over a shared database or cache when
// several instances receive webhooks; the default, MemoryWebhookDeduper, only
// sees one process.
//
// Implementations must be safe for concurrent use, and Claim must be atomic:
// of two concurrent Claims of one id, at most one may return
// WebhookClaimAcquired. A durable store should let an acquired claim expire
// (after longer than a callback can run) so that a process that died
// mid-callback does not block the id for good.
type WebhookDeduper interface {
	// Claim reserves id for this delivery, or tells why it must not run.
	Claim(ctx context.Context, id string) (WebhookClaim, error)
	// Complete records that the callback for id succeeded; later Claims of
	// id answer WebhookClaimDone.
	Complete(ctx context.Context, id string) error
	// Release gives up a claim after a failed callback, so that the next
	// delivery of id runs again.
	Release(ctx context.Context, id string) error
}

// Defaults of MemoryWebhookDeduper. A delivery that succeeded is not retried,
// so the duplicates it guards against (at-least-once delivery, a resend from
// the dashboard) come soon after the original: a day covers them.
const (
	// DefaultWebhookDedupeSize is how many completed ids are remembered.
	DefaultWebhookDedupeSize = 10000
	// DefaultWebhookDedupeAge is how long a completed id is remembered.
	DefaultWebhookDedupeAge = 24 * time.Hour
)

// MemoryWebhookDeduper is the in-process WebhookDeduper the handler uses by
// default. It remembers at most a fixed number of completed ids, each for at
// most a fixed age, forgetting the oldest first, so its memory stays bounded
// whatever the traffic.
type MemoryWebhookDeduper struct {
	mu      sync.Mutex
	maxIDs  int
	maxAge  time.Duration
	now     func() time.Time
	running map[string]struct{}
	done    map[string]struct{}
	// order holds the done ids oldest first, from head on; completion times
	// only grow, so expiry and eviction both pop from the front.
	order []webhookDone
	head  int
}

type webhookDone struct {
	id string
	at time.Time
}

// NewMemoryWebhookDeduper returns an in-memory deduper that remembers up to
// maxIDs completed ids for up to maxAge each. Zero takes
// DefaultWebhookDedupeSize and DefaultWebhookDedupeAge; a negative value is
// a mistake in the program, and panics with a message that says so, as a
// wrong WebhookHandlerOption does.
func NewMemoryWebhookDeduper(maxIDs int, maxAge time.Duration) *MemoryWebhookDeduper {
	switch {
	case maxIDs < 0:
		panic(fmt.Sprintf("alguna: NewMemoryWebhookDeduper: maxIDs must not be negative, got %d", maxIDs))
	case maxAge < 0:
		panic(fmt.Sprintf("alguna: NewMemoryWebhookDeduper: maxAge must not be negative, got %v", maxAge))
	case maxIDs == 0:
		maxIDs = DefaultWebhookDedupeSize
	}
	if maxAge == 0 {
		maxAge = DefaultWebhookDedupeAge
	}
	return &MemoryWebhookDeduper{
		maxIDs:  maxIDs,
		maxAge:  maxAge,
		now:     time.Now,
		running: make(map[string]struct{}),
		done:    make(map[string]struct{}),
	}
}

// Claim implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Claim(_ context.Context, id string) (WebhookClaim, error) {
	if d == nil || d.running == nil {
		return 0, errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evict(d.now())
	if _, ok := d.running[id]; ok {
		return WebhookClaimBusy, nil
	}
	if _, ok := d.done[id]; ok {
		return WebhookClaimDone, nil
	}
	d.running[id] = struct{}{}
	return WebhookClaimAcquired, nil
}

// Complete implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Complete(_ context.Context, id string) error {
	if d == nil || d.running == nil {
		return errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.running, id)
	if _, ok := d.done[id]; !ok {
		d.done[id] = struct{}{}
		d.order = append(d.order, webhookDone{id: id, at: d.now()})
	}
	d.evict(d.now())
	return nil
}

// Release implements WebhookDeduper.
func (d *MemoryWebhookDeduper) Release(_ context.Context, id string) error {
	if d == nil || d.running == nil {
		return errNoDeduper
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.running, id)
	return nil
}

// Len reports how many completed ids are remembered, for metrics and tests.
func (d *MemoryWebhookDeduper) Len() int {
	if d == nil || d.running == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evict(d.now())
	return len(d.done)
}

// evict forgets completed ids past the size or age bound. d.mu must be held.
func (d *MemoryWebhookDeduper) evict(now time.Time) {
	for d.head < len(d.order) {
		oldest := d.order[d.head]
		if len(d.done) <= d.maxIDs && now.Sub(oldest.at) < d.maxAge {
			break
		}
		delete(d.done, oldest.id)
		d.order[d.head] = webhookDone{}
		d.head++
	}
	// Reclaim the dead prefix once it is at least half the slice, so the
	// backing array stays within twice the live entries.
	if d.head > 0 && d.head*2 >= len(d.order) {
		n := copy(d.order, d.order[d.head:])
		clear(d.order[n:])
		d.order = d.order[:n]
		d.head = 0
	}
}
