package main

import (
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name     string
		status   string
		rss, hwm int64
		wantErr  bool
	}{
		{"linux status", "Name:\tkafka\nVmPeak:\t 1262412 kB\nVmHWM:\t   16500 kB\nVmRSS:\t   15872 kB\nThreads:\t9\n", 15872 << 10, 16500 << 10, false},
		{"no VmRSS (kernel thread)", "Name:\tkthreadd\nThreads:\t1\n", 0, 0, true},
		{"garbage value", "VmRSS:\t lots kB\n", 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rss, hwm, err := parseStatus(strings.NewReader(c.status))
			if (err != nil) != c.wantErr || rss != c.rss || hwm != c.hwm {
				t.Fatalf("got %d %d %v, want %d %d err=%v", rss, hwm, err, c.rss, c.hwm, c.wantErr)
			}
		})
	}
}
