// DescribeUserScramCredentials v0 and AlterUserScramCredentials v0
// (KIP-554), as Kafka 3.9 in ZooKeeper mode: credentials in
// /config/users/<sanitized user> (Kafka's salt=,stored_key=,server_key=,
// iterations= strings), changed with a /config/changes notification, so
// every broker's credential cache (and Kafka's) follows. Alter answers
// NOT_CONTROLLER on a broker that is not the controller, then checks each
// user as ZkAdminManager does (empty name, duplicate user, unknown
// mechanism, iterations outside 4096..16384, a deletion of a missing
// credential: RESOURCE_NOT_FOUND). Authorization (DESCRIBE / ALTER on the
// Cluster) is in acl_checks.go. Deviation from Kafka 3.9: a refused
// Describe of all users is answered with the error; Kafka's error path
// fails with a NullPointerException and never answers.

package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// entityConfigStore is what the SCRAM credential APIs need of ZooKeeper:
// /config/users/<sanitized user> and its change notification
// (zkmeta.Client; a map in tests).
type entityConfigStore interface {
	EntityConfig(entityType, name string) (map[string]string, error)
	ChangeEntityConfig(entityType, name string, configs map[string]string) error
	Children(path string) ([]string, error)
}

// userConfigStore is the store of the SCRAM credential APIs; nil without
// ZooKeeper.
func (s *Server) userConfigStore() entityConfigStore {
	if s.userConfigs != nil {
		return s.userConfigs
	}
	if s.zk == nil {
		return nil
	}
	return s.zk
}

// Messages of ZkAdminManager.
const (
	usernameMustNotBeEmpty     = "Username must not be empty"
	describeUserDoesNotExist   = "Attempt to describe a user credential that does not exist"
	deleteCredentialNotExist   = "Attempt to delete a user credential that does not exist"
	unknownScramMechanismMsg   = "Unknown SCRAM mechanism"
	tooFewIterationsMsg        = "Too few iterations"
	tooManyIterationsMsg       = "Too many iterations"
	credentialAlteredTwiceMsg  = "A user credential cannot be altered twice in the same request"
	describeUserTwiceMsgPrefix = "Cannot describe SCRAM credentials for the same user twice in a single request: "
)

// scramCredentialInfos lists a user config's SCRAM credentials in
// ScramMechanism order; ok is false when it has none.
func scramCredentialInfos(config map[string]string) ([]kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo, bool, error) {
	var infos []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo
	found := false
	for _, m := range []*scramMechanism{scramSHA256, scramSHA512} {
		v, ok := config[m.name]
		if !ok {
			continue
		}
		found = true
		c, err := parseScramCredential(v)
		if err != nil {
			return nil, true, err
		}
		ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		ci.Mechanism, ci.Iterations = m.id, int32(c.iterations)
		infos = append(infos, ci)
	}
	return infos, found, nil
}

// handleDescribeUserScramCredentials is
// ZkAdminManager.describeUserScramCredentials: every user with a SCRAM
// credential (sorted) when none is named; else each named user once, with
// RESOURCE_NOT_FOUND for an empty name or a user without credentials and
// DUPLICATE_RESOURCE for a name given twice. Any broker answers.
func (s *Server) handleDescribeUserScramCredentials(req *kmsg.DescribeUserSCRAMCredentialsRequest) kmsg.Response {
	resp := kmsg.NewPtrDescribeUserSCRAMCredentialsResponse()
	resp.ErrorMessage = new(string) // "", as Kafka's response data
	store := s.userConfigStore()
	result := func(user string, code int16, msg string) kmsg.DescribeUserSCRAMCredentialsResponseResult {
		// Kafka's generated response data default the nullable message
		// to "", never null.
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User, r.ErrorCode, r.ErrorMessage = user, code, &msg
		return r
	}
	fail := func(err error) kmsg.Response {
		resp.ErrorCode = kerr.UnknownServerError.Code
		msg := err.Error()
		resp.ErrorMessage = &msg
		return resp
	}
	if store == nil {
		return fail(errors.New("no ZooKeeper"))
	}
	if len(req.Users) == 0 {
		names, err := store.Children(zkmeta.ConfigPath + "/users")
		if err != nil && !errors.Is(err, zkmeta.ErrNoNode) {
			return fail(err)
		}
		byUser := map[string]kmsg.DescribeUserSCRAMCredentialsResponseResult{}
		for _, n := range names {
			user, err := desanitizeEntityName(n)
			if err != nil {
				continue
			}
			cfg, err := store.EntityConfig("users", n)
			if err != nil {
				return fail(err)
			}
			infos, ok, err := scramCredentialInfos(cfg)
			if !ok {
				continue
			}
			r := result(user, 0, "")
			if err != nil {
				r = result(user, kerr.UnknownServerError.Code, kerr.UnknownServerError.Description)
			} else {
				r.CredentialInfos = infos
			}
			byUser[user] = r
		}
		for _, u := range slices.Sorted(maps.Keys(byUser)) {
			resp.Results = append(resp.Results, byUser[u])
		}
		return resp
	}
	count := map[string]int{}
	for _, u := range req.Users {
		count[u.Name]++
	}
	seen := map[string]bool{}
	for _, u := range req.Users {
		name := u.Name
		if seen[name] {
			continue
		}
		seen[name] = true
		switch {
		case name == "":
			resp.Results = append(resp.Results, result(name, kerr.ResourceNotFound.Code, usernameMustNotBeEmpty))
			continue
		case count[name] > 1:
			resp.Results = append(resp.Results, result(name, kerr.DuplicateResource.Code, describeUserTwiceMsgPrefix+name))
			continue
		}
		cfg, err := store.EntityConfig("users", sanitizeEntityName(name))
		if err != nil {
			resp.Results = append(resp.Results, result(name, kerr.UnknownServerError.Code, kerr.UnknownServerError.Description))
			continue
		}
		infos, ok, err := scramCredentialInfos(cfg)
		switch {
		case !ok:
			resp.Results = append(resp.Results, result(name, kerr.ResourceNotFound.Code, describeUserDoesNotExist+": "+name))
		case err != nil:
			resp.Results = append(resp.Results, result(name, kerr.UnknownServerError.Code, kerr.UnknownServerError.Description))
		default:
			r := result(name, 0, "")
			r.CredentialInfos = infos
			resp.Results = append(resp.Results, r)
		}
	}
	return resp
}

