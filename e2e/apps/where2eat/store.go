package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Place is one stored row. User is the signed-in user's subject as the sidecar forwards it
// (X-Forwarded-User); it is stored so each user sees, exports and deletes only their own rows.
type Place struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Store keeps every row in one JSON-lines file under its directory. Every change rewrites the
// file through a temporary file and a rename, so a reader (or a crash) never sees half a file.
// An exclusive flock on a lock file serialises writers across processes: the server and a
// `where2eat seed` run by `kubectl exec` in the same container share the file. Every read
// goes to the file, so rows seeded by another process are seen at once.
type Store struct {
	dir  string
	mu   sync.Mutex // one operation at a time inside this process (flock is per open file)
	now  func() time.Time
	file string
	lock string
}

const dataFileName = "places.jsonl"

// OpenStore creates dir (0700) if needed and checks that it can be written.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("no data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	s := &Store{dir: dir, now: time.Now, file: filepath.Join(dir, dataFileName), lock: filepath.Join(dir, ".lock")}
	// Fail at start, not at the first request, if the directory is not writable.
	if err := s.withLock(syscall.LOCK_EX, func() error { return nil }); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) withLock(how int, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the lock file: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		return fmt.Errorf("cannot lock the data file: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	return fn()
}

// read loads every row; a missing file is an empty store.
func (s *Store) read() ([]Place, error) {
	data, err := os.ReadFile(s.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the data file: %w", err)
	}
	var rows []Place
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var p Place
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("data file line %d is not a row: %w", line, err)
		}
		rows = append(rows, p)
	}
	return rows, sc.Err()
}

// write replaces the file atomically: temp file in the same directory, fsync, rename, fsync dir.
func (s *Store) write(rows []Place) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, p := range rows {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(s.dir, ".places-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create a temporary file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the data file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot sync the data file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.file); err != nil {
		return fmt.Errorf("cannot replace the data file: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func newID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// Add stores a row for user created at now minus age (age 0 for a request; `seed` backdates).
func (s *Store) Add(user, name string, age time.Duration) (Place, error) {
	p := Place{ID: newID(), User: user, Name: name, CreatedAt: s.now().UTC().Add(-age).Truncate(time.Millisecond)}
	err := s.withLock(syscall.LOCK_EX, func() error {
		rows, err := s.read()
		if err != nil {
			return err
		}
		return s.write(append(rows, p))
	})
	return p, err
}

// List returns user's rows, oldest first.
func (s *Store) List(user string) ([]Place, error) {
	var out []Place
	err := s.withLock(syscall.LOCK_SH, func() error {
		rows, err := s.read()
		for _, p := range rows {
			if p.User == user {
				out = append(out, p)
			}
		}
		return err
	})
	sortPlaces(out)
	return out, err
}

// All returns every row, oldest first.
func (s *Store) All() ([]Place, error) {
	var out []Place
	err := s.withLock(syscall.LOCK_SH, func() error {
		var err error
		out, err = s.read()
		return err
	})
	sortPlaces(out)
	return out, err
}

// DeleteUser removes every row of user and returns how many there were.
func (s *Store) DeleteUser(user string) (int, error) {
	return s.deleteWhere(func(p Place) bool { return p.User == user })
}

// DeleteOlderThan removes rows created strictly before cutoff (the purge runner's contract).
func (s *Store) DeleteOlderThan(cutoff time.Time) (int, error) {
	return s.deleteWhere(func(p Place) bool { return p.CreatedAt.Before(cutoff) })
}

func (s *Store) deleteWhere(doomed func(Place) bool) (int, error) {
	n := 0
	err := s.withLock(syscall.LOCK_EX, func() error {
		rows, err := s.read()
		if err != nil {
			return err
		}
		kept := rows[:0]
		for _, p := range rows {
			if doomed(p) {
				n++
			} else {
				kept = append(kept, p)
			}
		}
		if n == 0 {
			return nil
		}
		return s.write(kept)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Counts returns the number of rows in total and per user.
func (s *Store) Counts() (int, map[string]int, error) {
	rows, err := s.All()
	per := map[string]int{}
	for _, p := range rows {
		per[p.User]++
	}
	return len(rows), per, err
}

func sortPlaces(rows []Place) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].CreatedAt.Before(rows[j].CreatedAt) })
}
