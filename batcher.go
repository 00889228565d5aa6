package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/alguna/alguna-go/internal/jsonscan"
)

// Errors the Batcher answers with.
var (
	// ErrBatcherClosed is returned by Enqueue and Flush after Close.
	ErrBatcherClosed = errors.New("alguna: batcher is closed")
	// ErrQueueFull is returned by Enqueue when the queue is full and
	// BatcherOptions.DropWhenFull is set. The event was not accepted.
	ErrQueueFull = errors.New("alguna: batcher queue is full")
	// errNoBatcher is what a Batcher not made by NewBatcher answers.
	errNoBatcher = errors.New("alguna: the batcher was not created with NewBatcher; use Client.Events.NewBatcher")
	// ErrEventRejected is passed to OnFailure for events Alguna named in the
	// "failed" list of its answer.
	ErrEventRejected = errors.New("alguna: event rejected by the API")
)

// BatcherOptions configures a Batcher. Zero values take the defaults.
type BatcherOptions struct {
	// MaxBatchSize is the most events one request carries: 1 to 100,
	// default 100.
	MaxBatchSize int
	// FlushInterval is the longest an event waits for its batch to fill
	// before it is sent anyway. Default 1s.
	FlushInterval time.Duration
	// QueueSize bounds every accepted event that is not settled yet —
	// waiting, in flight or waiting to be retried — so memory stays bounded
	// while Alguna is unreachable. Default 10000.
	QueueSize int
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int
	// DropWhenFull makes Enqueue answer ErrQueueFull at once on a full
	// queue. By default Enqueue waits for room, which is what billing wants.
	DropWhenFull bool
	// OnFailure receives every accepted event that will not be ingested,
	// with the reason, exactly once. Without OnFailure and without
	// WithLogger on the client, each loss is logged at ERROR through
	// slog.Default (one record per failed batch, with the count and the
	// reason), so that it never goes unnoticed. It is called from the Batcher's own
	// goroutines (and from NewBatcher and Close), never while holding a lock
	// Enqueue needs; it must not call Close. With a spool, a damaged record
	// that NewBatcher cannot read back comes with no events and an error
	// that matches ErrSpoolCorrupt and names the file and offset.
	OnFailure func(events []Event, err error)
	// RetryWaitMin and RetryWaitMax bound the Batcher's own backoff between
	// attempts at a batch, on top of the client's retries (defaults 1s, 30s).
	RetryWaitMin, RetryWaitMax time.Duration

	// SpoolDir turns on the durable spool: Enqueue returns nil only once
	// the event is written to a file in this directory and fsynced, and
	// NewBatcher first sends what an earlier process left unsettled there,
	// with the same uniqueIds and timestamps.
	// Concurrent Enqueue calls share fsyncs. Only one Batcher may use a
	// directory at a time; another gets ErrSpoolLocked. Empty: no spool,
	// events live in memory only.
	SpoolDir string
	// MaxSpoolBytes bounds the disk the spool uses, default 1 GiB. At the
	// bound Enqueue behaves as on a full queue: it waits for room, or
	// answers ErrQueueFull with DropWhenFull.
	MaxSpoolBytes int64
	// SpoolSegmentBytes is the size at which the spool starts a new file,
	// default 16 MiB. A file is deleted once every event in it is settled,
	// so smaller files give disk back sooner; larger ones mean fewer files.
	SpoolSegmentBytes int64
}

// BatcherStats counts what a Batcher did. After Close,
// Enqueued + Replayed == Ingested + Failed + Kept.
type BatcherStats struct {
	// Enqueued is every event Enqueue accepted.
	Enqueued int64
	// Ingested is every event Alguna accepted.
	Ingested int64
	// Failed is every accepted event that was not ingested; each went to
	// OnFailure.
	Failed int64
	// Dropped is every event Enqueue refused with ErrQueueFull.
	Dropped int64
	// Retried is every repeated request, by the client or by the Batcher.
	Retried int64
	// Pending is accepted (or replayed) events not settled or kept yet.
	Pending int64

	// Replayed is every event NewBatcher read back from the spool, left
	// unsettled by an earlier process.
	Replayed int64
	// Corrupt is every damaged or unreadable spool record skipped on
	// replay; each was reported to OnFailure with ErrSpoolCorrupt.
	Corrupt int64
	// SpooledBytes is the disk the spool holds or has reserved now.
	SpooledBytes int64
	// Syncs is every fsync of the spool; concurrent Enqueue calls share
	// them.
	Syncs int64
	// Kept is every event Close could not deliver before its context ended
	// and left in the spool instead; the next Batcher on SpoolDir sends
	// them. Without a spool such events are Failed.
	Kept int64
}

