package configs

import (
	"bytes"
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// fakeAdmin holds topic overrides and answers as the broker does.
type fakeAdmin struct {
	overrides map[string]map[string]string
	altered   []string
	alterErr  error
	upserts   []scramUpsert
}

func (f *fakeAdmin) Close() {}

func (f *fakeAdmin) DescribeConfigs(_ context.Context, rt int8, name string, syn bool) ([]configEntry, error) {
	if rt == resourceBrokerLogger {
		return []configEntry{
			{Name: "root", Value: strp("INFO"), Source: "DYNAMIC_BROKER_LOGGER_CONFIG"},
			{Name: "kafka.controller", Value: strp("DEBUG"), Source: "DEFAULT_CONFIG"},
		}, nil
	}
	if rt == resourceBroker {
		if name == "" {
			return nil, nil
		}
		return []configEntry{
			{Name: "log.retention.hours", Value: strp("168"), Source: "STATIC_BROKER_CONFIG",
				Synonyms: []configSynonym{{"log.retention.hours", strp("168"), "STATIC_BROKER_CONFIG"}, {"log.retention.hours", strp("168"), "DEFAULT_CONFIG"}}},
			{Name: "log.retention.ms", Source: "DEFAULT_CONFIG"},
		}, nil
	}
	ov := f.overrides[name]
	out := []configEntry{{Name: "segment.bytes", Value: strp("1073741824"), Source: "DEFAULT_CONFIG",
		Synonyms: []configSynonym{{"log.segment.bytes", strp("1073741824"), "DEFAULT_CONFIG"}}}}
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := configEntry{Name: k, Value: strp(ov[k]), Source: "DYNAMIC_TOPIC_CONFIG"}
		if syn {
			e.Synonyms = []configSynonym{{k, strp(ov[k]), "DYNAMIC_TOPIC_CONFIG"}}
		}
		out = append(out, e)
	}
	return out, nil
}

func (f *fakeAdmin) IncrementalAlter(_ context.Context, _ int8, _ string, set map[string]string, del []string) error {
	if f.alterErr != nil {
		return f.alterErr
	}
	for k, v := range set {
		f.altered = append(f.altered, "SET "+k+"="+v)
	}
	for _, k := range del {
		f.altered = append(f.altered, "DELETE "+k)
	}
	sort.Strings(f.altered)
	return nil
}

func (f *fakeAdmin) AlterBroker(_ context.Context, name string, configs map[string]string) error {
	if f.alterErr != nil {
		return f.alterErr
	}
	for k, v := range configs {
		f.altered = append(f.altered, "BROKER "+name+" "+k+"="+v)
	}
	sort.Strings(f.altered)
	return nil
}

func (f *fakeAdmin) ListTopics(context.Context) ([]string, error) { return []string{"a", "b"}, nil }
func (f *fakeAdmin) BrokerIDs(context.Context) ([]int32, error)   { return []int32{0, 1}, nil }

