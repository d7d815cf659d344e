package configs

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// scramMechanisms are Kafka's ScramMechanism values: name, wire id, hash.
var scramMechanisms = []struct {
	name string
	id   int8
	hash func() hash.Hash
}{{"SCRAM-SHA-256", 1, sha256.New}, {"SCRAM-SHA-512", 2, sha512.New}}

func scramMechanismID(name string) (int8, func() hash.Hash, bool) {
	for _, m := range scramMechanisms {
		if m.name == name {
			return m.id, m.hash, true
		}
	}
	return 0, nil, false
}

func scramMechanismName(id int8) string {
	for _, m := range scramMechanisms {
		if m.id == id {
			return m.name
		}
	}
	return "UNKNOWN"
}

// defaultScramIterations is ConfigCommand.DefaultScramIterations.
const defaultScramIterations = 4096

// scramUpsert is a UserScramCredentialUpsertion as the Java admin client
// sends it: a random salt and the salted password, never the password.
type scramUpsert struct {
	mechanism      int8
	iterations     int32
	salt           []byte
	saltedPassword []byte
}

// userScram is one user's DescribeUserScramCredentials result.
type userScram struct {
	user    string
	code    int16
	message *string
	infos   []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo
}

// scramValue is ConfigCommand's credential pattern
// "(?:iterations=(-?[0-9]*),)?password=(.*)".
var scramValue = regexp.MustCompile(`^(?:iterations=(-?[0-9]*),)?password=(.*)$`)

// secureRandomBytes is ScramFormatter.secureRandomBytes: the bytes of 130
// random bits written in base 36, the salt the Java admin client makes.
func secureRandomBytes() ([]byte, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 130))
	if err != nil {
		return nil, err
	}
	return []byte(n.Text(36)), nil
}

// alterUsers is ConfigCommand.alterConfig for users with --bootstrap-server:
// only SCRAM credentials here (quota configs need DescribeClientQuotas and
// AlterClientQuotas, which this broker does not serve), altered with one
// AlterUserScramCredentials.
func alterUsers(ctx context.Context, adm admin, o *options, add map[string]string, del []string) error {
	types, names := o.entityTypes(), o.entityNames()
	isScram := func(k string) bool { _, _, ok := scramMechanismID(k); return ok }
	var unknownAdd, unknownDel []string
	for _, k := range sortedKeys(add) {
		if !isScram(k) {
			unknownAdd = append(unknownAdd, k)
		}
	}
	for _, k := range del {
		if !isScram(k) {
			unknownDel = append(unknownDel, k)
		}
	}
	if len(types) == 2 {
		if len(add) > 0 {
			return illegal("Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: %s", scalaList(sortedKeys(add)))
		}
		return illegal("Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: %s", scalaList(del))
	}
	if len(unknownAdd) > 0 {
		return illegal("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: %s", scalaList(unknownAdd))
	}
	if len(unknownDel) > 0 {
		return illegal("Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: %s", scalaList(unknownDel))
	}
	if names[0] == "" {
		return illegal("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.")
	}
	var upserts []scramUpsert
	for _, m := range scramMechanisms {
		v, ok := add[m.name]
		if !ok {
			continue
		}
		g := scramValue.FindStringSubmatch(v)
		if g == nil {
			return illegal("Invalid credential property %s=%s", scramEnumName(m.name), v)
		}
		iterations := defaultScramIterations
		if g[1] != "" && g[1] != "-1" {
			n, err := strconv.Atoi(g[1])
			if err != nil {
				return illegal("Invalid credential property %s=%s", scramEnumName(m.name), v)
			}
			iterations = n
		}
		if iterations < 4096 {
			return illegal("Iterations %d is less than the minimum 4096 required for %s", iterations, m.name)
		}
		salt, err := secureRandomBytes()
		if err != nil {
			return err
		}
		sp, err := pbkdf2.Key(m.hash, g[2], salt, iterations, m.hash().Size())
		if err != nil {
			return err
		}
		upserts = append(upserts, scramUpsert{mechanism: m.id, iterations: int32(iterations), salt: salt, saltedPassword: sp})
	}
	var dels []int8
	for _, k := range del {
		id, _, _ := scramMechanismID(k)
		dels = append(dels, id)
	}
	return adm.AlterUserScram(ctx, names[0], upserts, dels)
}

// describeUsers is ConfigCommand.describeClientQuotaAndUserScramCredentialConfigs
// for users: the SCRAM part (no quotas are served here), each described
// user's credentials as "<mechanism>=iterations=<n>".
func describeUsers(ctx context.Context, adm admin, o *options, stdout io.Writer) error {
	names := o.entityNames()
	if len(o.entityTypes()) > 1 {
		return nil // users with clients: quotas only
	}
	for _, n := range names {
		if n == "" {
			return nil // --entity-default / --user-defaults: quotas only
		}
	}
	results, err := adm.DescribeUserScram(ctx, names)
	if err != nil {
		return err
	}
	for _, r := range results {
		// DescribeUserScramCredentialsResult.users leaves out RESOURCE_NOT_FOUND.
		if r.code == kerr.ResourceNotFound.Code {
			continue
		}
		if r.code != 0 {
			ae := &apiException{code: r.code, msg: r.message}
			class, msg, _ := strings.Cut(javaException(ae), ": ")
			fmt.Fprintf(stdout, "Error retrieving SCRAM credential configs for user-principal '%s': %s: %s\n", r.user, class[strings.LastIndex(class, ".")+1:], msg)
			continue
		}
		parts := make([]string, 0, len(r.infos))
		for _, ci := range r.infos {
			parts = append(parts, fmt.Sprintf("%s=iterations=%d", scramMechanismName(ci.Mechanism), ci.Iterations))
		}
		fmt.Fprintf(stdout, "SCRAM credential configs for user-principal '%s' are %s\n", r.user, strings.Join(parts, ", "))
	}
	return nil
}

// scalaList prints names as a Scala collection's toString: List(a, b).
func scalaList(names []string) string {
	return "List(" + strings.Join(names, ", ") + ")"
}

func (a *kgoAdmin) AlterUserScram(ctx context.Context, user string, upserts []scramUpsert, dels []int8) error {
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, m := range dels {
		d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		d.Name, d.Mechanism = user, m
		req.Deletions = append(req.Deletions, d)
	}
	for _, u := range upserts {
		up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = user, u.mechanism, u.iterations, u.salt, u.saltedPassword
		req.Upsertions = append(req.Upsertions, up)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return err
	}
	for _, r := range resp.Results {
		if r.ErrorCode != 0 {
			return &apiException{code: r.ErrorCode, msg: r.ErrorMessage}
		}
	}
	return nil
}

func (a *kgoAdmin) DescribeUserScram(ctx context.Context, users []string) ([]userScram, error) {
	req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, u := range users {
		ru := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		ru.Name = u
		req.Users = append(req.Users, ru)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, &apiException{code: resp.ErrorCode, msg: resp.ErrorMessage}
	}
	out := make([]userScram, 0, len(resp.Results))
	for _, r := range resp.Results {
		out = append(out, userScram{user: r.User, code: r.ErrorCode, message: r.ErrorMessage, infos: r.CredentialInfos})
	}
	return out, nil
}