// Batcher sends usage events in the background, in batches, with bounded
// memory. Events that cannot be delivered are never dropped silently: each
// one is either ingested or passed to OnFailure.
//
// Create one per process with EventsService.NewBatcher, Enqueue from any
// goroutine, and Close it on shutdown.
type Batcher struct {
	client *Client
	opts   BatcherOptions

	// room counts every accepted, unsettled event against QueueSize.
	room *room
	// batches feeds the workers. Its capacity is QueueSize, and every batch
	// holds at least one accepted event, so sends never block.
	batches chan *batch

	mu       sync.Mutex
	pending  []Event
	queued   map[*batch]struct{} // cut, not yet taken by a worker
	inflight map[*batch]struct{} // taken by a worker, not settled
	closed   bool

	closing   chan struct{} // closed when Close starts
	runCtx    context.Context
	cancelRun context.CancelFunc
	workers   sync.WaitGroup

	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error

	enqueued, ingested, failed, dropped, retried atomic.Int64

	// spool is nil unless SpoolDir is set.
	spool *spool
	// pendingRefs says where each pending event is spooled (guarded by mu;
	// nil without a spool).
	pendingRefs []spoolRef
	// replayDone is closed once the spool's backlog is all queued.
	replayDone              chan struct{}
	replayed, corrupt, kept atomic.Int64
}

// batch is a group of events sent in one request. Its body and idempotency
// key are fixed when it is first sent, so every retry is the same request.
type batch struct {
	events []Event
	refs   []spoolRef // where events are spooled; nil without a spool
	done   chan struct{}
}

