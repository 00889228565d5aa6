package alguna

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// spoolPidName is the lock file of systems without flock. Unlike
// spool.lock it exists only while a Batcher holds the directory, so it has
// its own name: a directory moved between systems is never blocked by the
// other kind.
const spoolPidName = "spool.pid"

// lockExclusive takes the directory by creating spool.pid, which fails if it
// exists. It is the fallback where flock is missing; its weakness is that a
// process that dies leaves the file behind, and the error says so.
func lockExclusive(dir string) (func() error, error) {
	path := filepath.Join(dir, spoolPidName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %s is held by process %s; if that process is gone, remove %s",
			ErrSpoolLocked, dir, lockHolder(path), path)
	}
	if err != nil {
		return nil, fmt.Errorf("alguna: locking spool directory: %w", err)
	}
	_, werr := f.WriteString(strconv.Itoa(os.Getpid()))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("alguna: locking spool directory: %w", werr)
	}
	return func() error { return os.Remove(path) }, nil
}

// lockHolder reads the pid a lock file names, for the error message.
func lockHolder(path string) string {
	b, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return pid
	}
	return "(unknown)"
}
