// Package consoleproducer is kafka-console-producer.sh: Kafka 3.7's ConsoleProducer, which reads
// stdin line by line (LineMessageReader) and sends each line as a record, asynchronously unless
// --sync, with the Java producer's defaults that the tool sets.
package consoleproducer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sys/unix"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// ClassName is the Java class kafka-run-class.sh names for this tool.
const ClassName = "kafka.tools.ConsoleProducer"

const (
	kafkaVersion   = "3.7.0"
	msgHelp        = "This tool helps to read data from standard input and publish it to Kafka."
	callbackLogger = "org.apache.kafka.clients.producer.internals.ErrorLoggingCallback"
)

// Run executes the tool with args (argv[1:]) on the process's stdin and returns its exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	prompt := isTerminal(os.Stdin) && isTerminal(os.Stdout)
	return run(ctx, args, os.Stdin, stdout, stderr, prompt)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// usageError is CommandLineUtils.printUsageAndExit: the message and the option table on stderr, exit 1.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// javaException is an exception main prints with printStackTrace before exiting 1.
type javaException struct{ class, msg string }

func (e *javaException) Error() string { return e.msg }

// config is ProducerConfig after its checks.
type config struct {
	topic       string
	sync        bool
	props       map[string]string // producer properties
	readerProps map[string]string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, prompt bool) int {
	cfg, err := parseConfig(args, stdout)
	if err != nil {
		var u *usageError
		if errors.As(err, &u) {
			fmt.Fprintln(stderr, u.msg)
			io.WriteString(stderr, cli.HelpText(optSpecs))
			return 1
		}
		printStackTrace(stderr, err)
		return 1
	}
	if cfg == nil { // --version
		return 0
	}
	reader, err := newLineReader(cfg.readerProps)
	if err != nil {
		printStackTrace(stderr, err)
		return 1
	}
	opts, err := producerOpts(cfg.props)
	if err != nil {
		printStackTrace(stderr, err)
		return 1
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		printStackTrace(stderr, &javaException{"org.apache.kafka.common.KafkaException", "Failed to construct kafka producer"})
		return 1
	}
	err = loop(ctx, cl, cfg, reader, newLines(stdin), stdout, stderr, prompt)
	// producer.close(): wait for what is in flight.
	flushCtx, cancel := context.WithTimeout(context.Background(), time.Duration(deliveryTimeoutMs(cfg.props))*time.Millisecond)
	_ = cl.Flush(flushCtx)
	cancel()
	cl.Close()
	if err != nil {
		printStackTrace(stderr, err)
		return 1
	}
	return cli.SignalExitCode(ctx)
}

// loop is loopReader: read, parse and send each line until the input ends (or a signal).
func loop(ctx context.Context, cl *kgo.Client, cfg *config, reader *lineReader, in *lines, stdout, stderr io.Writer, prompt bool) error {
	var logMu sync.Mutex
	for ctx.Err() == nil {
		reader.lineNumber++
		if prompt {
			io.WriteString(stdout, ">")
		}
		line, ok, err := readLine(ctx, in)
		if err != nil || !ok {
			return err
		}
		rec, err := reader.record(line)
		if err != nil {
			return err
		}
		kr := &kgo.Record{Topic: cfg.topic, Key: rec.Key, Value: rec.Value}
		for _, h := range rec.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		if cfg.sync {
			if err := cl.ProduceSync(ctx, kr).FirstErr(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return &javaException{"java.util.concurrent.ExecutionException", exceptionString(err)}
			}
			continue
		}
		keyLen, valueLen := sizeString(rec.Key), sizeString(rec.Value)
		cl.Produce(context.Background(), kr, func(_ *kgo.Record, err error) {
			if err == nil {
				return
			}
			logMu.Lock()
			defer logMu.Unlock()
			msg := fmt.Sprintf("Error when sending message to topic %s with key: %s, value: %s with error:", cfg.topic, keyLen, valueLen)
			io.WriteString(stderr, cli.Log4jLine(time.Now(), "ERROR", msg, callbackLogger, exceptionString(err)))
		})
	}
	return nil
}

// readLine reads a line, giving up when ctx ends (stdin may block forever).
func readLine(ctx context.Context, in *lines) (string, bool, error) {
	type result struct {
		line string
		ok   bool
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, ok, err := in.next()
		ch <- result{l, ok, err}
	}()
	select {
	case r := <-ch:
		return r.line, r.ok, r.err
	case <-ctx.Done():
		return "", false, nil
	}
}

