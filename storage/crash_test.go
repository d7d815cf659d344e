package storage

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashWriterEnv makes the test binary a crash-test writer: it opens the
// log dir named by the variable and appends until killed, printing
// "offset crc" for every acknowledged append.
const crashWriterEnv = "KAFKAZK_STORAGE_CRASH_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashWriterEnv); dir != "" {
		os.Exit(runCrashWriter(dir))
	}
	os.Exit(m.Run())
}

func crashConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 64 << 10
	cfg.IndexIntervalBytes = 512
	cfg.MaxIndexBytes = 4096 // small indexes: rolls on full indexes too
	return cfg
}

func runCrashWriter(dir string) int {
	m, err := OpenManager([]string{dir}, crashConfig(), quietLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	l, err := m.GetOrCreate("crash", 0, [16]byte{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		b := encodeBatch(batchSpec{records: 1 + i%5, valueSize: 50 + (i*37)%700, baseTs: time.Now().UnixMilli(), fill: byte(i)})
		info, err := l.Append(b, 1)
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			return 2
		}
		h, _ := ParseBatchHeader(b)
		// Acknowledge only after Append returned.
		fmt.Fprintf(out, "%d %d\n", info.FirstOffset, h.CRC)
		if err := out.Flush(); err != nil {
			return 2
		}
		if i%200 == 199 {
			// As the broker does now and then: recovery points move.
			if err := l.Flush(); err == nil {
				_ = m.Checkpoint()
			}
		}
	}
}

// allBatches reads every batch of the log, checking each CRC.
func allBatches(t *testing.T, l *Log) map[int64]uint32 {
	t.Helper()
	out := map[int64]uint32{}
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		data := readSlice(t, fs)
		next := off
		for len(data) >= BatchHeaderSize {
			h, err := ParseBatchHeader(data)
			if err != nil {
				t.Fatalf("batch at offset %d: %v", next, err)
			}
			if h.Size() > int64(len(data)) {
				break // partial trailing batch
			}
			if _, err := checkBatch(data[:h.Size()]); err != nil {
				t.Fatalf("batch %d served corrupt: %v", h.BaseOffset, err)
			}
			out[h.BaseOffset] = h.CRC
			next = h.NextOffset()
			data = data[h.Size():]
		}
		if next == off {
			t.Fatalf("no progress reading at %d", off)
		}
		off = next
	}
	return out
}

// TestCrashKill9 kills a writer subprocess with SIGKILL at random moments;
// after each kill every acknowledged batch must be readable and intact and
// the log must take new appends at its end.
func TestCrashKill9(t *testing.T) {
	kills := 50
	if testing.Short() {
		kills = 10
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acked := map[int64]uint32{}
	start := time.Now()
	var recovered []RecoveryStats
	for k := 0; k < kills; k++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			lines []string
			wg    sync.WaitGroup
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(stdout)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return // a torn last line is not an acknowledgement
				}
				mu.Lock()
				lines = append(lines, line)
				mu.Unlock()
			}
		}()
		// Let it write for 20-80 ms after its first acknowledgement.
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(lines)
			mu.Unlock()
			if n > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(20+rand.IntN(61)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		_, _ = io.Copy(io.Discard, stdout)
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("writer %d ended by itself: %v: %s", k, werr, stderr.String())
		}
		if len(lines) == 0 {
			t.Fatalf("writer %d acknowledged nothing: %s", k, stderr.String())
		}
		for _, line := range lines {
			f := strings.Fields(line)
			off, err1 := strconv.ParseInt(f[0], 10, 64)
			crc, err2 := strconv.ParseUint(f[1], 10, 32)
			if len(f) != 2 || err1 != nil || err2 != nil {
				t.Fatalf("bad line %q", line)
			}
			acked[off] = uint32(crc)
		}

		m, err := OpenManager([]string{dir}, crashConfig(), quietLogger())
		if err != nil {
			t.Fatalf("reopen after kill %d: %v", k, err)
		}
		if m.CleanShutdown() {
			t.Fatal("a killed writer cannot have shut down cleanly")
		}
		l, ok := m.Get("crash", 0)
		if !ok {
			t.Fatal("log missing")
		}
		recovered = append(recovered, l.Recovery())
		have := allBatches(t, l)
		for off, crc := range acked {
			if got, ok := have[off]; !ok || got != crc {
				t.Fatalf("kill %d: acknowledged batch at %d lost or changed (have %v, crc %08x want %08x)", k, off, ok, got, crc)
			}
		}
		leo := l.LogEndOffset()
		info := mustAppend(t, l, encodeBatch(batchSpec{records: 2, fill: 99}))
		if info.FirstOffset != leo {
			t.Fatalf("append after recovery at %d, LEO was %d", info.FirstOffset, leo)
		}
		h, _ := ParseBatchHeader(encodeBatch(batchSpec{records: 2, fill: 99}))
		acked[info.FirstOffset] = h.CRC
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var segs int
	var bytes int64
	for _, r := range recovered {
		segs += r.SegmentsRecovered
		bytes += r.BytesRecovered
	}
	t.Logf("%d kills in %v, %d acknowledged batches, recovery revalidated %d segments / %d bytes in total",
		kills, time.Since(start).Round(time.Millisecond), len(acked), segs, bytes)
}
