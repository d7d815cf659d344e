package server

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/broker"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// TestRegistrationJSON is /brokers/ids/<id> as Kafka 3.9's
// BrokerIdZNode.encode writes it for advertised listeners (key order of its
// mutable.HashMap; listener_security_protocol_map over the advertised
// endpoints only, in their order; top-level host and port of the first
// PLAINTEXT-protocol endpoint, else null and -1). The Confluent line is
// what a real Kafka 3.9 broker wrote (TestNamedListeners compares the two
// live).
func TestRegistrationJSON(t *testing.T) {
	l := func(name, host string, port int32, p broker.SecurityProtocol) broker.Listener {
		return broker.Listener{Name: name, Host: host, Port: port, Protocol: p}
	}
	cases := []struct {
		name string
		adv  []broker.Listener
		want string
	}{
		{"Confluent", []broker.Listener{l("PLAINTEXT", "127.0.0.1", 20962, broker.Plaintext), l("PLAINTEXT_HOST", "localhost", 14010, broker.Plaintext)},
			`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","PLAINTEXT_HOST":"PLAINTEXT"},"endpoints":["PLAINTEXT://127.0.0.1:20962","PLAINTEXT_HOST://localhost:14010"],"jmx_port":-1,"port":20962,"host":"127.0.0.1","version":5,"timestamp":"T"}`},
		{"Testcontainers", []broker.Listener{l("PLAINTEXT", "localhost", 32789, broker.Plaintext), l("BROKER", "172.17.0.3", 9092, broker.Plaintext)},
			`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","BROKER":"PLAINTEXT"},"endpoints":["PLAINTEXT://localhost:32789","BROKER://172.17.0.3:9092"],"jmx_port":-1,"port":32789,"host":"localhost","version":5,"timestamp":"T"}`},
		{"first PLAINTEXT protocol, not name", []broker.Listener{l("SSL", "h", 9093, broker.SSL), l("INTERNAL", "i", 29092, broker.Plaintext), l("PLAINTEXT", "p", 9092, broker.Plaintext)},
			`{"features":{},"listener_security_protocol_map":{"SSL":"SSL","INTERNAL":"PLAINTEXT","PLAINTEXT":"PLAINTEXT"},"endpoints":["SSL://h:9093","INTERNAL://i:29092","PLAINTEXT://p:9092"],"jmx_port":-1,"port":29092,"host":"i","version":5,"timestamp":"T"}`},
		{"no PLAINTEXT protocol", []broker.Listener{l("SASL_SSL", "h", 9094, broker.SASLSSL)},
			`{"features":{},"listener_security_protocol_map":{"SASL_SSL":"SASL_SSL"},"endpoints":["SASL_SSL://h:9094"],"jmx_port":-1,"port":-1,"host":null,"version":5,"timestamp":"T"}`},
		{"IPv6", []broker.Listener{l("PLAINTEXT", "::1", 9092, broker.Plaintext)},
			`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://[::1]:9092"],"jmx_port":-1,"port":9092,"host":"::1","version":5,"timestamp":"T"}`},
	}
	ts := regexp.MustCompile(`"timestamp":"\d+"`)
	for _, c := range cases {
		data, err := zkmeta.EncodeBroker(brokerInfo(1, c.adv))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ts.ReplaceAllString(string(data), `"timestamp":"T"`); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		back, err := zkmeta.DecodeBroker(1, data)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		for i, ep := range back.ListenerEndpoints() {
			if ep.Listener != c.adv[i].Name || ep.Host != c.adv[i].Host || ep.Port != c.adv[i].Port || ep.SecurityProtocol != c.adv[i].Protocol.String() {
				t.Errorf("%s: endpoint %d read back as %+v", c.name, i, ep)
			}
		}
	}
}

// KafkaServer.createBrokerInfo refuses to start a broker whose configured
// advertised endpoints another registered broker already has.
func TestAdvertisedEndpointTaken(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	zkc, err := zkmeta.Connect(ctx, connect, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zkc.Close()
	if err := zkc.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	if _, err := zkc.RegisterBroker(zkmeta.BrokerInfo{ID: 7, Endpoints: []string{"OTHER://127.0.0.1:1", "INTERNAL://kafka-x:29092"},
		SecurityProtocols: map[string]string{"OTHER": "PLAINTEXT", "INTERNAL": "PLAINTEXT"}}); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, connect, 0, "listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"advertised.listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://kafka-x:29092",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT")
	b.stopOnce.Do(func() {}) // it stops by itself
	select {
	case err := <-b.done:
		want := "requirement failed: Configured end points kafka-x:29092 in advertised listeners are already registered by broker 7"
		if err == nil || err.Error() != want {
			t.Fatalf("start: %v, want %q", err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the broker started although its advertised endpoint is taken")
	}
}
