package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LogManager.getOrCreateLog's cases (KIP-112): an existing log is returned
// whatever isNew says; a missing one is created when isNew or when no log
// dir is offline; otherwise it fails with a KafkaStorageException ("Can not
// create log for <tp> because log directories <dirs> are offline") and
// nothing is created, nor is any dir marked failed for it. A new log goes
// to an online dir only.
func TestGetOrCreateLogIsNew(t *testing.T) {
	root := t.TempDir()
	good, bad := filepath.Join(root, "good"), filepath.Join(root, "bad")
	// Before the failure: t-0 lives in good; bad holds nothing we know of.
	m, err := OpenManager([]string{good}, DefaultConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetOrCreate("t", 0, [16]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// A regular file where a log dir should be: it cannot be created or
	// listed, so it is offline from the start (LogManager
	// .createAndValidateLogDirs: "... is not a readable log directory").
	if err := os.WriteFile(bad, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		offline   bool // bad is one of the manager's dirs
		topic     string
		isNew     bool
		wantErr   bool
		wantInDir string
	}{
		{"existing log, not new", true, "t", false, false, good},
		{"existing log, new", true, "t", true, false, good},
		{"missing log, not new, a dir offline", true, "u", false, true, ""},
		{"missing log, new, a dir offline", true, "v", true, false, good},
		{"missing log, not new, every dir online", false, "w", false, false, good},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dirs := []string{good}
			if c.offline {
				dirs = append(dirs, bad)
			}
			m, err := OpenManager(dirs, DefaultConfig(), quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			failures := len(m.OfflineLogDirs())
			if c.offline && failures != 1 {
				t.Fatalf("offline dirs %v, want %s", m.OfflineLogDirs(), bad)
			}
			l, err := m.GetOrCreateLog(c.topic, 0, [16]byte{1}, c.isNew)
			if c.wantErr {
				if !errors.Is(err, ErrStorage) || !errors.Is(err, ErrOfflineLogDirs) {
					t.Fatalf("err %v, want ErrStorage and ErrOfflineLogDirs", err)
				}
				// Kafka's KafkaStorageException message.
				if want := "Can not create log for " + c.topic + "-0 because log directories " + bad + " are offline"; !strings.Contains(err.Error(), want) {
					t.Fatalf("err %q, want it to say %q", err, want)
				}
				if _, ok := m.Get(c.topic, 0); ok {
					t.Fatal("a refused log is managed")
				}
				if _, err := os.Stat(filepath.Join(good, c.topic+"-0")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("a refused log's dir exists: %v", err)
				}
				if got := len(m.OfflineLogDirs()); got != failures {
					t.Fatalf("the refusal failed a dir: %v", m.OfflineLogDirs())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := filepath.Dir(l.Dir()); got != c.wantInDir {
				t.Fatalf("log in %s, want %s", got, c.wantInDir)
			}
		})
	}
}
