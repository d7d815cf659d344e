package broker

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseJAASConfig is JaasConfig's grammar: module, flag, key=value
// options (quoted with Java escapes, or bare words), ';'; and its errors.
func TestParseJAASConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []jaasEntry
		wantErr string
	}{
		{name: "plain users", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
			want: []jaasEntry{{module: plainLoginModule, flag: "REQUIRED", options: map[string]string{"username": "admin", "password": "admin-secret", "user_admin": "admin-secret", "user_alice": "alice-secret"}}}},
		{name: "flag case, bare word values, newlines", in: "org.apache.kafka.common.security.scram.ScramLoginModule Optional\n  username=alice-1\n  password=$ecret_x;",
			want: []jaasEntry{{module: scramLoginModule, flag: "OPTIONAL", options: map[string]string{"username": "alice-1", "password": "$ecret_x"}}}},
		{name: "single quotes and escapes", in: `M required a='its' b="x\"y\\z\n\101" c="";`,
			want: []jaasEntry{{module: "M", flag: "REQUIRED", options: map[string]string{"a": "its", "b": "x\"y\\z\nA", "c": ""}}}},
		{name: "comments", in: "// leading\nM /* inline */ sufficient k=\"v\"; // trailing",
			want: []jaasEntry{{module: "M", flag: "SUFFICIENT", options: map[string]string{"k": "v"}}}},
		{name: "two modules", in: `A required; B requisite x="1";`,
			want: []jaasEntry{{module: "A", flag: "REQUIRED", options: map[string]string{}}, {module: "B", flag: "REQUISITE", options: map[string]string{"x": "1"}}}},
		{name: "empty", in: "  ", wantErr: "Login module not specified in JAAS config"},
		{name: "no flag", in: "M", wantErr: "Login module control flag not specified in JAAS config"},
		{name: "bad flag", in: "M always;", wantErr: "Invalid login module control flag 'always' in JAAS config"},
		{name: "no value", in: `M required user_a=;`, wantErr: "Value not specified for key 'user_a' in JAAS config"},
		{name: "numeric value", in: `M required user_a=123;`, wantErr: "Value not specified for key 'user_a' in JAAS config"},
		{name: "no equals", in: `M required user_a "x";`, wantErr: "Value not specified for key 'user_a' in JAAS config"},
		{name: "no semicolon", in: `M required user_a="x"`, wantErr: "JAAS config entry not terminated by semi-colon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJAASConfig(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].module != tc.want[i].module || got[i].flag != tc.want[i].flag || !maps.Equal(got[i].options, tc.want[i].options) {
					t.Errorf("entry %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseJAASFile(t *testing.T) {
	in := `// kafka_server_jaas.conf
KafkaServer {
   org.apache.kafka.common.security.plain.PlainLoginModule required
   username="admin" password="admin-secret" user_admin="admin-secret";
   org.apache.kafka.common.security.scram.ScramLoginModule required;
};
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="zk" password="zk"; };
`
	f, err := parseJAASFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(f["KafkaServer"]) != 2 || len(f["Client"]) != 1 {
		t.Fatalf("sections %+v", f)
	}
	if u := plainUsers(f["KafkaServer"]); !maps.Equal(u, map[string]string{"admin": "admin-secret"}) {
		t.Errorf("plain users %v", u)
	}
	for _, bad := range []string{"KafkaServer { A required; ", "KafkaServer A required; };", "KafkaServer { A required; }", "KafkaServer { A; };"} {
		if _, err := parseJAASFile(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestSASLSettings: mechanisms and JAAS entries per listener, the JAAS
// file fallback, and the start-up errors naming their key.
func TestSASLSettings(t *testing.T) {
	dir := t.TempDir()
	jaasFile := filepath.Join(dir, "jaas.conf")
	if err := os.WriteFile(jaasFile, []byte(`sasl_plaintext.KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="b"; };
KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required user_carol="c"; };`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		static  map[string]string
		jaas    string
		wantErr string
		check   func(t *testing.T, ls *listenerSASL)
	}{
		{name: "default GSSAPI refused", static: base(), wantErr: "configuration sasl.enabled.mechanisms: SASL mechanism GSSAPI is not served"},
		{name: "listener-prefixed mechanisms win", static: base("sasl.enabled.mechanisms", "GSSAPI",
			"listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config", testJAAS),
			check: func(t *testing.T, ls *listenerSASL) {
				if strings.Join(ls.mechanisms, ",") != "PLAIN" || ls.plainUsers["alice"] != "alice-secret" {
					t.Errorf("%+v", ls)
				}
			}},
		{name: "OAUTHBEARER refused naming the prefixed key", static: base("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN,OAUTHBEARER"),
			wantErr: "configuration listener.name.sasl_plaintext.sasl.enabled.mechanisms: SASL mechanism OAUTHBEARER"},
		{name: "no JAAS entry", static: base("sasl.enabled.mechanisms", "SCRAM-SHA-256"),
			wantErr: "missing configuration listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config"},
		{name: "unprefixed sasl.jaas.config is ignored, as Kafka does", static: base("sasl.enabled.mechanisms", "PLAIN", "sasl.jaas.config", testJAAS),
			wantErr: "missing configuration listener.name.sasl_plaintext.plain.sasl.jaas.config"},
		{name: "bad JAAS value", static: base("sasl.enabled.mechanisms", "PLAIN", "listener.name.sasl_plaintext.plain.sasl.jaas.config", "M required x=;"),
			wantErr: "invalid value for configuration listener.name.sasl_plaintext.plain.sasl.jaas.config: Value not specified for key 'x' in JAAS config"},
		{name: "JAAS file: the listener's section first", static: base("sasl.enabled.mechanisms", "PLAIN"), jaas: jaasFile,
			check: func(t *testing.T, ls *listenerSASL) {
				if !maps.Equal(ls.plainUsers, map[string]string{"bob": "b"}) {
					t.Errorf("users %v", ls.plainUsers)
				}
			}},
		{name: "missing JAAS file", static: base("sasl.enabled.mechanisms", "PLAIN"), jaas: filepath.Join(dir, "nope"), wantErr: "reading the JAAS file"},
		{name: "reauth per mechanism, listener, broker", static: base("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config", testJAAS,
			"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;",
			"connections.max.reauth.ms", "1000", "listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms", "5000"),
			check: func(t *testing.T, ls *listenerSASL) {
				if ls.reauthMs["PLAIN"] != 1000 || ls.reauthMs["SCRAM-SHA-512"] != 5000 {
					t.Errorf("reauth %v", ls.reauthMs)
				}
			}},
		{name: "bad delay", static: base("connection.failed.authentication.delay.ms", "-1"),
			wantErr: "Invalid value -1 for configuration connection.failed.authentication.delay.ms: Value must be at least 0"},
		{name: "delay not below the idle limit", static: base("connection.failed.authentication.delay.ms", "600000"),
			wantErr: "requirement failed: connection.failed.authentication.delay.ms=600000 should always be less than connections.max.idle.ms=600000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Listeners = []string{"PLAINTEXT://:9092", "SASL_PLAINTEXT://:9093"}
			cfg.StaticConfigs = tc.static
			cfg.JAASConfigFile = tc.jaas
			st, err := newSASLSettings(cfg, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := st.listeners["PLAINTEXT"]; ok {
				t.Error("PLAINTEXT listener has SASL settings")
			}
			tc.check(t, st.listeners["SASL_PLAINTEXT"])
		})
	}
}

// FuzzParseJAASConfig: any input parses or fails with an error, never
// panics; what parses has a module and a known flag.
func FuzzParseJAASConfig(f *testing.F) {
	f.Add(testJAAS)
	f.Add(`M required a='x\'y' b="\777";`)
	f.Add("KafkaServer { A required; };")
	f.Add("/* x")
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := parseJAASConfig(s)
		if err == nil {
			for _, e := range entries {
				switch e.flag {
				case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
				default:
					t.Fatalf("flag %q", e.flag)
				}
			}
		}
		_, _ = parseJAASFile(s)
	})
}

func TestJAASFileFromKafkaOpts(t *testing.T) {
	for in, want := range map[string]string{
		"": "",
		"-Xmx1G -Djava.security.auth.login.config=/etc/kafka/kafka_server_jaas.conf -Dfoo=bar": "/etc/kafka/kafka_server_jaas.conf",
		`-Djava.security.auth.login.config="/a b.conf"`:                                        `/a`,
		"-Djava.security.auth.login.config='/x.conf'":                                          "/x.conf",
		"-Dother=1": "",
	} {
		if got := JAASFileFromKafkaOpts(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