func sizeString(b []byte) string {
	if b == nil {
		return "null"
	}
	return strconv.Itoa(len(b)) + " bytes"
}

// exceptionString renders a produce error as the Java exception's toString.
func exceptionString(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		je := cli.KafkaError(ke.Code, nil)
		return je.Class + ": " + je.Msg
	}
	if errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return "org.apache.kafka.common.errors.TimeoutException: " + err.Error()
	}
	return "org.apache.kafka.common.KafkaException: " + err.Error()
}

// printStackTrace is Throwable.printStackTrace's first line.
func printStackTrace(w io.Writer, err error) {
	var je *javaException
	var ke *kafkaException
	var ce *configException
	switch {
	case errors.As(err, &je):
		fmt.Fprintf(w, "%s: %s\n", je.class, je.msg)
	case errors.As(err, &ke):
		fmt.Fprintf(w, "org.apache.kafka.common.KafkaException: %s\n", ke.msg)
	case errors.As(err, &ce):
		fmt.Fprintf(w, "org.apache.kafka.common.config.ConfigException: %s\n", ce.msg)
	default:
		fmt.Fprintf(w, "java.io.IOException: %s\n", err)
	}
}

// parseConfig is the ProducerConfig constructor and producerProps/getReaderProps. It returns nil, nil
// after printing the version.
func parseConfig(args []string, stdout io.Writer) (*config, error) {
	o, err := cli.Parse(optSpecs, args)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if !o.Has("bootstrap-server") && !o.Has("broker-list") && !o.Has("help") && !o.Has("version") {
		return nil, &usageError{"Missing required option(s) [bootstrap-server]"}
	}
	if len(args) == 0 || o.Has("help") {
		return nil, &usageError{msgHelp}
	}
	if o.Has("version") {
		fmt.Fprintln(stdout, kafkaVersion)
		return nil, nil
	}
	topic, ok := o.Value("topic")
	if !ok {
		return nil, &usageError{`Missing required argument "[topic]"`}
	}
	hostPorts, ok := o.Value("bootstrap-server")
	if !ok {
		hostPorts, _ = o.Value("broker-list")
	}
	if !validHostPorts(hostPorts) {
		return nil, &usageError{"Please provide valid host:port like host1:9091,host2:9092\n "}
	}
	codec := "none"
	if o.Has("compression-codec") {
		codec = "gzip"
		if v, ok := o.Value("compression-codec"); ok && v != "" {
			codec = v
		}
	}
	if v, ok := o.Value("line-reader"); ok && v != lineReaderClass {
		return nil, &javaException{"java.lang.ClassNotFoundException", v}
	}
	// Converting the typed options happens when main reads them: failures are exceptions.
	for _, m := range mergedOptions {
		if m.typ == "" {
			continue
		}
		if _, err := o.LongValue(m.opt); err != nil {
			var oe *cli.OptionError
			errors.As(err, &oe)
			return nil, &javaException{oe.Class, oe.Msg}
		}
	}

	props := map[string]string{}
	if path, ok := o.Value("producer.config"); ok {
		if props, err = cli.LoadProps(path); err != nil {
			var je *cli.JavaError
			errors.As(err, &je)
			return nil, &javaException{je.Class, je.Msg}
		}
	}
	for k, v := range cli.ParseKeyValueArgs(o.Values["producer-property"]) {
		props[k] = v
	}
	props["bootstrap.servers"] = hostPorts
	props["compression.type"] = codec
	if _, ok := props["client.id"]; !ok {
		props["client.id"] = "console-producer"
	}
	for _, m := range mergedOptions { // maybeMergeOptions
		if _, present := props[m.key]; o.Has(m.opt) || !present {
			v, ok := o.Value(m.opt)
			if !ok {
				v = defaultOf(m.opt)
			}
			props[m.key] = v
		}
	}

	readerProps := map[string]string{}
	if path, ok := o.Value("reader-config"); ok {
		if readerProps, err = cli.LoadProps(path); err != nil {
			var je *cli.JavaError
			errors.As(err, &je)
			return nil, &javaException{je.Class, je.Msg}
		}
	}
	readerProps["topic"] = topic
	for k, v := range cli.ParseKeyValueArgs(o.Values["property"]) {
		readerProps[k] = v
	}
	return &config{topic: topic, sync: o.Has("sync"), props: props, readerProps: readerProps}, nil
}

// hostPortRE is Utils.HOST_PORT_PATTERN.
var hostPortRE = regexp.MustCompile(`^.*?\[?([0-9a-zA-Z\-%._:]*)\]?:([0-9]+)$`)

