//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockDir takes an exclusive flock on spool.lock. The kernel drops the lock
// when the process dies, however it dies, so a crash never leaves the
// directory locked. The file itself stays: deleting it on Close would let
// two processes lock two different files of the same name.
func lockDir(dir string) (func() error, error) {
	path := filepath.Join(dir, lockName)
	f, err := openFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("locking spool directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by process %s", ErrLocked, dir, lockHolder(path))
		}
		return nil, fmt.Errorf("locking spool directory: %w", err)
	}
	// The pid is only for the error message of whoever is locked out.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return f.Close, nil
}

// syncDir fsyncs a directory, so that a file created in it survives a
// power loss.
func syncDir(dir string) error {
	d, err := openFile(dir, os.O_RDONLY)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
