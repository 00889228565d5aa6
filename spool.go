package alguna

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The spool keeps every accepted event on disk until it is settled, so that
// a crash between Enqueue and delivery loses nothing.
//
// A spool directory holds:
//
//	spool.lock            the lock that keeps a second Batcher out
//	<16 hex digits>.seg   a segment: records appended in order, never rewritten
//	<16 hex digits>.ack   the settled records of the segment of the same name
//
// A record is a 12-byte header — the magic 0xFF 'a' 'l' 'g', the payload's
// length (uint32, little endian) and a CRC-32C of the length bytes and the
// payload — followed by the payload: the event as appendEvent writes it for
// POST /events. The magic's first byte never occurs in a payload (which is
// UTF-8 JSON), so after a damaged record replay finds the next one by looking
// for it.
//
// An ack entry is the settled record's offset in its segment (uint64) and a
// CRC-32C of those 8 bytes. Acks are written but not fsynced: a process that
// dies leaves them in the page cache, which survives it, and after a power
// loss the worst case is that settled events are sent again, which Alguna's
// uniqueId dedupe absorbs.
const (
	defaultMaxSpoolBytes     = 1 << 30
	defaultSpoolSegmentBytes = 16 << 20
	recordHeaderSize         = 12
	ackEntrySize             = 12
	// maxRecordPayload bounds one event's record; a length above it in a
	// header can only be damage.
	maxRecordPayload = 64 << 20
	spoolLockName    = "spool.lock"
	segmentExt       = ".seg"
	ackExt           = ".ack"
)

