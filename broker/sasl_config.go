package broker

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// SASL mechanism names (SaslConfigs / ScramMechanism).
const (
	mechPlain       = "PLAIN"
	mechScramSHA256 = "SCRAM-SHA-256"
	mechScramSHA512 = "SCRAM-SHA-512"
)

// servedMechanisms are the SASL mechanisms this broker serves. GSSAPI
// (Kerberos) and OAUTHBEARER are Kafka's too; configured on a SASL
// listener they stop the broker at start, naming the key.
var servedMechanisms = []string{mechPlain, mechScramSHA256, mechScramSHA512}

// Kafka's login modules, one per mechanism (the JAAS entry of a mechanism
// must name its module: JaasContext.throwIfLoginModuleIsNotAllowed aside,
// PlainServerCallbackHandler reads the options of PlainLoginModule only).
const (
	plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
)

// Defaults of BrokerSecurityConfigs / SocketServerConfigs.
const (
	defaultSASLMechanism             = "GSSAPI" // sasl.enabled.mechanisms
	defaultFailedAuthenticationDelay = 100      // connection.failed.authentication.delay.ms
	defaultSASLServerMaxReceiveSize  = 524288   // sasl.server.max.receive.size
	jaasLoginConfigProperty          = "-Djava.security.auth.login.config="
	globalServerContext              = "KafkaServer"
	saslJAASConfigKey                = "sasl.jaas.config"
	saslEnabledMechanismsKey         = "sasl.enabled.mechanisms"
	connectionsMaxReauthMsKey        = "connections.max.reauth.ms"
	failedAuthenticationDelayKey     = "connection.failed.authentication.delay.ms"
	saslServerMaxReceiveSizeKey      = "sasl.server.max.receive.size"
	saslMechanismInterBrokerProtocol = "sasl.mechanism.inter.broker.protocol"
	defaultInterBrokerSASLMechanism  = "GSSAPI"
	listenerConfigPrefix             = "listener.name."
	minReauthenticationInterval      = time.Second // KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS
)

// listenerSASL is the SASL configuration of one SASL listener, as
// SaslChannelBuilder builds it from the listener-prefixed broker config.
type listenerSASL struct {
	listener   string
	mechanisms []string          // sasl.enabled.mechanisms, in configured order
	plainUsers map[string]string // user_<name> options of the PLAIN JAAS entry
	// reauthMs is connections.max.reauth.ms per mechanism (0: off).
	reauthMs map[string]int64
	// clientLogin is the username and password options of each
	// mechanism's JAAS entry: what the broker itself logs in with when
	// this listener carries inter-broker traffic.
	clientLogin map[string][2]string
}

// saslSettings is the SASL configuration of every SASL listener, plus the
// broker-wide failed-authentication delay and SASL receive limit.
type saslSettings struct {
	listeners      map[string]*listenerSASL // by listener name
	failedDelay    time.Duration            // connection.failed.authentication.delay.ms
	maxReceiveSize int32                    // sasl.server.max.receive.size
}

// listenerConfig reads key for listener as KafkaConfig.valuesWithPrefixOverride
// does: listener.name.<listener lower-cased>.<key> wins over <key>.
func listenerConfig(static map[string]string, listener, key string) (string, bool) {
	if v, ok := static[listenerConfigPrefix+strings.ToLower(listener)+"."+key]; ok {
		return v, true
	}
	v, ok := static[key]
	return v, ok
}

