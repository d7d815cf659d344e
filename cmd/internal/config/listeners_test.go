package config

import (
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/kafkazk/kafkazk/broker"
)

// TestListenerValidation is KafkaConfig's listener checks (3.9, ZooKeeper
// mode) as the images and server.properties files set them: each case's
// error is Kafka's message (ConfigException / require / the
// IllegalArgumentException of CoreUtils.listenerListToEndPoints).
func TestListenerValidation(t *testing.T) {
	base := []string{"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_BROKER_ID=0"}
	ks := selfSigned(t, t.TempDir(), "k") // SSL listeners need a key store (ssl.go)
	tlsAndSASL := []string{"KAFKA_SSL_KEYSTORE_TYPE=PEM", "KAFKA_SSL_KEYSTORE_LOCATION=" + ks,
		"KAFKA_SSL_TRUSTSTORE_TYPE=PEM", "KAFKA_SSL_TRUSTSTORE_LOCATION=" + ks, "KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=",
		"KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-256",
		"KAFKA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___256_SASL_JAAS_CONFIG=org.apache.kafka.common.security.scram.ScramLoginModule required;"}
	one := []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka-0:9092"}
	confluent := []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:29092,PLAINTEXT_HOST://0.0.0.0:9092",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT"}
	testcontainers := []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9093,BROKER://0.0.0.0:9092",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:32789,BROKER://172.17.0.3:9092",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME=BROKER"}
	cases := []struct {
		name    string
		env     []string
		wantErr string // "" means it loads
		ib, cp  string // expected inter-broker and control-plane listener when it loads
	}{
		{"plain", one, "", "PLAINTEXT", ""},
		{"Kafka's default listener", nil, "", "PLAINTEXT", ""},
		{"Confluent two listeners", confluent, "", "PLAINTEXT", ""},
		{"Testcontainers", testcontainers, "", "BROKER", ""},
		{"map with an extra listener", append(one[:2:2], "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT"), "", "PLAINTEXT", ""},
		{"names and protocols in lower case", []string{"KAFKA_LISTENERS=internal://:9092", "KAFKA_ADVERTISED_LISTENERS=internal://h:9092",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=internal:plaintext", "KAFKA_INTER_BROKER_LISTENER_NAME=internal"}, "", "INTERNAL", ""},
		{"inter-broker protocol", append(one[:2:2], "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=PLAINTEXT"), "", "PLAINTEXT", ""},
		{"SSL and SASL listeners are accepted", append([]string{"KAFKA_LISTENERS=SSL://:9093,SASL_SSL://:9094,PLAINTEXT://:9092",
			"KAFKA_ADVERTISED_LISTENERS=SSL://h:9093,SASL_SSL://h:9094,PLAINTEXT://h:9092", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"}, tlsAndSASL...), "", "SSL", ""},
		{"control plane listener", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092,CONTROLLER://:9091",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:9092,CONTROLLER://h:9091",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", "KAFKA_CONTROL_PLANE_LISTENER_NAME=controller"}, "", "PLAINTEXT", "CONTROLLER"},
		{"IPv4 and IPv6 on one port", []string{"KAFKA_LISTENERS=PLAINTEXT://127.0.0.1:9092,V6://[::1]:9092",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,V6:PLAINTEXT"}, "", "PLAINTEXT", ""},
		{"advertised ports may repeat", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092,B://:9093",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:9092,B://g:9092", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,B:PLAINTEXT"}, "", "PLAINTEXT", ""},

		{"map without the listener", append(one[:2:2], "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=INTERNAL:PLAINTEXT"),
			"Error creating broker listeners from 'PLAINTEXT://0.0.0.0:9092': No security protocol defined for listener PLAINTEXT", "", ""},
		{"second listener without protocol", []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092,PLAINTEXT_HOST://0.0.0.0:29092",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:9092,PLAINTEXT_HOST://h:29092"},
			"No security protocol defined for listener PLAINTEXT_HOST", "", ""},
		{"malformed map entry", append(one[:2:2], "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT"), "Error parsing configuration property 'listener.security.protocol.map'", "", ""},
		{"unknown protocol", append(one[:2:2], "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:TLS"),
			"Invalid security protocol `TLS` defined in listener.security.protocol.map", "", ""},
		{"unparsable listener", []string{"KAFKA_LISTENERS=127.0.0.1:9092"}, "Unable to parse 127.0.0.1:9092 to a broker endpoint", "", ""},
		{"duplicate names", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092,plaintext://:9093"},
			"requirement failed: Each listener must have a different name, listeners: PLAINTEXT://:9092,plaintext://:9093", "", ""},
		{"duplicate advertised names", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://a:9092,PLAINTEXT://b:9092"},
			"Each listener must have a different name", "", ""},
		{"duplicate ports", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092,SSL://:9092"},
			"requirement failed: Each listener must have a different port, listeners: PLAINTEXT://:9092,SSL://:9092", "", ""},
		{"two IPv4 addresses on one port", []string{"KAFKA_LISTENERS=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.2:9092"},
			"If you have two listeners on the same port then one needs to be IPv4 and the other IPv6, listeners: PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.2:9092, port: 9092", "", ""},
		{"inter-broker listener not in the map", append(one[:2:2], "KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL"),
			"Listener with name INTERNAL defined in inter.broker.listener.name not found in listener.security.protocol.map.", "", ""},
		{"inter-broker listener not advertised", append(one[:2:2], "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT", "KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL"),
			"inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are PLAINTEXT", "", ""},
		{"inter-broker protocol without its listener", append(one[:2:2], "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"),
			"inter.broker.listener.name must be a listener name defined in advertised.listeners", "", ""},
		{"bad inter-broker protocol", append(one[:2:2], "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=TLS"),
			"Invalid security protocol `TLS` defined in security.inter.broker.protocol", "", ""},
		{"both inter-broker settings", append(one[:2:2], "KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=PLAINTEXT"),
			"Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.", "", ""},
		{"advertised not a subset", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:9092,SSL://h:9093"},
			"advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found PLAINTEXT,SSL. The valid options based on the current configuration are PLAINTEXT", "", ""},
		{"0.0.0.0 advertised", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://0.0.0.0:9092"},
			"advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.", "", ""},
		{"0.0.0.0 listener without advertised", []string{"KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092"},
			"advertised.listeners cannot use the nonroutable meta-address 0.0.0.0", "", ""},
		{"control plane listener not in the map", append(one[:2:2], "KAFKA_CONTROL_PLANE_LISTENER_NAME=CONTROLLER"),
			"Listener with CONTROLLER defined in control.plane.listener.name not found in listener.security.protocol.map.", "", ""},
		{"control plane listener is the inter-broker one", append(one[:2:2], "KAFKA_CONTROL_PLANE_LISTENER_NAME=PLAINTEXT"),
			"control.plane.listener.name, when defined, should have a different value from the inter broker listener name. Currently they both have the value PLAINTEXT", "", ""},
		{"control plane listener not advertised", []string{"KAFKA_LISTENERS=PLAINTEXT://:9092,CONTROLLER://:9091",
			"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://h:9092",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", "KAFKA_CONTROL_PLANE_LISTENER_NAME=CONTROLLER"},
			"control.plane.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are PLAINTEXT", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var warnings strings.Builder
			cfg, err := Load("", append(append([]string{}, base...), c.env...), nil, slog.New(slog.NewTextHandler(&warnings, nil)))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			case c.wantErr != "":
				return
			}
			if cfg.InterBrokerListener != c.ib || cfg.ControlPlaneListener != c.cp {
				t.Fatalf("inter-broker %q control plane %q, want %q %q", cfg.InterBrokerListener, cfg.ControlPlaneListener, c.ib, c.cp)
			}
			if warnings.Len() != 0 {
				t.Fatalf("warnings: %s", warnings.String())
			}
		})
	}
}

// The parsed endpoints keep Kafka's order and normalised names, and carry
// the mapped protocol.
func TestListenerEndpoints(t *testing.T) {
	cfg, err := Load("", []string{"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_BROKER_ID=0",
		"KAFKA_LISTENERS=plaintext://:29092,PLAINTEXT_HOST://[::1]:9092,SSL://127.0.0.1:9093",
		"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT_HOST://localhost:9092,plaintext://kafka:29092,SSL://kafka:9093",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,SSL:SSL",
		"KAFKA_SSL_KEYSTORE_TYPE=PEM", "KAFKA_SSL_KEYSTORE_LOCATION=" + selfSigned(t, t.TempDir(), "k")}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	bind, err := cfg.BindListeners()
	if err != nil {
		t.Fatal(err)
	}
	wantBind := []broker.Listener{{Name: "PLAINTEXT", Port: 29092, Protocol: broker.Plaintext},
		{Name: "PLAINTEXT_HOST", Host: "::1", Port: 9092, Protocol: broker.Plaintext},
		{Name: "SSL", Host: "127.0.0.1", Port: 9093, Protocol: broker.SSL}}
	if !reflect.DeepEqual(bind, wantBind) {
		t.Fatalf("listeners %+v, want %+v", bind, wantBind)
	}
	adv, err := cfg.AdvertisedEndpoints()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range adv {
		got = append(got, l.String()+"/"+l.Protocol.String())
	}
	want := []string{"PLAINTEXT_HOST://localhost:9092/PLAINTEXT", "PLAINTEXT://kafka:29092/PLAINTEXT", "SSL://kafka:9093/SSL"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("advertised %q, want %q", got, want)
	}
	if s := bind[1].String(); s != "PLAINTEXT_HOST://[::1]:9092" {
		t.Fatalf("IPv6 connection string %q", s)
	}
	if s := bind[0].String(); s != "PLAINTEXT://:29092" {
		t.Fatalf("no-host connection string %q", s)
	}
}

// TestListenerKnownDifferences records where this broker's listener
// handling differs from Kafka 3.9's, each with Kafka's behaviour: the test
// asserts ours, so a change shows.
func TestListenerKnownDifferences(t *testing.T) {
	base := []string{"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_BROKER_ID=0"}
	cases := []struct {
		name, kafka string
		env         []string
		wantErr     string // ours; "" loads
	}{
		{"empty advertised.listeners",
			"requirement failed: There must be at least one broker advertised listener.",
			[]string{"KAFKA_LISTENERS=PLAINTEXT://:9092", "KAFKA_ADVERTISED_LISTENERS="}, ""},
		{"port out of range",
			"accepted by the configuration; the bind fails at start-up",
			[]string{"KAFKA_LISTENERS=PLAINTEXT://:70000"}, "port 70000 of listener PLAINTEXT is out of range"},
	}
	for _, c := range cases {
		_, err := Load("", append(append([]string{}, base...), c.env...), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v (Kafka: %s)", c.name, err, c.kafka)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want %q (Kafka: %s)", c.name, err, c.wantErr, c.kafka)
		}
	}
}