var (
	recordMagic = [4]byte{0xFF, 'a', 'l', 'g'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// Errors about the spool.
var (
	// ErrSpoolLocked is returned by NewBatcher when another Batcher, in this
	// process or another, is using the same SpoolDir.
	ErrSpoolLocked = errors.New("alguna: spool directory is in use by another Batcher")
	// ErrSpoolCorrupt is passed to OnFailure for a spool record that was
	// found damaged when NewBatcher replayed the spool. The error names the
	// file and offset; the events passed with it, if any, are what could be
	// read back, and are not sent because their content cannot be trusted.
	ErrSpoolCorrupt = errors.New("alguna: damaged record in the spool")
)

// spoolOptions checks and defaults the spool's options.
func (o *BatcherOptions) spoolOptions(ps *problems) {
	if o.SpoolDir == "" {
		if o.MaxSpoolBytes != 0 || o.SpoolSegmentBytes != 0 {
			ps.add("MaxSpoolBytes and SpoolSegmentBytes need SpoolDir")
		}
		return
	}
	switch {
	case o.MaxSpoolBytes == 0:
		o.MaxSpoolBytes = defaultMaxSpoolBytes
	case o.MaxSpoolBytes < 0:
		ps.add("MaxSpoolBytes must be positive, got %d", o.MaxSpoolBytes)
	}
	switch {
	case o.SpoolSegmentBytes == 0:
		o.SpoolSegmentBytes = defaultSpoolSegmentBytes
	case o.SpoolSegmentBytes < 0:
		ps.add("SpoolSegmentBytes must be positive, got %d", o.SpoolSegmentBytes)
	}
}

// spool is the on-disk side of a Batcher.
type spool struct {
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
// only while it is active; everything else is guarded by spool.mu.
type segment struct {
	id      uint64
	f       *os.File // data, for writing; open while active
	rf      *os.File // data, for reading replayed records
	ack     *os.File // opened at the first ack
	size    int64    // bytes of records written
	records int64    // records (or damaged stretches) that may get an ack
	live    int      // records not settled
	sealed  bool     // takes no more records
}

// spoolRef says where an accepted event's record is, so that settling it
// can be written down.
type spoolRef struct {
	seg *segment
	off int64
}

// commit is the records written by one write and one fsync, and the answer
// for every Enqueue waiting on them.
type commit struct {
	data    []byte
	records int
	bytes   int64 // reserved against MaxSpoolBytes
	done    chan struct{}
	// Set by the committer before done is closed.
	seg  *segment
	base int64
	err  error
}

// spoolBacklog is what an earlier run left unsettled.
type spoolBacklog struct {
	items []replayItem
	bad   []badRecord
}

// replayItem is an intact record to send again.
type replayItem struct {
	ref  spoolRef
	size int
}

// badRecord is a damaged stretch of a segment, with the events that could
// be read out of it.
type badRecord struct {
	ref    spoolRef
	events []Event
	err    error
}

var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// openSpool locks the directory, reads what an earlier run left in it, and
// starts the committer. It returns a nil spool when o.SpoolDir is empty.
func openSpool(o *BatcherOptions, logger *slog.Logger) (*spool, *spoolBacklog, error) {
	if o.SpoolDir == "" {
		return nil, &spoolBacklog{}, nil
	}
	if err := os.MkdirAll(o.SpoolDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("alguna: creating spool directory: %w", err)
	}
	unlock, err := lockDir(o.SpoolDir)
	if err != nil {
		return nil, nil, err
	}
	s := &spool{
		dir:           o.SpoolDir,
		maxBytes:      o.MaxSpoolBytes,
		segBytes:      o.SpoolSegmentBytes,
		logger:        logger,
		unlock:        unlock,
		nextID:        1,
		freed:         make(chan struct{}),
		kick:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		committerDone: make(chan struct{}),
		segs:          make(map[*segment]struct{}),
	}
	s.idle.L = &s.mu
	bl, err := s.recover()
	if err != nil {
		return nil, nil, errors.Join(err, unlock())
	}
	go s.commitLoop()
	return s, bl, nil
}

func (s *spool) segPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", id, segmentExt))
}

func (s *spool) ackPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", id, ackExt))
}

// append writes e's record to the spool and returns once it is fsynced. It
// waits for disk room until ctx ends or closing is closed, or with
// dropWhenFull answers ErrQueueFull at once. Once the record is handed to
// the committer the wait for the fsync ignores ctx: the record may be on
// disk already, and the wait is as short as the disk.
func (s *spool) append(ctx context.Context, e *Event, dropWhenFull bool, closing <-chan struct{}) (spoolRef, error) {
	bufp := recordBufs.Get().(*[]byte)
	rec := appendRecord((*bufp)[:0], e)
	defer func() {
		if cap(rec) <= 64<<10 {
			*bufp = rec
			recordBufs.Put(bufp)
		}
	}()
	need := int64(len(rec)) + ackEntrySize
	if len(rec)-recordHeaderSize > maxRecordPayload || need > s.maxBytes {
		return spoolRef{}, fmt.Errorf("alguna: event of %d bytes does not fit in the spool (MaxSpoolBytes %d)", len(rec), s.maxBytes)
	}
	s.mu.Lock()
	for {
		if s.closing {
			s.mu.Unlock()
			return spoolRef{}, ErrBatcherClosed
		}
		if s.bytes+need <= s.maxBytes {
			break
		}
		if s.recycleLocked() {
			continue
		}
		if dropWhenFull {
			s.mu.Unlock()
			return spoolRef{}, ErrQueueFull
		}
		s.waiters++
		freed := s.freed
		s.mu.Unlock()
		err := waitFreed(ctx, freed, closing)
		if err != nil && !errors.Is(err, ErrBatcherClosed) {
			err = fmt.Errorf("alguna: waiting for room in the spool: %w", err)
		}
		s.mu.Lock()
		s.waiters--
		if err != nil {
			s.mu.Unlock()
			return spoolRef{}, err
		}
	}
	c := s.cur
	if c == nil {
		c = &commit{done: make(chan struct{})}
		s.cur = c
	}
	pos := int64(len(c.data))
	c.data = append(c.data, rec...)
	c.records++
	c.bytes += need
	s.bytes += need
	s.live++
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	<-c.done
	if c.err != nil {
		return spoolRef{}, c.err
	}
	return spoolRef{seg: c.seg, off: c.base + pos}, nil
}

// recycleLocked deletes the active segment when every record in it is
// settled, so that a spool smaller than a segment cannot wedge: without it,
// an idle active segment would hold its bytes until it filled up, and it
// cannot fill up while appends wait for room.
func (s *spool) recycleLocked() bool {
	a := s.active
	if a == nil || a.live > 0 || s.writing || a.size == 0 {
		return false
	}
	s.active = nil
	s.dropLocked(a)
	return true
}

// commitLoop writes what appends have gathered, one write and one fsync for
// all of them, and wakes them. Appends that come while it writes gather into
// the next commit, so the more producers there are, the more records each
// fsync carries.
func (s *spool) commitLoop() {
	defer close(s.committerDone)
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			return
		}
		s.mu.Lock()
		c := s.cur
		s.cur = nil
		if c == nil {
			s.mu.Unlock()
			continue
		}
		s.writing = true
		seg := s.active
		s.mu.Unlock()

		seg, err := s.write(seg, c)

		s.mu.Lock()
		s.writing = false
		if err == nil {
			c.seg, c.base = seg, seg.size
			seg.size += int64(len(c.data))
			seg.records += int64(c.records)
			seg.live += c.records
		} else {
			c.err = fmt.Errorf("alguna: writing event to spool: %w", err)
			s.bytes -= c.bytes
			s.live -= c.records
			s.signalFreedLocked()
			if s.closing && s.live <= s.keep {
				s.idle.Broadcast()
			}
		}
		s.mu.Unlock()
		close(c.done)
	}
}

