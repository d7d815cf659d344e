package configs

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (f *fakeAdmin) AlterUserScram(_ context.Context, user string, upserts []scramUpsert, dels []int8) error {
	for _, d := range dels {
		f.altered = append(f.altered, fmt.Sprintf("%s:delete:%s", user, scramMechanismName(d)))
	}
	for _, u := range upserts {
		f.altered = append(f.altered, fmt.Sprintf("%s:upsert:%s:%d", user, scramMechanismName(u.mechanism), u.iterations))
		f.upserts = append(f.upserts, u)
	}
	return f.alterErr
}

func (f *fakeAdmin) DescribeUserScram(_ context.Context, users []string) ([]userScram, error) {
	info := func(m int8, it int32) kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo {
		ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		ci.Mechanism, ci.Iterations = m, it
		return ci
	}
	all := []userScram{{user: "alice", infos: []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{info(1, 8192), info(2, 4096)}},
		{user: "bob", infos: []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{info(2, 4096)}}}
	if len(users) == 0 {
		return all, nil
	}
	var out []userScram
	for _, u := range users {
		found := false
		for _, a := range all {
			if a.user == u {
				out, found = append(out, a), true
			}
		}
		if !found {
			msg := "Attempt to describe a user credential that does not exist: " + u
			out = append(out, userScram{user: u, code: kerr.ResourceNotFound.Code, message: &msg})
		}
	}
	return out, nil
}

// TestUsersCommand: kafka-configs for users' SCRAM credentials, with
// ConfigCommand's checks, messages and output.
func TestUsersCommand(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
		altered   []string
		alterErr  error
	}{
		{name: "add both", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config",
			"SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]"},
			stdout: "Completed updating config for user alice.\n", altered: []string{"alice:upsert:SCRAM-SHA-256:8192", "alice:upsert:SCRAM-SHA-512:4096"}},
		{name: "delete", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--delete-config", "SCRAM-SHA-256"},
			stdout: "Completed updating config for user alice.\n", altered: []string{"alice:delete:SCRAM-SHA-256"}},
		{name: "--user form", args: []string{"--user", "alice", "--alter", "--add-config", "SCRAM-SHA-512=[iterations=-1,password=x]"},
			stdout: "Completed updating config for user alice.\n", altered: []string{"alice:upsert:SCRAM-SHA-512:4096"}},
		{name: "too few iterations", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", "SCRAM-SHA-256=[iterations=100,password=x]"},
			code: 1, stderrHas: "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-256"},
		{name: "bad credential", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", "SCRAM-SHA-256=[pass=x]"},
			code: 1, stderrHas: "Invalid credential property SCRAM_SHA_256=pass=x"},
		{name: "unknown config", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", "foo=bar"},
			code: 1, stderrHas: "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: List(foo)"},
		{name: "default user", args: []string{"--entity-type", "users", "--entity-default", "--alter", "--add-config", "SCRAM-SHA-256=[password=x]"},
			code: 1, stderrHas: "The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server."},
		{name: "broker refuses", args: []string{"--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", "SCRAM-SHA-256=[password=x]"},
			alterErr: &apiException{code: kerr.UnacceptableCredential.Code, msg: strp("Too many iterations")}, code: 1,
			stderrHas: "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.UnacceptableCredentialException: Too many iterations"},
		{name: "describe one", args: []string{"--entity-type", "users", "--entity-name", "alice", "--describe"},
			stdout: "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"},
		{name: "describe all", args: []string{"--entity-type", "users", "--describe"},
			stdout: "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n" +
				"SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-512=iterations=4096\n"},
		{name: "describe unknown prints nothing", args: []string{"--entity-type", "users", "--entity-name", "carol", "--describe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAdmin{alterErr: tc.alterErr}
			var out, errb bytes.Buffer
			args := append([]string{"--bootstrap-server", "127.0.0.1:1"}, tc.args...)
			code := run(context.Background(), args, &out, &errb, func(map[string]string) (admin, error) { return f, nil })
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderrHas) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tc.stderrHas)
			}
			if tc.altered != nil && strings.Join(f.altered, " ") != strings.Join(tc.altered, " ") {
				t.Errorf("altered %v, want %v", f.altered, tc.altered)
			}
			// The salted password is PBKDF2 of the password with the salt sent.
			for _, u := range f.upserts {
				if u.mechanism == 1 && strings.Contains(tc.name, "add both") {
					want, _ := pbkdf2.Key(sha256.New, "alice-secret", u.salt, int(u.iterations), 32)
					if !bytes.Equal(want, u.saltedPassword) {
						t.Errorf("salted password does not match")
					}
				}
			}
		})
	}
}
