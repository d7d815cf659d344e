package cli

import (
	"strings"
	"testing"
)

func TestSASLOpts(t *testing.T) {
	const plainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";`
	const scramJAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`
	for _, tc := range []struct {
		name    string
		props   map[string]string
		opts    int
		wantErr string
	}{
		{name: "plaintext ignores sasl keys", props: map[string]string{"sasl.mechanism": "PLAIN"}},
		{name: "PLAIN", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": plainJAAS}, opts: 1},
		{name: "SCRAM-SHA-512", props: map[string]string{"security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": scramJAAS}, opts: 1},
		{name: "default GSSAPI", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.jaas.config": plainJAAS}, wantErr: "sasl.mechanism GSSAPI is not supported"},
		{name: "module for another mechanism", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256", "sasl.jaas.config": plainJAAS},
			wantErr: "needs org.apache.kafka.common.security.scram.ScramLoginModule"},
		{name: "no JAAS", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}, wantErr: "sasl.jaas.config"},
		{name: "bad JAAS", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": "x required"},
			wantErr: "JAAS config entry not terminated by semi-colon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := SASLOpts(tc.props)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(opts) != tc.opts {
				t.Fatalf("%d options, %v", len(opts), err)
			}
		})
	}
}
