package alguna

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLockExclusiveFallback(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockExclusive(dir)
	require.NoError(t, err)
	_, err = lockExclusive(dir)
	require.ErrorIs(t, err, ErrSpoolLocked)
	require.Contains(t, err.Error(), strconv.Itoa(os.Getpid()))
	require.Contains(t, err.Error(), "remove", "the error says how to clear a lock left by a crash")
	require.NoError(t, unlock())
	unlock, err = lockExclusive(dir)
	require.NoError(t, err)
	require.NoError(t, unlock())
}

func spoolEvent(id string) Event {
	return Event{UniqueID: id, Account: "acc_1", EventName: "api_call",
		Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)}
}

func records(ids ...string) []byte {
	var buf []byte
	for _, id := range ids {
		e := spoolEvent(id)
		buf = appendRecord(buf, &e)
	}
	return buf
}

func ackEntry(off int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(off))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func openTestSpool(t *testing.T, dir string) (*spool, *spoolBacklog) {
	t.Helper()
	o := BatcherOptions{SpoolDir: dir}
	var ps problems
	o.spoolOptions(&ps)
	require.NoError(t, ps.err())
	s, bl, err := openSpool(&o, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return s, bl
}

// settleAll settles the backlog so that the spool can close.
func settleAll(s *spool, bl *spoolBacklog) {
	for _, it := range bl.items {
		s.settle([]spoolRef{it.ref})
	}
	for _, b := range bl.bad {
		s.settle([]spoolRef{b.ref})
	}
}

func replayedIDs(t *testing.T, s *spool, bl *spoolBacklog) []string {
	var ids []string
	for _, it := range bl.items {
		e, err := s.read(it)
		require.NoError(t, err)
		ids = append(ids, e.UniqueID)
	}
	return ids
}

func TestSpoolRecoveryTellsTornTailsFromDamage(t *testing.T) {
	dir := t.TempDir()
	first := records("a", "b")
	// Damage at the end of a segment that is not the last cannot be a torn
	// write: the next segment was only started after this one was synced.
	garbage := []byte("\xff\x00\x01 not a record")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), append(first, garbage...), 0o600))
	// The last segment ends in zeros, as a file extended but never written.
	last := records("c")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000002.seg"), append(last, make([]byte, 100)...), 0o600))
	// An ack file whose segment is gone is left from a crash in between
	// deleting the two.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000000.ack"), ackEntry(0), 0o600))

	s, bl := openTestSpool(t, dir)
	require.Equal(t, []string{"a", "b", "c"}, replayedIDs(t, s, bl))
	require.Len(t, bl.bad, 1)
	require.ErrorIs(t, bl.bad[0].err, ErrSpoolCorrupt)
	require.Contains(t, bl.bad[0].err.Error(), "0000000000000001.seg at offset "+strconv.Itoa(len(first)))
	require.Empty(t, bl.bad[0].events)

	fi, err := os.Stat(filepath.Join(dir, "0000000000000002.seg"))
	require.NoError(t, err)
	require.Equal(t, int64(len(last)), fi.Size(), "the torn tail is cut off")
	_, err = os.Stat(filepath.Join(dir, "0000000000000000.ack"))
	require.ErrorIs(t, err, os.ErrNotExist)

	settleAll(s, bl)
	require.NoError(t, s.close(0))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the lock file is left")
	require.Equal(t, spoolLockName, entries[0].Name())
}

func TestSpoolRecoveryResyncsAfterDamagedLength(t *testing.T) {
	dir := t.TempDir()
	data := records("a", "b", "c")
	// Record b's length now points far past the end of the file.
	bOff := len(records("a"))
	binary.LittleEndian.PutUint32(data[bOff+4:], 1<<20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), data, 0o600))

	s, bl := openTestSpool(t, dir)
	require.Equal(t, []string{"a", "c"}, replayedIDs(t, s, bl), "c is found again past the damage")
	require.Len(t, bl.bad, 1)
	require.Equal(t, int64(bOff), bl.bad[0].ref.off)
	require.Len(t, bl.bad[0].events, 1, "the payload itself is intact, so b can be salvaged")
	require.Equal(t, "b", bl.bad[0].events[0].UniqueID)
	settleAll(s, bl)
	require.NoError(t, s.close(0))
}

