package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The bench's SASL user: PLAIN through the listener's JAAS line, SCRAM-SHA-256 and SCRAM-SHA-512 through
// AlterUserScramCredentials (4096 iterations, kafka-configs.sh's default) made by the bench itself.
const (
	benchUser     = "bench"
	benchPassword = "bench-secret"
	benchIters    = 4096
)

// handshakeMechs are the mechanisms of the authentication table, in its order.
var handshakeMechs = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// loadMech is the mechanism of the ours-sasl-ssl (and kafka39-sasl-ssl) load.
const loadMech = "SCRAM-SHA-512"

// bootstrap is a parsed target bootstrap string. Its forms: "host:port" (PLAINTEXT), "tls://host:port"
// (SSL), "sasl_ssl://MECH@host:port" and "sasl_plaintext://MECH@host:port" (SASL as the bench user).
type bootstrap struct {
	addr string
	tls  bool
	mech sasl.Mechanism
}

func parseBootstrap(s string) bootstrap {
	var b bootstrap
	switch {
	case strings.HasPrefix(s, tlsScheme):
		b.tls, s = true, strings.TrimPrefix(s, tlsScheme)
	case strings.HasPrefix(s, "sasl_ssl://"):
		b.tls, s = true, strings.TrimPrefix(s, "sasl_ssl://")
		b.mech, s = splitMech(s)
	case strings.HasPrefix(s, "sasl_plaintext://"):
		b.mech, s = splitMech(strings.TrimPrefix(s, "sasl_plaintext://"))
	}
	b.addr = s
	return b
}

// splitMech splits "MECH@host:port" into the bench user's mechanism and the address.
func splitMech(s string) (sasl.Mechanism, string) {
	mech, addr, ok := strings.Cut(s, "@")
	if !ok {
		return nil, s
	}
	return mechanism(mech), addr
}

func mechanism(name string) sasl.Mechanism {
	switch name {
	case "PLAIN":
		return plain.Auth{User: benchUser, Pass: benchPassword}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: benchUser, Pass: benchPassword}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: benchUser, Pass: benchPassword}.AsSha512Mechanism()
	}
	return nil
}

// saslBootstrap is the bootstrap string of listener kind ("SASL_SSL", "SASL_PLAINTEXT") at addr with mech.
func saslBootstrap(kind, mech, addr string) string {
	return strings.ToLower(kind) + "://" + mech + "@" + addr
}

