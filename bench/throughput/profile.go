package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileEnv names the file the instrumented broker writes its CPU profile to. It deliberately does not
// start with KAFKA_, which the broker would read as a config override.
const profileEnv = "BENCH_BROKER_CPUPROFILE"

// overlaySrc is added to package main of cmd/kafka through `go build -overlay`, so the tree is not touched:
// with $BENCH_BROKER_CPUPROFILE set, the broker profiles from start until SIGUSR1, then writes FILE.done.
const overlaySrc = `package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("` + profileEnv + `")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		<-ch
		pprof.StopCPUProfile()
		f.Close()
		_ = os.WriteFile(path+".done", nil, 0o644)
	}()
}
`

// buildProfiled builds cmd/kafka of the enclosing module with the profiling overlay into dir.
func buildProfiled(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("-cpuprofile must run inside the module (go env GOMOD is empty)")
	}
	root := filepath.Dir(gomod)
	src := filepath.Join(dir, "bench_cpuprofile.go")
	if err := os.WriteFile(src, []byte(overlaySrc), 0o644); err != nil {
		return "", fmt.Errorf("write overlay source: %w", err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "cmd", "kafka", "zz_bench_cpuprofile.go"): src},
	})
	if err != nil {
		return "", fmt.Errorf("overlay json: %w", err)
	}
	ovPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovPath, overlay, 0o644); err != nil {
		return "", fmt.Errorf("write overlay: %w", err)
	}
	bin := filepath.Join(dir, "kafka-profiled")
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", ovPath, "-o", bin, "./cmd/kafka")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build (profiled broker): %w\n%s", err, out)
	}
	return bin, nil
}

// waitFile polls for path until it exists or the timeout passes.
func waitFile(path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
