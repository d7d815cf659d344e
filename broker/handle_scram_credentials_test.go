package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// mapConfigStore is /config/<type>/<name> in memory; changes lists the
// notifications' entity paths.
type mapConfigStore struct {
	mu      sync.Mutex
	configs map[string]map[string]string // "users/alice" -> config
	changes []string
}

func (m *mapConfigStore) EntityConfig(typ, name string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.configs[typ+"/"+name]), nil
}

func (m *mapConfigStore) ChangeEntityConfig(typ, name string, cfg map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.configs == nil {
		m.configs = map[string]map[string]string{}
	}
	m.configs[typ+"/"+name] = maps.Clone(cfg)
	m.changes = append(m.changes, typ+"/"+name)
	return nil
}

func (m *mapConfigStore) Children(p string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := strings.TrimPrefix(p, zkmeta.ConfigPath+"/") + "/"
	var out []string
	for k := range m.configs {
		if n, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

type activeController struct{ Controller }

func (activeController) Active() bool { return true }

func upsertion(user string, mech int8, iterations int32, password string) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
	u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	u.Name, u.Mechanism, u.Iterations = user, mech, iterations
	u.Salt = []byte("salt-of-" + user)
	if m := scramMechanismByID(mech); m != nil && iterations > 0 {
		u.SaltedPassword, _ = m.saltedPassword(password, u.Salt, int(iterations))
	} else {
		u.SaltedPassword = []byte("x")
	}
	return u
}

func deletion(user string, mech int8) kmsg.AlterUserSCRAMCredentialsRequestDeletion {
	d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	d.Name, d.Mechanism = user, mech
	return d
}

func alterResults(resp kmsg.Response) string {
	var parts []string
	for _, r := range resp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
		var s string
		if r.ErrorCode == 0 {
			s = r.User + ":OK"
		} else {
			s = r.User + ":" + kerr.ErrorForCode(r.ErrorCode).(*kerr.Error).Message + " " + deref(r.ErrorMessage)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// TestAlterUserScramCredentials is ZkAdminManager.alterUserScramCredentials'
// list of cases; the written znode is Kafka's credential string, and the
// broker authenticates with it.
func TestAlterUserScramCredentials(t *testing.T) {
	const sha256, sha512 = 1, 2
	for _, tc := range []struct {
		name       string
		existing   map[string]map[string]string
		upserts    []kmsg.AlterUserSCRAMCredentialsRequestUpsertion
		deletes    []kmsg.AlterUserSCRAMCredentialsRequestDeletion
		notActive  bool
		want       string
		wantConfig map[string][]string // user -> mechanisms in its config afterwards
	}{
		{name: "upsert both", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("alice", sha256, 8192, "pw"), upsertion("alice", sha512, 4096, "pw")},
			want: "alice:OK", wantConfig: map[string][]string{"alice": {"SCRAM-SHA-256", "SCRAM-SHA-512"}}},
		{name: "not the controller", notActive: true, upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("alice", sha256, 8192, "pw")},
			want: "alice:NOT_CONTROLLER This is not the correct controller for this cluster."},
		{name: "empty user", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("", sha256, 8192, "pw")},
			want: ":UNACCEPTABLE_CREDENTIAL Username must not be empty"},
		{name: "unknown mechanism", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("bob", 3, 8192, "pw")},
			want: "bob:UNSUPPORTED_SASL_MECHANISM Unknown SCRAM mechanism"},
		{name: "too few iterations", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("bob", sha256, 4095, "pw")},
			want: "bob:UNACCEPTABLE_CREDENTIAL Too few iterations"},
		{name: "too many iterations", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("bob", sha512, 16385, "pw")},
			want: "bob:UNACCEPTABLE_CREDENTIAL Too many iterations"},
		{name: "same mechanism twice", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("bob", sha256, 4096, "a")},
			deletes: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{deletion("bob", sha256)},
			want:    "bob:DUPLICATE_RESOURCE A user credential cannot be altered twice in the same request"},
		{name: "delete a credential that does not exist", deletes: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{deletion("carol", sha512)},
			want: "carol:RESOURCE_NOT_FOUND Attempt to delete a user credential that does not exist"},
		{name: "delete unknown mechanism", deletes: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{deletion("carol", 0)},
			want: "carol:UNSUPPORTED_SASL_MECHANISM Unknown SCRAM mechanism"},
		{name: "delete one, keep the other and other configs",
			existing: map[string]map[string]string{"users/dave": {"SCRAM-SHA-256": "salt=YQ==,stored_key=YQ==,server_key=YQ==,iterations=4096",
				"SCRAM-SHA-512": "salt=YQ==,stored_key=YQ==,server_key=YQ==,iterations=4096", "producer_byte_rate": "1024"}},
			deletes: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{deletion("dave", sha256)},
			want:    "dave:OK", wantConfig: map[string][]string{"dave": {"SCRAM-SHA-512", "producer_byte_rate"}}},
		{name: "one bad user does not fail the others",
			upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("erin", sha256, 1, "pw"), upsertion("frank", sha256, 4096, "pw")},
			want:    "erin:UNACCEPTABLE_CREDENTIAL Too few iterations; frank:OK", wantConfig: map[string][]string{"frank": {"SCRAM-SHA-256"}}},
		{name: "user name sanitized in the path", upserts: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{upsertion("a b*c", sha256, 4096, "pw")},
			want: "a b*c:OK", wantConfig: map[string][]string{"a%20b%2Ac": {"SCRAM-SHA-256"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			store := &mapConfigStore{configs: map[string]map[string]string{}}
			for k, v := range tc.existing {
				store.configs[k] = v
			}
			s.userConfigs = store
			if !tc.notActive {
				s.SetController(activeController{})
			}
			req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			req.Upsertions, req.Deletions = tc.upserts, tc.deletes
			if got := alterResults(dispatchRequest(t, s, req)); got != tc.want {
				t.Errorf("results %q\nwant    %q", got, tc.want)
			}
			for user, mechs := range tc.wantConfig {
				cfg := store.configs["users/"+user]
				keys := strings.Join(slices.Sorted(maps.Keys(cfg)), ",")
				if keys != strings.Join(mechs, ",") {
					t.Errorf("config of %s: %v, want keys %v", user, cfg, mechs)
				}
			}
			if tc.wantConfig == nil && len(store.changes) > 0 {
				t.Errorf("configs written: %v", store.changes)
			}
		})
	}
}

