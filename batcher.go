package alguna

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/alguna/alguna-go/internal/spool"
)

// Errors the Batcher answers with.
var (
	// ErrBatcherClosed is returned by Enqueue and Flush after Close.
	ErrBatcherClosed = errors.New("alguna: batcher is closed")
	// ErrQueueFull is returned by Enqueue when the queue is full and
	// BatcherOptions.DropWhenFull is set. The event was not accepted.
	ErrQueueFull = errors.New("alguna: batcher queue is full")
	// ErrEventRejected is passed to OnFailure for events Alguna named in the
	// "failed" list of its answer. Enqueueing such an event again from
	// OnFailure loops forever: Alguna refuses it again.
	ErrEventRejected = errors.New("alguna: event rejected by the API")
	// ErrSpoolLocked is returned by NewBatcher when another Batcher, in this
	// process or another, is using the same SpoolDir.
	ErrSpoolLocked = spool.ErrLocked
	// ErrSpoolCorrupt is passed to OnFailure for a spool record that was
	// found damaged when NewBatcher replayed the spool. The error names the
	// file and offset; the events passed with it, if any, are what could be
	// read back, and are not sent because their content cannot be trusted.
	ErrSpoolCorrupt = spool.ErrCorrupt

	errNoBatcher = errors.New("alguna: the batcher was not created with NewBatcher; use Client.Events.NewBatcher")
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
	// MaxEventsPerSecond paces sending with a token bucket, so that the
	// Batcher stays under Alguna's ingestion limit (1000 events/s) instead
	// of being answered 429. Every request spends one token per event it
	// carries, retries included. When the rate is below a full batch per
	// second, batches are cut to what one second allows. Zero sends as fast
	// as Alguna answers. The limit is your Alguna account's, not a
	// process's: with several replicas, give each its share.
	MaxEventsPerSecond float64

	// OnFailure receives every accepted event that will not be ingested,
	// with the reason, exactly once: events Alguna named in its "failed"
	// list (ErrEventRejected), events refused for good (a 401, say), and,
	// without a spool, events Close could not deliver before its context
	// ended. Each event comes as it was accepted, read back from the JSON
	// that was sent, so its number properties are json.Number (digits
	// intact); it can be enqueued again as it is.
	//
	// OnFailure runs on a goroutine of its own, one call at a time in the
	// order of the failures, never on a goroutine that sends. So it may call
	// Enqueue — to requeue an event or to record a compensating one — which
	// behaves as anywhere else: on a full queue it waits for room (or
	// answers ErrQueueFull with DropWhenFull) while the Batcher goes on
	// sending and freeing room, and once Close has begun it answers
	// ErrBatcherClosed. It must not call Flush or Close, which wait for
	// OnFailure to finish. Requeueing an event refused with
	// ErrEventRejected loops forever.
	//
	// Without OnFailure and without WithLogger on the client, each loss is
	// logged at ERROR through slog.Default (one record per failed batch,
	// with the count and the reason), so that it never goes unnoticed.
	// With a spool, a damaged record that NewBatcher cannot read back comes
	// with no events and an error that matches ErrSpoolCorrupt and names the
	// file and offset.
	OnFailure func(events []Event, err error)
	// OnIngested receives the uniqueIds of events Alguna ingested, a batch
	// at a time, on the same goroutine as OnFailure and under the same
	// rules. Most programs need only the Stats counter; a program that
	// keeps its own record of usage sent (an outbox) uses it to mark rows
	// done.
	OnIngested func(uniqueIDs []string)
	// RetryWaitMin and RetryWaitMax bound the backoff between attempts at a
	// batch; zero takes the client's WithRetryWait bounds. A Retry-After
	// from Alguna takes precedence (and holds every worker of the Batcher).
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

const (
	defaultMaxSpoolBytes     = 1 << 30
	defaultSpoolSegmentBytes = 16 << 20
	minSpoolBytes            = 1 << 10
)

// BatcherStats counts what a Batcher did. After Close,
// Enqueued + Replayed == Ingested + Failed + Kept.
type BatcherStats struct {
	// Enqueued is every event Enqueue and EnqueueMany accepted.
	Enqueued int64
	// Ingested is every event Alguna accepted.
	Ingested int64
	// Failed is every accepted event that was not ingested; each goes to
	// OnFailure.
	Failed int64
	// Dropped is every event Enqueue refused with ErrQueueFull.
	Dropped int64
	// Retried is every request sent again.
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
	// maxBatch is MaxBatchSize, cut to what one second of pacing allows.
	maxBatch int

	// room counts every accepted, unsettled event against QueueSize.
	room *room
	// batches feeds the workers. Its capacity is QueueSize, and every batch
	// holds at least one accepted event, so sends never block.
	batches chan *batch

	mu       sync.Mutex
	pending  *batch              // filling; nil until the next event
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

	// retry is the backoff between attempts at a batch; hold is a
	// Retry-After that holds every worker; limiter paces them (nil when
	// unpaced).
	retry   retrier
	hold    hold
	limiter *rate.Limiter

	callbacks *callbacks

	enqueued, ingested, failed, dropped, retried atomic.Int64

	// spool is nil unless SpoolDir is set.
	spool *spool.Log
	// replayDone is closed once the spool's backlog is all queued.
	replayDone              chan struct{}
	replayed, corrupt, kept atomic.Int64
}

// NewBatcher starts a Batcher that sends through this client.
func (s *EventsService) NewBatcher(o BatcherOptions) (*Batcher, error) {
	c := s.client()
	if c == nil {
		return nil, errNoClient
	}
	if err := o.normalize(c); err != nil {
		return nil, err
	}
	b := &Batcher{
		client:     c,
		opts:       o,
		maxBatch:   o.MaxBatchSize,
		room:       newRoom(o.QueueSize),
		batches:    make(chan *batch, o.QueueSize),
		queued:     make(map[*batch]struct{}),
		inflight:   make(map[*batch]struct{}),
		closing:    make(chan struct{}),
		closeDone:  make(chan struct{}),
		retry:      retrier{minWait: o.RetryWaitMin, maxWait: o.RetryWaitMax, clock: c.retry.clock},
		callbacks:  newCallbacks(o.OnFailure, o.OnIngested),
		replayDone: make(chan struct{}),
	}
	if r := o.MaxEventsPerSecond; r > 0 {
		// A batch must fit in the bucket, or its request would wait for
		// tokens the bucket can never hold. The bucket holds nine tenths of
		// a second's worth rather than all of it: Alguna's own bucket holds
		// a second's worth, and a burst that emptied it would leave no room
		// for requests that arrive a little closer together than they were
		// sent.
		b.maxBatch = min(o.MaxBatchSize, max(1, int(r)))
		b.limiter = rate.NewLimiter(rate.Limit(r), max(int(r*0.9), b.maxBatch))
	}
	var backlog *spool.Backlog
	if o.SpoolDir != "" {
		var err error
		b.spool, backlog, err = spool.Open(spool.Options{
			Dir: o.SpoolDir, MaxBytes: o.MaxSpoolBytes, SegmentBytes: o.SpoolSegmentBytes, Logger: c.logger,
		})
		if err != nil {
			return nil, err
		}
	}
	b.runCtx, b.cancelRun = context.WithCancel(context.Background())
	go b.callbacks.run()
	b.workers.Add(o.Concurrency + 1)
	for range o.Concurrency {
		go b.work()
	}
	go b.tick()
	if backlog != nil {
		b.replay(backlog)
	} else {
		close(b.replayDone)
	}
	return b, nil
}

// normalize checks the options and fills in the defaults.
func (o *BatcherOptions) normalize(c *Client) error {
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
	if r := o.MaxEventsPerSecond; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		ps.add("MaxEventsPerSecond must be zero (unpaced) or a positive number, got %v", r)
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = c.retry.minWait
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = max(c.retry.maxWait, o.RetryWaitMin)
	}
	if o.RetryWaitMin < 0 || o.RetryWaitMax < o.RetryWaitMin {
		ps.add("retry waits must satisfy 0 < RetryWaitMin <= RetryWaitMax, got %s and %s", o.RetryWaitMin, o.RetryWaitMax)
	}
	if o.QueueSize > 0 && o.MaxBatchSize > o.QueueSize {
		o.MaxBatchSize = o.QueueSize
	}
	if o.SpoolDir == "" {
		if o.MaxSpoolBytes != 0 || o.SpoolSegmentBytes != 0 {
			ps.add("MaxSpoolBytes and SpoolSegmentBytes need SpoolDir")
		}
		return ps.err()
	}
	switch {
	case o.MaxSpoolBytes == 0:
		o.MaxSpoolBytes = defaultMaxSpoolBytes
	case o.MaxSpoolBytes < minSpoolBytes:
		ps.add("MaxSpoolBytes must be at least %d, got %d", minSpoolBytes, o.MaxSpoolBytes)
	}
	switch {
	case o.SpoolSegmentBytes == 0:
		o.SpoolSegmentBytes = defaultSpoolSegmentBytes
	case o.SpoolSegmentBytes < minSpoolBytes:
		ps.add("SpoolSegmentBytes must be at least %d, got %d", minSpoolBytes, o.SpoolSegmentBytes)
	}
	return ps.err()
}

