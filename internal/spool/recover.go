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
	"slices"
	"strconv"
	"strings"
)

// recover reads the segments an earlier run left: records not acked become
// the backlog, damaged ones are listed, an incomplete tail is cut off, and
// settled segments are deleted.
func (l *Log) recover() (*Backlog, error) {
	entries, err := os.ReadDir(l.dir)
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
		l.nextID = max(l.nextID, id+1)
	}
	slices.Sort(segs)
	for id := range acks {
		if _, found := slices.BinarySearch(segs, id); !found {
			_ = os.Remove(l.ackPath(id))
		}
	}
	bl := &Backlog{}
	var kept []*segment
	for i, id := range segs {
		seg, err := l.recoverSegment(id, i == len(segs)-1, bl)
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
func (l *Log) recoverSegment(id uint64, last bool, bl *Backlog) (*segment, error) {
	path := l.segPath(id)
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	acked, err := l.readAcks(id)
	if err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	seg := &segment{id: id, sealed: true}
	for off := 0; off < len(data); {
		if n, ok := recordAt(data, off); ok {
			seg.records++
			if !acked[int64(off)] {
				seg.live++
				bl.Records = append(bl.Records, Record{Ref: Ref{seg: seg, off: int64(off)}, size: n})
			}
			off += n
			continue
		}
		next := nextRecord(data, off+1)
		if next == len(data) && last && incomplete(data[off:]) {
			// A crash in the middle of a write: its Append calls never
			// returned, so nothing acknowledged is lost. Cut it off.
			l.logger.LogAttrs(context.Background(), slog.LevelWarn, "alguna: ignoring torn end of spool",
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
			bl.Damaged = append(bl.Damaged, Damaged{
				Ref:     Ref{seg: seg, off: int64(off)},
				Payload: claimedPayload(data[off:next]),
				Err:     corruptErr(path, int64(off), next-off, "checksum mismatch"),
			})
		}
		off = next
	}
	seg.size = int64(len(data))
	if seg.live == 0 {
		for _, p := range []string{path, l.ackPath(id)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("alguna: removing settled spool file: %w", err)
			}
		}
		return nil, nil
	}
	if seg.rf, err = openFile(path, os.O_RDONLY); err != nil {
		return nil, fmt.Errorf("alguna: reading spool: %w", err)
	}
	l.bytes += seg.size + ackEntrySize*seg.records
	l.live += seg.live
	l.segs[seg] = struct{}{}
	return seg, nil
}

// incomplete reports whether the end of the newest segment is a record that
// a crash cut short: a header that stops early, a payload shorter than its
// header says, or space the file system extended but never wrote (zeros).
// Only such a tail may be cut silently. A complete record whose checksum
// fails was acknowledged to its Append, so it is damage to report.
func incomplete(tail []byte) bool {
	if len(bytes.Trim(tail, "\x00")) == 0 {
		return true
	}
	if len(tail) < headerSize {
		n := min(len(tail), len(magic))
		return bytes.Equal(tail[:n], magic[:n])
	}
	if !bytes.Equal(tail[:len(magic)], magic[:]) {
		return false
	}
	n := binary.LittleEndian.Uint32(tail[4:])
	return n <= MaxPayload && int64(len(tail)-headerSize) < int64(n)
}

// claimedPayload is what a damaged stretch's header says its payload is,
// when the stretch holds that much; nil when nothing can be told apart.
func claimedPayload(region []byte) []byte {
	if len(region) <= headerSize {
		return nil
	}
	payload := region[headerSize:]
	if n := binary.LittleEndian.Uint32(region[4:]); int64(n) <= int64(len(payload)) {
		payload = payload[:n]
	}
	return bytes.Clone(payload)
}

// readAcks returns the offsets of settled records. Entries that fail their
// checksum are left out, which at worst brings a record back; a torn last
// entry is cut off so that new entries stay aligned.
func (l *Log) readAcks(id uint64) (map[int64]bool, error) {
	path := l.ackPath(id)
	data, err := readFile(path)
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