// handleAlterUserScramCredentials is KafkaApis' ZooKeeper-mode
// AlterUserScramCredentials: NOT_CONTROLLER unless this broker is the
// controller, then ZkAdminManager.alterUserScramCredentials: a user with
// an empty name (UNACCEPTABLE_CREDENTIAL), an unknown mechanism
// (UNSUPPORTED_SASL_MECHANISM) or iterations outside [4096, 16384]
// (UNACCEPTABLE_CREDENTIAL) fails whole; so does one with the same
// mechanism twice (DUPLICATE_RESOURCE) or the deletion of a credential it
// does not have (RESOURCE_NOT_FOUND). The others' /config/users/<user> is
// rewritten with its change notification (AdminZkClient.changeConfigs).
func (s *Server) handleAlterUserScramCredentials(req *kmsg.AlterUserSCRAMCredentialsRequest) kmsg.Response {
	resp := kmsg.NewPtrAlterUserSCRAMCredentialsResponse()
	add := func(user string, code int16, msg string) {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User, r.ErrorCode, r.ErrorMessage = user, code, &msg // "" on success, as Kafka
		resp.Results = append(resp.Results, r)
	}
	store := s.userConfigStore()
	if s.activeController() == nil || store == nil {
		users := map[string]bool{}
		for _, u := range req.Upsertions {
			users[u.Name] = true
		}
		for _, d := range req.Deletions {
			users[d.Name] = true
		}
		for _, u := range slices.Sorted(maps.Keys(users)) {
			add(u, kerr.NotController.Code, kerr.NotController.Description)
		}
		return resp
	}
	// The illegal requests, by user (a later message for a user wins, as
	// Kafka's Map ++ does: upsertions after deletions).
	illegal := map[string]string{}
	for _, d := range req.Deletions {
		switch {
		case d.Name == "":
			illegal[d.Name] = usernameMustNotBeEmpty
		case scramMechanismByID(d.Mechanism) == nil:
			illegal[d.Name] = unknownScramMechanismMsg
		}
	}
	for _, u := range req.Upsertions {
		switch {
		case u.Name == "":
			illegal[u.Name] = usernameMustNotBeEmpty
		case scramMechanismByID(u.Mechanism) == nil:
			illegal[u.Name] = unknownScramMechanismMsg
		case u.Iterations > scramMaxIterations:
			illegal[u.Name] = tooManyIterationsMsg
		case u.Iterations < scramMinIterations:
			illegal[u.Name] = tooFewIterationsMsg
		}
	}
	for _, user := range slices.Sorted(maps.Keys(illegal)) {
		code := kerr.UnacceptableCredential.Code
		if illegal[user] == unknownScramMechanismMsg {
			code = kerr.UnsupportedSaslMechanism.Code
		}
		add(user, code, illegal[user])
	}
	type pair struct {
		user string
		mech int8
	}
	pairs := map[pair]int{}
	for _, u := range req.Upsertions {
		if _, bad := illegal[u.Name]; !bad {
			pairs[pair{u.Name, u.Mechanism}]++
		}
	}
	for _, d := range req.Deletions {
		if _, bad := illegal[d.Name]; !bad {
			pairs[pair{d.Name, d.Mechanism}]++
		}
	}
	dup := map[string]bool{}
	valid := map[string]bool{}
	for p, n := range pairs {
		if n > 1 {
			dup[p.user] = true
		}
	}
	for p := range pairs {
		if !dup[p.user] {
			valid[p.user] = true
		}
	}
	for _, u := range slices.Sorted(maps.Keys(dup)) {
		add(u, kerr.DuplicateResource.Code, credentialAlteredTwiceMsg)
	}
	configs := map[string]map[string]string{}
	readFailed := map[string]error{}
	for u := range valid {
		cfg, err := store.EntityConfig("users", sanitizeEntityName(u))
		if err != nil {
			readFailed[u] = err
			continue
		}
		if cfg == nil {
			cfg = map[string]string{}
		}
		configs[u] = cfg
	}
	missing := map[string]bool{}
	for _, d := range req.Deletions {
		if cfg, ok := configs[d.Name]; ok {
			if _, has := cfg[scramMechanismByID(d.Mechanism).name]; !has {
				missing[d.Name] = true
			}
		}
	}
	for _, u := range slices.Sorted(maps.Keys(missing)) {
		add(u, kerr.ResourceNotFound.Code, deleteCredentialNotExist)
	}
	failed := map[string]error{}
	maps.Copy(failed, readFailed)
	for _, d := range req.Deletions {
		if cfg, ok := configs[d.Name]; ok && !missing[d.Name] {
			delete(cfg, scramMechanismByID(d.Mechanism).name)
		}
	}
	for _, u := range req.Upsertions {
		cfg, ok := configs[u.Name]
		if !ok || missing[u.Name] {
			continue
		}
		m := scramMechanismByID(u.Mechanism)
		// ScramFormatter.generateCredential(salt, saltedPassword, iterations):
		// the client sends the salted password, never the password.
		clientKey := m.hmac(u.SaltedPassword, []byte("Client Key"))
		cred := scramCredential{salt: u.Salt, storedKey: m.digest(clientKey), serverKey: m.hmac(u.SaltedPassword, []byte("Server Key")), iterations: int(u.Iterations)}
		cfg[m.name] = scramCredentialString(cred)
	}
	var ok []string
	for _, u := range slices.Sorted(maps.Keys(configs)) {
		if missing[u] {
			continue
		}
		if err := store.ChangeEntityConfig("users", sanitizeEntityName(u), configs[u]); err != nil {
			failed[u] = err
			continue
		}
		// This broker's own cache follows at once; the others (and this
		// one again) through the notification.
		s.scram.update(u, configs[u])
		ok = append(ok, u)
	}
	for _, u := range slices.Sorted(maps.Keys(failed)) {
		s.logger.Info("Error encountered while altering user SCRAM credentials", "user", u, "err", failed[u])
		add(u, kerr.UnknownServerError.Code, kerr.UnknownServerError.Description)
	}
	for _, u := range ok {
		add(u, 0, "")
	}
	return resp
}