// Enqueue validates e, fixes its UniqueID and Timestamp (filling them when
// empty), and queues it. Invalid events are refused with a *ValidationError
// and never queued. The event is taken as it is at the moment of the call:
// its properties are encoded before Enqueue returns, so the caller may reuse
// or change its map at once, and nothing it does to it later changes what is
// sent.
//
// On a full queue Enqueue waits for room until ctx ends, or answers
// ErrQueueFull at once when DropWhenFull is set. Once Enqueue returns nil,
// the event is either ingested or reported to OnFailure — with a spool, even
// if the process dies first: it returns nil only once the event is fsynced
// in SpoolDir.
func (b *Batcher) Enqueue(ctx context.Context, e Event) error {
	if b == nil || b.room == nil {
		return errNoBatcher
	}
	sc := getScratch()
	defer putScratch(sc)
	// Validated and encoded in one pass; an empty id and a zero time are
	// filled in the JSON, which is all the Batcher keeps of the event.
	var ok bool
	if sc.buf, ok = appendValidEvent(sc.buf[:0], &e, time.Now()); !ok {
		return &ValidationError{Problems: e.problems()}
	}
	if err := b.takeRoom(ctx, 1); err != nil {
		return err
	}
	var ref spool.Ref
	if b.spool != nil {
		var err error
		if ref, err = b.spool.Append(ctx, sc.buf, b.spoolWait()); err != nil {
			b.room.give(1)
			return b.spoolError(err, 1)
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.refuse([]spool.Ref{ref}, 1)
		return ErrBatcherClosed
	}
	b.enqueued.Add(1)
	full := b.pushLocked(e.UniqueID, sc.buf, ref)
	b.mu.Unlock()
	if full != nil {
		b.batches <- full
	}
	return nil
}

// EnqueueMany is Enqueue for a slice, all or nothing: every event is
// validated first, and none is queued if any is invalid or if there are more
// than QueueSize of them. It fills empty UniqueIDs and zero Timestamps in the
// caller's slice (as Ingest does), so that calling it again after an error
// sends the same events, which Alguna counts once. With a spool, the whole
// slice takes one fsync.
func (b *Batcher) EnqueueMany(ctx context.Context, events []Event) error {
	if b == nil || b.room == nil {
		return errNoBatcher
	}
	if len(events) == 0 {
		return nil
	}
	if len(events) > b.opts.QueueSize {
		return invalid(fmt.Sprintf("%d events, more than QueueSize (%d) can ever hold at once", len(events), b.opts.QueueSize))
	}
	if err := validateEvents(events); err != nil {
		return err
	}
	now := time.Now()
	sc := getScratch()
	defer putScratch(sc)
	for i := range events {
		events[i].fill(now)
		start := len(sc.buf)
		sc.buf = appendEvent(sc.buf, &events[i])
		sc.parts = append(sc.parts, sc.buf[start:])
	}
	n := len(events)
	if err := b.takeRoom(ctx, n); err != nil {
		return err
	}
	refs := make([]spool.Ref, n)
	if b.spool != nil {
		if err := b.spool.AppendAll(ctx, sc.parts, refs, b.spoolWait()); err != nil {
			b.room.give(n)
			return b.spoolError(err, n)
		}
	}
	var full []*batch
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.refuse(refs, n)
		return ErrBatcherClosed
	}
	b.enqueued.Add(int64(n))
	for i := range events {
		if bt := b.pushLocked(events[i].UniqueID, sc.parts[i], refs[i]); bt != nil {
			full = append(full, bt)
		}
	}
	b.mu.Unlock()
	for _, bt := range full {
		b.batches <- bt
	}
	return nil
}