// write puts c's records at the end of seg (or of a new segment, when seg
// is nil or full) and fsyncs them. It returns the segment written.
func (s *spool) write(seg *segment, c *commit) (*segment, error) {
	if seg != nil && seg.size > 0 && seg.size+int64(len(c.data)) > s.segBytes {
		s.mu.Lock()
		s.sealLocked(seg)
		s.mu.Unlock()
		seg = nil
	}
	if seg == nil {
		var err error
		if seg, err = s.create(); err != nil {
			return nil, err
		}
	}
	_, err := seg.f.WriteAt(c.data, seg.size)
	if err == nil {
		err = seg.f.Sync()
		s.syncs.Add(1)
	}
	if err != nil {
		// Cut off what may have reached the file, so that records whose
		// Enqueue failed are not sent after a restart, and start the next
		// commit in a new file: after a failed fsync the kernel's view of
		// this one cannot be trusted.
		if terr := seg.f.Truncate(seg.size); terr != nil {
			err = errors.Join(err, terr)
		}
		s.mu.Lock()
		s.sealLocked(seg)
		s.mu.Unlock()
		return nil, err
	}
	return seg, nil
}

// create makes the next segment file the active one. The directory is
// fsynced so that the file outlives a power loss along with its records.
func (s *spool) create() (*segment, error) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.mu.Unlock()
	f, err := openSpoolFile(s.segPath(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	if err := syncDir(s.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(s.segPath(id))
		return nil, err
	}
	seg := &segment{id: id, f: f}
	s.mu.Lock()
	s.active = seg
	s.segs[seg] = struct{}{}
	s.mu.Unlock()
	return seg, nil
}

// sealLocked stops seg taking records, and deletes it if nothing in it is
// waiting to be settled.
func (s *spool) sealLocked(seg *segment) {
	seg.sealed = true
	if s.active == seg {
		s.active = nil
	}
	if seg.f != nil {
		_ = seg.f.Close()
		seg.f = nil
	}
	if seg.live == 0 {
		s.dropLocked(seg)
	}
}

// dropLocked deletes a segment whose records are all settled. The data file
// goes first: an ack file without its segment is harmless and removed at
// the next start, while the reverse would replay the whole segment.
func (s *spool) dropLocked(seg *segment) {
	for _, f := range []*os.File{seg.f, seg.rf, seg.ack} {
		if f != nil {
			_ = f.Close()
		}
	}
	seg.f, seg.rf, seg.ack = nil, nil, nil
	delete(s.segs, seg)
	for _, p := range []string{s.segPath(seg.id), s.ackPath(seg.id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger.LogAttrs(context.Background(), slog.LevelError, "alguna: removing settled spool file",
				slog.String("file", p), slog.String("error", err.Error()))
		}
	}
	s.bytes -= seg.size + ackEntrySize*seg.records
	s.signalFreedLocked()
}

func (s *spool) signalFreedLocked() {
	if s.waiters > 0 {
		close(s.freed)
		s.freed = make(chan struct{})
	}
}

// settle writes down that the records at refs are settled — ingested or
// reported to OnFailure — and deletes segments left with nothing to settle.
// A nil spool does nothing, so the Batcher calls it whether or not it
// spools.
func (s *spool) settle(refs []spoolRef) {
	if s == nil || len(refs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j].seg == refs[i].seg {
			j++
		}
		s.settleLocked(refs[i].seg, refs[i:j])
		i = j
	}
	if s.closing && s.live <= s.keep {
		s.idle.Broadcast()
	}
}

