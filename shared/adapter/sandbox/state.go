package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// StateFile is where a sandbox keeps its state so that a restart keeps it, as the
// real account would: a JSON file, replaced after every change. A sandbox without a
// path (the default for tests) lives in memory and its StateFile does nothing.
type StateFile struct {
	path, name string
	lock       sync.Locker
	snapshot   func() any
	mu         sync.Mutex // orders the writes: a snapshot taken later is also written later
}

// NewStateFile returns the state file at path ("" for none) of the sandbox called
// name in messages ("Sell sandbox"). Its state is what snapshot returns while lock,
// the lock of the sandbox's data, is held.
func NewStateFile(path, name string, lock sync.Locker, snapshot func() any) *StateFile {
	return &StateFile{path: path, name: name, lock: lock, snapshot: snapshot}
}

// Load reads the file into st, a state whose layout is version; false, and st
// untouched, when there is no path or no file yet. A file of another layout is
// refused rather than half read.
func (f *StateFile) Load(st any, version int) (bool, error) {
	if f.path == "" {
		return false, nil
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s state: %w", f.name, err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return false, f.Unusable(err)
	}
	if head.Version != version {
		return false, f.Unusable(fmt.Errorf("version %d, this sandbox reads %d", head.Version, version))
	}
	if err := json.Unmarshal(b, st); err != nil {
		return false, f.Unusable(err)
	}
	return true, nil
}

// Unusable is the error of a state file that cannot be loaded: it names the file and
// the way out.
func (f *StateFile) Unusable(err error) error {
	return fmt.Errorf("read %s state %s (delete it to start again from the demo data): %w", f.name, f.path, err)
}

// Save writes the state to the file at once; without a path it does nothing. The file
// is replaced atomically, so a crash leaves the previous state or the new one, never
// half of one.
func (f *StateFile) Save() error {
	if f.path == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lock.Lock()
	b, err := json.MarshalIndent(f.snapshot(), "", " ")
	f.lock.Unlock()
	if err != nil {
		return fmt.Errorf("encode %s state: %w", f.name, err)
	}
	if err := writeFileAtomic(f.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save %s state: %w", f.name, err)
	}
	return nil
}

// Changed saves after a change. A failed write is logged, not answered: the change
// is made in memory and the call that made it succeeded, as it would have in the
// real API.
func (f *StateFile) Changed() {
	if err := f.Save(); err != nil {
		slog.Error(f.name+": state not saved", "file", f.path, "err", err.Error())
	}
}

// writeFileAtomic replaces path with data: written and synced to a temporary file in
// the same folder, then renamed over path (a rename within one file system is atomic
// on POSIX systems).
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