// JAASFileFromKafkaOpts is the JAAS login configuration file named by
// -Djava.security.auth.login.config=<file> in KAFKA_OPTS, as the JVM of
// kafka-server-start.sh would read it; "" when not set.
func JAASFileFromKafkaOpts(kafkaOpts string) string {
	for _, f := range strings.Fields(kafkaOpts) {
		if v, ok := strings.CutPrefix(f, jaasLoginConfigProperty); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// newSASLSettings builds the SASL configuration of every SASL listener of
// cfg. A listener needs, as in Kafka, a JAAS entry for each enabled
// mechanism: listener.name.<l>.<mechanism>.sasl.jaas.config, else the
// <l>.KafkaServer or KafkaServer section of the JAAS file
// (JaasContext.loadServerContext); an unprefixed sasl.jaas.config is
// ignored with Kafka's warning. Errors name the key.
func newSASLSettings(cfg Config, logger *slog.Logger) (*saslSettings, error) {
	st := &saslSettings{listeners: map[string]*listenerSASL{}, failedDelay: defaultFailedAuthenticationDelay * time.Millisecond,
		maxReceiveSize: defaultSASLServerMaxReceiveSize}
	static := cfg.StaticConfigs
	if v, ok := static[failedAuthenticationDelayKey]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Invalid value %s for configuration %s: Not a number of type INT", v, failedAuthenticationDelayKey)
		}
		if n < 0 {
			return nil, fmt.Errorf("Invalid value %d for configuration %s: Value must be at least 0", n, failedAuthenticationDelayKey)
		}
		st.failedDelay = time.Duration(n) * time.Millisecond
	}
	// KafkaConfig.validateValues.
	if idle := cfg.ConnectionsMaxIdleMs; idle >= 0 && st.failedDelay.Milliseconds() >= idle {
		return nil, fmt.Errorf("requirement failed: %s=%d should always be less than connections.max.idle.ms=%d to prevent failed authentication responses from timing out",
			failedAuthenticationDelayKey, st.failedDelay.Milliseconds(), idle)
	}
	if v, ok := static[saslServerMaxReceiveSizeKey]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for configuration %s: not a number of type int", v, saslServerMaxReceiveSizeKey)
		}
		st.maxReceiveSize = int32(n)
	}
	var jaasFile map[string][]jaasEntry
	jaasFileLoaded := false
	loadJAASFile := func() (map[string][]jaasEntry, error) {
		if jaasFileLoaded || cfg.JAASConfigFile == "" {
			return jaasFile, nil
		}
		jaasFileLoaded = true
		data, err := os.ReadFile(cfg.JAASConfigFile)
		if err != nil {
			return nil, fmt.Errorf("reading the JAAS file of java.security.auth.login.config: %w", err)
		}
		f, err := parseJAASFile(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.JAASConfigFile, err)
		}
		jaasFile = f
		return f, nil
	}
	warnedGlobal := false
	listeners, err := cfg.BindListeners()
	if err != nil {
		return nil, err
	}
	for _, l := range listeners {
		name := l.Name
		if !l.Protocol.SASL() {
			continue
		}
		ls := &listenerSASL{listener: name, reauthMs: map[string]int64{}, clientLogin: map[string][2]string{}}
		mechKey := saslEnabledMechanismsKey
		raw, ok := listenerConfig(static, name, saslEnabledMechanismsKey)
		if _, prefixed := static[listenerConfigPrefix+strings.ToLower(name)+"."+saslEnabledMechanismsKey]; prefixed {
			mechKey = listenerConfigPrefix + strings.ToLower(name) + "." + saslEnabledMechanismsKey
		}
		if !ok {
			raw = defaultSASLMechanism
		}
		for _, m := range strings.Split(raw, ",") {
			if m = strings.TrimSpace(m); m != "" {
				ls.mechanisms = append(ls.mechanisms, m)
			}
		}
		if len(ls.mechanisms) == 0 {
			return nil, fmt.Errorf("invalid value %q for configuration %s: no SASL mechanism enabled on listener %s", raw, mechKey, name)
		}
		for _, m := range ls.mechanisms {
			if !slices.Contains(servedMechanisms, m) {
				return nil, fmt.Errorf("invalid value %q for configuration %s: SASL mechanism %s is not served by this broker (it serves %s)",
					raw, mechKey, m, strings.Join(servedMechanisms, ", "))
			}
		}
		// JaasContext.loadServerContext: sasl.jaas.config without the
		// mechanism (with or without the listener prefix) is ignored.
		if _, ok := listenerConfig(static, name, saslJAASConfigKey); ok && !warnedGlobal {
			warnedGlobal = true
			logger.Warn(fmt.Sprintf("Server config %s should be prefixed with SASL mechanism name, ignoring config", saslJAASConfigKey))
		}
		for _, m := range ls.mechanisms {
			entries, err := jaasEntriesFor(static, name, m, loadJAASFile)
			if err != nil {
				return nil, err
			}
			if m == mechPlain {
				ls.plainUsers = plainUsers(entries)
			}
			if len(entries) > 0 {
				ls.clientLogin[m] = [2]string{entries[0].options["username"], entries[0].options["password"]}
			}
			mechPrefix := strings.ToLower(m) + "."
			v, ok := listenerConfig(static, name, mechPrefix+connectionsMaxReauthMsKey)
			key := mechPrefix + connectionsMaxReauthMsKey
			if !ok {
				v, ok = listenerConfig(static, name, connectionsMaxReauthMsKey)
				key = connectionsMaxReauthMsKey
			}
			if ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid value %q for configuration %s: not a number of type long", v, key)
				}
				ls.reauthMs[m] = n
			}
		}
		ls.mechanisms = javaHashSetOrder(ls.mechanisms)
		st.listeners[name] = ls
	}
	return st, nil
}

