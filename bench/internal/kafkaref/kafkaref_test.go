package kafkaref

import (
	"strings"
	"testing"
)

// TestFindMissing checks that a missing Kafka 3.9 is reported naming `make deps` (the bench prints it and
// leaves the Kafka column out).
func TestFindMissing(t *testing.T) {
	t.Setenv("KAFKA39_LIB", t.TempDir())
	_, err := Find()
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("Find with an empty lib dir: %v", err)
	}
}

func TestModulePath(t *testing.T) {
	if got := modulePath("// x\nmodule github.com/kafkazk/kafkazk\n\ngo 1.23\n"); got != "github.com/kafkazk/kafkazk" {
		t.Fatalf("modulePath = %q", got)
	}
}
