package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
)

// Holder describes who holds the deploy lock, so a second run can name it.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// LockedError is returned when another moltctl holds the lock.
type LockedError struct {
	Path   string
	Holder *Holder
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return "another moltctl is changing this assistant (lock " + e.Path + ")"
	}
	return fmt.Sprintf("another moltctl (%q, pid %d on %s, since %s) is changing this assistant",
		e.Holder.Command, e.Holder.PID, e.Holder.Host, e.Holder.Since.Format(time.RFC3339))
}

// Hint says what to do.
func (e *LockedError) Hint() string {
	return "wait for it to finish and run the command again (moltctl deploy --wait-lock waits by itself); if that process is gone, the lock frees itself"
}

// Lock takes the deployment's exclusive lock. With wait, it waits until
// the lock is free or ctx ends; otherwise it fails at once with *LockedError.
// The lock is released by the returned function and by process exit.
func (s *Store) Lock(ctx context.Context, command string, wait bool) (unlock func(), err error) {
	path := filepath.Join(s.Dir, "deploy.lock")
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	var ok bool
	if wait {
		ok, err = fl.TryLockContext(ctx, 250*time.Millisecond)
	} else {
		ok, err = fl.TryLock()
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, &LockedError{Path: path, Holder: readHolder(path)}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now().UTC()})
	infoPath := path + ".holder"
	_ = os.WriteFile(infoPath, b, 0o600)
	return func() {
		_ = os.Remove(infoPath)
		_ = fl.Unlock()
	}, nil
}

func readHolder(lockPath string) *Holder {
	b, err := os.ReadFile(lockPath + ".holder")
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

func (s *Store) leasePath() string { return filepath.Join(s.Dir, "lease") }

// LeaseID is the id of the account-wide deploy lease (pkg/lease) this
// checkout holds or last held, "" if none: a lease with this id was left by
// a run of ours that was interrupted.
func (s *Store) LeaseID() string {
	b, err := os.ReadFile(s.leasePath())
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// SetLeaseID records id ("" forgets it).
func (s *Store) SetLeaseID(id string) error {
	if id == "" {
		if err := os.Remove(s.leasePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.WriteFile(s.leasePath(), []byte(id+"\n"), 0o600)
}
