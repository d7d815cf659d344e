package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/dockerenv"
	"github.com/kafkazk/kafkazk/cmd/internal/server"
)

// dockerEntrypoint is `kafka docker-entrypoint [--override key=value ...]`,
// the container image's command: a broker configured by the KAFKA_*
// environment alone, with no properties file, as the common Kafka images are
// (see dockerenv for the defaults it fills in).
func dockerEntrypoint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var overrides []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--override" && i+1 < len(args):
			overrides = append(overrides, args[i+1])
			i++
		case strings.HasPrefix(a, "--override="):
			overrides = append(overrides, strings.TrimPrefix(a, "--override="))
		default:
			fmt.Fprintf(stderr, "unexpected argument %q\nUSAGE: kafka docker-entrypoint [--override property=value]*\n", a)
			return 1
		}
	}
	hostname, err := os.Hostname()
	if err != nil {
		hostname = ""
	}
	defaults, err := dockerenv.Overrides(os.Environ(), hostname)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	level := logLevel()
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))
	if len(defaults) > 0 {
		logger.Info("configured from the environment; defaults filled in", "settings", strings.Join(defaults, " "))
	}
	if err := server.Run(ctx, "", append(defaults, overrides...), logger, level); err != nil {
		logger.Error("broker failed", "err", err)
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	return 0
}