// NewBatcher starts a Batcher that sends through this client.
func (s *EventsService) NewBatcher(o BatcherOptions) (*Batcher, error) {
	c := s.client()
	if c == nil {
		return nil, errNoClient
	}
	var ps problems
	switch {
	case o.MaxBatchSize == 0:
		o.MaxBatchSize = MaxEventsPerRequest
	case o.MaxBatchSize < 1 || o.MaxBatchSize > MaxEventsPerRequest:
		ps.add("MaxBatchSize must be 1 to %d, got %d", MaxEventsPerRequest, o.MaxBatchSize)
	}
	switch {
	case o.FlushInterval == 0:
		o.FlushInterval = time.Second
	case o.FlushInterval < 0:
		ps.add("FlushInterval must be positive, got %s", o.FlushInterval)
	}
	switch {
	case o.QueueSize == 0:
		o.QueueSize = 10000
	case o.QueueSize < 0:
		ps.add("QueueSize must be positive, got %d", o.QueueSize)
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = 4
	case o.Concurrency < 0:
		ps.add("Concurrency must be positive, got %d", o.Concurrency)
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = time.Second
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	if o.RetryWaitMin < 0 || o.RetryWaitMax < o.RetryWaitMin {
		ps.add("retry waits must satisfy 0 < RetryWaitMin <= RetryWaitMax, got %s and %s", o.RetryWaitMin, o.RetryWaitMax)
	}
	if o.QueueSize > 0 && o.MaxBatchSize > o.QueueSize {
		o.MaxBatchSize = o.QueueSize
	}
	o.spoolOptions(&ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	sp, backlog, err := openSpool(&o, c.logger)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b := &Batcher{
		client:    c,
		opts:      o,
		room:      newRoom(o.QueueSize),
		batches:   make(chan *batch, o.QueueSize),
		pending:   make([]Event, 0, o.MaxBatchSize),
		queued:    make(map[*batch]struct{}),
		inflight:  make(map[*batch]struct{}),
		closing:   make(chan struct{}),
		runCtx:    runCtx,
		cancelRun: cancel,
		closeDone: make(chan struct{}),

		spool:      sp,
		replayDone: make(chan struct{}),
	}
	if sp != nil {
		b.pendingRefs = make([]spoolRef, 0, o.MaxBatchSize)
	}
	b.workers.Add(o.Concurrency + 1)
	for range o.Concurrency {
		go b.work()
	}
	go b.tick()
	b.replay(backlog)
	return b, nil
}

// Enqueue validates e, fixes its UniqueID and Timestamp (filling them when
// empty), and queues it. Invalid events are refused with a *ValidationError
// and never queued. On a full queue Enqueue waits for room until ctx ends,
// or answers ErrQueueFull at once when DropWhenFull is set. Once Enqueue
// returns nil, the event is either ingested or reported to OnFailure — with
// a spool, even if the process dies first: it returns nil only once the
// event is fsynced in SpoolDir.
func (b *Batcher) Enqueue(ctx context.Context, e Event) error {
	if b == nil || b.room == nil {
		return errNoBatcher
	}
	if p := e.problems(); len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	e.fill(time.Now())
	if b.opts.DropWhenFull {
		if !b.room.tryTake() {
			b.dropped.Add(1)
			return ErrQueueFull
		}
	} else if err := b.room.take(ctx, b.closing); err != nil {
		if errors.Is(err, ErrBatcherClosed) {
			return err
		}
		return fmt.Errorf("alguna: waiting for room in the batcher queue: %w", err)
	}
	var ref spoolRef
	if b.spool != nil {
		var err error
		if ref, err = b.spool.append(ctx, &e, b.opts.DropWhenFull, b.closing); err != nil {
			b.room.give(1)
			if errors.Is(err, ErrQueueFull) {
				b.dropped.Add(1)
			}
			return err
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		// Not accepted, so it must not come back after a restart.
		b.spool.settle([]spoolRef{ref})
		b.room.give(1)
		return ErrBatcherClosed
	}
	b.enqueued.Add(1)
	full := b.pushLocked(e, ref)
	b.mu.Unlock()
	if full != nil {
		b.batches <- full
	}
	return nil
}

// pushLocked adds an accepted event to the waiting ones, and returns the
// batch they make when that fills it.
func (b *Batcher) pushLocked(e Event, ref spoolRef) *batch {
	b.pending = append(b.pending, e)
	if b.spool != nil {
		b.pendingRefs = append(b.pendingRefs, ref)
	}
	if len(b.pending) >= b.opts.MaxBatchSize {
		return b.cutLocked()
	}
	return nil
}

// cutLocked turns the waiting events into a batch for the workers.
func (b *Batcher) cutLocked() *batch {
	if len(b.pending) == 0 {
		return nil
	}
	bt := &batch{events: b.pending, refs: b.pendingRefs, done: make(chan struct{})}
	b.pending = make([]Event, 0, b.opts.MaxBatchSize)
	if b.spool != nil {
		b.pendingRefs = make([]spoolRef, 0, b.opts.MaxBatchSize)
	}
	b.queued[bt] = struct{}{}
	return bt
}

// cut sends the waiting events now, whatever their number.
func (b *Batcher) cut() []chan struct{} {
	b.mu.Lock()
	bt := b.cutLocked()
	waits := make([]chan struct{}, 0, len(b.queued)+len(b.inflight))
	for q := range b.queued {
		waits = append(waits, q.done)
	}
	for q := range b.inflight {
		waits = append(waits, q.done)
	}
	b.mu.Unlock()
	if bt != nil {
		b.batches <- bt
	}
	return waits
}

// Flush returns once every event enqueued before the call is ingested or
// reported to OnFailure, or when ctx ends. Batches waiting to be retried are
// waited for, not given up.
func (b *Batcher) Flush(ctx context.Context) error {
	if b == nil || b.room == nil {
		return errNoBatcher
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrBatcherClosed
	}
	select {
	case <-b.replayDone:
	case <-ctx.Done():
		return fmt.Errorf("alguna: flushing batcher: %w", ctx.Err())
	}
	for _, done := range b.cut() {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("alguna: flushing batcher: %w", ctx.Err())
		}
	}
	return nil
}

// Close stops intake, sends everything queued, and keeps retrying failed
// batches until they are delivered or ctx ends. Then every event still
// undelivered goes to OnFailure, exactly once — or, with a spool, stays in
// the spool for the next Batcher on the directory (Stats().Kept) — and
// Close returns an error that says how many. Close waits for the Batcher's
// goroutines to exit and releases the spool. It is
// safe to call more than once; later calls wait for the first and return its
// result.
func (b *Batcher) Close(ctx context.Context) error {
	if b == nil || b.room == nil {
		return errNoBatcher
	}
	first := false
	b.closeOnce.Do(func() { first = true })
	if first {
		b.closeErr = b.close(ctx)
		close(b.closeDone)
		return b.closeErr
	}
	select {
	case <-b.closeDone:
		return b.closeErr
	case <-ctx.Done():
		return fmt.Errorf("alguna: waiting for batcher to close: %w", ctx.Err())
	}
}

func (b *Batcher) close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.closing)

	var ctxErr error
	select {
	case <-b.replayDone:
	case <-ctx.Done():
		ctxErr = ctx.Err()
	}
	waits := b.cut()
wait:
	for _, done := range waits {
		select {
		case <-done:
		case <-ctx.Done():
			ctxErr = ctx.Err()
			break wait
		}
	}
	// Delivered or out of time: either way the workers stop now. A worker
	// that holds a batch settles it before it exits.
	b.cancelRun()
	b.workers.Wait()

	// What no worker took is reported here, with what the spool's replay
	// queued after the cut above.
	b.mu.Lock()
	b.cutLocked()
	left := make([]*batch, 0, len(b.queued))
	for q := range b.queued {
		left = append(left, q)
		delete(b.queued, q)
	}
	b.mu.Unlock()
	reason := ErrBatcherClosed
	if ctxErr != nil {
		reason = fmt.Errorf("%w before delivery: %w", ErrBatcherClosed, ctxErr)
	}
	for _, q := range left {
		b.abandon(q.events, reason)
		b.finish(q)
	}
	spoolErr := b.spool.close(b.kept.Load())

	failed, kept := b.failed.Load(), b.kept.Load()
	if failed > 0 || kept > 0 || ctxErr != nil {
		err := fmt.Errorf("alguna: batcher closed with %d of %d events not ingested", failed+kept, b.enqueued.Load()+b.replayed.Load())
		if kept > 0 {
			err = fmt.Errorf("%w (%d kept in the spool for the next start)", err, kept)
		}
		if ctxErr != nil {
			err = fmt.Errorf("%w: %w", err, ctxErr)
		}
		return errors.Join(err, spoolErr)
	}
	return spoolErr
}

