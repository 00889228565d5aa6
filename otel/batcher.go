package algunaotel

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/alguna/alguna-go"
)

// BatcherNameKey is the attribute that tells the metrics of one Batcher from
// another's: the name given to RegisterBatcher.
const BatcherNameKey = attribute.Key("alguna.batcher.name")

// The Batcher's metrics, as RegisterBatcher names them. Each is read from
// Batcher.Stats when the metrics are collected; the counters count from the
// Batcher's start.
const (
	// BatcherPendingName is the queue depth: events accepted (or replayed
	// from the spool) and not settled yet.
	BatcherPendingName = "alguna.batcher.events.pending"
	// BatcherEnqueuedName counts the events Enqueue and EnqueueMany accepted.
	BatcherEnqueuedName = "alguna.batcher.events.enqueued"
	// BatcherIngestedName counts the events Alguna accepted.
	BatcherIngestedName = "alguna.batcher.events.ingested"
	// BatcherFailedName counts the accepted events that will not be
	// ingested, each one handed to OnFailure.
	BatcherFailedName = "alguna.batcher.events.failed"
	// BatcherDroppedName counts the events Enqueue refused with
	// ErrQueueFull.
	BatcherDroppedName = "alguna.batcher.events.dropped"
	// BatcherRetriedName counts the requests sent again.
	BatcherRetriedName = "alguna.batcher.requests.retried"
	// BatcherReplayedName counts the events read back from the spool at
	// start, left unsettled by an earlier process.
	BatcherReplayedName = "alguna.batcher.events.replayed"
	// BatcherKeptName counts the events Close left in the spool for the
	// next start.
	BatcherKeptName = "alguna.batcher.events.kept"
	// BatcherSpoolSizeName is the disk the spool holds or has reserved.
	BatcherSpoolSizeName = "alguna.batcher.spool.size"
	// BatcherSpoolCorruptName counts the damaged spool records skipped on
	// replay.
	BatcherSpoolCorruptName = "alguna.batcher.spool.corrupt"
	// BatcherSpoolSyncsName counts the spool's fsyncs.
	BatcherSpoolSyncsName = "alguna.batcher.spool.syncs"
)

// RegisterBatcher reports b's Stats as metrics of the MeterProvider (the
// global one unless WithMeterProvider gives another), each with the
// attribute alguna.batcher.name=name, so that several Batchers can be told
// apart. The values are read when the metrics are collected; b pays nothing
// in between.
//
// Unregister the returned registration when b is closed, or the provider
// keeps reporting its final counts:
//
//	reg, err := algunaotel.RegisterBatcher(batcher, "usage")
//	if err != nil {
//		return err
//	}
//	defer reg.Unregister()
//
// It fails if b is nil, if name is empty or not valid UTF-8, or if the
// provider refuses the instruments.
func RegisterBatcher(b *alguna.Batcher, name string, opts ...Option) (metric.Registration, error) {
	if b == nil {
		return nil, errors.New("algunaotel: RegisterBatcher: the Batcher is nil")
	}
	if name == "" {
		return nil, errors.New("algunaotel: RegisterBatcher: the name is empty")
	}
	if !utf8.ValidString(name) {
		return nil, errors.New("algunaotel: RegisterBatcher: the name is not valid UTF-8")
	}
	c := newConfig(opts)
	m := c.meter()
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		inst, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return inst
	}
	// Queue depth and spool size are up-down counters rather than gauges:
	// summed over several Batchers, they still mean something.
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		inst, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return inst
	}
	var (
		pending   = upDown(BatcherPendingName, "{event}", "Events accepted by the Batcher and not settled yet.")
		spoolSize = upDown(BatcherSpoolSizeName, "By", "Disk the Batcher's spool holds or has reserved.")
		enqueued  = counter(BatcherEnqueuedName, "{event}", "Events the Batcher accepted.")
		ingested  = counter(BatcherIngestedName, "{event}", "Events Alguna ingested.")
		failed    = counter(BatcherFailedName, "{event}", "Accepted events that will not be ingested.")
		dropped   = counter(BatcherDroppedName, "{event}", "Events refused because the queue was full.")
		retried   = counter(BatcherRetriedName, "{request}", "Requests the Batcher sent again.")
		replayed  = counter(BatcherReplayedName, "{event}", "Events replayed from the spool at start.")
		kept      = counter(BatcherKeptName, "{event}", "Events left in the spool at Close.")
		corrupt   = counter(BatcherSpoolCorruptName, "{record}", "Damaged spool records skipped on replay.")
		syncs     = counter(BatcherSpoolSyncsName, "{sync}", "Fsyncs of the spool.")
	)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("algunaotel: RegisterBatcher: %w", err)
	}
	set := metric.WithAttributeSet(attribute.NewSet(BatcherNameKey.String(name)))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := b.Stats()
		o.ObserveInt64(pending, s.Pending, set)
		o.ObserveInt64(spoolSize, s.SpooledBytes, set)
		o.ObserveInt64(enqueued, s.Enqueued, set)
		o.ObserveInt64(ingested, s.Ingested, set)
		o.ObserveInt64(failed, s.Failed, set)
		o.ObserveInt64(dropped, s.Dropped, set)
		o.ObserveInt64(retried, s.Retried, set)
		o.ObserveInt64(replayed, s.Replayed, set)
		o.ObserveInt64(kept, s.Kept, set)
		o.ObserveInt64(corrupt, s.Corrupt, set)
		o.ObserveInt64(syncs, s.Syncs, set)
		return nil
	}, pending, spoolSize, enqueued, ingested, failed, dropped, retried, replayed, kept, corrupt, syncs)
	if err != nil {
		return nil, fmt.Errorf("algunaotel: RegisterBatcher: %w", err)
	}
	return reg, nil
}