// javaHashSetOrder is the order of new ArrayList<>(new HashSet<>(list)),
// the list SaslServerAuthenticator answers SaslHandshake with: duplicates
// dropped, then by the bucket of each name's String.hashCode in a table
// of at least 16, ties in list order.
func javaHashSetOrder(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	table := 16 // HashSet(Collection): max(size/.75f + 1, 16), a power of two
	for float64(len(list))/0.75+1 > float64(table) {
		table <<= 1
	}
	bucket := func(s string) uint32 {
		h := uint32(zkmeta.JavaStringHash(s))
		return (h ^ h>>16) & uint32(table-1)
	}
	slices.SortStableFunc(out, func(a, b string) int { return int(bucket(a)) - int(bucket(b)) })
	return out
}

// jaasEntriesFor finds the JAAS entry of mechanism on listener: the
// listener's <mechanism>.sasl.jaas.config, else the JAAS file's
// "<listener lower-cased>.KafkaServer" section, else its "KafkaServer".
func jaasEntriesFor(static map[string]string, listener, mechanism string, file func() (map[string][]jaasEntry, error)) ([]jaasEntry, error) {
	key := listenerConfigPrefix + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + "." + saslJAASConfigKey
	if v, ok := static[key]; ok {
		entries, err := parseJAASConfig(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for configuration %s: %w", key, err)
		}
		if len(entries) != 1 {
			return nil, fmt.Errorf("invalid value for configuration %s: JAAS config property contains %d login modules, should be 1 module", key, len(entries))
		}
		return entries, nil
	}
	f, err := file()
	if err != nil {
		return nil, err
	}
	listenerContext := strings.ToLower(listener) + "." + globalServerContext
	for _, ctxName := range []string{listenerContext, globalServerContext} {
		if entries, ok := f[ctxName]; ok {
			return entries, nil
		}
	}
	return nil, fmt.Errorf("missing configuration %s: could not find a '%s' or '%s' entry in the JAAS configuration (set %s, or name a JAAS file with %s in KAFKA_OPTS)",
		key, globalServerContext, listenerContext, key, jaasLoginConfigProperty+"<file>")
}

// plainUsers are the user_<name>="<password>" options of the
// PlainLoginModule entries (PlainServerCallbackHandler.authenticate reads
// JaasContext.configEntryOption(entries, "user_"+name, PlainLoginModule)).
func plainUsers(entries []jaasEntry) map[string]string {
	users := map[string]string{}
	for _, e := range entries {
		if e.module != plainLoginModule {
			continue
		}
		for k, v := range e.options {
			if name, ok := strings.CutPrefix(k, "user_"); ok {
				if _, seen := users[name]; !seen {
					users[name] = v
				}
			}
		}
	}
	return users
}

// ValidateSASL checks the SASL configuration of cfg's listeners as the
// broker will build it at start, so a bad setting fails fast naming its key.
func ValidateSASL(cfg Config) error {
	_, err := newSASLSettings(cfg, slog.New(slog.DiscardHandler))
	return err
}
