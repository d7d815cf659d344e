// Package cli holds what Kafka's command-line tools share: jopt-simple's
// option parsing and help layout, and the Java exceptions the tools print.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Option describes one long option the way jopt-simple's OptionParser knows it.
type Option struct {
	Name     string
	Desc     string
	ArgDesc  string // describedAs(...) when the option takes an argument
	ArgType  string // "String", "Integer", "Long"; empty means String
	TakesArg bool
	// OptionalArg is withOptionalArg(): the next token is the argument unless it looks like an option.
	OptionalArg bool
	Default     string // defaultsTo(...), shown in the help as "(default: X)"
}

// Parsed is the OptionSet of a parse: which options were seen and their values in order.
type Parsed struct {
	Seen   map[string]bool
	Values map[string][]string
	NonOpt []string
	NArgs  int
}

func (p *Parsed) Has(name string) bool { return p.Seen[name] }

// intValue converts an Integer option lazily, as jopt-simple's valueOf does; nil when absent.
func (p *Parsed) IntValue(name string) (*int32, error) {
	v, ok := p.Value(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil, &OptionError{Class: "joptsimple.OptionArgumentConversionException", Msg: fmt.Sprintf("Cannot parse argument '%s' of option %s", v, name)}
	}
	n32 := int32(n)
	return &n32, nil
}

// LongValue converts a Long option lazily, as jopt-simple's valueOf does; nil when absent.
func (p *Parsed) LongValue(name string) (*int64, error) {
	v, ok := p.Value(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, &OptionError{Class: "joptsimple.OptionArgumentConversionException", Msg: fmt.Sprintf("Cannot parse argument '%s' of option %s", v, name)}
	}
	return &n, nil
}

// value returns the last value of an option (jopt would refuse several; last wins here).
func (p *Parsed) Value(name string) (string, bool) {
	v := p.Values[name]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// OptionError is a jopt-simple OptionException: its class name and message.
type OptionError struct {
	Class string
	Msg   string
}

func (e *OptionError) Error() string { return e.Msg }

// lookupOption resolves a long option name, allowing unambiguous abbreviations as jopt-simple does.
func lookupOption(specs []Option, name string) (Option, bool) {
	var match []Option
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
		if strings.HasPrefix(s.Name, name) {
			match = append(match, s)
		}
	}
	if len(match) == 1 {
		return match[0], true
	}
	return Option{}, false
}

// Parse mimics jopt-simple: "--name value", "--name=value", "--" ends options, a required argument
// takes the next token whatever it looks like, unknown options fail.
func Parse(specs []Option, args []string) (*Parsed, error) {
	p := &Parsed{Seen: map[string]bool{}, Values: map[string][]string{}, NArgs: len(args)}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.NonOpt = append(p.NonOpt, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			p.NonOpt = append(p.NonOpt, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "--") {
			name = a[2:]
		} else {
			name = a[1:]
		}
		var val string
		hasVal := false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, val, hasVal = name[:eq], name[eq+1:], true
		}
		spec, ok := lookupOption(specs, name)
		if !ok {
			return nil, &OptionError{Class: "joptsimple.UnrecognizedOptionException", Msg: name + " is not a recognized option"}
		}
		p.Seen[spec.Name] = true
		if spec.OptionalArg {
			if hasVal {
				p.Values[spec.Name] = append(p.Values[spec.Name], val)
			} else if i+1 < len(args) && !looksLikeOption(args[i+1]) {
				i++
				p.Values[spec.Name] = append(p.Values[spec.Name], args[i])
			}
			continue
		}
		if !spec.TakesArg {
			if hasVal {
				return nil, &OptionError{Class: "joptsimple.UnrecognizedOptionException", Msg: name + "=" + val + " is not a recognized option"}
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, &OptionError{Class: "joptsimple.OptionMissingRequiredArgumentException", Msg: "Option " + spec.Name + " requires an argument"}
			}
			i++
			val = args[i]
		}
		p.Values[spec.Name] = append(p.Values[spec.Name], val)
	}
	return p, nil
}

// looksLikeOption is jopt-simple's test for a token that starts an option rather than being an argument.
func looksLikeOption(a string) bool { return len(a) > 1 && strings.HasPrefix(a, "-") }

// Help layout of jopt-simple's BuiltinHelpFormatter: an 80-column table of two 39-wide columns.
const (
	helpColWidth = 39
	helpGutter   = 2
)

