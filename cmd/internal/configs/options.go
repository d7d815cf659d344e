package configs

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/magiconair/properties"
)

// optSpec is one long option of ConfigCommandOptions.
type optSpec struct {
	name     string
	takesArg bool
	desc     string
}

var optSpecs = []optSpec{
	{"add-config", true, "Key Value pairs of configs to add. Square brackets can be used to group values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'."},
	{"add-config-file", true, "Path to a properties file with configs to add. See add-config for a list of valid configurations."},
	{"all", false, "List all configs for the given topic, broker, or broker-logger entity (includes static configuration when the entity type is brokers)"},
	{"alter", false, "Alter the configuration for the entity."},
	{"bootstrap-controller", true, "The Kafka controllers to connect to."},
	{"bootstrap-server", true, "The Kafka servers to connect to."},
	{"broker", true, "The broker's ID."},
	{"broker-defaults", false, "The config defaults for all brokers."},
	{"broker-logger", true, "The broker's ID for its logger config."},
	{"client", true, "The client's ID."},
	{"client-defaults", false, "The config defaults for all clients."},
	{"command-config", true, "Property file containing configs to be passed to Admin Client. This is used only with --bootstrap-server option for describing and altering broker configs."},
	{"delete-config", true, "config keys to remove 'k1,k2'"},
	{"describe", false, "List configs for the given entity."},
	{"entity-default", false, "Default entity name for clients/users/brokers/ips (applies to corresponding entity type in command line)"},
	{"entity-name", true, "Name of entity (topic name/client id/user principal name/broker id/ip/client metrics)"},
	{"entity-type", true, "Type of entity (topics/clients/users/brokers/broker-loggers/ips/client-metrics)"},
	{"force", false, "Suppress console prompts"},
	{"help", false, "Print usage information."},
	{"ip", true, "The IP address."},
	{"ip-defaults", false, "The config defaults for all IPs."},
	{"topic", true, "The topic's name."},
	{"user", true, "The user's principal name."},
	{"user-defaults", false, "The config defaults for all users."},
	{"version", false, "Display Kafka version."},
	{"zookeeper", true, "DEPRECATED. The connection string for the zookeeper connection in the form host:port. " +
		"Multiple URLS can be given to allow fail-over. Required when configuring SCRAM credentials for users or " +
		"dynamic broker configs when the relevant broker(s) are down. Not allowed otherwise. (Here: users' SCRAM credentials only.)"},
}

func usage() string {
	var b strings.Builder
	b.WriteString("Option                                 Description\n------                                 -----------\n")
	for _, s := range optSpecs {
		name := "--" + s.name
		if s.takesArg {
			name += " <String>"
		}
		fmt.Fprintf(&b, "%-38s %s\n", name, s.desc)
	}
	return b.String()
}

// options is the parsed command line: values in order, and the order in
// which entity-name and entity-default appeared (ConfigCommand pairs them
// with entity types by position).
type options struct {
	values     map[string][]string
	seen       map[string]bool
	entityRefs []string // "name:<value>" or "default", in command-line order
}

func parseArgs(args []string) (*options, error) {
	o := &options{values: map[string][]string{}, seen: map[string]bool{}}
	specs := map[string]optSpec{}
	for _, s := range optSpecs {
		specs[s.name] = s
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			continue // jopt-simple keeps non-option arguments; ConfigCommand ignores them
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		spec, ok := specs[name]
		if !ok {
			matches := prefixMatches(specs, name)
			if len(matches) != 1 {
				return nil, illegal("%s is not a recognized option", name)
			}
			spec = specs[matches[0]]
			name = spec.name
		}
		if spec.takesArg && !hasVal {
			if i+1 >= len(args) {
				return nil, illegal("Option %s requires an argument", name)
			}
			i++
			val = args[i]
		}
		o.seen[name] = true
		if spec.takesArg {
			if name == "delete-config" {
				o.values[name] = append(o.values[name], strings.Split(val, ",")...)
			} else {
				o.values[name] = append(o.values[name], val)
			}
		}
		switch name {
		case "entity-name":
			o.entityRefs = append(o.entityRefs, "name:"+val)
		case "entity-default":
			o.entityRefs = append(o.entityRefs, "default")
		}
	}
	return o, nil
}

