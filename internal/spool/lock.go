package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidName is the lock file of systems without flock. Unlike
// spool.lock it exists only while a Batcher holds the directory, so it has
// its own name: a directory moved between systems is never blocked by the
// other kind.
const pidName = "spool.pid"

// lockExclusive takes the directory by creating spool.pid, which fails if it
// exists. It is the fallback where flock is missing; its weakness is that a
// process that dies leaves the file behind, and the error says so.
func lockExclusive(dir string) (func() error, error) {
	path := filepath.Join(dir, pidName)
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %s is held by process %s; if that process is gone, remove %s",
			ErrLocked, dir, lockHolder(path), path)
	}
	if err != nil {
		return nil, fmt.Errorf("locking spool directory: %w", err)
	}
	_, werr := f.WriteString(strconv.Itoa(os.Getpid()))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("locking spool directory: %w", werr)
	}
	return func() error { return os.Remove(path) }, nil
}

// lockHolder reads the pid a lock file names, for the error message.
func lockHolder(path string) string {
	b, err := readFile(path)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return pid
	}
	return "(unknown)"
}

// openFile opens a file of the spool, private to its user. Every path
// is the program's own SpoolDir, or a name the spool made inside it, so
// gosec's warning about variable paths does not apply.
func openFile(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag, 0o600) //nolint:gosec // G304: see above
}

// readFile reads a file of the spool; see openFile.
func readFile(path string) ([]byte, error) {
	return os.ReadFile(path) //nolint:gosec // G304: see openFile
}