func (s *spool) settleLocked(seg *segment, refs []spoolRef) {
	seg.live -= len(refs)
	s.live -= len(refs)
	if seg.live == 0 && (seg.sealed || s.waiters > 0 && seg == s.active && !s.writing) {
		// Deleting the segment settles its records at once.
		if s.active == seg {
			s.active = nil
		}
		s.dropLocked(seg)
		return
	}
	buf := s.ackBuf[:0]
	for _, r := range refs {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.off)) //nolint:gosec // G115: offsets are never negative
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf[len(buf)-8:], castagnoli))
	}
	s.ackBuf = buf
	err := s.writeAcksLocked(seg, buf)
	if err != nil {
		// The events are settled all the same; after a restart they would
		// be sent again, which uniqueIds make harmless.
		s.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: recording settled events in the spool",
			slog.String("file", s.ackPath(seg.id)), slog.String("error", err.Error()))
	}
}

func (s *spool) writeAcksLocked(seg *segment, buf []byte) error {
	if seg.ack == nil {
		f, err := openSpoolFile(s.ackPath(seg.id), os.O_WRONLY|os.O_CREATE|os.O_APPEND)
		if err != nil {
			return err
		}
		seg.ack = f
	}
	_, err := seg.ack.Write(buf)
	return err
}

// close waits until every record handed out is settled but the keep that
// the Batcher leaves for the next start, stops the committer, deletes the
// settled segments, closes the files of the others and releases the lock.
// The Batcher calls it after it has settled or kept every accepted event;
// what it waits for are Enqueue calls that wrote their record just as Close
// began and settle it on finding the Batcher closed.
func (s *spool) close(keep int64) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.closing = true
	s.keep = int(keep)
	s.signalFreedLocked()
	for s.live > s.keep {
		s.idle.Wait()
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.committerDone
	s.mu.Lock()
	if a := s.active; a != nil {
		// Sealing deletes it when every record in it is settled.
		s.sealLocked(a)
	}
	for seg := range s.segs {
		// Kept records: the files stay for the next start.
		for _, f := range []*os.File{seg.f, seg.rf, seg.ack} {
			if f != nil {
				_ = f.Close()
			}
		}
		seg.f, seg.rf, seg.ack = nil, nil, nil
	}
	s.mu.Unlock()
	return s.unlock()
}

