// Package spool is a write-ahead log of opaque records on disk, made for
// the Batcher's durable spool: every record is fsynced before its Append
// returns, concurrent appends share one write and one fsync, a record is
// settled once its owner is done with it, and whatever is left unsettled
// when the process stops is read back by the next Open on the directory.
//
// It knows nothing of what the records hold. Its API is small: Open (which
// hands back the previous run's unsettled records), Append, Settle, Read and
// Close.
//
// A spool directory holds:
//
//	spool.lock            the lock that keeps a second user out
//	<16 hex digits>.seg   a segment: records appended in order, never rewritten
//	<16 hex digits>.ack   the settled records of the segment of the same name
//
// A record is a 12-byte header — the magic 0xFF 'a' 'l' 'g', the payload's
// length (uint32, little endian) and a CRC-32C of the length bytes and the
// payload — followed by the payload. Payloads are UTF-8 text (JSON, for the
// Batcher), in which the magic's first byte never occurs, so after a damaged
// record Open finds the next one by looking for it.
//
// An ack entry is the settled record's offset in its segment (uint64) and a
// CRC-32C of those 8 bytes. Acks are written but not fsynced: a process that
// dies leaves them in the page cache, which survives it, and after a power
// loss the worst case is that settled records come back once more, which the
// Batcher's uniqueId dedupe absorbs.
package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

const (
	headerSize    = 12
	ackEntrySize  = 12
	lockName      = "spool.lock"
	segmentExt    = ".seg"
	ackExt        = ".ack"
	minSegBytes   = 1 << 10
	minSpoolBytes = 1 << 10
)

// MaxPayload bounds one record's payload; a length above it in a header can
// only be damage.
const MaxPayload = 64 << 20

// Overhead is what a record costs on disk beyond its payload: its header
// and its ack entry.
const Overhead = headerSize + ackEntrySize

