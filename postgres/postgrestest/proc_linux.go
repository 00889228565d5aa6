package postgrestest

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// runAs is the user the server runs as; nil is this process's user.
type runAs struct {
	uid, gid uint32
}

// serverUser is who runs the server: this process's user unless that is
// root, which PostgreSQL refuses.
func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &runAs{uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New(`postgrestest: running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as`)
}

// own hands dir to the server's user.
func (r *runAs) own(dir string) error {
	if r == nil {
		return nil
	}
	return os.Chown(dir, int(r.uid), int(r.gid))
}

// procAttr runs a program as the server's user. The server itself also
// gets a signal to quit if the test process dies without Close.
func (r *runAs) procAttr(server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if r != nil {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid, NoSetGroups: true}
	}
	if server {
		a.Pdeathsig = syscall.SIGQUIT
	}
	return a
}
