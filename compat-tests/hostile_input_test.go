package compat_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// Issue 15, item 1: input costs what it weighs. Each frame below declares a
// count that its bytes cannot hold: 2^32-16 tagged fields (issue 15's
// 30-byte Metadata v12 frame kept a core busy for more than 30 s, and the
// connection's close did not stop it), at the top of a body, inside an
// array element, in a struct with known tags, and a 1 MiB CreateTopics
// frame declaring a million topics (decoded by the declared count, it
// allocated some 100 bytes per declared topic). Each must be refused with
// the connection closed, as Kafka's SocketServer closes a connection whose
// request does not parse, at a bounded cost in the broker's CPU; then a
// fresh client's Metadata still works.

// tagBomb is a tagged-field count of 2^32-16 (uvarint).
var tagBomb = []byte{0xf0, 0xff, 0xff, 0xff, 0x0f}

// hostileHeader is a request header: v2 (flexible, with an empty tag
// section) or v1, client id "hostile".
func hostileHeader(key, version int16, flexible bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint16(b, 7)
	b = append(b, "hostile"...)
	if flexible {
		b = append(b, 0)
	}
	return b
}

type hostileFrame struct {
	name  string
	frame []byte // without its size
	times int
}

func hostileFrames() []hostileFrame {
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	i32 := func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	// Metadata v12 body: topics (null), allow_auto_topic_creation,
	// include_topic_authorized_operations, tags.
	metadata := cat(hostileHeader(3, 12, true), []byte{0, 1, 0}, tagBomb)
	// Metadata v12, one topic: uuid, name (null), the topic's tags.
	metadataTopic := cat(hostileHeader(3, 12, true), []byte{2}, make([]byte, 16), []byte{0}, tagBomb)
	// Fetch v12: replica id, max wait, min bytes, max bytes, isolation,
	// session id, epoch, no topics, no forgotten topics, rack "", then the
	// request's tags (a struct whose known tags kmsg switches on).
	fetch := cat(hostileHeader(1, 12, true), i32(-1), i32(500), i32(1), i32(1<<20), []byte{0},
		i32(0), i32(-1), []byte{1, 1, 1}, tagBomb)
	// ApiVersions v3: software name "a", version "1", tags.
	apiVersions := cat(hostileHeader(18, 3, true), []byte{2, 'a', 2, '1'}, tagBomb)
	// Produce v9: no transactional id, acks, timeout, one topic "x" with one
	// partition: index, null records, the partition's tags.
	produce := cat(hostileHeader(0, 9, true), []byte{0}, []byte{0xff, 0xff}, i32(30000),
		[]byte{2, 2, 'x', 2}, i32(0), []byte{0}, tagBomb)
	// CreateTopics v4 (not flexible): 1,000,000 topics declared in a 1 MiB
	// frame of zeros; each topic needs at least 14 bytes.
	createTopics := cat(hostileHeader(19, 4, false), i32(1_000_000))
	createTopics = append(createTopics, make([]byte, 1<<20-len(createTopics))...)
	return []hostileFrame{
		{"metadata-v12-tags (issue 15)", metadata, 20},
		{"metadata-v12-topic-tags", metadataTopic, 5},
		{"fetch-v12-tags", fetch, 5},
		{"apiversions-v3-tags", apiVersions, 5},
		{"produce-v9-partition-tags", produce, 5},
		{"createtopics-v4-million-topics-1MiB", createTopics, 5},
	}
}

// processCPU is a process's user+system CPU time from /proc/<pid>/stat
// (utime and stime, fields 14 and 15, in USER_HZ = 100 ticks a second).
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("reading the broker's CPU time: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		t.Fatalf("short /proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parsing /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestHostileInputCost sends every hostile frame on a connection of its
// own, straight to the broker's listener, and checks that each connection
// is closed, that all of them together cost the broker at most
// hostileCPUPerFrame of CPU each, and that a fresh client is still served.
func TestHostileInputCost(t *testing.T) {
	// Generous for a loaded 2-core CI box; one frame cost tens of seconds
	// before the bound walk.
	const hostileCPUPerFrame = 20 * time.Millisecond
	c := cluster.Start(t, 1)
	addr := c.Broker(0).Listen
	pid := c.Pid(0)
	metadataWorks(t, c) // warm: the broker is up and has served a client

	total := 0
	start := processCPU(t, pid)
	began := time.Now()
	for _, hf := range hostileFrames() {
		before := processCPU(t, pid)
		for i := 0; i < hf.times; i++ {
			conn := dial(t, addr)
			msg := binary.BigEndian.AppendUint32(nil, uint32(len(hf.frame)))
			if _, err := conn.Write(append(msg, hf.frame...)); err != nil {
				t.Fatalf("%s: write: %v", hf.name, err)
			}
			expectClosed(t, conn)
			conn.Close()
		}
		total += hf.times
		t.Logf("%-38s x%-2d (%7d bytes each): broker CPU %v", hf.name, hf.times, len(hf.frame), processCPU(t, pid)-before)
	}
	spent := processCPU(t, pid) - start
	t.Logf("%d hostile frames in %v: broker CPU %v, %v a frame", total, time.Since(began).Round(time.Millisecond), spent, spent/time.Duration(total))
	if limit := hostileCPUPerFrame * time.Duration(total); spent > limit {
		t.Errorf("%d hostile frames cost the broker %v of CPU, more than %v", total, spent, limit)
	}
	metadataWorks(t, c)
}