var (
	magic      = [4]byte{0xFF, 'a', 'l', 'g'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Errors of the spool. ErrLocked and ErrCorrupt reach the Batcher's users
// (as alguna.ErrSpoolLocked and alguna.ErrSpoolCorrupt), so they read as the
// SDK's own.
var (
	// ErrLocked is returned by Open when another process, or another Log
	// in this one, holds the directory.
	ErrLocked = errors.New("alguna: spool directory is in use by another Batcher")
	// ErrCorrupt marks a record found damaged when the spool was opened.
	ErrCorrupt = errors.New("alguna: damaged record in the spool")
	// ErrFull is returned by Append with NoWait when the spool is at
	// MaxBytes.
	ErrFull = errors.New("spool is full")
	// ErrClosed is returned by Append once the spool is closing, or when
	// the caller's Stop channel closes while it waits for room.
	ErrClosed = errors.New("spool is closed")
)

// Options configures a Log.
type Options struct {
	// Dir is the spool directory; it is created if missing.
	Dir string
	// MaxBytes bounds what the spool holds on disk, records and acks.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started.
	SegmentBytes int64
	// Logger hears of problems that do not fail a call: an ack that could
	// not be written, a settled file that could not be removed, a torn
	// tail cut off.
	Logger *slog.Logger
}

// Log is an open spool directory. It is safe for concurrent use.
type Log struct {
	dir      string
	maxBytes int64
	segBytes int64
	logger   *slog.Logger
	unlock   func() error

	mu      sync.Mutex
	idle    sync.Cond // signalled when live falls to keep while closing
	active  *segment  // receives new records; nil until the next commit
	nextID  uint64
	bytes   int64                 // on disk or reserved: segments and their full ack files
	live    int                   // records handed out (or being written) and not settled
	keep    int                   // records Close leaves unsettled for the next start
	segs    map[*segment]struct{} // every segment with files open or on disk
	closing bool
	writing bool          // the committer is writing into active
	waiters int           // appends waiting for disk room
	freed   chan struct{} // closed, and replaced, when bytes go down
	cur     *commit       // records waiting for the next write
	ackBuf  []byte

	kick          chan struct{} // an append left records in cur
	stop          chan struct{}
	committerDone chan struct{}

	syncs atomic.Int64
}

// segment is one segment file. The committer alone writes its data, and
// only while it is active; everything else is guarded by Log.mu.
type segment struct {
	id      uint64
	f       *os.File // data, for writing; open while active
	rf      *os.File // data, for reading records of an earlier run
	ack     *os.File // opened at the first ack
	size    int64    // bytes of records written
	records int64    // records (or damaged stretches) that may get an ack
	live    int      // records not settled
	sealed  bool     // takes no more records
}

// Ref says where a record is, so that settling it can be written down.
type Ref struct {
	seg *segment
	off int64
}

// commit is the records written by one write and one fsync, and the answer
// for every Append waiting on them.
type commit struct {
	data    []byte
	records int
	bytes   int64 // reserved against MaxBytes
	done    chan struct{}
	// Set by the committer before done is closed.
	seg  *segment
	base int64
	err  error
}

// Backlog is what an earlier run left unsettled, oldest first.
type Backlog struct {
	// Records are intact records to read back with Read.
	Records []Record
	// Damaged are stretches of a segment that are not an intact record.
	// Each must be settled like a record.
	Damaged []Damaged
}

// Record is an intact record of an earlier run.
type Record struct {
	Ref  Ref
	size int
}

// Damaged is a stretch of a segment that failed its checksum.
type Damaged struct {
	Ref Ref
	// Payload is what the stretch's header says is its payload, when that
	// much is there: bytes that failed the checksum, for the owner to
	// judge. Nil when nothing could be told apart.
	Payload []byte
	// Err matches ErrCorrupt and names the file and offset.
	Err error
}

// Open locks the directory, reads what an earlier run left in it, and
// starts the committer.
func Open(o Options) (*Log, *Backlog, error) {
	if o.MaxBytes < minSpoolBytes || o.SegmentBytes < minSegBytes {
		return nil, nil, fmt.Errorf("spool: MaxBytes and SegmentBytes must be at least %d, got %d and %d", minSegBytes, o.MaxBytes, o.SegmentBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("alguna: creating spool directory: %w", err)
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, nil, err
	}
	l := &Log{
		dir:           o.Dir,
		maxBytes:      o.MaxBytes,
		segBytes:      o.SegmentBytes,
		logger:        o.Logger,
		unlock:        unlock,
		nextID:        1,
		freed:         make(chan struct{}),
		kick:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		committerDone: make(chan struct{}),
		segs:          make(map[*segment]struct{}),
	}
	l.idle.L = &l.mu
	bl, err := l.recover()
	if err != nil {
		return nil, nil, errors.Join(err, unlock())
	}
	go l.commitLoop()
	return l, bl, nil
}

func (l *Log) segPath(id uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", id, segmentExt))
}

func (l *Log) ackPath(id uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", id, ackExt))
}

// Wait says what Append does when the spool is at MaxBytes.
type Wait struct {
	// NoWait answers ErrFull at once instead of waiting for room.
	NoWait bool
	// Stop, when closed, ends the wait with ErrClosed.
	Stop <-chan struct{}
}

// Append writes one record and returns once it is fsynced. See AppendAll.
func (l *Log) Append(ctx context.Context, payload []byte, w Wait) (Ref, error) {
	var refs [1]Ref
	one := [1][]byte{payload}
	err := l.AppendAll(ctx, one[:], refs[:], w)
	return refs[0], err
}

// AppendAll writes one record per payload, all in the same write and fsync
// (shared with the appends that come alongside), and fills refs with where
// each is; it returns once they are fsynced. It waits for room until ctx
// ends or w.Stop closes, or answers ErrFull at once with w.NoWait. Once the
// records are handed to the committer the wait for the fsync ignores ctx:
// they may be on disk already, and the wait is as short as the disk.
func (l *Log) AppendAll(ctx context.Context, payloads [][]byte, refs []Ref, w Wait) error {
	need := int64(0)
	for _, p := range payloads {
		if len(p) > MaxPayload {
			return fmt.Errorf("alguna: a record of %d bytes is larger than the spool takes (%d)", len(p), MaxPayload)
		}
		need += int64(len(p)) + Overhead
	}
	if need > l.maxBytes {
		return fmt.Errorf("alguna: %d bytes of events do not fit in the spool (MaxSpoolBytes %d)", need, l.maxBytes)
	}
	// Checksums are computed before the lock is taken: the lock is what
	// every producer queues on.
	var crcStack [16]uint32
	crcs := crcStack[:0]
	for _, p := range payloads {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(p))) //nolint:gosec // G115: bounded by MaxPayload above
		crcs = append(crcs, recordCRC(n[:], p))
	}

	l.mu.Lock()
	for {
		if l.closing {
			l.mu.Unlock()
			return ErrClosed
		}
		if l.bytes+need <= l.maxBytes {
			break
		}
		if l.recycleLocked() {
			continue
		}
		if w.NoWait {
			l.mu.Unlock()
			return ErrFull
		}
		l.waiters++
		freed := l.freed
		l.mu.Unlock()
		var err error
		select {
		case <-freed:
		case <-w.Stop:
			err = ErrClosed
		case <-ctx.Done():
			err = fmt.Errorf("alguna: waiting for room in the spool: %w", ctx.Err())
		}
		l.mu.Lock()
		l.waiters--
		if err != nil {
			l.mu.Unlock()
			return err
		}
	}
	c := l.cur
	if c == nil {
		c = &commit{done: make(chan struct{})}
		l.cur = c
	}
	for i, p := range payloads {
		refs[i].off = int64(len(c.data))
		c.data = append(c.data, magic[:]...)
		c.data = binary.LittleEndian.AppendUint32(c.data, uint32(len(p))) //nolint:gosec // G115: see above
		c.data = binary.LittleEndian.AppendUint32(c.data, crcs[i])
		c.data = append(c.data, p...)
	}
	c.records += len(payloads)
	c.bytes += need
	l.bytes += need
	l.live += len(payloads)
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	<-c.done
	if c.err != nil {
		return c.err
	}
	for i := range refs {
		refs[i].seg = c.seg
		refs[i].off += c.base
	}
	return nil
}

// recycleLocked deletes the active segment when every record in it is
// settled, so that a spool smaller than a segment cannot wedge: without it,
// an idle active segment would hold its bytes until it filled up, and it
// cannot fill up while appends wait for room.
func (l *Log) recycleLocked() bool {
	a := l.active
	if a == nil || a.live > 0 || l.writing || a.size == 0 {
		return false
	}
	l.active = nil
	l.dropLocked(a)
	return true
}

// commitLoop writes what appends have gathered, one write and one fsync for
// all of them, and wakes them. Appends that come while it writes gather into
// the next commit, so the more producers there are, the more records each
// fsync carries.
func (l *Log) commitLoop() {
	defer close(l.committerDone)
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			return
		}
		l.mu.Lock()
		c := l.cur
		l.cur = nil
		if c == nil {
			l.mu.Unlock()
			continue
		}
		l.writing = true
		seg := l.active
		l.mu.Unlock()

		seg, err := l.write(seg, c)

		l.mu.Lock()
		l.writing = false
		if err == nil {
			c.seg, c.base = seg, seg.size
			seg.size += int64(len(c.data))
			seg.records += int64(c.records)
			seg.live += c.records
		} else {
			c.err = fmt.Errorf("alguna: writing event to spool: %w", err)
			l.bytes -= c.bytes
			l.live -= c.records
			l.signalFreedLocked()
			if l.closing && l.live <= l.keep {
				l.idle.Broadcast()
			}
		}
		l.mu.Unlock()
		close(c.done)
	}
}

