// Command kafka is one multi-call binary: invoked as bin/<tool>.sh (a link
// to it) it runs that tool, named as in Kafka's bin/; `kafka <tool> args...`
// does the same.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/kafkazk/kafkazk/cmd/internal/acls"
	"github.com/kafkazk/kafkazk/cmd/internal/configs"
	"github.com/kafkazk/kafkazk/cmd/internal/consoleconsumer"
	"github.com/kafkazk/kafkazk/cmd/internal/consoleproducer"
	"github.com/kafkazk/kafkazk/cmd/internal/consumergroups"
	"github.com/kafkazk/kafkazk/cmd/internal/deleterecords"
	"github.com/kafkazk/kafkazk/cmd/internal/dumplog"
	"github.com/kafkazk/kafkazk/cmd/internal/leaderelection"
	"github.com/kafkazk/kafkazk/cmd/internal/reassign"
	"github.com/kafkazk/kafkazk/cmd/internal/topics"
	"github.com/kafkazk/kafkazk/cmd/internal/transactions"
	"github.com/kafkazk/kafkazk/cmd/internal/zkshell"
)

type tool func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// tools maps Kafka's script names to their implementations.
var tools = map[string]tool{
	"kafka-server-start.sh":        serverStart,
	"kafka-server-stop.sh":         serverStop,
	"kafka-topics.sh":              topics.Run,
	"kafka-acls.sh":                acls.Run,
	"kafka-configs.sh":             configs.Run,
	"kafka-consumer-groups.sh":     consumergroups.Run,
	"kafka-console-consumer.sh":    consoleconsumer.Run,
	"kafka-console-producer.sh":    consoleproducer.Run,
	"kafka-dump-log.sh":            dumplog.Run,
	"kafka-delete-records.sh":      deleterecords.Run,
	"kafka-reassign-partitions.sh": reassign.Run,
	"kafka-leader-election.sh":     leaderelection.Run,
	"kafka-transactions.sh":        transactions.Run,
	"kafka-run-class.sh":           runClass,
	"zookeeper-shell.sh":           zkshell.Run,
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "kafka" && len(args) == 1 && args[0] == "--list-tools" { // used by make build and the Dockerfile
		for _, n := range toolNames() {
			fmt.Println(n)
		}
		return
	}
	if name == "kafka" && len(args) > 0 && args[0] == "docker-entrypoint" { // the container image's command
		os.Exit(runTool(dockerEntrypoint, args[1:]))
	}
	if _, ok := tools[name]; !ok {
		if len(args) == 0 {
			usage(os.Stderr)
			os.Exit(1)
		}
		name, args = args[0], args[1:]
		if !strings.HasSuffix(name, ".sh") {
			name += ".sh"
		}
	}
	run, ok := tools[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown tool %q\n", name)
		usage(os.Stderr)
		os.Exit(1)
	}
	os.Exit(runTool(run, args))
}

// runTool runs one tool with a context that SIGINT and SIGTERM cancel and
// returns its exit code.
func runTool(run tool, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

func toolNames() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: kafka TOOL [args...], or run bin/TOOL directly; tools:\n  %s\n", strings.Join(toolNames(), "\n  "))
	fmt.Fprintln(w, "kafka docker-entrypoint [--override key=value ...] runs a broker configured by KAFKA_* variables alone")
}

// runClass is kafka-run-class.sh CLASS args...: the Java tool classes that
// scripts call directly, routed to their implementations.
func runClass(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "USAGE: kafka-run-class.sh [-daemon] [-name servicename] [-loggc] classname [opts]")
		return 1
	}
	switch args[0] {
	case dumplog.ClassName:
		return dumplog.Run(ctx, args, stdout, stderr)
	case consumergroups.ClassName:
		return consumergroups.Run(ctx, args[1:], stdout, stderr)
	case consoleconsumer.ClassName:
		return consoleconsumer.Run(ctx, args[1:], stdout, stderr)
	case consoleproducer.ClassName:
		return consoleproducer.Run(ctx, args[1:], stdout, stderr)
	case transactions.ClassName:
		return transactions.Run(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "Error: Could not find or load main class %s\n", args[0])
	return 1
}