func TestSpoolRecoveryReadsAcks(t *testing.T) {
	dir := t.TempDir()
	data := records("a", "b", "c")
	bOff := len(records("a"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), data, 0o600))
	// b is settled; a's entry is damaged, so a is sent again; the last
	// entry is torn.
	acks := append(ackEntry(bOff), ackEntry(0)...)
	acks[len(acks)-1] ^= 0xff
	acks = append(acks, ackEntry(2 * bOff)[:5]...)
	ackPath := filepath.Join(dir, "0000000000000001.ack")
	require.NoError(t, os.WriteFile(ackPath, acks, 0o600))

	s, bl := openTestSpool(t, dir)
	require.Equal(t, []string{"a", "c"}, replayedIDs(t, s, bl))
	fi, err := os.Stat(ackPath)
	require.NoError(t, err)
	require.Equal(t, int64(2*ackEntrySize), fi.Size(), "the torn entry is cut off so new ones stay aligned")

	// Settling a writes an entry; the segment stays until c is settled too.
	s.settle([]spoolRef{bl.items[0].ref})
	fi, err = os.Stat(ackPath)
	require.NoError(t, err)
	require.Equal(t, int64(3*ackEntrySize), fi.Size())
	s.settle([]spoolRef{bl.items[1].ref})
	_, err = os.Stat(ackPath)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, s.close(0))
}

func TestSpoolDecodeKeepsNumbersExact(t *testing.T) {
	e := spoolEvent("x")
	e.Properties = map[string]any{"a": uint64(18446744073709551615), "b": 0.1, "c": json.Number("1e400")}
	rec := appendRecord(nil, &e)
	n, ok := recordAt(rec, 0)
	require.True(t, ok)
	require.Equal(t, len(rec), n)
	got, err := decodeEvent(rec[recordHeaderSize:])
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": json.Number("18446744073709551615"), "b": json.Number("0.1"), "c": json.Number("1e400")}, got.Properties)
	require.Equal(t, string(appendEvent(nil, &e)), string(appendEvent(nil, &got)), "the event is sent again byte for byte")
}

// A write that fails is reported to its Enqueue, and the record is not
// replayed later; the spool carries on in a new segment.
func TestSpoolWriteFailure(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []Event
		if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		ids := []string{}
		for _, e := range events {
			seen[e.UniqueID] = true
			ids = append(ids, e.UniqueID)
		}
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string][]string{"ingested": ids, "failed": {}})
	}))
	defer srv.Close()
	c, err := NewClient("k", WithBaseURL(srv.URL))
	require.NoError(t, err)
	dir := t.TempDir()
	b, err := c.Events.NewBatcher(BatcherOptions{SpoolDir: dir, FlushInterval: time.Hour})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, b.Enqueue(ctx, spoolEvent("before")))

	// The disk goes away under the active segment.
	b.spool.mu.Lock()
	require.NoError(t, b.spool.active.f.Close())
	b.spool.mu.Unlock()
	err = b.Enqueue(ctx, spoolEvent("lost"))
	require.ErrorContains(t, err, "writing event to spool")

	require.NoError(t, b.Enqueue(ctx, spoolEvent("after")))
	require.NoError(t, b.Close(ctx))
	require.Equal(t, map[string]bool{"before": true, "after": true}, seen)
	st := b.Stats()
	require.Equal(t, int64(2), st.Enqueued)
	require.Equal(t, int64(2), st.Ingested)
	require.Zero(t, st.SpooledBytes)
}

// TestSpoolRecoveryReportsDamagedLastRecord checks that only an incomplete
// record at the end of the newest segment — the trace of a crash in the
// middle of a write, whose Enqueue never returned — is cut silently. A
// complete record there whose checksum fails was acknowledged to its caller,
// so it is reported like damage anywhere else.
func TestSpoolRecoveryReportsDamagedLastRecord(t *testing.T) {
	bOff := len(records("a"))
	whole := records("a", "b")
	tests := []struct {
		name     string
		data     []byte
		reported bool
	}{
		{"a flipped bit in the last record's payload", func() []byte {
			d := append([]byte(nil), whole...)
			d[len(d)-5] ^= 0x04
			return d
		}(), true},
		{"a flipped bit in the last record's checksum", func() []byte {
			d := append([]byte(nil), whole...)
			d[bOff+9] ^= 0x80
			return d
		}(), true},
		{"a flipped bit in the last record's magic", func() []byte {
			d := append([]byte(nil), whole...)
			d[bOff+1] ^= 0x01
			return d
		}(), true},
		{"a header cut short", whole[:bOff+7], false},
		{"a payload shorter than its header says", whole[:len(whole)-3], false},
		{"an unwritten tail of zeros", append(records("a"), make([]byte, 40)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "0000000000000001.seg")
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			s, bl := openTestSpool(t, dir)
			require.Equal(t, []string{"a"}, replayedIDs(t, s, bl))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			if tc.reported {
				require.Len(t, bl.bad, 1)
				require.ErrorIs(t, bl.bad[0].err, ErrSpoolCorrupt)
				require.Equal(t, int64(bOff), bl.bad[0].ref.off)
				require.Equal(t, int64(len(tc.data)), fi.Size(), "damage is kept, not cut")
			} else {
				require.Empty(t, bl.bad)
				require.Equal(t, int64(bOff), fi.Size(), "the incomplete tail is cut off")
			}
			settleAll(s, bl)
			require.NoError(t, s.close(0))
		})
	}
}
