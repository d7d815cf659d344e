package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kafkazk/kafkazk/cmd/internal/server"
)

// serverStart is kafka-server-start.sh [-daemon] CONFIG [--override k=v ...].
func serverStart(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var configPath string
	var overrides []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--override":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "--override needs key=value")
				return 1
			}
			overrides = append(overrides, args[i+1])
			i++
		case strings.HasPrefix(a, "--override="):
			overrides = append(overrides, strings.TrimPrefix(a, "--override="))
		case a == "-daemon":
			fmt.Fprintln(stderr, "-daemon is not supported; run the broker in the foreground or under a supervisor")
			return 1
		case configPath == "" && !strings.HasPrefix(a, "-"):
			configPath = a
		default:
			fmt.Fprintf(stderr, "unexpected argument %q\n", a)
			return 1
		}
	}
	if configPath == "" {
		fmt.Fprintln(stderr, "USAGE: kafka-server-start.sh [-daemon] server.properties [--override property=value]*")
		return 1
	}
	level := logLevel()
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))
	if err := server.Run(ctx, configPath, overrides, logger, level); err != nil {
		logger.Error("broker failed", "err", err)
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	return 0
}

// logLevel reads KAFKA_LOG_LEVEL (DEBUG, INFO, WARN, ERROR); INFO by default.
// The broker's root logger (BROKER_LOGGER resource) changes it at runtime.
func logLevel() *slog.LevelVar {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("KAFKA_LOG_LEVEL"))); err != nil {
		l = slog.LevelInfo
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	return lv
}

// serverStop is kafka-server-stop.sh: SIGTERM to every broker process run
// from this same binary, as Kafka's script signals its java processes.
func serverStop(_ context.Context, _ []string, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "cannot find own executable: %v\n", err)
		return 1
	}
	self, _ = filepath.EvalSymlinks(self)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		fmt.Fprintf(stderr, "cannot list processes: %v\n", err)
		return 1
	}
	stopped := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(string(cmdline), "\x00")
		isServer := filepath.Base(argv[0]) == "kafka-server-start.sh" ||
			(len(argv) > 1 && (strings.TrimSuffix(argv[1], ".sh") == "kafka-server-start" || argv[1] == "docker-entrypoint"))
		if !isServer {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGTERM); err == nil {
			stopped++
		}
	}
	if stopped == 0 {
		fmt.Fprintln(stdout, "No kafka server to stop")
		return 1
	}
	return 0
}