// takeRoom takes room in the queue for n events, or says why not.
func (b *Batcher) takeRoom(ctx context.Context, n int) error {
	if b.opts.DropWhenFull {
		if !b.room.tryTake(n) {
			b.dropped.Add(int64(n))
			return ErrQueueFull
		}
		return nil
	}
	if err := b.room.take(ctx, b.closing, n); err != nil {
		if errors.Is(err, ErrBatcherClosed) {
			return err
		}
		return fmt.Errorf("alguna: waiting for room in the batcher queue: %w", err)
	}
	return nil
}

func (b *Batcher) spoolWait() spool.Wait {
	return spool.Wait{NoWait: b.opts.DropWhenFull, Stop: b.closing}
}

// spoolError is Enqueue's answer when the spool did not take n events.
func (b *Batcher) spoolError(err error, n int) error {
	switch {
	case errors.Is(err, spool.ErrFull):
		b.dropped.Add(int64(n))
		return ErrQueueFull
	case errors.Is(err, spool.ErrClosed):
		return ErrBatcherClosed
	}
	return err
}

// refuse undoes the intake of events that found the Batcher closed: they
// were not accepted, so they must not come back after a restart either.
func (b *Batcher) refuse(refs []spool.Ref, n int) {
	if b.spool != nil {
		b.spool.Settle(refs)
	}
	b.room.give(n)
}