// Stats returns the Batcher's counters.
func (b *Batcher) Stats() BatcherStats {
	if b == nil || b.room == nil {
		return BatcherStats{}
	}
	s := BatcherStats{
		Enqueued: b.enqueued.Load(),
		Ingested: b.ingested.Load(),
		Failed:   b.failed.Load(),
		Dropped:  b.dropped.Load(),
		Retried:  b.retried.Load(),
		Replayed: b.replayed.Load(),
		Corrupt:  b.corrupt.Load(),
		Kept:     b.kept.Load(),
	}
	s.SpooledBytes, s.Syncs = b.spool.spooled()
	s.Pending = s.Enqueued + s.Replayed - s.Ingested - s.Failed - s.Kept
	return s
}

// tick sends partly filled batches once FlushInterval has passed.
func (b *Batcher) tick() {
	defer b.workers.Done()
	t := time.NewTicker(b.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			bt := b.cutLocked()
			b.mu.Unlock()
			if bt != nil {
				b.batches <- bt
			}
		case <-b.closing:
			return
		}
	}
}

func (b *Batcher) work() {
	defer b.workers.Done()
	for {
		select {
		case bt := <-b.batches:
			if !b.take(bt) {
				continue
			}
			b.deliver(bt.events, bt.refs)
			b.finish(bt)
		case <-b.runCtx.Done():
			return
		}
	}
}

