package alguna

import (
	"github.com/alguna/alguna-go/internal/spool"
)

// This file is how the Batcher takes back what an earlier process left in
// its spool.

// replay hands the Batcher what an earlier process left in the spool.
// Damaged records are reported at once. Intact ones are queued like
// accepted events, each taking room in the queue: as many as fit are queued
// before NewBatcher returns — all of them, unless QueueSize shrank since the
// spool was written, because every unsettled record held room then too —
// and a goroutine queues the rest as room frees up, so a backlog never
// needs more memory than QueueSize events.
func (b *Batcher) replay(bl *spool.Backlog) {
	for _, d := range bl.Damaged {
		b.corrupt.Add(1)
		events := salvage(d.Payload)
		b.replayed.Add(int64(len(events)))
		b.spool.Settle([]spool.Ref{d.Ref})
		b.report(events, d.Err)
	}
	b.replayed.Add(int64(len(bl.Records)))
	for i, r := range bl.Records {
		if !b.room.tryTake(1) {
			b.workers.Add(1)
			go b.feed(bl.Records[i:])
			return
		}
		b.admit(r)
	}
	close(b.replayDone)
}

// feed queues replayed events as room frees up. If Close gives up first,
// the events not yet queued stay in the spool, like every other event Close
// could not deliver.
func (b *Batcher) feed(records []spool.Record) {
	defer b.workers.Done()
	defer close(b.replayDone)
	for i, r := range records {
		if b.room.take(b.runCtx, nil, 1) != nil {
			// Still spooled and unsettled: the next start sends them.
			b.kept.Add(int64(len(records) - i))
			return
		}
		b.admit(r)
	}
}

// admit queues a replayed event, its JSON exactly as the earlier process
// wrote it; the caller has taken room for it. One that cannot be read back,
// or that is not an event, is reported instead (and counted failed, having
// been counted replayed).
func (b *Batcher) admit(r spool.Record) {
	payload, err := b.spool.Read(r)
	var e Event
	if err == nil {
		var derr error
		if e, derr = decodeEvent(payload); derr != nil {
			err = b.spool.Corrupt(r, "the record is not an event: "+derr.Error())
		}
	}
	if err != nil {
		b.corrupt.Add(1)
		b.room.give(1)
		b.spool.Settle([]spool.Ref{r.Ref})
		b.failed.Add(1)
		b.logLoss(1, err)
		if b.callbacks.onFailure != nil {
			b.callbacks.push(callback{err: err})
		}
		return
	}
	b.mu.Lock()
	full := b.pushLocked(e.UniqueID, payload, r.Ref)
	b.mu.Unlock()
	if full != nil {
		b.batches <- full
	}
}

// salvage reads what it can out of a damaged record's payload: if it still
// parses as a complete event, OnFailure gets it to judge, since its bytes
// failed the checksum.
func salvage(payload []byte) []Event {
	if payload == nil {
		return nil
	}
	e, err := decodeEvent(payload)
	if err != nil || e.UniqueID == "" || e.Timestamp.IsZero() {
		return nil
	}
	return []Event{e}
}
