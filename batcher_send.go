package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/alguna/alguna-go/internal/jsonscan"
	"github.com/alguna/alguna-go/internal/spool"
)

// This file is how the Batcher sends a batch and settles its events: each
// is ingested, reported to OnFailure, or (with a spool, at a deadline) kept
// for the next start.

// deliver sends a batch until each of its events is settled, or the Batcher
// stops and abandons them. It returns only then.
func (b *Batcher) deliver(body []byte, items []item) {
	req, err := b.client.prepare(ingestEvents.with(), nil, rawJSON(body), nil)
	if err == nil {
		var ans ingestAnswer
		err = b.client.send(b.runCtx, req, &ans, b.policy(len(items)))
		if err == nil {
			b.settle(items, body, ans.Failed)
			return
		}
	}
	switch {
	case b.runCtx.Err() != nil:
		b.abandon(items, body, fmt.Errorf("%w before delivery: %w", ErrBatcherClosed, err))
	case refusedAsBatch(err) && len(items) > 1:
		// One bad event must not cost the others: halve the batch until the
		// refusal is pinned on the events that cause it.
		half := len(items) / 2
		for _, part := range [][]item{items[:half], items[half:]} {
			sub, subItems := rebatch(body, part)
			b.deliver(sub, subItems)
		}
	default:
		b.fail(items, body, err)
	}
}

// policy is how a batch is sent: retried for as long as the Batcher runs
// (malformed answers included: uniqueIds make resending harmless), held by
// a Retry-After that any worker receives, and paced, n tokens a request.
func (b *Batcher) policy(n int) *policy {
	p := &policy{untilCtx: true, retryMalformed: true, hold: &b.hold, retried: &b.retried, retry: &b.retry}
	if b.limiter != nil {
		p.pace = func(ctx context.Context) error {
			now := b.retry.clock.Now()
			r := b.limiter.ReserveN(now, n)
			if d := r.DelayFrom(now); d > 0 {
				if err := b.retry.clock.Sleep(ctx, d); err != nil {
					r.CancelAt(b.retry.clock.Now())
					return err
				}
			}
			return nil
		}
	}
	return p
}

// rebatch builds the body of some of a batch's events.
func rebatch(body []byte, items []item) ([]byte, []item) {
	size := 2
	for _, it := range items {
		size += it.end - it.start + 1
	}
	sub := make([]byte, 0, size)
	sub = append(sub, '[')
	out := make([]item, len(items))
	for i, it := range items {
		if i > 0 {
			sub = append(sub, ',')
		}
		start := len(sub)
		sub = append(sub, body[it.start:it.end]...)
		out[i] = item{id: it.id, start: start, end: len(sub), ref: it.ref}
	}
	return append(sub, ']'), out
}

// ingestAnswer decodes only what the Batcher needs: which events failed.
// The answer echoes every ingested id, which it skips rather than decodes
// (BENCHMARKS.md has what that saves).
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
func (b *Batcher) settle(items []item, body []byte, failed []string) {
	if len(failed) == 0 {
		b.ingest(items, body)
		return
	}
	names := make(map[string]struct{}, len(failed))
	for _, id := range failed {
		names[id] = struct{}{}
	}
	good := make([]item, 0, len(items))
	var bad []item
	for _, it := range items {
		var hit bool
		if it.id != "" {
			_, hit = names[it.id]
		} else {
			// Indexed with the bytes themselves: no string is built.
			_, hit = names[string(body[it.start+idOffset:it.start+idOffset+36])]
		}
		if hit {
			bad = append(bad, it)
		} else {
			good = append(good, it)
		}
	}
	b.ingest(good, body)
	if len(bad) > 0 {
		b.fail(bad, body, ErrEventRejected)
	}
}

// ingest settles events Alguna ingested.
func (b *Batcher) ingest(items []item, body []byte) {
	if len(items) == 0 {
		return
	}
	b.ingested.Add(int64(len(items)))
	b.release(items)
	if b.callbacks.onIngested != nil {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.uniqueID(body)
		}
		b.callbacks.push(callback{ingested: ids})
	}
}

// fail settles events that will not be ingested: their room (and spool
// space) is given back first, so that OnFailure may enqueue into it, and
// then they are reported.
func (b *Batcher) fail(items []item, body []byte, err error) {
	b.failed.Add(int64(len(items)))
	b.release(items)
	b.logLoss(len(items), err)
	if b.callbacks.onFailure != nil {
		// A copy: the batch's body goes back to the pool once it settles.
		payloads := make([][]byte, len(items))
		for i, it := range items {
			payloads[i] = slices.Clone(body[it.start:it.end])
		}
		b.callbacks.push(callback{payloads: payloads, err: err})
	}
}

// report counts events read back from the spool that cannot be sent, and
// reports them; they hold no room.
func (b *Batcher) report(events []Event, err error) {
	b.failed.Add(int64(len(events)))
	b.logLoss(len(events), err)
	if b.callbacks.onFailure != nil {
		b.callbacks.push(callback{events: events, err: err})
	}
}

// logLoss logs a loss, one record per failed group.
func (b *Batcher) logLoss(n int, err error) {
	logger := b.client.logger
	if b.opts.OnFailure == nil && !b.client.ownLogger {
		// Nobody asked to hear of losses, and a loss must leave a trace
		// beyond a counter: the process's default logger gets it.
		logger = slog.Default()
	}
	logger.LogAttrs(context.Background(), slog.LevelError, "alguna: events not ingested",
		slog.Int("events", n), slog.String("error", err.Error()))
}

// abandon gives up on events because Close ran out of time. Without a spool
// they will never be ingested, so they are reported. With one, they stay in
// the spool, unsettled, and the next Batcher on the directory sends them:
// the event was acknowledged as durable, and a deadline at shutdown does not
// change that.
func (b *Batcher) abandon(items []item, body []byte, cause error) {
	if b.spool == nil {
		b.fail(items, body, cause)
		return
	}
	b.kept.Add(int64(len(items)))
	b.client.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: events kept in the spool for the next start",
		slog.Int("events", len(items)), slog.String("error", cause.Error()))
	b.room.give(len(items))
}

// release gives back settled events' room in the queue and in the spool.
func (b *Batcher) release(items []item) {
	if b.spool != nil {
		refs := make([]spool.Ref, len(items))
		for i, it := range items {
			refs[i] = it.ref
		}
		b.spool.Settle(refs)
	}
	b.room.give(len(items))
}

// refusedAsBatch tells a refusal of the request's content (which may come
// from a single event) from a refusal of the caller.
func refusedAsBatch(err error) bool {
	var apiErr *Error
	return errors.As(err, &apiErr) &&
		(apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusUnprocessableEntity ||
			apiErr.StatusCode == http.StatusRequestEntityTooLarge)
}
