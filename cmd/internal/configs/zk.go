package configs

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Kafka 3.9's ConfigCommand still takes --zookeeper for users' SCRAM
// credentials (to create them before any broker runs). This tool does the
// same for users; other entity types need --bootstrap-server.

// zkScramValue is preProcessScramCredentials' pattern (no -1 here).
var zkScramValue = regexp.MustCompile(`^(?:iterations=([0-9]*),)?password=(.*)$`)

// scramEnumName is InternalScramMechanism's enum name, as Kafka's messages
// print the mechanism ("SCRAM_SHA_256").
func scramEnumName(name string) string { return strings.ReplaceAll(name, "-", "_") }

// sanitize is Kafka's Sanitizer.sanitize for user names in znode paths.
func sanitize(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteString("%20")
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// desanitize is Sanitizer.desanitize (java.net.URLDecoder).
func desanitize(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// scramCredentialString is ScramFormatter.generateCredential and
// ScramCredentialUtils.credentialToString.
func scramCredentialString(h func() hash.Hash, password string, salt []byte, iterations int) (string, error) {
	sp, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return "", err
	}
	mac := func(key []byte, data string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	d := h()
	d.Write(mac(sp, "Client Key"))
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", enc(salt), enc(d.Sum(nil)), enc(mac(sp, "Server Key")), iterations), nil
}

// executeZooKeeper is ConfigCommand.processCommandWithZk for users.
func executeZooKeeper(ctx context.Context, o *options, stdout io.Writer) error {
	types := o.entityTypes()
	if types[0] != "users" || len(types) > 1 {
		return illegal("only --bootstrap-server is supported by this tool for %s; --zookeeper only for users' SCRAM credentials", strings.Join(types, ","))
	}
	fmt.Fprintln(stdout, "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.")
	fmt.Fprintln(stdout, "Use --bootstrap-server instead to specify a broker to connect to.")
	connect, _ := o.value("zookeeper")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	zk, err := zkmeta.Connect(ctx, connect, 30*time.Second, nil)
	if err != nil {
		return fmt.Errorf("connecting to ZooKeeper %s: %w", connect, err)
	}
	defer zk.Close()
	names := o.entityNames()
	if o.has("alter") {
		return alterUsersZK(zk, o, names[0], stdout)
	}
	var users []string
	if len(names) == 0 {
		children, err := zk.Children(zkmeta.ConfigPath + "/users")
		if err != nil && err != zkmeta.ErrNoNode {
			return err
		}
		sort.Strings(children)
		users = children
	} else {
		users = []string{sanitize(names[0])}
		if names[0] == "" {
			users = []string{"<default>"}
		}
	}
	for _, u := range users {
		cfg, err := zk.EntityConfig("users", u)
		if err != nil {
			return err
		}
		if len(cfg) == 0 && len(names) == 0 {
			continue // describing all users: not those with only <user, client> quotas
		}
		parts := make([]string, 0, len(cfg))
		for _, k := range zkmeta.UserConfigKeysInOrder(cfg) {
			parts = append(parts, k+"="+cfg[k])
		}
		fmt.Fprintf(stdout, "Configs for %s are %s\n", userEntity(u), strings.Join(parts, ","))
	}
	return nil
}

func userEntity(sanitized string) string {
	if sanitized == "<default>" {
		return "default user-principal"
	}
	return "user-principal '" + desanitize(sanitized) + "'"
}

// alterUsersZK is alterConfigWithZk for a user: only SCRAM credentials,
// computed here with a random salt, merged into /config/users/<user> and
// announced by a change notification (AdminZkClient.changeConfigs).
func alterUsersZK(zk *zkmeta.Client, o *options, user string, stdout io.Writer) error {
	add, err := o.configsToAdd()
	if err != nil {
		return err
	}
	del := o.configsToDelete()
	isScram := func(k string) bool { _, _, ok := scramMechanismID(k); return ok }
	for _, k := range append(sortedKeys(add), del...) {
		if !isScram(k) {
			parts := make([]string, 0, len(add))
			for _, k := range sortedKeys(add) {
				parts = append(parts, k+"="+add[k])
			}
			return illegal("requirement failed: --bootstrap-server option must be specified to update users configs: {add: {%s}, delete: List(%s)}. "+
				"User configuration updates using ZooKeeper are only supported for SCRAM credential updates.", strings.Join(parts, ", "), strings.Join(del, ", "))
		}
	}
	for _, m := range scramMechanisms {
		v, ok := add[m.name]
		if !ok {
			continue
		}
		g := zkScramValue.FindStringSubmatch(v)
		if g == nil {
			return illegal("Invalid credential property %s=%s", scramEnumName(m.name), v)
		}
		iterations := defaultScramIterations
		if g[1] != "" {
			if iterations, err = strconv.Atoi(g[1]); err != nil {
				return illegal("Invalid credential property %s=%s", scramEnumName(m.name), v)
			}
		}
		if iterations < 4096 {
			return illegal("Iterations %d is less than the minimum 4096 required for %s", iterations, scramEnumName(m.name))
		}
		salt, err := secureRandomBytes()
		if err != nil {
			return err
		}
		if add[m.name], err = scramCredentialString(m.hash, g[2], salt, iterations); err != nil {
			return err
		}
	}
	sanitized := sanitize(user)
	if user == "" {
		sanitized = "<default>"
	}
	cfg, err := zk.EntityConfig("users", sanitized)
	if err != nil {
		return err
	}
	var invalid []string
	for _, k := range del {
		if _, ok := cfg[k]; !ok {
			invalid = append(invalid, k)
		}
	}
	if len(invalid) > 0 {
		return illegal("Invalid config(s): %s", strings.Join(invalid, ","))
	}
	for k, v := range add {
		cfg[k] = v
	}
	for _, k := range del {
		delete(cfg, k)
	}
	if err := zk.ChangeEntityConfig("users", sanitized, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Completed updating config for entity: %s.\n", userEntity(sanitized))
	return nil
}