// write puts c's records at the end of seg (or of a new segment, when seg
// is nil or full) and fsyncs them. It returns the segment written.
func (l *Log) write(seg *segment, c *commit) (*segment, error) {
	if seg != nil && seg.size > 0 && seg.size+int64(len(c.data)) > l.segBytes {
		l.mu.Lock()
		l.sealLocked(seg)
		l.mu.Unlock()
		seg = nil
	}
	if seg == nil {
		var err error
		if seg, err = l.create(); err != nil {
			return nil, err
		}
	}
	_, err := seg.f.WriteAt(c.data, seg.size)
	if err == nil {
		err = seg.f.Sync()
		l.syncs.Add(1)
	}
	if err != nil {
		// Cut off what may have reached the file, so that records whose
		// Append failed do not come back after a restart, and start the
		// next commit in a new file: after a failed fsync the kernel's view
		// of this one cannot be trusted.
		if terr := seg.f.Truncate(seg.size); terr != nil {
			err = errors.Join(err, terr)
		}
		l.mu.Lock()
		l.sealLocked(seg)
		l.mu.Unlock()
		return nil, err
	}
	return seg, nil
}

// create makes the next segment file the active one. The directory is
// fsynced so that the file outlives a power loss along with its records.
func (l *Log) create() (*segment, error) {
	l.mu.Lock()
	id := l.nextID
	l.nextID++
	l.mu.Unlock()
	f, err := openFile(l.segPath(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	if err := syncDir(l.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(l.segPath(id))
		return nil, err
	}
	seg := &segment{id: id, f: f}
	l.mu.Lock()
	l.active = seg
	l.segs[seg] = struct{}{}
	l.mu.Unlock()
	return seg, nil
}

// sealLocked stops seg taking records, and deletes it if nothing in it is
// waiting to be settled.
func (l *Log) sealLocked(seg *segment) {
	seg.sealed = true
	if l.active == seg {
		l.active = nil
	}
	if seg.f != nil {
		_ = seg.f.Close()
		seg.f = nil
	}
	if seg.live == 0 {
		l.dropLocked(seg)
	}
}

// dropLocked deletes a segment whose records are all settled. The data file
// goes first: an ack file without its segment is harmless and removed at
// the next start, while the reverse would replay the whole segment.
func (l *Log) dropLocked(seg *segment) {
	closeFiles(seg)
	delete(l.segs, seg)
	for _, p := range []string{l.segPath(seg.id), l.ackPath(seg.id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.logger.LogAttrs(context.Background(), slog.LevelError, "alguna: removing settled spool file",
				slog.String("file", p), slog.String("error", err.Error()))
		}
	}
	l.bytes -= seg.size + ackEntrySize*seg.records
	l.signalFreedLocked()
}

func closeFiles(seg *segment) {
	for _, f := range []*os.File{seg.f, seg.rf, seg.ack} {
		if f != nil {
			_ = f.Close()
		}
	}
	seg.f, seg.rf, seg.ack = nil, nil, nil
}

func (l *Log) signalFreedLocked() {
	if l.waiters > 0 {
		close(l.freed)
		l.freed = make(chan struct{})
	}
}

// Settle writes down that the records at refs are done with, and deletes
// segments left with nothing to settle.
func (l *Log) Settle(refs []Ref) {
	if len(refs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j].seg == refs[i].seg {
			j++
		}
		l.settleLocked(refs[i].seg, refs[i:j])
		i = j
	}
	if l.closing && l.live <= l.keep {
		l.idle.Broadcast()
	}
}

func (l *Log) settleLocked(seg *segment, refs []Ref) {
	seg.live -= len(refs)
	l.live -= len(refs)
	if seg.live == 0 && (seg.sealed || l.waiters > 0 && seg == l.active && !l.writing) {
		// Deleting the segment settles its records at once.
		if l.active == seg {
			l.active = nil
		}
		l.dropLocked(seg)
		return
	}
	buf := l.ackBuf[:0]
	for _, r := range refs {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.off)) //nolint:gosec // G115: offsets are never negative
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf[len(buf)-8:], castagnoli))
	}
	l.ackBuf = buf
	if err := l.writeAcksLocked(seg, buf); err != nil {
		// The records are settled all the same; after a restart they would
		// come back, which uniqueIds make harmless.
		l.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: recording settled events in the spool",
			slog.String("file", l.ackPath(seg.id)), slog.String("error", err.Error()))
	}
}

