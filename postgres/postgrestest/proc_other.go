//go:build !linux

package postgrestest

import (
	"errors"
	"os"
	"syscall"
)

// runAs is the user the server runs as: always this process's user here.
type runAs struct{}

// serverUser refuses root, which PostgreSQL refuses too; running the
// server as another user is only done on Linux.
func serverUser() (*runAs, error) {
	if os.Geteuid() == 0 {
		return nil, errors.New("postgrestest: PostgreSQL does not run as root; run the tests as another user or set " + EnvDSN)
	}
	return nil, nil
}

func (*runAs) own(string) error { return nil }

func (*runAs) procAttr(bool) *syscall.SysProcAttr { return nil }
