// Package configs is kafka-configs.sh: Kafka 3.7's ConfigCommand against
// --bootstrap-server for topics (describe, alter with IncrementalAlterConfigs)
// and brokers (describe), with its messages, output and exit codes.
package configs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"
)

// brokerSupportedTypes is ConfigCommand.BrokerSupportedConfigTypes.
var brokerSupportedTypes = []string{"topics", "clients", "users", "brokers", "ips", "broker-loggers", "client-metrics"}

// illegalArg is an IllegalArgumentException or InvalidConfigurationException:
// ConfigCommand prints its message alone on stderr and exits 1.
type illegalArg struct{ msg string }

func (e *illegalArg) Error() string { return e.msg }

func illegal(format string, args ...any) error { return &illegalArg{msg: fmt.Sprintf(format, args...)} }

// usageError is CommandLineUtils.printUsageAndExit: message and usage on stderr.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Run executes the tool with args (argv[1:]) and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, newKgoAdmin)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, newAdmin func(props map[string]string) (admin, error)) int {
	err := execute(ctx, args, stdout, newAdmin)
	if err == nil {
		return 0
	}
	var ue *usageError
	var ia *illegalArg
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, ue.msg)
		io.WriteString(stderr, usage())
	case errors.As(err, &ia):
		fmt.Fprintln(stderr, ia.msg)
	default:
		// Anything else (an admin call failing) is printed with its stack
		// trace in Kafka; the exception line is what scripts look at.
		fmt.Fprintf(stderr, "Error while executing config command with args '%s'\n", strings.Join(args, " "))
		fmt.Fprintf(stderr, "java.util.concurrent.ExecutionException: %s\n", javaException(err))
	}
	return 1
}

func execute(ctx context.Context, args []string, stdout io.Writer, newAdmin func(map[string]string) (admin, error)) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	if o.has("help") || len(args) == 0 {
		return &usageError{msg: "This tool helps to manipulate and describe entity config for a topic, client, user, broker, ip or client-metrics"}
	}
	if o.has("version") {
		fmt.Fprintln(stdout, "3.7.0")
		return nil
	}
	if err := o.check(); err != nil {
		return err
	}
	if o.has("zookeeper") {
		return executeZooKeeper(ctx, o, stdout)
	}
	props := map[string]string{}
	if f, ok := o.value("command-config"); ok {
		p, err := properties.LoadFile(f, properties.UTF8)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		props = p.Map()
	}
	props["bootstrap.servers"], _ = o.value("bootstrap-server")
	adm, err := newAdmin(props)
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if o.has("alter") {
		return alterConfig(ctx, adm, o, stdout)
	}
	return describeConfig(ctx, adm, o, stdout)
}