// take moves a batch from queued to in flight; false if Close has already
// reported it.
func (b *Batcher) take(bt *batch) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.queued[bt]; !ok {
		return false
	}
	delete(b.queued, bt)
	b.inflight[bt] = struct{}{}
	return true
}

func (b *Batcher) finish(bt *batch) {
	b.mu.Lock()
	delete(b.inflight, bt)
	b.mu.Unlock()
	close(bt.done)
}

// deliver sends events until each one is settled — ingested or refused —
// or the Batcher stops and abandons them. It returns only then. refs, when
// there is a spool, says where each event is spooled.
func (b *Batcher) deliver(events []Event, refs []spoolRef) {
	body := encodeEvents(events)
	key := uuid.NewString()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			b.retried.Add(1)
		}
		var res ingestAnswer
		err := b.client.do(b.runCtx, ingestEvents.with(), nil, body, &res,
			[]RequestOption{WithIdempotencyKey(key), withRetryCounter(&b.retried)})
		if err == nil {
			b.settle(events, res.Failed)
			b.spool.settle(refs)
			return
		}
		if b.runCtx.Err() != nil {
			b.abandon(events, fmt.Errorf("%w before delivery: %w", ErrBatcherClosed, err))
			return
		}
		if refusedAsBatch(err) && len(events) > 1 {
			// One bad event must not cost the others: halve the batch until
			// the refusal is pinned on the events that cause it.
			half := len(events) / 2
			b.deliver(events[:half], part(refs, 0, half))
			b.deliver(events[half:], part(refs, half, len(events)))
			return
		}
		if !retryable(err) {
			b.fail(events, err)
			b.spool.settle(refs)
			return
		}
		wait := backoff(b.opts.RetryWaitMin, b.opts.RetryWaitMax, attempt, nil)
		b.client.logger.LogAttrs(b.runCtx, slog.LevelWarn, "alguna: batch not delivered, will retry",
			slog.Int("events", len(events)), slog.Int("attempt", attempt+1),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-b.runCtx.Done():
			t.Stop()
			b.abandon(events, fmt.Errorf("%w before delivery: %w", ErrBatcherClosed, err))
			return
		}
	}
}

// part is refs[lo:hi], or nil without a spool.
func part(refs []spoolRef, lo, hi int) []spoolRef {
	if refs == nil {
		return nil
	}
	return refs[lo:hi]
}

// abandon gives up on events because Close ran out of time. Without a spool
// they will never be ingested, so they are reported. With one, they stay in
// the spool, unsettled, and the next Batcher on the directory sends them:
// the event was acknowledged as durable, and a deadline at shutdown does not
// change that.
func (b *Batcher) abandon(events []Event, cause error) {
	if b.spool == nil {
		b.fail(events, cause)
		return
	}
	b.kept.Add(int64(len(events)))
	b.client.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: events kept in the spool for the next start",
		slog.Int("events", len(events)), slog.String("error", cause.Error()))
	b.release(len(events))
}

// ingestAnswer decodes only what the Batcher needs: which events failed.
// The answer echoes every ingested id; skipping them rather than decoding
// them saved a seventh of the Batcher's CPU.
type ingestAnswer struct {
	ingested bool
	Failed   []string
}

func (a *ingestAnswer) decodeRaw(data []byte) error {
	return jsonscan.Object(data, func(key, value []byte) error {
		switch {
		case jsonscan.KeyIs(key, "ingested"):
			if jsonscan.IsNull(value) {
				return nil
			}
			if value[0] != '[' {
				return errors.New(`"ingested" is not a list`)
			}
			a.ingested = true
		case jsonscan.KeyIs(key, "failed"):
			return json.Unmarshal(value, &a.Failed)
		}
		return nil
	})
}