// spooled reports the bytes the spool holds on disk or has reserved.
func (s *spool) spooled() (bytes, syncs int64) {
	if s == nil {
		return 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.syncs.Load()
}

// appendRecord appends e's record: header, then the event's JSON.
func appendRecord(buf []byte, e *Event) []byte {
	start := len(buf)
	buf = append(buf, recordMagic[:]...)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	buf = appendEvent(buf, e)
	payload := buf[start+recordHeaderSize:]
	// append refuses payloads over maxRecordPayload, far below 4 GiB.
	binary.LittleEndian.PutUint32(buf[start+4:], uint32(len(payload))) //nolint:gosec // G115: see above
	binary.LittleEndian.PutUint32(buf[start+8:], recordCRC(buf[start+4:start+8], payload))
	return buf
}

func recordCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

// recordAt returns the size of the intact record at off, or false.
func recordAt(data []byte, off int) (int, bool) {
	if len(data)-off < recordHeaderSize || !bytes.Equal(data[off:off+4], recordMagic[:]) {
		return 0, false
	}
	n := binary.LittleEndian.Uint32(data[off+4:])
	if n > maxRecordPayload || int64(len(data)-off-recordHeaderSize) < int64(n) {
		return 0, false
	}
	end := off + recordHeaderSize + int(n)
	if recordCRC(data[off+4:off+8], data[off+recordHeaderSize:end]) != binary.LittleEndian.Uint32(data[off+8:]) {
		return 0, false
	}
	return end - off, true
}

// nextRecord finds the first intact record at or after off, or returns
// len(data).
func nextRecord(data []byte, off int) int {
	for off < len(data) {
		i := bytes.IndexByte(data[off:], recordMagic[0])
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

// decodeEvent reads an event back from its payload. Numbers come back as
// json.Number, so that they are sent again digit for digit.
func decodeEvent(payload []byte) (Event, error) {
	var e Event
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&e); err != nil {
		return Event{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return Event{}, errors.New("data after the event")
	}
	if p := e.problems(); len(p) > 0 {
		return Event{}, (&ValidationError{Problems: p})
	}
	return e, nil
}

// recover reads the segments an earlier run left: records not acked become
// the backlog, damaged ones are listed, a torn tail is cut off, and settled
// segments are deleted.
func (s *spool) recover() (*spoolBacklog, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("alguna: reading spool directory: %w", err)
	}
	var segs []uint64
	acks := map[uint64]bool{}
	for _, de := range entries {
		name := de.Name()
		base, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
		if len(base) != 16 || (ext != segmentExt && ext != ackExt) {
			continue
		}
		id, err := strconv.ParseUint(base, 16, 64)
		if err != nil {
			continue
		}
		if ext == segmentExt {
			segs = append(segs, id)
		} else {
			acks[id] = true
		}
		s.nextID = max(s.nextID, id+1)
	}
	slices.Sort(segs)
	for id := range acks {
		if _, found := slices.BinarySearch(segs, id); !found {
			_ = os.Remove(s.ackPath(id))
		}
	}
	bl := &spoolBacklog{}
	var kept []*segment
	for i, id := range segs {
		seg, err := s.recoverSegment(id, i == len(segs)-1, bl)
		if err != nil {
			for _, k := range kept {
				_ = k.rf.Close()
			}
			return nil, err
		}
		if seg != nil {
			kept = append(kept, seg)
		}
	}
	return bl, nil
}

// recoverSegment adds a segment's unsettled records to bl, and returns the
// segment, or nil when nothing in it was left to settle and it is deleted.
func (s *spool) recoverSegment(id uint64, last bool, bl *spoolBacklog) (*segment, error) {
	path := s.segPath(id)
	data, err := readSpoolFile(path)
	if err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	acked, err := s.readAcks(id)
	if err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	seg := &segment{id: id, sealed: true}
	for off := 0; off < len(data); {
		if n, ok := recordAt(data, off); ok {
			seg.records++
			if !acked[int64(off)] {
				ref := spoolRef{seg: seg, off: int64(off)}
				seg.live++
				if _, err := decodeEvent(data[off+recordHeaderSize : off+n]); err != nil {
					bl.bad = append(bl.bad, badRecord{ref: ref, err: corruptErr(path, off, n, "the record is not an event: "+err.Error())})
				} else {
					bl.items = append(bl.items, replayItem{ref: ref, size: n})
				}
			}
			off += n
			continue
		}
		next := nextRecord(data, off+1)
		if next == len(data) && last && incomplete(data[off:]) {
			// A crash in the middle of a write: its Enqueue calls never
			// returned, so nothing acknowledged is lost. Cut it off.
			s.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: ignoring torn end of spool",
				slog.String("file", path), slog.Int("offset", off), slog.Int("bytes", len(data)-off))
			if err := os.Truncate(path, int64(off)); err != nil {
				return nil, fmt.Errorf("alguna: truncating torn end of spool: %w", err)
			}
			data = data[:off]
			break
		}
		seg.records++
		if !acked[int64(off)] {
			seg.live++
			bl.bad = append(bl.bad, badRecord{
				ref:    spoolRef{seg: seg, off: int64(off)},
				events: salvage(data[off:next]),
				err:    corruptErr(path, off, next-off, "checksum mismatch"),
			})
		}
		off = next
	}
	seg.size = int64(len(data))
	if seg.live == 0 {
		for _, p := range []string{path, s.ackPath(id)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("alguna: removing settled spool file: %w", err)
			}
		}
		return nil, nil
	}
	if seg.rf, err = openSpoolFile(path, os.O_RDONLY); err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	s.bytes += seg.size + ackEntrySize*seg.records
	s.live += seg.live
	s.segs[seg] = struct{}{}
	return seg, nil
}

// incomplete reports whether the end of the newest segment is a record that
// a crash cut short: a header that stops early, a payload shorter than its
// header says, or space the file system extended but never wrote (zeros).
// Only such a tail may be cut silently. A complete record whose checksum
// fails was acknowledged to its Enqueue, so it is damage to report.
func incomplete(tail []byte) bool {
	if len(bytes.Trim(tail, "\x00")) == 0 {
		return true
	}
	if len(tail) < recordHeaderSize {
		n := min(len(tail), len(recordMagic))
		return bytes.Equal(tail[:n], recordMagic[:n])
	}
	if !bytes.Equal(tail[:len(recordMagic)], recordMagic[:]) {
		return false
	}
	n := binary.LittleEndian.Uint32(tail[4:])
	return n <= maxRecordPayload && int64(len(tail)-recordHeaderSize) < int64(n)
}