// securitySettings are the broker settings (Kafka 3.9's names, the same for ours and Kafka) of the
// SASL_SSL and SASL_PLAINTEXT listeners beside PLAINTEXT (inter-broker and the bench's admin requests):
// the PEM key store made by writeSelfSignedPEM, PLAIN with the bench user in JAAS, both SCRAMs.
func securitySettings(pemFile string) map[string]string {
	jaasPlain := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required user_%s="%s";`, benchUser, benchPassword)
	jaasScram := `org.apache.kafka.common.security.scram.ScramLoginModule required;`
	m := map[string]string{
		"inter.broker.listener.name": "PLAINTEXT",
		"ssl.keystore.type":          "PEM",
		"ssl.keystore.location":      pemFile,
		"sasl.enabled.mechanisms":    strings.Join(handshakeMechs, ","),
	}
	for _, l := range []string{"sasl_ssl", "sasl_plaintext"} {
		m["listener.name."+l+".plain.sasl.jaas.config"] = jaasPlain
		m["listener.name."+l+".scram-sha-256.sasl.jaas.config"] = jaasScram
		m["listener.name."+l+".scram-sha-512.sasl.jaas.config"] = jaasScram
	}
	return m
}

// startOursSASLSSL is the ours-sasl-ssl target: a broker (own ZooKeeper) with listeners PLAINTEXT,
// SASL_SSL and SASL_PLAINTEXT; the load runs over SASL_SSL with SCRAM-SHA-512 as the bench user, whose
// SCRAM credentials the bench creates through the PLAINTEXT listener.
func startOursSASLSSL(ctx context.Context, bin, dir string, env []string) (*target, error) {
	dir = filepath.Join(dir, "sasl-ssl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sasl-ssl dir: %w", err)
	}
	pemFile := filepath.Join(dir, "broker.pem")
	if err := writeSelfSignedPEM(pemFile); err != nil {
		return nil, err
	}
	var lines []string
	for k, v := range securitySettings(pemFile) {
		lines = append(lines, k+"="+v)
	}
	auth := map[string]string{}
	var admin string
	plan := func(addr string) ([]string, string, string, error) {
		sslAddr, err1 := freeAddr()
		plainAddr, err2 := freeAddr()
		if err1 != nil || err2 != nil {
			return nil, "", "", fmt.Errorf("sasl listener ports: %v %v", err1, err2)
		}
		admin = addr
		auth["SASL_SSL"], auth["SASL_PLAINTEXT"] = sslAddr, plainAddr
		return []string{"listeners=PLAINTEXT://" + addr + ",SASL_SSL://" + sslAddr + ",SASL_PLAINTEXT://" + plainAddr},
			saslBootstrap("SASL_SSL", loadMech, sslAddr), addr, nil
	}
	t, err := startOursWith(ctx, bin, dir, env, "", "ours-sasl-ssl", lines, plan)
	if err != nil {
		return nil, err
	}
	t.auth = auth
	if err := createBenchUser(ctx, admin, auth["SASL_PLAINTEXT"]); err != nil {
		t.stop()
		return nil, fmt.Errorf("ours-sasl-ssl: %w", err)
	}
	return t, nil
}

// createBenchUser gives the bench user SCRAM-SHA-256 and SCRAM-SHA-512 credentials through admin
// (AlterUserScramCredentials, as kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[...]'), then waits
// until a SCRAM-SHA-512 login on saslPlain succeeds: brokers learn new credentials from ZooKeeper's config
// change notification, asynchronously.
func createBenchUser(ctx context.Context, admin, saslPlain string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(admin))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ups []kadm.UpsertSCRAM
	for _, m := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
		ups = append(ups, kadm.UpsertSCRAM{User: benchUser, Mechanism: m, Iterations: benchIters, Password: benchPassword})
	}
	res, err := kadm.NewClient(cl).AlterUserSCRAMs(ctx, nil, ups)
	if err != nil {
		return fmt.Errorf("AlterUserScramCredentials: %w", err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("AlterUserScramCredentials %s: %w (%s)", r.User, r.Err, r.ErrMessage)
		}
	}
	for {
		err := handshake(ctx, saslBootstrap("SASL_PLAINTEXT", "SCRAM-SHA-512", saslPlain))
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("SCRAM login as %s never succeeded: %w (last: %v)", benchUser, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// handshake opens one connection to bootstrap, authenticates (ApiVersions, SaslHandshake,
// SaslAuthenticate as the client's mechanism needs), sends one Metadata request for no topics and closes.
func handshake(ctx context.Context, bs string) error {
	cl, err := kgo.NewClient(clientOpts(bs, kgo.RequestRetries(0))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // none, not all
	_, err = req.RequestWith(ctx, cl)
	return err
}

// handshakeResult is one cell of the authentication table.
type handshakeResult struct {
	target, listener, mech string
	conns                  int
	wall, client, server   time.Duration
}

func (h handshakeResult) perSec() float64 { return ratio(float64(h.conns), h.wall.Seconds()) }
func (h handshakeResult) msPer(d time.Duration) float64 {
	return ratio(float64(d)/float64(time.Millisecond), float64(h.conns))
}

// measureHandshakes runs, for every target with SASL listeners, listener kind and mechanism, new
// connections one after the other for dur (at least 10), each a full authentication and one Metadata
// request, and writes connections/s with the CPU per connection of the bench process (the client: SCRAM's
// key derivation, 4096 PBKDF2 iterations, is the client's) and of the broker process apart.
func measureHandshakes(ctx context.Context, targets []*target, dur time.Duration, out io.Writer) error {
	var rs []handshakeResult
	for _, t := range targets {
		if t.auth == nil {
			continue
		}
		for _, kind := range []string{"SASL_PLAINTEXT", "SASL_SSL"} {
			for _, mech := range handshakeMechs {
				bs := saslBootstrap(kind, mech, t.auth[kind])
				// Warm-up for half the duration, not counted: the JVM compiles its authentication paths.
				for start := time.Now(); time.Since(start) < dur/2; {
					if err := handshake(ctx, bs); err != nil {
						return fmt.Errorf("%s %s %s: warm-up: %w", t.name, kind, mech, err)
					}
				}
				r := handshakeResult{target: t.name, listener: kind, mech: mech}
				self0, srv0, start := selfCPU(), t.srvCPU(), time.Now()
				for r.conns < 10 || time.Since(start) < dur {
					if err := handshake(ctx, bs); err != nil {
						return fmt.Errorf("%s %s %s: connection %d: %w", t.name, kind, mech, r.conns+1, err)
					}
					r.conns++
				}
				r.wall, r.client, r.server = time.Since(start), selfCPU()-self0, t.srvCPU()-srv0
				slog.Info("handshakes", "target", t.name, "listener", kind, "mechanism", mech, "conns", r.conns,
					"per_s", int(r.perSec()), "server_cpu_ms_per_conn", r.msPer(r.server))
				rs = append(rs, r)
			}
		}
	}
	printHandshakeTable(out, rs, dur)
	return nil
}

// printHandshakeTable writes the authentication table with ours/kafka39 rows (conn/s, client and broker
// CPU per connection).
func printHandshakeTable(out io.Writer, rs []handshakeResult, dur time.Duration) {
	if len(rs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "auth target\tlistener\tmechanism\tconnections\tconn/s\tclient cpu-ms/conn\tbroker cpu-ms/conn\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t\n", r.target, r.listener, r.mech, r.conns, r.perSec(), r.msPer(r.client), r.msPer(r.server))
	}
	for _, o := range rs {
		if o.target != "ours-sasl-ssl" {
			continue
		}
		for _, k := range rs {
			if k.target == "kafka39" && k.listener == o.listener && k.mech == o.mech {
				fmt.Fprintf(tw, "ours/kafka39\t%s\t%s\t\t%.2fx\t%.2fx\t%.2fx\t\n", o.listener, o.mech,
					ratio(o.perSec(), k.perSec()), ratio(o.msPer(o.client), k.msPer(k.client)), ratio(o.msPer(o.server), k.msPer(k.server)))
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(out, "auth: new connections one after another, each ApiVersions + SaslHandshake + SaslAuthenticate (SCRAM: 2 rounds, %d iterations) + one Metadata, for %s per cell;\n", benchIters, dur)
	fmt.Fprintln(out, "      after an uncounted warm-up of half that; client cpu = the bench process (franz-go client, incl. its PBKDF2 key derivation for SCRAM);")
	fmt.Fprintln(out, "      broker cpu = the broker process alone (/proc); SASL_SSL adds a TLS 1.3 handshake (ECDSA P-256)")
}

// kafka39Security are Kafka 3.9's overrides for listeners PLAINTEXT (addr), SSL, SASL_SSL and
// SASL_PLAINTEXT with the same settings as ours, and the addresses of the three secured listeners.
func kafka39Security(dir, addr string) (map[string]string, map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("kafka39 security dir: %w", err)
	}
	pemFile := filepath.Join(dir, "broker.pem")
	if err := writeSelfSignedPEM(pemFile); err != nil {
		return nil, nil, err
	}
	addrs := map[string]string{}
	ls := []string{"PLAINTEXT://" + addr}
	for _, kind := range []string{"SSL", "SASL_SSL", "SASL_PLAINTEXT"} {
		a, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		addrs[kind] = a
		ls = append(ls, kind+"://"+a)
	}
	o := securitySettings(pemFile)
	o["listeners"] = strings.Join(ls, ",")
	o["advertised.listeners"] = o["listeners"]
	return o, addrs, nil
}

// kafka39Secured are the kafka39-tls and kafka39-sasl-ssl targets: the kafka39 broker's own SSL and
// SASL_SSL listeners (one JVM: its CPU is theirs; stopping them does nothing). kafka39 gets the auth map.
func kafka39Secured(k *target, addrs map[string]string) []*target {
	k.auth = map[string]string{"SASL_SSL": addrs["SASL_SSL"], "SASL_PLAINTEXT": addrs["SASL_PLAINTEXT"]}
	derive := func(name, bs string) *target {
		return &target{name: name, bootstrap: bs, stop: func() {}, logTail: k.logTail, serverCPU: k.serverCPU}
	}
	return []*target{
		derive("kafka39-tls", tlsScheme+addrs["SSL"]),
		derive("kafka39-sasl-ssl", saslBootstrap("SASL_SSL", loadMech, addrs["SASL_SSL"])),
	}
}
