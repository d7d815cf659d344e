package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSASLListenerConfig: a SASL_PLAINTEXT listener loads with its
// mechanisms and JAAS entries (listener- and mechanism-prefixed keys are
// known, no warning), or from the JAAS file KAFKA_OPTS names; without
// them the broker does not start, the error naming the key.
func TestSASLListenerConfig(t *testing.T) {
	base := "broker.id=0\nzookeeper.connect=h:2181\nlisteners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\n"
	jaasFile := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(jaasFile, []byte("KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"; };\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		props   string
		env     []string
		wantErr string
	}{
		{name: "prefixed JAAS", props: base + "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512\n" +
			"listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\";\n" +
			"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n" +
			"listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms=60000\nconnection.failed.authentication.delay.ms=200\n"},
		{name: "JAAS file from KAFKA_OPTS", props: base + "sasl.enabled.mechanisms=PLAIN\n",
			env: []string{"KAFKA_OPTS=-Djava.security.auth.login.config=" + jaasFile}},
		{name: "default GSSAPI", props: base, wantErr: "sasl.enabled.mechanisms"},
		{name: "no JAAS", props: base + "sasl.enabled.mechanisms=PLAIN\n", wantErr: "listener.name.sasl_plaintext.plain.sasl.jaas.config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warnings strings.Builder
			c, err := Load(writeProps(t, tc.props), tc.env, nil, slog.New(slog.NewTextHandler(&warnings, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if warnings.Len() != 0 {
				t.Errorf("warnings: %s", warnings.String())
			}
			if tc.env != nil && c.JAASConfigFile != jaasFile {
				t.Errorf("JAAS file %q", c.JAASConfigFile)
			}
		})
	}
}