// prefixMatches is jopt-simple's abbreviation rule.
func prefixMatches(specs map[string]optSpec, prefix string) []string {
	var out []string
	for n := range specs {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (o *options) has(name string) bool { return o.seen[name] }

func (o *options) value(name string) (string, bool) {
	v := o.values[name]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

var entityFlags = []struct{ flag, typ string }{
	{"topic", "topics"}, {"client", "clients"}, {"user", "users"}, {"broker", "brokers"}, {"broker-logger", "broker-loggers"}, {"ip", "ips"},
}

var entityDefaultFlags = []struct{ flag, typ string }{
	{"client-defaults", "clients"}, {"user-defaults", "users"}, {"broker-defaults", "brokers"}, {"ip-defaults", "ips"},
}

// entityTypes is ConfigCommandOptions.entityTypes.
func (o *options) entityTypes() []string {
	out := append([]string(nil), o.values["entity-type"]...)
	for _, f := range entityFlags {
		if o.has(f.flag) {
			out = append(out, f.typ)
		}
	}
	for _, f := range entityDefaultFlags {
		if o.has(f.flag) {
			out = append(out, f.typ)
		}
	}
	return out
}

// entityNames is ConfigCommandOptions.entityNames ("" for a default entity).
func (o *options) entityNames() []string {
	var out []string
	for _, r := range o.entityRefs {
		if n, ok := strings.CutPrefix(r, "name:"); ok {
			out = append(out, n)
		} else {
			out = append(out, "")
		}
	}
	for _, f := range entityFlags {
		if v, ok := o.value(f.flag); ok {
			out = append(out, v)
		}
	}
	for _, f := range entityDefaultFlags {
		if o.has(f.flag) {
			out = append(out, "")
		}
	}
	return out
}

// check is ConfigCommandOptions.checkArgs (the --bootstrap-server parts).
func (o *options) check() error {
	actions := 0
	for _, a := range []string{"alter", "describe"} {
		if o.has(a) {
			actions++
		}
	}
	if actions != 1 {
		return &usageError{msg: "Command must include exactly one action: --describe, --alter"}
	}
	if o.has("describe") {
		for _, bad := range []string{"alter", "add-config", "delete-config"} {
			if o.has(bad) {
				return &usageError{msg: fmt.Sprintf("Option \"[describe]\" can't be used with option \"[%s]\"", bad)}
			}
		}
	}
	types := o.entityTypes()
	seen := map[string]bool{}
	var dups []string
	for _, t := range types {
		if seen[t] {
			dups = append(dups, t)
		}
		seen[t] = true
	}
	if len(dups) > 0 {
		return illegal("Duplicate entity type(s) specified: %s", strings.Join(dups, ","))
	}
	for _, t := range types {
		if !contains(brokerSupportedTypes, t) {
			return illegal("Invalid entity type %s, the entity type must be one of %s with a --bootstrap-server or --bootstrap-controller argument",
				t, strings.Join(brokerSupportedTypes, ", "))
		}
	}
	if len(types) == 0 {
		return illegal("At least one entity type must be specified")
	}
	if len(types) > 1 && !(len(types) == 2 && seen["users"] && seen["clients"]) {
		return illegal("Only 'users' and 'clients' entity types may be specified together")
	}
	if o.has("entity-name") || o.has("entity-type") || o.has("entity-default") {
		for _, f := range append(append([]struct{ flag, typ string }{}, entityFlags...), entityDefaultFlags...) {
			if o.has(f.flag) {
				return illegal("--entity-{type,name,default} should not be used in conjunction with specific entity flags")
			}
		}
	}
	names := o.entityNames()
	hasName, hasDefault := false, false
	for _, n := range names {
		if n != "" {
			hasName = true
		} else {
			hasDefault = true
		}
	}
	connects := 0
	for _, c := range []string{"bootstrap-server", "bootstrap-controller", "zookeeper"} {
		if o.has(c) {
			connects++
		}
	}
	if connects == 0 {
		return illegal("One of the required --bootstrap-server, --boostrap-controller, or --zookeeper arguments must be specified")
	}
	if connects > 1 {
		return illegal("Only one of --bootstrap-server, --boostrap-controller, and --zookeeper can be specified")
	}
	if !o.has("bootstrap-server") && !(o.has("zookeeper") && len(types) == 1 && types[0] == "users") {
		return illegal("only --bootstrap-server is supported by this tool (and --zookeeper for users' SCRAM credentials)")
	}
	if hasName && (seen["brokers"] || seen["broker-loggers"]) {
		for _, f := range []string{"entity-name", "broker", "broker-logger"} {
			if v, ok := o.value(f); ok {
				if _, err := strconv.Atoi(v); err != nil {
					return illegal("The entity name for %s must be a valid integer broker id, but it is: %s", types[0], v)
				}
			}
		}
	}
	if o.has("describe") && seen["broker-loggers"] && !hasName {
		return illegal("an entity name must be specified with --describe of %s", strings.Join(types, ","))
	}
	if o.has("alter") {
		if seen["users"] || seen["clients"] || seen["brokers"] || seen["ips"] {
			if !hasName && !hasDefault {
				return illegal("an entity-name or default entity must be specified with --alter of users, clients, brokers or ips")
			}
		} else if !hasName {
			return illegal("an entity name must be specified with --alter of %s", strings.Join(types, ","))
		}
		if o.has("add-config") && o.has("add-config-file") {
			return illegal("Only one of --add-config or --add-config-file must be specified")
		}
		if !o.has("add-config") && !o.has("add-config-file") && !o.has("delete-config") {
			return illegal("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter")
		}
	}
	return nil
}

// configsToAdd is parseConfigsToBeAdded: --add-config-file then --add-config.
func (o *options) configsToAdd() (map[string]string, error) {
	out := map[string]string{}
	if f, ok := o.value("add-config-file"); ok {
		p, err := properties.LoadFile(f, properties.UTF8)
		if err != nil {
			return nil, illegal("%s", err)
		}
		for k, v := range p.Map() {
			out[k] = v
		}
		for k := range out {
			if !validKey.MatchString(k) {
				return nil, illegal("Invalid character found for config key: %s", k)
			}
		}
	}
	if v, ok := o.value("add-config"); ok {
		m, _, err := splitAddConfig(v)
		if err != nil {
			return nil, err
		}
		for k, val := range m {
			out[k] = val
		}
	}
	return out, nil
}

// configsToDelete is parseConfigsToBeDeleted.
func (o *options) configsToDelete() []string {
	var out []string
	for _, k := range o.values["delete-config"] {
		out = append(out, strings.TrimSpace(k))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
