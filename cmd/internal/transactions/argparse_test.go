package transactions

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// parseCase is one run of Kafka 3.9.2's kafka-transactions.sh whose
// command line fails before it connects (or asks for help): what it
// printed and its exit status, recorded in testdata/parse_kafka39.json.
type parseCase struct {
	Args   []string `json:"args"`
	RC     int      `json:"rc"`
	Stdout string   `json:"stdout"`
	Stderr string   `json:"stderr"`
}

// TestParseLikeKafka39: usage, help and argument errors are argparse4j's
// as Kafka's tool prints them, byte for byte (justified lines, "Did you
// mean", the order of the checks).
func TestParseLikeKafka39(t *testing.T) {
	data, err := os.ReadFile("testdata/parse_kafka39.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []parseCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(strings.Join(c.Args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			rc := run(context.Background(), c.Args, &stdout, &stderr, time.Now)
			if rc != c.RC {
				t.Errorf("exit %d, Kafka %d", rc, c.RC)
			}
			if stdout.String() != c.Stdout {
				t.Errorf("stdout:\n%s\nKafka's:\n%s", stdout.String(), c.Stdout)
			}
			if stderr.String() != c.Stderr {
				t.Errorf("stderr:\n%s\nKafka's:\n%s", stderr.String(), c.Stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if rc := run(context.Background(), []string{"-v"}, &stdout, &stderr, time.Now); rc != 0 || stdout.String() != version+"\n" {
		t.Fatalf("-v: exit %d, %q", rc, stdout.String())
	}
}

// TestWrap: TextHelper.wrap and adjustSpace on the cases the help texts do
// not cover.
func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"a b c", 75, "a b c"},
		{"aaaa bbbb cccc", 10, "aaaa  bbbb\ncccc"},
		{"aaaa bb cc dddd", 12, "aaaa  bb  cc\ndddd"},
		{"x comma-separated y", 10, "x   comma-\nseparated\ny"},
		{"unbreakable-1234567890", 10, "\nunbreakable-1234567890"}, // as TextHelper: a break before an over-long first segment
		{"line one\nline two", 75, "line one\nline two"},
	} {
		if got := wrap(c.in, c.width, 0, "", ""); got != c.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

// TestCandidates: argparse4j's "Did you mean" (prefix first, then the
// edit distance with git's costs, nothing at 7 or more).
func TestCandidates(t *testing.T) {
	cmds := []string{"list", "describe", "describe-producers", "abort", "find-hanging"}
	for _, c := range []struct {
		word string
		want []string
	}{
		{"foo", []string{"abort"}},
		{"describ", []string{"describe", "describe-producers"}},
		{"lsit", []string{"list"}},
		{"zzzzzzzzzzzz", nil},
	} {
		got := candidates(c.word, cmds, cmds)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("candidates(%q) = %v, want %v", c.word, got, c.want)
		}
	}
}