// validHostPorts is ToolsUtils.validatePortOrDie's test.
func validHostPorts(s string) bool {
	parts := []string{s}
	if strings.Contains(s, ",") {
		parts = strings.Split(s, ",")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
	}
	if len(parts) == 0 {
		return false
	}
	for _, p := range parts {
		if !hostPortRE.MatchString(p) {
			return false
		}
	}
	return true
}

// configException is org.apache.kafka.common.config.ConfigException.
type configException struct{ msg string }

func (e *configException) Error() string { return e.msg }

func invalidValue(key, value, why string) error {
	return &configException{fmt.Sprintf("Invalid value %s for configuration %s: %s", value, key, why)}
}

func deliveryTimeoutMs(props map[string]string) int64 {
	if v, err := strconv.ParseInt(props["delivery.timeout.ms"], 10, 64); err == nil && v > 0 {
		return v
	}
	return 120000
}

// producerOpts maps the Java producer properties the tool uses onto franz-go's options.
func producerOpts(props map[string]string) ([]kgo.Opt, error) {
	var seeds []string
	for _, s := range strings.Split(props["bootstrap.servers"], ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID(props["client.id"]), kgo.AllowAutoTopicCreation()}
	// CommonClientConfigs: security.protocol with its ssl.* and sasl.* keys.
	sec, err := cli.SecurityOpts(props)
	if err != nil {
		return nil, &configException{err.Error()}
	}
	opts = append(opts, sec...)
	num := func(key string, min int64) (int64, bool, error) {
		v, ok := props[key]
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, false, invalidValue(key, v, "Not a number of type "+map[bool]string{true: "LONG", false: "INT"}[strings.HasSuffix(key, ".ms") || key == "buffer.memory"])
		}
		if n < min {
			return 0, false, invalidValue(key, v, fmt.Sprintf("Value must be at least %d", min))
		}
		return n, true, nil
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

	acks := strings.TrimSpace(props["acks"])
	idempotent := true
	switch acks {
	case "all", "-1", "":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
		idempotent = false
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
		idempotent = false
	default:
		return nil, invalidValue("acks", acks, "String must be one of: all, -1, 0, 1")
	}
	if v, ok := props["enable.idempotence"]; ok {
		explicit := strings.EqualFold(strings.TrimSpace(v), "true")
		if explicit && !idempotent {
			return nil, &configException{"Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence."}
		}
		idempotent = explicit
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	switch c := strings.ToLower(strings.TrimSpace(props["compression.type"])); c {
	case "none", "":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		return nil, invalidValue("compression.type", props["compression.type"], "String must be one of: none, gzip, snappy, lz4, zstd")
	}
	if n, ok, err := num("linger.ms", 0); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, kgo.ProducerLinger(ms(n)))
	}
	if n, ok, err := num("request.timeout.ms", 1); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, kgo.ProduceRequestTimeout(ms(n)))
	}
	if n, ok, err := num("retries", 0); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, kgo.RecordRetries(int(min(n, 1<<31-1))))
	}
	if n, ok, err := num("retry.backoff.ms", 0); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, kgo.RetryBackoffFn(func(int) time.Duration { return ms(n) }))
	}
	if n, ok, err := num("buffer.memory", 0); err != nil {
		return nil, err
	} else if ok && n > 0 {
		opts = append(opts, kgo.MaxBufferedBytes(int(n)))
	}
	if _, _, err := num("batch.size", 0); err != nil {
		return nil, err
	}
	if n, ok, err := num("max.request.size", 1); err != nil {
		return nil, err
	} else if ok {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(min(n, 1<<31-1))))
	}
	if n, ok, err := num("metadata.max.age.ms", 0); err != nil {
		return nil, err
	} else if ok && n > 0 {
		opts = append(opts, kgo.MetadataMaxAge(ms(n)))
	}
	if _, _, err := num("max.block.ms", 0); err != nil {
		return nil, err
	}
	if n, ok, err := num("delivery.timeout.ms", 0); err != nil {
		return nil, err
	} else if ok && n > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(ms(n)))
	} else {
		opts = append(opts, kgo.RecordDeliveryTimeout(120*time.Second))
	}
	if n, ok, err := num("max.in.flight.requests.per.connection", 1); err != nil {
		return nil, err
	} else if ok {
		if idempotent && n > 5 {
			return nil, &configException{"Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer."}
		}
		opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(int(n)))
	}
	return opts, nil
}
