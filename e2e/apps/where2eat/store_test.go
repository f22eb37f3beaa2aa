package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreAddListDeleteOnlyTouchTheUsersRows(t *testing.T) {
	s := newTestStore(t)
	for _, r := range []struct{ user, name string }{{"ann", "Pho 99"}, {"bob", "Curry Hut"}, {"ann", "Taco Loco"}} {
		if _, err := s.Add(r.user, r.name, 0); err != nil {
			t.Fatal(err)
		}
	}
	ann, err := s.List("ann")
	if err != nil || len(ann) != 2 || ann[0].Name != "Pho 99" || ann[1].Name != "Taco Loco" {
		t.Fatalf("ann's rows = %+v, %v", ann, err)
	}
	if ann[0].ID == ann[1].ID || len(ann[0].ID) != 24 {
		t.Fatalf("ids %q %q", ann[0].ID, ann[1].ID)
	}
	n, err := s.DeleteUser("ann")
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	total, per, _ := s.Counts()
	if total != 1 || per["bob"] != 1 || per["ann"] != 0 {
		t.Fatalf("after delete: %d %v", total, per)
	}
	if n, _ := s.DeleteUser("ann"); n != 0 {
		t.Fatalf("second delete removed %d", n)
	}
}

func TestStoreSurvivesReopenAndLeavesNoTemporaryFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, _ := OpenStore(dir)
	s.Add("ann", "Pho 99", 0)
	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s2.All()
	if err != nil || len(rows) != 1 || rows[0].Name != "Pho 99" || rows[0].User != "ann" {
		t.Fatalf("reopened: %+v %v", rows, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
	info, _ := os.Stat(filepath.Join(dir, dataFileName))
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("data file mode %v, want 0600", info.Mode().Perm())
	}
}

func TestDeleteOlderThanIsStrict(t *testing.T) {
	s := newTestStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.Add("ann", "old", 40*24*time.Hour)
	s.Add("ann", "exactly at the cutoff", 30*24*time.Hour)
	s.Add("bob", "new", time.Hour)
	n, err := s.DeleteOlderThan(now.Add(-30 * 24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1 (only strictly older)", n, err)
	}
	rows, _ := s.All()
	if len(rows) != 2 || rows[0].Name != "exactly at the cutoff" {
		t.Fatalf("left %+v", rows)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// Two stores on one directory stand for the server and a `seed` process: flock orders them.
	a, _ := OpenStore(dir)
	b, _ := OpenStore(dir)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if _, err := s.Add("u", "p", 0); err != nil {
				t.Error(err)
			}
			if i%5 == 0 {
				if _, err := s.List("u"); err != nil {
					t.Error(err)
				}
			}
		}(i)
	}
	wg.Wait()
	total, _, err := a.Counts()
	if err != nil || total != 40 {
		t.Fatalf("total %d, %v; want 40", total, err)
	}
}

func TestCorruptDataFileIsAnErrorNotAnEmptyStore(t *testing.T) {
	s := newTestStore(t)
	os.WriteFile(s.file, []byte("{not json\n"), 0o600)
	if _, err := s.All(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Add("ann", "x", 0); err == nil {
		t.Fatal("an add over a corrupt file must fail, not drop the file's rows")
	}
}

func TestOpenStoreFailsOnAnUnwritableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if _, err := OpenStore(filepath.Join(dir, "data")); err == nil {
		t.Fatal("expected an error")
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"40d": 40 * 24 * time.Hour, "0d": 0, "12h": 12 * time.Hour, "90s": 90 * time.Second} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "-1d", "x", "-3h", "1.5d"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) accepted", in)
		}
	}
}