func TestCommand(t *testing.T) {
	boot := []string{"--bootstrap-server", "127.0.0.1:1"}
	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  string
		altered    []string
		overrides  map[string]map[string]string
		alterError error
	}{
		{
			name:    "alter add",
			args:    []string{"--entity-type", "topics", "--entity-name", "t", "--alter", "--add-config", "retention.ms=1000, cleanup.policy=[compact,delete]"},
			stdout:  "Completed updating config for topic t.\n",
			altered: []string{"SET cleanup.policy=compact,delete", "SET retention.ms=1000"},
		},
		{
			name:      "alter delete with --topic",
			args:      []string{"--topic", "t", "--alter", "--delete-config", "retention.ms"},
			overrides: map[string]map[string]string{"t": {"retention.ms": "1000"}},
			stdout:    "Completed updating config for topic t.\n",
			altered:   []string{"DELETE retention.ms"},
		},
		{
			name:      "delete a config that is not set",
			args:      []string{"--topic", "t", "--alter", "--delete-config", "retention.ms,segment.ms"},
			overrides: map[string]map[string]string{"t": {"retention.ms": "1000"}},
			code:      1,
			stderrHas: "Invalid config(s): segment.ms\n",
		},
		{
			name:      "describe dynamic",
			args:      []string{"--entity-type", "topics", "--entity-name", "t", "--describe"},
			overrides: map[string]map[string]string{"t": {"retention.ms": "1000"}},
			stdout:    "Dynamic configs for topic t are:\n  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n",
		},
		{
			name:   "describe all",
			args:   []string{"--entity-type", "topics", "--entity-name", "t", "--describe", "--all"},
			stdout: "All configs for topic t are:\n  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}\n",
		},
		{
			name:   "describe every topic",
			args:   []string{"--entity-type", "topics", "--describe"},
			stdout: "Dynamic configs for topic a are:\nDynamic configs for topic b are:\n",
		},
		{
			name: "describe brokers",
			args: []string{"--entity-type", "brokers", "--describe", "--all"},
			stdout: "All configs for broker 0 are:\n" +
				"  log.retention.hours=168 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.hours=168, DEFAULT_CONFIG:log.retention.hours=168}\n" +
				"  log.retention.ms=null sensitive=false synonyms={}\n" +
				"All configs for broker 1 are:\n" +
				"  log.retention.hours=168 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.hours=168, DEFAULT_CONFIG:log.retention.hours=168}\n" +
				"  log.retention.ms=null sensitive=false synonyms={}\n" +
				"Default configs for brokers in the cluster are:\n",
		},
		{
			name:    "alter a broker logger",
			args:    []string{"--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "root=DEBUG", "--delete-config", "kafka.controller"},
			stdout:  "Completed updating config for broker-logger 0.\n",
			altered: []string{"DELETE kafka.controller", "SET root=DEBUG"},
		},
		{
			name:      "alter an unknown broker logger",
			args:      []string{"--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "nope=DEBUG,root=INFO", "--delete-config", "gone"},
			code:      1,
			stderrHas: "Invalid broker logger(s): gone,nope\n",
		},
		{
			// Every logger, sorted, whatever its source; "Dynamic" in the header all the same.
			name:   "describe broker loggers",
			args:   []string{"--entity-type", "broker-loggers", "--entity-name", "0", "--describe"},
			stdout: "Dynamic configs for broker-logger 0 are:\n  kafka.controller=DEBUG sensitive=false synonyms={}\n  root=INFO sensitive=false synonyms={}\n",
		},
		{
			name:   "describe broker dynamic",
			args:   []string{"--entity-type", "brokers", "--entity-name", "0", "--describe"},
			stdout: "Dynamic configs for broker 0 are:\n",
		},
		{name: "no action", args: []string{"--entity-type", "topics"}, code: 1, stderrHas: "Command must include exactly one action: --describe, --alter\nOption"},
		{name: "no entity type", args: []string{"--describe"}, code: 1, stderrHas: "At least one entity type must be specified\n"},
		{name: "bad entity type", args: []string{"--describe", "--entity-type", "cats"}, code: 1,
			stderrHas: "Invalid entity type cats, the entity type must be one of topics, clients, users, brokers, ips, broker-loggers, client-metrics with a --bootstrap-server or --bootstrap-controller argument\n"},
		{name: "alter without name", args: []string{"--alter", "--entity-type", "topics", "--add-config", "a=b"}, code: 1,
			stderrHas: "an entity name must be specified with --alter of topics\n"},
		{name: "alter without configs", args: []string{"--alter", "--topic", "t"}, code: 1,
			stderrHas: "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter\n"},
		{name: "bad add-config", args: []string{"--alter", "--topic", "t", "--add-config", "retention.ms"}, code: 1,
			stderrHas: "Invalid entity config: all configs to be added must be in the format \"key=val\".\n"},
		{name: "broker id not a number", args: []string{"--describe", "--entity-type", "brokers", "--entity-name", "x"}, code: 1,
			stderrHas: "The entity name for brokers must be a valid integer broker id, but it is: x\n"},
		{name: "entity flags mixed", args: []string{"--describe", "--entity-type", "topics", "--topic", "t"}, code: 1,
			stderrHas: "Duplicate entity type(s) specified: topics\n"},
		{name: "broker rejects", args: []string{"--alter", "--topic", "t", "--add-config", "nope=1"}, code: 1,
			alterError: &apiException{code: 40, msg: strp("Unknown topic config name: nope")},
			stderrHas:  "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.InvalidConfigurationException: Unknown topic config name: nope\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAdmin{overrides: tc.overrides, alterErr: tc.alterError}
			var out, errb bytes.Buffer
			args := tc.args
			if !strings.Contains(tc.name, "no action") {
				args = append(append([]string{}, boot...), tc.args...)
			}
			code := run(context.Background(), args, &out, &errb, func(map[string]string) (admin, error) { return f, nil })
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if out.String() != tc.stdout {
				t.Fatalf("stdout\n%q\nwant\n%q", out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderrHas) {
				t.Fatalf("stderr %q should contain %q", errb.String(), tc.stderrHas)
			}
			if tc.altered != nil && !reflect.DeepEqual(f.altered, tc.altered) {
				t.Fatalf("altered %v, want %v", f.altered, tc.altered)
			}
		})
	}
}

func TestSplitAddConfig(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"a=1", map[string]string{"a": "1"}, false},
		{"a=1,b=2", map[string]string{"a": "1", "b": "2"}, false},
		{"a = 1 , b=[x,y],c=", map[string]string{"a": "1", "b": "x,y", "c": ""}, false},
		{"follower.replication.throttled.replicas=[0:1,1:2]", map[string]string{"follower.replication.throttled.replicas": "0:1,1:2"}, false},
		{"a", nil, true},
		{"a=1=2", nil, true},
		{"a b=1", nil, true},
	}
	for _, c := range cases {
		got, _, err := splitAddConfig(c.in)
		if (err != nil) != c.err || (!c.err && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%q: got %v %v, want %v err=%v", c.in, got, err, c.want, c.err)
		}
	}
}