func (a *ingestAnswer) check() error {
	if !a.ingested && a.Failed == nil {
		return errors.New(`answer has neither "ingested" nor "failed"`)
	}
	return nil
}

// settle records an answer: events named in failed go to OnFailure, the rest
// were ingested.
func (b *Batcher) settle(events []Event, failed []string) {
	if len(failed) == 0 {
		b.ingested.Add(int64(len(events)))
		b.release(len(events))
		return
	}
	names := make(map[string]struct{}, len(failed))
	for _, id := range failed {
		names[id] = struct{}{}
	}
	var bad []Event
	for _, e := range events {
		if _, ok := names[e.UniqueID]; ok {
			bad = append(bad, e)
		}
	}
	good := len(events) - len(bad)
	b.ingested.Add(int64(good))
	b.release(good)
	if len(bad) > 0 {
		b.fail(bad, ErrEventRejected)
	}
}

// fail reports events that will not be ingested and gives back their room.
func (b *Batcher) fail(events []Event, err error) {
	b.report(events, err)
	b.release(len(events))
}

// report counts events as failed and passes them to OnFailure.
func (b *Batcher) report(events []Event, err error) {
	b.failed.Add(int64(len(events)))
	logger := b.client.logger
	if b.opts.OnFailure == nil && !b.client.ownLogger {
		// Nobody asked to hear of losses, and a loss must leave a trace
		// beyond a counter: the process's default logger gets it.
		logger = slog.Default()
	}
	logger.LogAttrs(context.Background(), slog.LevelError, "alguna: events not ingested",
		slog.Int("events", len(events)), slog.String("error", err.Error()))
	if b.opts.OnFailure != nil {
		b.opts.OnFailure(events, err)
	}
}

func (b *Batcher) release(n int) {
	b.room.give(n)
}

// room counts accepted, unsettled events against QueueSize. Events are
// taken one by one but given back a batch at a time, so it is a counter
// with a broadcast rather than a channel of tokens: a channel cost two
// channel operations per event.
type room struct {
	mu      sync.Mutex
	used    int
	size    int
	waiting int
	freed   chan struct{} // closed, and replaced, when room is given back to waiters
}

func newRoom(size int) *room {
	return &room{size: size, freed: make(chan struct{})}
}

// tryTake takes room for one event if there is any.
func (r *room) tryTake() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used < r.size {
		r.used++
		return true
	}
	return false
}

// take waits for room for one event until ctx ends (its error) or closing
// is closed (ErrBatcherClosed).
func (r *room) take(ctx context.Context, closing <-chan struct{}) error {
	r.mu.Lock()
	for r.used >= r.size {
		r.waiting++
		freed := r.freed
		r.mu.Unlock()
		err := waitFreed(ctx, freed, closing)
		r.mu.Lock()
		r.waiting--
		if err != nil {
			r.mu.Unlock()
			return err
		}
	}
	r.used++
	r.mu.Unlock()
	return nil
}

// waitFreed waits for a broadcast that room was freed: nil then,
// ErrBatcherClosed if closing is closed first, or ctx's error.
func waitFreed(ctx context.Context, freed, closing <-chan struct{}) error {
	select {
	case <-freed:
		return nil
	case <-closing:
		return ErrBatcherClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// give returns room for n events.
func (r *room) give(n int) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	r.used -= n
	if r.waiting > 0 {
		close(r.freed)
		r.freed = make(chan struct{})
	}
	r.mu.Unlock()
}

// refusedAsBatch tells a refusal of the request's content (which may come
// from a single event) from a refusal of the caller.
func refusedAsBatch(err error) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) &&
		(apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusUnprocessableEntity ||
			apiErr.StatusCode == http.StatusRequestEntityTooLarge)
}

// retryable tells whether a batch that failed may succeed later. Answers
// that are not the expected JSON are retried: the uniqueIds make resending
// harmless, and giving up would lose the events.
func retryable(err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return false
	}
	var pe *permanentError
	return !errors.As(err, &pe)
}
