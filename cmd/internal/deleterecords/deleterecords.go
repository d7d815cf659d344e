// Package deleterecords is bin/kafka-delete-records.sh, Kafka's
// DeleteRecordsCommand: it moves partitions' log start offsets forward.
package deleterecords

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

var options = []cli.Option{
	{Name: "bootstrap-server", Desc: "REQUIRED: The server to connect to.", TakesArg: true, ArgType: "String", ArgDesc: "server(s) to use for bootstrapping"},
	{Name: "command-config", Desc: "A property file containing configs to be passed to Admin Client.", TakesArg: true, ArgType: "String", ArgDesc: "command config property file path"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "offset-json-file", Desc: "REQUIRED: The JSON file with offset per partition. The format to use is:\n{\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n \"version\":1\n}", TakesArg: true, ArgType: "String", ArgDesc: "Offset json file path"},
	{Name: "version", Desc: "Display Kafka version."},
}

const description = "This tool helps to delete records of the given partitions down to the specified offset."

// Run executes the command and returns its exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := cli.Parse(options, args)
	if err != nil {
		fmt.Fprintln(stderr, err.Error())
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if len(args) == 0 || opts.Has("help") {
		fmt.Fprintln(stderr, description)
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if opts.Has("version") {
		fmt.Fprintln(stdout, "3.7.0")
		return 0
	}
	for _, req := range []string{"bootstrap-server", "offset-json-file"} {
		if !opts.Has(req) {
			fmt.Fprintf(stderr, "Missing required argument \"[%s]\"\n", req)
			io.WriteString(stderr, cli.HelpText(options))
			return 1
		}
	}
	if err := execute(ctx, opts, stdout); err != nil {
		class, msg := "org.apache.kafka.server.common.AdminOperationException", err.Error()
		if je, ok := err.(*cli.JavaError); ok {
			class, msg = je.Class, je.Msg
		}
		fmt.Fprintf(stderr, "Exception in thread \"main\" %s: %s\n", class, msg)
		return 1
	}
	return 0
}

// offsetFile is the --offset-json-file format (version 1).
type offsetFile struct {
	Version    *int `json:"version"`
	Partitions *[]struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	} `json:"partitions"`
}

func parseOffsets(data []byte) (kadm.Offsets, error) {
	var f offsetFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: "The input string is not a valid JSON"}
	}
	if f.Version != nil && *f.Version != 1 {
		return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: fmt.Sprintf("Not supported version field value %d", *f.Version)}
	}
	if f.Partitions == nil {
		return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: "Missing partitions field"}
	}
	out := kadm.Offsets{}
	var dups []string
	for _, p := range *f.Partitions {
		if _, ok := out.Lookup(p.Topic, p.Partition); ok {
			dups = append(dups, fmt.Sprintf("%s-%d", p.Topic, p.Partition))
			continue
		}
		out.Add(kadm.Offset{Topic: p.Topic, Partition: p.Partition, At: p.Offset, LeaderEpoch: -1})
	}
	if len(dups) > 0 {
		return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminCommandFailedException",
			Msg: "Offset json file contains duplicate topic partitions: " + strings.Join(dups, ",")}
	}
	return out, nil
}

func execute(ctx context.Context, opts *cli.Parsed, stdout io.Writer) error {
	path, _ := opts.Value("offset-json-file")
	data, err := os.ReadFile(path)
	if err != nil {
		return &cli.JavaError{Class: "java.nio.file.NoSuchFileException", Msg: path}
	}
	offsets, err := parseOffsets(data)
	if err != nil {
		return err
	}
	// DeleteRecordsCommand.createAdminClient: --command-config's properties plus bootstrap.servers.
	props := map[string]string{}
	if path, ok := opts.Value("command-config"); ok {
		if props, err = cli.LoadProps(path); err != nil {
			return err
		}
	}
	props["bootstrap.servers"], _ = opts.Value("bootstrap-server")
	cl, err := cli.AdminClient(props)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	fmt.Fprintln(stdout, "Executing records delete operation")
	resps, err := kadm.NewClient(cl).DeleteRecords(ctx, offsets)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Records delete operation completed:")
	var lines []string
	resps.Each(func(r kadm.DeleteRecordsResponse) {
		if r.Err != nil {
			lines = append(lines, fmt.Sprintf("partition: %s-%d\terror: %s", r.Topic, r.Partition, errorText(r.Err)))
			return
		}
		lines = append(lines, fmt.Sprintf("partition: %s-%d\tlow_watermark: %d", r.Topic, r.Partition, r.LowWatermark))
	})
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// errorText is what Java's ExecutionException.getMessage() shows: the
// exception class and the error's message.
func errorText(err error) string {
	if ke, ok := err.(*kerr.Error); ok {
		je := cli.KafkaError(ke.Code, nil)
		return je.Class + ": " + je.Msg
	}
	return err.Error()
}
