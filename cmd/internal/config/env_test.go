package config

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// The environment variables of the common Kafka images (cp-kafka, bitnami,
// wurstmeister) and what each becomes.
func TestEnvOverridesImages(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want map[string]string
	}{
		{"cp-kafka broker", []string{
			"KAFKA_BROKER_ID=1",
			"KAFKA_ZOOKEEPER_CONNECT=zookeeper:2181",
			"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT",
			"KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=3",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=2",
			"KAFKA_LOG_DIRS=/var/lib/kafka/data",
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE=false",
		}, map[string]string{
			"broker.id":                        "1",
			"zookeeper.connect":                "zookeeper:2181",
			"listeners":                        "PLAINTEXT://0.0.0.0:9092",
			"advertised.listeners":             "PLAINTEXT://localhost:9092",
			"listener.security.protocol.map":   "PLAINTEXT:PLAINTEXT",
			"inter.broker.listener.name":       "PLAINTEXT",
			"offsets.topic.replication.factor": "3",
			"transaction.state.log.min.isr":    "2",
			"log.dirs":                         "/var/lib/kafka/data",
			"auto.create.topics.enable":        "false",
		}},
		{"JVM, JMX and log4j variables are not configs", []string{
			"KAFKA_HEAP_OPTS=-Xmx1G -Xms1G", "KAFKA_OPTS=-Dx=y", "KAFKA_JVM_PERFORMANCE_OPTS=-server",
			"KAFKA_GC_LOG_OPTS=", "KAFKA_JMX_OPTS=-Dcom.sun.management.jmxremote", "KAFKA_JMX_PORT=9101",
			"KAFKA_JMX_HOSTNAME=localhost", "KAFKA_LOG4J_OPTS=-Dlog4j.configuration=x",
			"KAFKA_LOG4J_ROOT_LOGLEVEL=WARN", "KAFKA_LOG4J_LOGGERS=kafka.controller=INFO",
			"KAFKA_TOOLS_LOG4J_LOGLEVEL=ERROR", "KAFKA_LOG_LEVEL=DEBUG", "KAFKA_DEBUG=y", "KAFKA_HOME=/opt/kafka",
			"KAFKA_VERSION=3.7.0", "KAFKA_CLUSTER_ID=abc", "KAFKA_BIN=/x/kafka",
		}, map[string]string{}},
		{"other variables are not ours", []string{"PATH=/bin", "HOSTNAME=kafka-1", "ZOO_MY_ID=1", "KAFKA=1", "KAFKA_"}, map[string]string{}},
		{"underscores and dashes", []string{"KAFKA_SOME__UNDERSCORE=x", "KAFKA_WITH___DASH=y", "KAFKA_A__B___C_D=z"},
			map[string]string{"some_underscore": "x", "with-dash": "y", "a_b-c.d": "z"}},
		{"bitnami KAFKA_CFG_ wins over KAFKA_", []string{
			"KAFKA_CFG_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_CFG_LOG_DIRS=/bitnami/kafka/data",
			"KAFKA_LOG_DIRS=/other", "KAFKA_CFG_NUM_PARTITIONS=3",
		}, map[string]string{"zookeeper.connect": "zk:2181", "log.dirs": "/bitnami/kafka/data", "num.partitions": "3"}},
		{"values keep '=' and spaces", []string{"KAFKA_ZOOKEEPER_CONNECT=a:1,b:2/k", "KAFKA_X_Y= a=b "},
			map[string]string{"zookeeper.connect": "a:1,b:2/k", "x.y": " a=b "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := EnvOverrides(c.env); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

// A broker configured by nothing but the environment: the variables the
// images document load without a config file and without warnings.
func TestLoadFromEnvOnly(t *testing.T) {
	var logs strings.Builder
	env := []string{
		"KAFKA_BROKER_ID=2",
		"KAFKA_ZOOKEEPER_CONNECT=zookeeper:2181/kafka",
		"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9093",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9093",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=3",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=3",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=2",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0",
		"KAFKA_DEFAULT_REPLICATION_FACTOR=3",
		"KAFKA_MIN_INSYNC_REPLICAS=2",
		"KAFKA_NUM_PARTITIONS=3",
		"KAFKA_LOG_DIRS=/var/lib/kafka/data",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE=true",
		"KAFKA_HEAP_OPTS=-Xmx512m", "KAFKA_JMX_PORT=9101", "KAFKA_LOG4J_ROOT_LOGLEVEL=WARN",
	}
	c, err := Load("", env, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected warnings:\n%s", logs.String())
	}
	if c.BrokerID != 2 || c.ZooKeeperConnect != "zookeeper:2181/kafka" ||
		!reflect.DeepEqual(c.Listeners, []string{"PLAINTEXT://0.0.0.0:9093"}) ||
		!reflect.DeepEqual(c.AdvertisedListeners, []string{"PLAINTEXT://localhost:9093"}) ||
		!reflect.DeepEqual(c.LogDirs, []string{"/var/lib/kafka/data"}) ||
		c.DefaultReplicationFactor != 3 || c.MinInsyncReplicas != 2 || c.NumPartitions != 3 || !c.AutoCreateTopics {
		t.Fatalf("unexpected config: %+v", c)
	}
	if got := c.StaticConfigs["offsets.topic.replication.factor"]; got != "3" {
		t.Errorf("offsets.topic.replication.factor = %q", got)
	}
}