// refreshUserCredentials re-reads /config/users/<sanitized> into the SCRAM
// credential cache (UserConfigHandler: the user part of a users/<user>
// entity path; <default> and users/<u>/clients/<c> carry quotas only).
func (s *Server) refreshUserCredentials(sanitized string) error {
	if sanitized == defaultBrokerEntity || strings.Contains(sanitized, "/") {
		return nil
	}
	store := s.userConfigStore()
	if store == nil {
		return nil
	}
	user, err := desanitizeEntityName(sanitized)
	if err != nil {
		return fmt.Errorf("user config %s: %w", sanitized, err)
	}
	cfg, err := store.EntityConfig("users", sanitized)
	if err != nil {
		return fmt.Errorf("reading config of user %s: %w", user, err)
	}
	for _, e := range s.scram.update(user, cfg) {
		s.logger.Warn("ignoring a malformed SCRAM credential", "err", e)
	}
	return nil
}

// loadAllUserCredentials reads every user's SCRAM credentials (at start,
// before notifications are processed).
func (s *Server) loadAllUserCredentials() error {
	store := s.userConfigStore()
	if store == nil {
		return nil
	}
	names, err := store.Children(zkmeta.ConfigPath + "/users")
	if errors.Is(err, zkmeta.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing user configs: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		err := s.refreshUserCredentials(n)
		if errors.Is(err, zkmeta.ErrMalformed) {
			// One bad znode must not hold up every other config: the user
			// simply has no credential until it is rewritten.
			s.logger.Warn("ignoring a malformed user config", "user", n, "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
