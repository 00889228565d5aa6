package alguna

import (
	"context"
	"sync"
	"time"

	"github.com/alguna/alguna-go/internal/spool"
)

// This file is the Batcher's queue: the room that bounds it, the batches
// events are gathered into, and the goroutines that cut batches and take
// them to send.

// batch is a group of events sent in one request. Its events are kept only
// as the JSON that is sent: body is the request, built as events arrive, so
// every attempt sends the very same bytes.
type batch struct {
	// body is "[", the events' JSON separated by commas, and, once the
	// batch is cut, "]".
	body  []byte
	items []item
	done  chan struct{}
}

// item is one event of a batch.
type item struct {
	// id is the event's uniqueId, to match the answer's "failed" list; empty
	// when the Batcher generated it, and then read from the JSON (see id).
	id string
	// start and end bound the event's JSON in the batch's body.
	start, end int
	// ref is where the spool holds the event; zero without a spool.
	ref spool.Ref
}

// uniqueID is the event's uniqueId. One the Batcher generated is kept only
// in the JSON, where it has a fixed place and needs no escaping.
func (it *item) uniqueID(body []byte) string {
	if it.id != "" {
		return it.id
	}
	return string(body[it.start+idOffset : it.start+idOffset+36])
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// newBatch returns an empty batch with room for n events of about size
// bytes each.
func newBatch(n, size int) *batch {
	bt := batchPool.Get().(*batch)
	if cap(bt.body) < n*(size+1)+2 {
		bt.body = make([]byte, 0, n*(size+1)+2)
	}
	if cap(bt.items) < n {
		bt.items = make([]item, 0, n)
	}
	bt.body = append(bt.body[:0], '[')
	bt.items = bt.items[:0]
	bt.done = make(chan struct{})
	return bt
}

// recycle gives a settled batch back. Nothing refers to its body or items
// any longer: requests have ended, and failures copied what they report.
func (bt *batch) recycle() {
	if cap(bt.body) > 1<<20 {
		return
	}
	clear(bt.items) // drop the ids and spool references
	bt.items = bt.items[:0]
	bt.done = nil
	batchPool.Put(bt)
}

// pushLocked adds an accepted event, as its JSON, to the waiting ones, and
// returns the batch they make when that fills it. b.mu is held.
func (b *Batcher) pushLocked(id string, payload []byte, ref spool.Ref) *batch {
	bt := b.pending
	if bt == nil {
		bt = newBatch(b.maxBatch, len(payload))
		b.pending = bt
	}
	if len(bt.items) > 0 {
		bt.body = append(bt.body, ',')
	}
	start := len(bt.body)
	bt.body = append(bt.body, payload...)
	bt.items = append(bt.items, item{id: id, start: start, end: len(bt.body), ref: ref})
	if len(bt.items) >= b.maxBatch {
		return b.cutLocked()
	}
	return nil
}

// cutLocked turns the waiting events into a batch for the workers.
func (b *Batcher) cutLocked() *batch {
	bt := b.pending
	if bt == nil {
		return nil
	}
	b.pending = nil
	bt.body = append(bt.body, ']')
	b.queued[bt] = struct{}{}
	return bt
}

// cut sends the waiting events now, whatever their number, and returns what
// to wait on for everything accepted so far to settle.
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
			b.deliver(bt.body, bt.items)
			b.finish(bt)
		case <-b.runCtx.Done():
			return
		}
	}
}

// take moves a batch from queued to in flight; false if Close has already
// settled it.
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
	bt.recycle()
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

// tryTake takes room for n events if there is that much.
func (r *room) tryTake(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used+n <= r.size {
		r.used += n
		return true
	}
	return false
}

// take waits for room for n events until ctx ends (its error) or closing
// is closed (ErrBatcherClosed). n is at most the room's size.
func (r *room) take(ctx context.Context, closing <-chan struct{}, n int) error {
	r.mu.Lock()
	for r.used+n > r.size {
		r.waiting++
		freed := r.freed
		r.mu.Unlock()
		var err error
		select {
		case <-freed:
		case <-closing:
			err = ErrBatcherClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
		r.mu.Lock()
		r.waiting--
		if err != nil {
			r.mu.Unlock()
			return err
		}
	}
	r.used += n
	r.mu.Unlock()
	return nil
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

// scratch is a producer's buffer for encoding events, pooled so that
// Enqueue allocates nothing for it.
type scratch struct {
	buf   []byte
	parts [][]byte // EnqueueMany: each event's JSON within buf
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 512)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.buf) > 1<<20 {
		return
	}
	s.buf = s.buf[:0]
	clear(s.parts)
	s.parts = s.parts[:0]
	scratchPool.Put(s)
}
