// Package compat_test runs real clients and tools (kcat, kafka-python,
// confluent-kafka-python, franz-go, the project's own tools) against real
// ZooKeeper and broker processes started by package cluster. The tests that
// start Apache Kafka 3.9 beside ours are in compat-tests/kafkadiff; the
// helpers both use are in compat-tests/internal.
package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// run executes an external command with stdin, bounded by timeout, and
// returns stdout, stderr and an error that includes stderr on failure.
func run(t *testing.T, timeout time.Duration, stdin []byte, name string, args ...string) ([]byte, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w (ctx: %v)\nstderr: %s", name, strings.Join(args, " "), err, ctx.Err(), harness.Clip(stderr.String(), 4000))
	}
	return stdout.Bytes(), stderr.String(), err
}

// need skips nothing: a missing client is a broken environment, so it fails.
func need(t *testing.T, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not installed (run `make deps`): %v", bin, err)
	}
	return p
}

// kcat runs kcat against the cluster's bootstrap servers.
func kcat(t *testing.T, c *cluster.Cluster, stdin []byte, args ...string) []byte {
	t.Helper()
	need(t, "kcat")
	all := append([]string{"-b", c.Bootstrap()}, args...)
	out, _, err := run(t, 120*time.Second, stdin, "kcat", all...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lines returns n distinct, recognisable lines joined with '\n' (trailing
// newline included) and the lines themselves.
func lines(prefix string, n int) ([]byte, []string) {
	var b bytes.Buffer
	ls := make([]string, n)
	for i := range n {
		ls[i] = fmt.Sprintf("%s-%06d-%s", prefix, i, strings.Repeat("x", i%37))
		b.WriteString(ls[i])
		b.WriteByte('\n')
	}
	return b.Bytes(), ls
}

// splitLines splits kcat output into lines, dropping the final newline.
func splitLines(out []byte) []string {
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// sameLines reports the first difference between want and got.
func sameLines(t *testing.T, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("got %d lines, want %d", len(got), len(want))
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("line %d: got %q, want %q", i, harness.Clip(got[i], 200), harness.Clip(want[i], 200))
		}
	}
}
