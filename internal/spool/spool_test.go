package spool

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rec is the record of a payload, as Append writes it.
func rec(payload string) []byte {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(payload)))
	b := append(magic[:], n[:]...)
	b = binary.LittleEndian.AppendUint32(b, recordCRC(n[:], []byte(payload)))
	return append(b, payload...)
}

func records(payloads ...string) []byte {
	var buf []byte
	for _, p := range payloads {
		buf = append(buf, rec(`{"uniqueId":"`+p+`"}`)...)
	}
	return buf
}

func ackEntry(off int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(off))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func openTest(t *testing.T, dir string) (*Log, *Backlog) {
	t.Helper()
	l, bl, err := Open(Options{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 16 << 20})
	require.NoError(t, err)
	return l, bl
}

// settleAll settles the backlog so that the spool can close.
func settleAll(l *Log, bl *Backlog) {
	for _, r := range bl.Records {
		l.Settle([]Ref{r.Ref})
	}
	for _, d := range bl.Damaged {
		l.Settle([]Ref{d.Ref})
	}
}

func payloads(t *testing.T, l *Log, bl *Backlog) []string {
	var out []string
	for _, r := range bl.Records {
		p, err := l.Read(r)
		require.NoError(t, err)
		out = append(out, string(p))
	}
	return out
}

func ids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, `{"uniqueId":"`+n+`"}`)
	}
	return out
}

func TestLockExclusiveFallback(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockExclusive(dir)
	require.NoError(t, err)
	_, err = lockExclusive(dir)
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), strconv.Itoa(os.Getpid()))
	require.Contains(t, err.Error(), "remove", "the error says how to clear a lock left by a crash")
	require.NoError(t, unlock())
	unlock, err = lockExclusive(dir)
	require.NoError(t, err)
	require.NoError(t, unlock())
}

func TestSecondOpenIsLockedOut(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir)
	_, _, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close(0))
}

func TestAppendSettleReopen(t *testing.T) {
	dir := t.TempDir()
	l, bl := openTest(t, dir)
	require.Empty(t, bl.Records)
	ctx := context.Background()
	a, err := l.Append(ctx, []byte("a"), Wait{})
	require.NoError(t, err)
	refs := make([]Ref, 3)
	require.NoError(t, l.AppendAll(ctx, [][]byte{[]byte("b"), []byte("c"), []byte("d")}, refs, Wait{}))
	_, syncs := l.Stats()
	require.LessOrEqual(t, syncs, int64(2), "AppendAll takes one fsync for all of its records")
	l.Settle([]Ref{a, refs[1]})
	require.NoError(t, l.Close(2))

	l, bl = openTest(t, dir)
	var got []string
	for _, r := range bl.Records {
		p, err := l.Read(r)
		require.NoError(t, err)
		got = append(got, string(p))
	}
	require.Equal(t, []string{"b", "d"}, got, "only what was not settled comes back, in order")
	settleAll(l, bl)
	require.NoError(t, l.Close(0))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the lock file is left")
}

func TestRecoveryTellsTornTailsFromDamage(t *testing.T) {
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

	l, bl := openTest(t, dir)
	require.Equal(t, ids("a", "b", "c"), payloads(t, l, bl))
	require.Len(t, bl.Damaged, 1)
	require.ErrorIs(t, bl.Damaged[0].Err, ErrCorrupt)
	require.Contains(t, bl.Damaged[0].Err.Error(), "0000000000000001.seg at offset "+strconv.Itoa(len(first)))

	fi, err := os.Stat(filepath.Join(dir, "0000000000000002.seg"))
	require.NoError(t, err)
	require.Equal(t, int64(len(last)), fi.Size(), "the torn tail is cut off")
	_, err = os.Stat(filepath.Join(dir, "0000000000000000.ack"))
	require.ErrorIs(t, err, os.ErrNotExist)

	settleAll(l, bl)
	require.NoError(t, l.Close(0))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the lock file is left")
	require.Equal(t, lockName, entries[0].Name())
}

// TestRecoveryReportsDamagedLastRecord checks that only an incomplete
// record at the end of the newest segment — the trace of a crash in the
// middle of a write, whose Append never returned — is cut silently. A
// complete record there whose checksum fails was acknowledged to its caller,
// so it is reported like damage anywhere else.
func TestRecoveryReportsDamagedLastRecord(t *testing.T) {
	bOff := len(records("a"))
	whole := records("a", "b")
	flipped := func(i int, bit byte) []byte {
		d := append([]byte(nil), whole...)
		d[i] ^= bit
		return d
	}
	tests := []struct {
		name     string
		data     []byte
		reported bool
	}{
		{"a flipped bit in the last record's payload", flipped(len(whole)-5, 0x04), true},
		{"a flipped bit in the last record's checksum", flipped(bOff+9, 0x80), true},
		{"a flipped bit in the last record's magic", flipped(bOff+1, 0x01), true},
		{"a header cut short", whole[:bOff+7], false},
		{"a payload shorter than its header says", whole[:len(whole)-3], false},
		{"an unwritten tail of zeros", append(records("a"), make([]byte, 40)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "0000000000000001.seg")
			require.NoError(t, os.WriteFile(path, tc.data, 0o600))
			l, bl := openTest(t, dir)
			require.Equal(t, ids("a"), payloads(t, l, bl))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			if tc.reported {
				require.Len(t, bl.Damaged, 1)
				require.ErrorIs(t, bl.Damaged[0].Err, ErrCorrupt)
				require.Equal(t, int64(bOff), bl.Damaged[0].Ref.off)
				require.Equal(t, int64(len(tc.data)), fi.Size(), "damage is kept, not cut")
			} else {
				require.Empty(t, bl.Damaged)
				require.Equal(t, int64(bOff), fi.Size(), "the incomplete tail is cut off")
			}
			settleAll(l, bl)
			require.NoError(t, l.Close(0))
		})
	}
}