// alterConfig is ConfigCommand.alterConfig for topics, brokers and broker loggers: deleting
// a key the entity does not set is refused; a topic's SETs and DELETEs go in
// one IncrementalAlterConfigs, a broker's complete new dynamic config in one
// legacy AlterConfigs, as Kafka 3.7's tool does.
func alterConfig(ctx context.Context, adm admin, o *options, stdout io.Writer) error {
	entityType, entityName := o.entityTypes()[0], o.entityNames()[0]
	add, err := o.configsToAdd()
	if err != nil {
		return err
	}
	if v, ok := add["message.format.version"]; ok {
		fmt.Fprintf(stdout, "WARNING: The configuration message.format.version=%s is specified. This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker or if the inter.broker.protocol.version is 3.0 or newer. This configuration is deprecated and it will be removed in Apache Kafka 4.0.\n", v)
	}
	del := o.configsToDelete()
	switch entityType {
	case "topics":
		entries, err := adm.DescribeConfigs(ctx, resourceTopic, entityName, false)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, e := range entries {
			if e.Source == "DYNAMIC_TOPIC_CONFIG" {
				have[e.Name] = true
			}
		}
		var invalid []string
		for _, k := range del {
			if !have[k] {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			return illegal("Invalid config(s): %s", strings.Join(invalid, ","))
		}
		if err := adm.IncrementalAlter(ctx, resourceTopic, entityName, add, del); err != nil {
			return err
		}
	case "broker-loggers":
		// Every logger named must be one the broker reports.
		entries, err := adm.DescribeConfigs(ctx, resourceBrokerLogger, entityName, true)
		if err != nil {
			return err
		}
		valid := map[string]bool{}
		for _, e := range entries {
			valid[e.Name] = true
		}
		var invalid []string
		for _, k := range del {
			if !valid[k] {
				invalid = append(invalid, k)
			}
		}
		for _, k := range sortedKeys(add) {
			if !valid[k] {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			return illegal("Invalid broker logger(s): %s", strings.Join(invalid, ","))
		}
		if err := adm.IncrementalAlter(ctx, resourceBrokerLogger, entityName, add, del); err != nil {
			return err
		}
	case "brokers":
		if entityName != "" {
			if _, err := strconv.Atoi(entityName); err != nil {
				return illegal("The entity name for %s must be a valid integer broker id, but it is: %s", entityType, entityName)
			}
		}
		source := "DYNAMIC_BROKER_CONFIG"
		if entityName == "" {
			source = "DYNAMIC_DEFAULT_BROKER_CONFIG"
		}
		entries, err := adm.DescribeConfigs(ctx, resourceBroker, entityName, false)
		if err != nil {
			return err
		}
		current := map[string]*string{}
		for _, e := range entries {
			if e.Source == source {
				current[e.Name] = e.Value
			}
		}
		var invalid []string
		for _, k := range del {
			if _, ok := current[k]; !ok {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			return illegal("Invalid config(s): %s", strings.Join(invalid, ","))
		}
		next := map[string]string{}
		var sensitive []string
		for k, v := range current {
			if v == nil {
				sensitive = append(sensitive, k)
				continue
			}
			next[k] = *v
		}
		for k, v := range add {
			next[k] = v
			sensitive = slices.DeleteFunc(sensitive, func(s string) bool { return s == k })
		}
		for _, k := range del {
			delete(next, k)
			sensitive = slices.DeleteFunc(sensitive, func(s string) bool { return s == k })
		}
		if len(sensitive) > 0 {
			sort.Strings(sensitive)
			return illegal("All sensitive broker config entries must be specified for --alter, missing entries: Set(%s)", strings.Join(sensitive, ", "))
		}
		if err := adm.AlterBroker(ctx, entityName, next); err != nil {
			return err
		}
	case "users":
		if err := alterUsers(ctx, adm, o, add, del); err != nil {
			return err
		}
	default:
		return illegal("Unsupported entity type: %s", entityType)
	}
	if entityName == "" {
		fmt.Fprintf(stdout, "Completed updating default config for %s in the cluster.\n", entityType)
		return nil
	}
	fmt.Fprintf(stdout, "Completed updating config for %s %s.\n", strings.TrimSuffix(entityType, "s"), entityName)
	return nil
}

// describeConfig is ConfigCommand.describeResourceConfig for topics, brokers and broker loggers.
func describeConfig(ctx context.Context, adm admin, o *options, stdout io.Writer) error {
	entityType := o.entityTypes()[0]
	if entityType == "users" {
		return describeUsers(ctx, adm, o, stdout)
	}
	all := o.has("all")
	var entities []string
	if names := o.entityNames(); len(names) > 0 {
		entities = names[:1]
	} else {
		switch entityType {
		case "topics":
			topics, err := adm.ListTopics(ctx)
			if err != nil {
				return err
			}
			entities = topics
		case "brokers":
			ids, err := adm.BrokerIDs(ctx)
			if err != nil {
				return err
			}
			for _, id := range ids {
				entities = append(entities, strconv.Itoa(int(id)))
			}
			entities = append(entities, "")
		}
	}
	var resource int8
	var dynamicSource string
	switch entityType {
	case "topics":
		resource, dynamicSource = resourceTopic, "DYNAMIC_TOPIC_CONFIG"
	case "brokers":
		resource = resourceBroker
	case "broker-loggers":
		// Kafka shows every logger the broker reports, whatever its source.
		resource = resourceBrokerLogger
	default:
		return illegal("Unsupported entity type: %s", entityType)
	}
	for _, entity := range entities {
		source := dynamicSource
		if entityType == "broker-loggers" {
			if _, err := strconv.Atoi(entity); err != nil {
				return illegal("The entity name for %s must be a valid integer broker id, found: %s", entityType, entity)
			}
		}
		if entityType == "brokers" {
			if entity == "" {
				source = "DYNAMIC_DEFAULT_BROKER_CONFIG"
			} else {
				if _, err := strconv.Atoi(entity); err != nil {
					return illegal("The entity name for %s must be a valid integer broker id, found: %s", entityType, entity)
				}
				source = "DYNAMIC_BROKER_CONFIG"
			}
		}
		if entity == "" {
			fmt.Fprintf(stdout, "Default configs for %s in the cluster are:\n", entityType)
		} else {
			word := "Dynamic"
			if all {
				word = "All"
			}
			fmt.Fprintf(stdout, "%s configs for %s %s are:\n", word, strings.TrimSuffix(entityType, "s"), entity)
		}
		entries, err := adm.DescribeConfigs(ctx, resource, entity, true)
		if err != nil {
			return err
		}
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
		for _, e := range entries {
			if !all && entityType != "broker-loggers" && e.Source != source {
				continue
			}
			fmt.Fprintln(stdout, formatEntry(e))
		}
	}
	return nil
}

// formatEntry prints one entry as ConfigCommand does; a null value is "null".
func formatEntry(e configEntry) string {
	syns := make([]string, 0, len(e.Synonyms))
	for _, s := range e.Synonyms {
		syns = append(syns, fmt.Sprintf("%s:%s=%s", s.Source, s.Name, nullable(s.Value)))
	}
	return fmt.Sprintf("  %s=%s sensitive=%t synonyms={%s}", e.Name, nullable(e.Value), e.Sensitive, strings.Join(syns, ", "))
}

func nullable(v *string) string {
	if v == nil {
		return "null"
	}
	return *v
}

// splitAddConfig is parseConfigsToBeAdded: split on commas outside square
// brackets, each part key=value (value may be empty), brackets removed.
func splitAddConfig(s string) (map[string]string, []string, error) {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, s[start:])
	out := map[string]string{}
	var order []string
	for _, p := range parts {
		k, v, ok := cutOutsideBrackets(p)
		if !ok {
			return nil, nil, illegal("Invalid entity config: all configs to be added must be in the format \"key=val\".")
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(strings.NewReplacer("[", "", "]", "").Replace(v))
		if _, dup := out[k]; !dup {
			order = append(order, k)
		}
		out[k] = v
	}
	for _, k := range order {
		if !validKey.MatchString(k) {
			return nil, nil, illegal("Invalid character found for config key: %s", k)
		}
	}
	return out, order, nil
}

var validKey = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)

// cutOutsideBrackets splits p at its only '=' outside brackets.
func cutOutsideBrackets(p string) (string, string, bool) {
	depth, at := 0, -1
	for i, r := range p {
		switch r {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '=':
			if depth == 0 {
				if at >= 0 {
					return "", "", false
				}
				at = i
			}
		}
	}
	if at < 0 {
		return "", "", false
	}
	return p[:at], p[at+1:], true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