// TestScramCredentialString: the znode value Kafka writes for a salt,
// salted password and iterations (RFC 7677's SCRAM-SHA-256 test vector:
// user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096).
func TestScramCredentialString(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	c, err := scramSHA256.credential("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	got := scramCredentialString(c)
	back, err := parseScramCredential(got)
	if err != nil || scramCredentialString(back) != got {
		t.Fatalf("round trip %q: %v", got, err)
	}
	// RFC 7677 section 3: the exchange's server signature.
	srv := &scramServer{mech: scramSHA256, lookup: func(string, string) (scramCredential, bool) { return c, true },
		nonce: func() (string, error) { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", nil }}
	first, err := srv.evaluate([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if err != nil || string(first) != "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096" {
		t.Fatalf("server first %q, %v", first, err)
	}
	final, err := srv.evaluate([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || string(final) != "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" || !srv.complete() || srv.authorizationID() != "user" {
		t.Fatalf("server final %q, %v", final, err)
	}
	for _, bad := range []string{"salt=YQ==,stored_key=YQ==,server_key=YQ==", "salt=YQ==,stored_key=YQ==,server_key=YQ==,iterations=x",
		"salt=!,stored_key=YQ==,server_key=YQ==,iterations=1", "salt=YQ==,stored_key=YQ==,server_key=YQ==,iter=1", "=,a=b,c=d,e=f"} {
		if _, err := parseScramCredential(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for in, want := range map[string]string{"alice": "alice", "a b": "a%20b", "x*y": "x%2Ay", "ü": "%C3%BC", "a+b/c": "a%2Bb%2Fc"} {
		if got := sanitizeEntityName(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
		if back, err := desanitizeEntityName(want); err != nil || back != in {
			t.Errorf("desanitize(%q) = %q, %v", want, back, err)
		}
	}
}

// TestDescribeUserScramCredentials: all users sorted, or the named ones
// with Kafka's errors.
func TestDescribeUserScramCredentials(t *testing.T) {
	s := newTestServer(t)
	cred := "salt=YQ==,stored_key=YQ==,server_key=YQ==,iterations="
	s.userConfigs = &mapConfigStore{configs: map[string]map[string]string{
		"users/bob":       {"SCRAM-SHA-512": cred + "8192"},
		"users/alice":     {"SCRAM-SHA-256": cred + "4096", "SCRAM-SHA-512": cred + "16384"},
		"users/quotaonly": {"producer_byte_rate": "10"},
		"users/a%20b":     {"SCRAM-SHA-256": cred + "5000"},
	}}
	describe := func(names ...string) string {
		req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
		for _, n := range names {
			u := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
			u.Name = n
			req.Users = append(req.Users, u)
		}
		resp := dispatchRequest(t, s, req).(*kmsg.DescribeUserSCRAMCredentialsResponse)
		var parts []string
		for _, r := range resp.Results {
			p := r.User + "="
			if r.ErrorCode != 0 {
				p += kerr.ErrorForCode(r.ErrorCode).(*kerr.Error).Message + " " + deref(r.ErrorMessage)
			}
			for _, ci := range r.CredentialInfos {
				p += fmt.Sprintf("[%d:%d]", ci.Mechanism, ci.Iterations)
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "; ")
	}
	if got, want := describe(), "a b=[1:5000]; alice=[1:4096][2:16384]; bob=[2:8192]"; got != want {
		t.Errorf("all: %q, want %q", got, want)
	}
	want := "bob=[2:8192]; =RESOURCE_NOT_FOUND Username must not be empty; quotaonly=RESOURCE_NOT_FOUND Attempt to describe a user credential that does not exist: quotaonly; " +
		"alice=DUPLICATE_RESOURCE Cannot describe SCRAM credentials for the same user twice in a single request: alice"
	if got := describe("bob", "", "quotaonly", "alice", "alice"); got != want {
		t.Errorf("named: %q\nwant   %q", got, want)
	}
}

// TestScramCredentialsInZooKeeper: AlterUserScramCredentials writes
// /config/users/<user> as Kafka does, with its change notification; a
// credential another broker or Kafka's tool writes reaches this broker's
// cache through /config/changes, and its deletion removes it.
func TestScramCredentialsInZooKeeper(t *testing.T) {
	s := zkTestServer(t, nil)
	s.SetController(activeController{})
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = append(req.Upsertions, upsertion("alice", 1, 8192, "alice-secret"))
	if got := alterResults(dispatchRequest(t, s, req)); got != "alice:OK" {
		t.Fatalf("alter: %s", got)
	}
	data, _, err := s.zk.Get(zkmeta.EntityConfigPath("users", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	salt := base64.StdEncoding.EncodeToString([]byte("salt-of-alice"))
	cred, _ := s.scram.get("SCRAM-SHA-256", "alice")
	want := `{"version":1,"config":{"SCRAM-SHA-256":"salt=` + salt + `,stored_key=` + base64.StdEncoding.EncodeToString(cred.storedKey) +
		`,server_key=` + base64.StdEncoding.EncodeToString(cred.serverKey) + `,iterations=8192"}}`
	if string(data) != want {
		t.Errorf("znode %s\nwant      %s", data, want)
	}
	fromPassword, _ := scramSHA256.credential("alice-secret", []byte("salt-of-alice"), 8192)
	if scramCredentialString(cred) != scramCredentialString(fromPassword) {
		t.Errorf("cached credential %s, want %s", scramCredentialString(cred), scramCredentialString(fromPassword))
	}
	changes, err := s.zk.Children(zkmeta.ConfigChangesPath)
	if err != nil || len(changes) != 1 {
		t.Fatalf("notifications %v, %v", changes, err)
	}
	if n, _, _ := s.zk.Get(zkmeta.ConfigChangesPath + "/" + changes[0]); string(n) != `{"version":2,"entity_path":"users/alice"}` {
		t.Errorf("notification %s", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.watchConfigChanges(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Another writer: bob's credential, then alice's removed.
	bob, _ := scramSHA512.credential("bob-secret", []byte("bob-salt"), 4096)
	if err := s.zk.ChangeEntityConfig("users", "bob", map[string]string{"SCRAM-SHA-512": scramCredentialString(bob)}); err != nil {
		t.Fatal(err)
	}
	if err := s.zk.ChangeEntityConfig("users", "alice", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "bob's credential and alice's removal applied", func() bool {
		_, hasBob := s.scram.get("SCRAM-SHA-512", "bob")
		_, hasAlice := s.scram.get("SCRAM-SHA-256", "alice")
		return hasBob && !hasAlice
	})
}

// TestMalformedUserConfigSkipped: a user znode that is not Kafka's JSON
// leaves that user without credentials and does not stop the others from
// loading.
func TestMalformedUserConfigSkipped(t *testing.T) {
	s := zkTestServer(t, nil)
	good, _ := scramSHA256.credential("pw", []byte("salt"), 4096)
	if err := s.zk.ChangeEntityConfig("users", "good", map[string]string{"SCRAM-SHA-256": scramCredentialString(good)}); err != nil {
		t.Fatal(err)
	}
	if err := s.zk.CreateRecursive(zkmeta.EntityConfigPath("users", "bad"), []byte("{not json"), zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	if err := s.loadAllUserCredentials(); err != nil {
		t.Fatalf("load: %v", err)
	}
	if _, ok := s.scram.get("SCRAM-SHA-256", "good"); !ok {
		t.Error("good user's credential not loaded")
	}
}

// TestScramServerFirstMessageForms: an authorization id equal to the
// user, a reserved "m=" and an unknown extension are accepted (Kafka
// ignores unknown extensions); the proof covers the bare message with its
// extensions; tokenauth (delegation tokens) and a different authzid fail.
func TestScramServerFirstMessageForms(t *testing.T) {
	salt := []byte("salt")
	cred, _ := scramSHA512.credential("pw", salt, 4096)
	lookup := func(_, user string) (scramCredential, bool) { return cred, user == "alice" }
	for _, tc := range []struct {
		first   string
		wantErr string
	}{
		{first: "n,,n=alice,r=cnonce"},
		{first: "n,a=alice,n=alice,r=cnonce"},
		{first: "n,,m=res=erved,n=alice,r=cnonce,foo=bar"},
		{first: "n,,n=alice,r=cnonce,tokenauth=true", wantErr: "Token Authentication failed"},
		{first: "n,a=bob,n=alice,r=cnonce", wantErr: "Client requested an authorization id that is different from username"},
		{first: "y,,n=alice,r=cnonce", wantErr: "Invalid SCRAM client first message format"},
		{first: "n,,n=al=ice,r=cnonce", wantErr: "Invalid SCRAM client first message format"},
		{first: "n,,n=bob,r=cnonce", wantErr: "Invalid user credentials"},
	} {
		srv := &scramServer{mech: scramSHA512, lookup: lookup, nonce: func() (string, error) { return "snonce", nil }}
		sf, err := srv.evaluate([]byte(tc.first))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: %v, want %q", tc.first, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.first, err)
		}
		bare := tc.first[strings.Index(tc.first, ",n=")+1:]
		sp, _ := scramSHA512.saltedPassword("pw", salt, 4096)
		clientKey := scramSHA512.hmac(sp, []byte("Client Key"))
		finalNoProof := "c=biws,r=cnoncesnonce"
		sig := scramSHA512.hmac(cred.storedKey, []byte(bare+","+string(sf)+","+finalNoProof))
		proof := make([]byte, len(sig))
		for i := range sig {
			proof[i] = clientKey[i] ^ sig[i]
		}
		if _, err := srv.evaluate([]byte(finalNoProof + ",p=" + base64.StdEncoding.EncodeToString(proof))); err != nil || !srv.complete() {
			t.Errorf("%q: final: %v", tc.first, err)
		}
	}
}