func (l *Log) writeAcksLocked(seg *segment, buf []byte) error {
	if seg.ack == nil {
		f, err := openFile(l.ackPath(seg.id), os.O_WRONLY|os.O_CREATE|os.O_APPEND)
		if err != nil {
			return err
		}
		seg.ack = f
	}
	_, err := seg.ack.Write(buf)
	return err
}

// Close waits until every record handed out is settled but keep, which its
// owner leaves for the next start, stops the committer, deletes the settled
// segments, closes the files of the others and releases the lock. What it
// waits for are appends that wrote their record just as their owner began
// to close, and settle it on finding the owner closed.
func (l *Log) Close(keep int64) error {
	l.mu.Lock()
	l.closing = true
	l.keep = int(keep)
	l.signalFreedLocked()
	for l.live > l.keep {
		l.idle.Wait()
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.committerDone
	l.mu.Lock()
	if a := l.active; a != nil {
		// Sealing deletes it when every record in it is settled.
		l.sealLocked(a)
	}
	for seg := range l.segs {
		// Kept records: the files stay for the next start.
		closeFiles(seg)
	}
	l.mu.Unlock()
	return l.unlock()
}

// Stats reports the bytes the spool holds on disk or has reserved, and the
// fsyncs it has done.
func (l *Log) Stats() (bytes, syncs int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes, l.syncs.Load()
}

func recordCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

// recordAt returns the size of the intact record at off, or false.
func recordAt(data []byte, off int) (int, bool) {
	if len(data)-off < headerSize || !bytes.Equal(data[off:off+4], magic[:]) {
		return 0, false
	}
	n := binary.LittleEndian.Uint32(data[off+4:])
	if n > MaxPayload || int64(len(data)-off-headerSize) < int64(n) {
		return 0, false
	}
	end := off + headerSize + int(n)
	if recordCRC(data[off+4:off+8], data[off+headerSize:end]) != binary.LittleEndian.Uint32(data[off+8:]) {
		return 0, false
	}
	return end - off, true
}

// nextRecord finds the first intact record at or after off, or returns
// len(data).
func nextRecord(data []byte, off int) int {
	for off < len(data) {
		i := bytes.IndexByte(data[off:], magic[0])
		if i < 0 {
			break
		}
		off += i
		if _, ok := recordAt(data, off); ok {
			return off
		}
		off++
	}
	return len(data)
}

// Read returns the payload of a record of an earlier run. It checks the
// record again: the file may have changed on disk since Open read it.
func (l *Log) Read(r Record) ([]byte, error) {
	buf := make([]byte, r.size)
	path := l.segPath(r.Ref.seg.id)
	if _, err := r.Ref.seg.rf.ReadAt(buf, r.Ref.off); err != nil {
		return nil, fmt.Errorf("alguna: reading spool %s at offset %d: %w", path, r.Ref.off, err)
	}
	if _, ok := recordAt(buf, 0); !ok {
		return nil, corruptErr(path, r.Ref.off, r.size, "changed on disk since it was first read")
	}
	return buf[headerSize:], nil
}

// Corrupt is the error for a record of an earlier run that its owner
// cannot use (its payload does not parse, say): it matches ErrCorrupt and
// names the file and offset.
func (l *Log) Corrupt(r Record, what string) error {
	return corruptErr(l.segPath(r.Ref.seg.id), r.Ref.off, r.size, what)
}

func corruptErr(path string, off int64, n int, what string) error {
	return fmt.Errorf("%w: %s at offset %d (%d bytes): %s", ErrCorrupt, path, off, n, what)
}