// readAcks returns the offsets of settled records. Entries that fail their
// checksum are left out, which at worst sends an event again; a torn last
// entry is cut off so that new entries stay aligned.
func (s *spool) readAcks(id uint64) (map[int64]bool, error) {
	path := s.ackPath(id)
	data, err := readSpoolFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if extra := len(data) % ackEntrySize; extra != 0 {
		data = data[:len(data)-extra]
		if err := os.Truncate(path, int64(len(data))); err != nil {
			return nil, err
		}
	}
	acked := make(map[int64]bool, len(data)/ackEntrySize)
	for i := 0; i < len(data); i += ackEntrySize {
		if crc32.Checksum(data[i:i+8], castagnoli) == binary.LittleEndian.Uint32(data[i+8:]) {
			acked[int64(binary.LittleEndian.Uint64(data[i:]))] = true //nolint:gosec // G115: a wrapped value matches no record
		}
	}
	return acked, nil
}

func corruptErr(path string, off, n int, what string) error {
	return fmt.Errorf("%w: %s at offset %d (%d bytes): %s", ErrSpoolCorrupt, path, off, n, what)
}

// salvage reads what it can out of a damaged stretch: if the payload still
// parses as a valid event, the caller gets it to judge, since its bytes
// failed the checksum.
func salvage(region []byte) []Event {
	if len(region) <= recordHeaderSize {
		return nil
	}
	payload := region[recordHeaderSize:]
	if n := binary.LittleEndian.Uint32(region[4:]); int64(n) <= int64(len(payload)) {
		payload = payload[:n]
	}
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var e Event
	if d.Decode(&e) != nil || len(e.problems()) > 0 || e.UniqueID == "" || e.Timestamp.IsZero() {
		return nil
	}
	return []Event{e}
}

// read loads a replayed record's event from its segment.
func (s *spool) read(it replayItem) (Event, error) {
	buf := make([]byte, it.size)
	if _, err := it.ref.seg.rf.ReadAt(buf, it.ref.off); err != nil {
		return Event{}, fmt.Errorf("alguna: reading spool %s at offset %d: %w", s.segPath(it.ref.seg.id), it.ref.off, err)
	}
	if _, ok := recordAt(buf, 0); !ok {
		return Event{}, corruptErr(s.segPath(it.ref.seg.id), int(it.ref.off), it.size, "changed on disk since NewBatcher read it")
	}
	e, err := decodeEvent(buf[recordHeaderSize:])
	if err != nil {
		return Event{}, corruptErr(s.segPath(it.ref.seg.id), int(it.ref.off), it.size, err.Error())
	}
	return e, nil
}

// replay hands the Batcher what an earlier process left in the spool.
// Damaged records go to OnFailure at once. Intact ones are queued like
// accepted events, each taking room in the queue: as many as fit are queued
// before NewBatcher returns — all of them, unless QueueSize shrank since the
// spool was written, because every unsettled record held room then too —
// and a goroutine queues the rest as room frees up, so a backlog never
// needs more memory than QueueSize events.
func (b *Batcher) replay(bl *spoolBacklog) {
	for _, r := range bl.bad {
		b.corrupt.Add(1)
		b.replayed.Add(int64(len(r.events)))
		b.report(r.events, r.err)
		b.spool.settle([]spoolRef{r.ref})
	}
	b.replayed.Add(int64(len(bl.items)))
	for i, it := range bl.items {
		if !b.room.tryTake() {
			b.workers.Add(1)
			go b.feed(bl.items[i:])
			return
		}
		b.admit(it)
	}
	close(b.replayDone)
}

// feed queues replayed events as room frees up. If Close gives up first,
// the events not yet queued stay in the spool, like every other event Close
// could not deliver.
func (b *Batcher) feed(items []replayItem) {
	defer b.workers.Done()
	defer close(b.replayDone)
	for i, it := range items {
		if b.room.take(b.runCtx, nil) != nil {
			// Still spooled and unsettled: the next start sends them.
			b.kept.Add(int64(len(items) - i))
			return
		}
		b.admit(it)
	}
}

// admit queues a replayed event; the caller has taken room for it. One that
// cannot be read back is reported (and counted failed, having been counted
// replayed) instead.
func (b *Batcher) admit(it replayItem) {
	e, err := b.spool.read(it)
	if err != nil {
		b.unreadable(err)
		b.room.give(1)
		b.spool.settle([]spoolRef{it.ref})
		return
	}
	b.mu.Lock()
	full := b.pushLocked(e, it.ref)
	b.mu.Unlock()
	if full != nil {
		b.batches <- full
	}
}

// unreadable reports a record that was intact when NewBatcher scanned the
// spool but could not be read back later. Having been counted replayed, it
// is counted failed too, so that the counters still add up.
func (b *Batcher) unreadable(err error) {
	b.corrupt.Add(1)
	b.failed.Add(1)
	b.report(nil, err)
}