func TestRecoveryResyncsAfterDamagedLength(t *testing.T) {
	dir := t.TempDir()
	data := records("a", "b", "c")
	// Record b's length now points far past the end of the file.
	bOff := len(records("a"))
	binary.LittleEndian.PutUint32(data[bOff+4:], 1<<20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), data, 0o600))

	l, bl := openTest(t, dir)
	require.Equal(t, ids("a", "c"), payloads(t, l, bl), "c is found again past the damage")
	require.Len(t, bl.Damaged, 1)
	require.Equal(t, int64(bOff), bl.Damaged[0].Ref.off)
	require.Equal(t, ids("b")[0], string(bl.Damaged[0].Payload), "the payload itself is intact, so its owner can judge it")
	settleAll(l, bl)
	require.NoError(t, l.Close(0))
}

func TestRecoveryReadsAcks(t *testing.T) {
	dir := t.TempDir()
	data := records("a", "b", "c")
	bOff := len(records("a"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), data, 0o600))
	// b is settled; a's entry is damaged, so a comes back; the last entry
	// is torn.
	acks := append(ackEntry(bOff), ackEntry(0)...)
	acks[len(acks)-1] ^= 0xff
	acks = append(acks, ackEntry(2 * bOff)[:5]...)
	ackPath := filepath.Join(dir, "0000000000000001.ack")
	require.NoError(t, os.WriteFile(ackPath, acks, 0o600))

	l, bl := openTest(t, dir)
	require.Equal(t, ids("a", "c"), payloads(t, l, bl))
	fi, err := os.Stat(ackPath)
	require.NoError(t, err)
	require.Equal(t, int64(2*ackEntrySize), fi.Size(), "the torn entry is cut off so new ones stay aligned")

	// Settling a writes an entry; the segment stays until c is settled too.
	l.Settle([]Ref{bl.Records[0].Ref})
	fi, err = os.Stat(ackPath)
	require.NoError(t, err)
	require.Equal(t, int64(3*ackEntrySize), fi.Size())
	l.Settle([]Ref{bl.Records[1].Ref})
	_, err = os.Stat(ackPath)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, l.Close(0))
}

// A write that fails is reported to its Append, and the record does not
// come back later; the spool carries on in a new segment.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir)
	ctx := context.Background()
	before, err := l.Append(ctx, []byte("before"), Wait{})
	require.NoError(t, err)

	// The disk goes away under the active segment.
	l.mu.Lock()
	require.NoError(t, l.active.f.Close())
	l.mu.Unlock()
	_, err = l.Append(ctx, []byte("lost"), Wait{})
	require.ErrorContains(t, err, "writing event to spool")

	after, err := l.Append(ctx, []byte("after"), Wait{})
	require.NoError(t, err)
	require.NotEqual(t, before.seg, after.seg, "the next commit starts a new segment")
	require.NoError(t, l.Close(2))

	l, bl := openTest(t, dir)
	var got []string
	for _, r := range bl.Records {
		p, err := l.Read(r)
		require.NoError(t, err)
		got = append(got, string(p))
	}
	require.Equal(t, []string{"before", "after"}, got)
	settleAll(l, bl)
	require.NoError(t, l.Close(0))
}

// Appends that wait for room end when their context does, when Stop
// closes, or at once with NoWait; settling frees the room they wait for.
func TestAppendWaitsForRoom(t *testing.T) {
	l, _, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 10, SegmentBytes: 1 << 10})
	require.NoError(t, err)
	big := make([]byte, 600)
	for i := range big {
		big[i] = 'x'
	}
	ctx := context.Background()
	first, err := l.Append(ctx, big, Wait{})
	require.NoError(t, err)
	_, err = l.Append(ctx, big, Wait{NoWait: true})
	require.ErrorIs(t, err, ErrFull)

	stop := make(chan struct{})
	close(stop)
	_, err = l.Append(ctx, big, Wait{Stop: stop})
	require.ErrorIs(t, err, ErrClosed)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.Append(cctx, big, Wait{})
	require.ErrorIs(t, err, context.Canceled)

	var wg sync.WaitGroup
	wg.Add(1)
	var second Ref
	var serr error
	go func() {
		defer wg.Done()
		second, serr = l.Append(ctx, big, Wait{})
	}()
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.waiters == 1
	}, 10*time.Second, time.Millisecond, "the append waits for room")
	l.Settle([]Ref{first})
	wg.Wait()
	require.NoError(t, serr)
	l.Settle([]Ref{second})
	require.NoError(t, l.Close(0))
}