// Flush returns once every event enqueued before the call is ingested or
// reported to OnFailure (OnFailure has returned), or when ctx ends. Batches
// waiting to be retried are waited for, not given up.
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
	if err := b.callbacks.flush(ctx); err != nil {
		return fmt.Errorf("alguna: flushing batcher: %w", err)
	}
	return nil
}

// Close stops intake, sends everything queued, and keeps retrying failed
// batches until they are delivered or ctx ends. Then every event still
// undelivered goes to OnFailure, exactly once — or, with a spool, stays in
// the spool for the next Batcher on the directory (Stats().Kept) — and
// Close returns an error that says how many. Close returns once OnFailure
// has heard of every loss and the Batcher's goroutines have exited, and it
// releases the spool. It is safe to call more than once; later calls wait
// for the first and return its result.
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

	// What no worker took is settled here, with what the spool's replay
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
		b.abandon(q.items, q.body, reason)
		close(q.done)
	}
	var spoolErr error
	if b.spool != nil {
		spoolErr = b.spool.Close(b.kept.Load())
	}
	b.callbacks.close()

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
	if b.spool != nil {
		s.SpooledBytes, s.Syncs = b.spool.Stats()
	}
	s.Pending = s.Enqueued + s.Replayed - s.Ingested - s.Failed - s.Kept
	return s
}
