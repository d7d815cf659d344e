package dockerenv

import (
	"reflect"
	"strings"
	"testing"
)

func TestOverrides(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		want    []string
		wantErr string
	}{
		{"everything given", []string{"KAFKA_LOG_DIRS=/data", "KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092"}, nil, ""},
		{"log dir defaulted", []string{"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092"},
			[]string{"log.dirs=/var/lib/kafka/data"}, ""},
		{"log.dir counts too", []string{"KAFKA_LOG_DIR=/d", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:1"}, nil, ""},
		{"bitnami log dirs", []string{"KAFKA_CFG_LOG_DIRS=/bitnami", "KAFKA_CFG_ADVERTISED_LISTENERS=PLAINTEXT://h:1"}, nil, ""},
		{"nothing at all: Kafka's default listener under the host name", nil,
			[]string{"log.dirs=/var/lib/kafka/data", "advertised.listeners=PLAINTEXT://kafka-1:9092"}, ""},
		{"listener without host", []string{"KAFKA_LOG_DIRS=/d", "KAFKA_LISTENERS=PLAINTEXT://:19092"},
			[]string{"advertised.listeners=PLAINTEXT://kafka-1:19092"}, ""},
		{"listener with a host is advertised as is", []string{"KAFKA_LOG_DIRS=/d", "KAFKA_LISTENERS=PLAINTEXT://10.0.0.5:9092"},
			[]string{"advertised.listeners=PLAINTEXT://10.0.0.5:9092"}, ""},
		{"two named listeners without host", []string{"KAFKA_LOG_DIRS=/d", "KAFKA_LISTENERS=INTERNAL://:29092,EXTERNAL://:9092",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"},
			[]string{"advertised.listeners=INTERNAL://kafka-1:29092,EXTERNAL://kafka-1:9092"}, ""},
		{"0.0.0.0 needs advertised listeners", []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092"}, nil,
			"advertised.listeners cannot use the nonroutable meta-address 0.0.0.0"},
		{"[::] too", []string{"KAFKA_LISTENERS=PLAINTEXT://[::]:9092"}, nil, "meta-address ::"},
		{"malformed listener left to the loader", []string{"KAFKA_LOG_DIRS=/d", "KAFKA_LISTENERS=9092"}, nil, ""},
		{"JVM variables change nothing", []string{"KAFKA_HEAP_OPTS=-Xmx1g", "KAFKA_JMX_PORT=9101", "KAFKA_LOG_DIRS=/d",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:1"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Overrides(c.env, "kafka-1")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
	if _, err := Overrides([]string{"KAFKA_LOG_DIRS=/d"}, ""); err == nil {
		t.Fatal("a listener without host on a nameless host should be refused")
	}
}
