package zktest

import (
	"strings"
	"testing"
	"time"
)

func TestStartStop(t *testing.T) {
	s := Start(t)
	got, err := FourLetter(s.Addr, "ruok", 2*time.Second)
	if err != nil || got != "imok" {
		t.Fatalf("ruok = %q, %v", got, err)
	}
	c1, c2 := s.Chroot(t), s.Chroot(t)
	if c1 == c2 || !strings.HasPrefix(c1, s.Addr+"/") {
		t.Fatalf("chroots %q %q", c1, c2)
	}
	s.Stop()
	if !s.Exited() {
		t.Fatal("process still running after Stop")
	}
	if _, err := FourLetter(s.Addr, "ruok", time.Second); err == nil {
		t.Fatal("server still answering after Stop")
	}
}
