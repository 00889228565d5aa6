package alguna

import (
	"context"
	"sync"
)

// callbacks runs OnFailure and OnIngested on a goroutine of their own, one
// call at a time, in the order of the events they report. Workers only hand
// them over, so a callback that blocks — an OnFailure that enqueues into a
// full queue, say — never stops the Batcher from sending, which is what
// frees the room it waits for.
type callbacks struct {
	onFailure  func([]Event, error)
	onIngested func([]string)

	mu       sync.Mutex
	queue    []callback
	queued   uint64        // callbacks pushed so far
	done     uint64        // callbacks run so far
	progress chan struct{} // closed, and replaced, when done grows
	wake     chan struct{}
	stopping bool
	stopped  chan struct{}
}

// callback is one call to make: a failure (payloads or events, with err) or
// events ingested.
type callback struct {
	payloads [][]byte // failed events' JSON, read back into Events to report
	events   []Event  // failed events already read back (from the spool)
	err      error
	ingested []string
}

func newCallbacks(onFailure func([]Event, error), onIngested func([]string)) *callbacks {
	return &callbacks{
		onFailure:  onFailure,
		onIngested: onIngested,
		progress:   make(chan struct{}),
		wake:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
}

// push queues a call. It never blocks: what it queues is bounded by the
// events that failed, whose room in the queue is already given back.
func (c *callbacks) push(cb callback) {
	c.mu.Lock()
	c.queue = append(c.queue, cb)
	c.queued++
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *callbacks) run() {
	defer close(c.stopped)
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			stop := c.stopping
			c.mu.Unlock()
			if stop {
				return
			}
			<-c.wake
			continue
		}
		cb := c.queue[0]
		c.queue[0] = callback{}
		c.queue = c.queue[1:]
		c.mu.Unlock()

		c.call(cb)

		c.mu.Lock()
		c.done++
		close(c.progress)
		c.progress = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *callbacks) call(cb callback) {
	if cb.ingested != nil {
		c.onIngested(cb.ingested)
		return
	}
	events := cb.events
	if cb.payloads != nil {
		events = make([]Event, len(cb.payloads))
		for i, p := range cb.payloads {
			// The Batcher encoded these bytes itself; they read back.
			events[i], _ = decodeEvent(p)
		}
	}
	c.onFailure(events, cb.err)
}

// flush waits until every callback pushed before it has run.
func (c *callbacks) flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.queued
	for c.done < target {
		ch := c.progress
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// close runs what is queued and stops the goroutine.
func (c *callbacks) close() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.stopped
}