// HelpText renders the usage table printed after a usage message.
func HelpText(specs []Option) string {
	sorted := append([]Option(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	writeHelpRow(&b, []string{"Option"}, []string{"Description"})
	writeHelpRow(&b, []string{"------"}, []string{"-----------"})
	for _, s := range sorted {
		opt := "--" + s.Name
		if s.TakesArg || s.OptionalArg {
			typ := s.ArgType
			if typ == "" {
				typ = "String"
			}
			if s.ArgDesc != "" {
				typ += ": " + s.ArgDesc
			}
			if s.OptionalArg {
				opt += " [" + typ + "]"
			} else {
				opt += " <" + typ + ">"
			}
		}
		left := wrapWords(opt, helpColWidth, 2)
		right := []string{""}
		desc := s.Desc
		if s.Default != "" {
			desc = strings.TrimSpace(desc + " (default: " + s.Default + ")")
		}
		if desc != "" {
			right = nil
			for _, para := range strings.Split(desc, "\n") {
				if para == "" {
					continue
				}
				right = append(right, wrapWords(para, helpColWidth, 2)...)
			}
		}
		writeHelpRow(&b, left, right)
	}
	return b.String()
}

func writeHelpRow(b *strings.Builder, left, right []string) {
	n := max(len(left), len(right))
	for i := 0; i < n; i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		fmt.Fprintf(b, "%-*s%*s%-*s\n", helpColWidth, l, helpGutter, "", helpColWidth, r)
	}
}

// wrapWords greedily wraps text to width; continuation lines are indented by indent spaces.
func wrapWords(text string, width, indent int) []string {
	words := strings.Fields(strings.ReplaceAll(text, "\t", " "))
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = strings.Repeat(" ", indent) + w
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// JavaError is a Java exception as Kafka's tools report it: its class and message.
type JavaError struct {
	Class string
	Msg   string
}

func (e *JavaError) Error() string { return e.Msg }

// Java exception classes of the Kafka error codes the topic admin calls can return.
var ErrorClasses = map[int16]string{
	3:   "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
	7:   "org.apache.kafka.common.errors.TimeoutException",
	17:  "org.apache.kafka.common.errors.InvalidTopicException",
	29:  "org.apache.kafka.common.errors.TopicAuthorizationException",
	30:  "org.apache.kafka.common.errors.GroupAuthorizationException",
	31:  "org.apache.kafka.common.errors.ClusterAuthorizationException",
	35:  "org.apache.kafka.common.errors.UnsupportedVersionException",
	36:  "org.apache.kafka.common.errors.TopicExistsException",
	37:  "org.apache.kafka.common.errors.InvalidPartitionsException",
	38:  "org.apache.kafka.common.errors.InvalidReplicationFactorException",
	39:  "org.apache.kafka.common.errors.InvalidReplicaAssignmentException",
	40:  "org.apache.kafka.common.errors.InvalidConfigurationException",
	41:  "org.apache.kafka.common.errors.NotControllerException",
	42:  "org.apache.kafka.common.errors.InvalidRequestException",
	44:  "org.apache.kafka.common.errors.PolicyViolationException",
	60:  "org.apache.kafka.common.errors.ReassignmentInProgressException",
	68:  "org.apache.kafka.common.errors.GroupNotEmptyException",
	73:  "org.apache.kafka.common.errors.TopicDeletionDisabledException",
	89:  "org.apache.kafka.common.errors.ThrottlingQuotaExceededException",
	100: "org.apache.kafka.common.errors.UnknownTopicIdException",
}

// KafkaError converts an error code and optional broker message into the exception the Java admin client
// raises: ApiError uses the broker's message when present, else the error's default message.
func KafkaError(code int16, msg *string) *JavaError {
	ke := kerr.ErrorForCode(code)
	class, ok := ErrorClasses[code]
	text := ""
	var kerrE *kerr.Error
	if errors.As(ke, &kerrE) {
		text = kerrE.Description
		if !ok {
			class = "org.apache.kafka.common.errors." + camel(kerrE.Message) + "Exception"
		}
	} else if !ok {
		class = "org.apache.kafka.common.errors.UnknownServerException"
		text = fmt.Sprintf("Unknown error code %d", code)
	}
	if msg != nil {
		text = *msg
	}
	return &JavaError{Class: class, Msg: text}
}

func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(s), "_") {
		if w == "" {
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// AdminClient opens a franz-go client from admin client properties
// (bootstrap.servers, client.id and the security keys of SecurityOpts), as the tools' Admin.create(props)
// does.
func AdminClient(props map[string]string) (*kgo.Client, error) {
	var seeds []string
	for _, s := range strings.Split(props["bootstrap.servers"], ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...)}
	if id := props["client.id"]; id != "" {
		opts = append(opts, kgo.ClientID(id))
	}
	sec, err := SecurityOpts(props)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, sec...)...)
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	return cl, nil
}

// LoadProps is Utils.loadProps: a Java properties file (ISO-8859-1, no ${} expansion) as a map. A file
// that cannot be read is java.nio.file.NoSuchFileException with the path as its message.
func LoadProps(path string) (map[string]string, error) {
	l := properties.Loader{Encoding: properties.ISO_8859_1, DisableExpansion: true}
	p, err := l.LoadFile(path)
	if err != nil {
		if _, statErr := os.Stat(path); statErr != nil {
			return nil, &JavaError{Class: "java.nio.file.NoSuchFileException", Msg: path}
		}
		return nil, &JavaError{Class: "java.lang.IllegalArgumentException", Msg: err.Error()}
	}
	return p.Map(), nil
}

// ParseKeyValueArgs is CommandLineUtils.parseKeyValueArgs: "k=v" pairs split at the first '='; a
// missing value is the empty string. Later pairs win.
func ParseKeyValueArgs(args []string) map[string]string {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		out[k] = v
	}
	return out
}

// Log4jLine renders one event with Kafka's tools-log4j layout "[%d] %p %m (%c)%n" (stderr at WARN and
// above); a non-empty throwable (the exception line, "class: message") follows on its own line.
func Log4jLine(now time.Time, level, msg, logger, throwable string) string {
	line := "[" + now.Format("2006-01-02 15:04:05,000") + "] " + level + " " + msg + " (" + logger + ")\n"
	if throwable != "" {
		line += throwable + "\n"
	}
	return line
}

// SignalExitCode is the exit status of a JVM tool ended by a signal (128 + signal number: 130 for
// SIGINT, 143 for SIGTERM) when ctx was cancelled by the signal context of cmd/kafka, else 0.
func SignalExitCode(ctx context.Context) int {
	cause := context.Cause(ctx)
	switch {
	case cause == nil:
		return 0
	case strings.HasPrefix(cause.Error(), "interrupt"):
		return 130
	case strings.HasPrefix(cause.Error(), "terminated"):
		return 143
	}
	return 0
}
