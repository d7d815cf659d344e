package config

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeProps(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadShippedConfig(t *testing.T) {
	var warnings strings.Builder
	logger := slog.New(slog.NewTextHandler(&warnings, nil))
	c, err := Load("../../../config/server.properties", nil, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if c.BrokerID != 0 || c.ZooKeeperConnect != "127.0.0.1:2181/kafka" || c.Listeners[0] != "PLAINTEXT://127.0.0.1:9092" {
		t.Fatalf("unexpected config: %+v", c)
	}
	if warnings.Len() != 0 {
		t.Fatalf("the shipped config must load without warnings, got:\n%s", warnings.String())
	}
}

func TestLayering(t *testing.T) {
	path := writeProps(t, "broker.id=1\nzookeeper.connect=h:2181\nnum.partitions=2\nlog.dirs=/a, /b\n")
	env := []string{"KAFKA_NUM_PARTITIONS=3", "KAFKA_HEAP_OPTS=-Xmx1g", "PATH=/bin", "KAFKA_AUTO_CREATE_TOPICS_ENABLE=false"}
	c, err := Load(path, env, []string{"num.partitions=4"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumPartitions != 4 {
		t.Errorf("override should win: num.partitions=%d", c.NumPartitions)
	}
	if c.AutoCreateTopics {
		t.Errorf("env should set auto.create.topics.enable=false")
	}
	if !reflect.DeepEqual(c.LogDirs, []string{"/a", "/b"}) {
		t.Errorf("log.dirs = %v", c.LogDirs)
	}
	if !reflect.DeepEqual(c.AdvertisedListeners, c.Listeners) {
		t.Errorf("advertised.listeners should default to listeners")
	}
}

func TestEnvOverrides(t *testing.T) {
	got := EnvOverrides([]string{
		"KAFKA_BROKER_ID=7",
		"KAFKA_ZOOKEEPER_CONNECT=zk:2181",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT",
		"KAFKA_SOME__UNDERSCORE=x",
		"KAFKA_WITH___DASH=y",
		"KAFKA_OPTS=-Dfoo",
		"OTHER=1",
	})
	want := map[string]string{
		"broker.id":                      "7",
		"zookeeper.connect":              "zk:2181",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT",
		"some_underscore":                "x",
		"with-dash":                      "y",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestInvalidValuesNameTheKey(t *testing.T) {
	cases := []struct {
		props, key string
	}{
		{"broker.id=abc\nzookeeper.connect=h", "broker.id"},
		{"broker.id=0\nzookeeper.connect=h\nnum.partitions=0", "num.partitions"},
		{"broker.id=0\nzookeeper.connect=h\nauto.create.topics.enable=yes", "auto.create.topics.enable"},
		{"broker.id=0\nzookeeper.connect=h\nlisteners=127.0.0.1:9092", "listeners"},
		{"broker.id=0\nzookeeper.connect=h\nlog.retention.hours=forever", "log.retention.hours"},
		{"broker.id=0\nzookeeper.connect=h\nsocket.request.max.bytes=-5", "socket.request.max.bytes"},
		{"broker.id=0", "zookeeper.connect"},
	}
	for _, c := range cases {
		_, err := Load(writeProps(t, c.props), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%q: error %v should name %s", c.props, err, c.key)
		}
	}
}

func TestUnknownKeyWarns(t *testing.T) {
	var logs strings.Builder
	_, err := Load(writeProps(t, "broker.id=0\nzookeeper.connect=h\nno.such.key=1\n"), nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "no.such.key") {
		t.Fatalf("expected a warning naming no.such.key, got %q", logs.String())
	}
}

// The connection quota keys the broker applies (ConnectionQuotas) load
// without an unknown-key warning and reach StaticConfigs.
func TestConnectionQuotaKeysKnown(t *testing.T) {
	var warnings strings.Builder
	path := writeProps(t, "broker.id=1\nzookeeper.connect=h:2181\nmax.connections.per.ip=10\nmax.connections.per.ip.overrides=127.0.0.1:100\n")
	c, err := Load(path, nil, nil, slog.New(slog.NewTextHandler(&warnings, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if warnings.Len() != 0 {
		t.Fatalf("warnings: %s", warnings.String())
	}
	if c.StaticConfigs["max.connections.per.ip.overrides"] != "127.0.0.1:100" {
		t.Fatalf("static configs: %v", c.StaticConfigs)
	}
}
