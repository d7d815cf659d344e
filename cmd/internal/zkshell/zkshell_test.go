package zkshell

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"

	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

func TestFormatChildren(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "[]\n"},
		{[]string{"b", "a", "c"}, "[a, b, c]\n"},
		{[]string{"ids", "topics", "seqid"}, "[ids, seqid, topics]\n"},
	}
	for _, tc := range tests {
		if got := formatChildren(tc.in); got != tc.want {
			t.Errorf("formatChildren(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatData(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "null\n"},
		{[]byte{}, "\n"},
		{[]byte(`{"version":1,"brokerid":0}`), "{\"version\":1,\"brokerid\":0}\n"},
	}
	for _, tc := range tests {
		if got := formatData(tc.in); got != tc.want {
			t.Errorf("formatData(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatStat(t *testing.T) {
	st := &zkmeta.Stat{Czxid: 0x1a, Mzxid: 0x2b, Ctime: 1700000000000, Mtime: 1700000001000, Pzxid: 0x1a,
		Cversion: 2, Version: 3, Aversion: 0, EphemeralOwner: 0x100000abc0002, DataLength: 7, NumChildren: 1}
	want := "cZxid = 0x1a\n" +
		"ctime = Tue Nov 14 22:13:20 UTC 2023\n" +
		"mZxid = 0x2b\n" +
		"mtime = Tue Nov 14 22:13:21 UTC 2023\n" +
		"pZxid = 0x1a\n" +
		"cversion = 2\n" +
		"dataVersion = 3\n" +
		"aclVersion = 0\n" +
		"ephemeralOwner = 0x100000abc0002\n" +
		"dataLength = 7\n" +
		"numChildren = 1\n"
	if got := formatStat(st, time.UTC); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSplitConnect(t *testing.T) {
	tests := []struct {
		in     string
		hosts  string
		chroot string
	}{
		{"127.0.0.1:2181", "127.0.0.1:2181", ""},
		{"a:1,b:2/kafka", "a:1|b:2", "/kafka"},
		{"a:1/kafka/", "a:1", "/kafka"},
		{"a:1/", "a:1", ""},
	}
	for _, tc := range tests {
		h, c := splitConnect(tc.in)
		if strings.Join(h, "|") != tc.hosts || c != tc.chroot {
			t.Errorf("splitConnect(%q) = %v %q", tc.in, h, c)
		}
	}
}

func TestUsageWithoutArgs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), nil, &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "USAGE: ") {
		t.Fatalf("stdout %q", out.String())
	}
}

// TestAgainstZooKeeper runs one-shot commands against a real ZooKeeper under a chroot.
func TestAgainstZooKeeper(t *testing.T) {
	srv := zktest.Start(t)
	connect := srv.Chroot(t)
	chroot := connect[strings.IndexByte(connect, '/'):]

	// Prepare a tree directly.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := zkmeta.Connect(ctx, srv.Addr, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, n := range []struct {
		p    string
		data []byte
	}{
		{chroot, nil},
		{chroot + "/brokers", nil},
		{chroot + "/brokers/ids", nil},
		{chroot + "/brokers/topics", []byte{}},
		{chroot + "/controller", []byte(`{"version":1,"brokerid":0,"timestamp":"1"}`)},
	} {
		if _, err := conn.Create(n.p, n.data, zkmeta.Persistent); err != nil {
			t.Fatalf("create %s: %v", n.p, err)
		}
	}

	run := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code := Run(ctx, append([]string{connect}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
	header := "Connecting to " + connect + "\n" + connectedBanner

	tests := []struct {
		name    string
		args    []string
		stdout  string
		stderr  string
		code    int
		lastOut string // when set, only the last stdout line is checked (stat output has times)
	}{
		{name: "get", args: []string{"get", "/controller"}, stdout: header + `{"version":1,"brokerid":0,"timestamp":"1"}` + "\n"},
		{name: "get null data", args: []string{"get", "/brokers/ids"}, stdout: header + "null\n"},
		{name: "get empty data", args: []string{"get", "/brokers/topics"}, stdout: header + "\n"},
		{name: "ls", args: []string{"ls", "/"}, stdout: header + "[brokers, controller]\n"},
		{name: "ls brokers", args: []string{"ls", "/brokers"}, stdout: header + "[ids, topics]\n"},
		{name: "ls -R", args: []string{"ls", "-R", "/brokers"}, stdout: header + "/brokers\n/brokers/ids\n/brokers/topics\n"},
		{name: "ls missing", args: []string{"ls", "/nope"}, stdout: header, stderr: "Node does not exist: /nope\n", code: 1},
		{name: "get missing", args: []string{"get", "/nope"}, stdout: header, stderr: "Node does not exist: /nope\n", code: 1},
		{name: "stat missing", args: []string{"stat", "/nope"}, stdout: header, stderr: "Node does not exist: /nope\n", code: 1},
		{name: "stat", args: []string{"stat", "/brokers"}, lastOut: "numChildren = 2"},
		{name: "ls -s", args: []string{"ls", "-s", "/brokers"}, lastOut: "numChildren = 2"},
		{name: "get -s", args: []string{"get", "-s", "/controller"}, lastOut: "numChildren = 0"},
		{name: "create", args: []string{"create", "/x", "hello"}, stdout: header, stderr: "Created /x\n"},
		{name: "get created", args: []string{"get", "/x"}, stdout: header + "hello\n"},
		{name: "set", args: []string{"set", "/x", "bye"}, stdout: header},
		{name: "get set", args: []string{"get", "/x"}, stdout: header + "bye\n"},
		{name: "delete", args: []string{"delete", "/x"}, stdout: header},
		{name: "deleteall", args: []string{"deleteall", "/brokers"}, stdout: header},
		{name: "ls after deleteall", args: []string{"ls", "/"}, stdout: header + "[controller]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d want %d (stderr %q)", code, tc.code, errOut)
			}
			if tc.lastOut != "" {
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if !strings.HasPrefix(out, header) || lines[len(lines)-1] != tc.lastOut {
					t.Fatalf("stdout %q", out)
				}
				return
			}
			if out != tc.stdout {
				t.Fatalf("stdout\n got %q\nwant %q", out, tc.stdout)
			}
			if errOut != tc.stderr {
				t.Fatalf("stderr\n got %q\nwant %q", errOut, tc.stderr)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	sh := &shell{out: &bytes.Buffer{}, err: &bytes.Buffer{}, loc: time.UTC}
	if code := sh.exec([]string{"frobnicate", "/"}); code != 1 {
		t.Fatalf("exit %d", code)
	}
	errOut := sh.err.(*bytes.Buffer).String()
	if !strings.HasPrefix(errOut, "ZooKeeper -server host:port") || !strings.HasSuffix(errOut, "Command not found frobnicate\n") {
		t.Fatalf("stderr %q", errOut)
	}
}
