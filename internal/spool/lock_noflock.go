//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import "os"

// lockDir falls back to an exclusively created lock file where flock is
// missing.
func lockDir(dir string) (func() error, error) {
	return lockExclusive(dir)
}

// syncDir fsyncs a directory where the system allows it. Some (Windows)
// cannot open a directory for syncing; there a new segment may be lost to
// a power loss, but not to a crash of the process.
func syncDir(dir string) error {
	d, err := openFile(dir, os.O_RDONLY)
	if err != nil {
		return nil
	}
	_ = d.Sync()
	return d.Close()
}
