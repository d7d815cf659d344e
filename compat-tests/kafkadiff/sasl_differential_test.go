package kafkadiff_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// saslDiffDelay is connection.failed.authentication.delay.ms on both
// brokers: long enough to tell a delayed close from an immediate one.
const saslDiffDelay = 600 * time.Millisecond

// saslWire is a raw client connection for the SASL differential test.
type saslWire struct {
	c    net.Conn
	corr int32
	log  []string // what was answered, step by step
}

func dialSASL(t *testing.T, addr string) *saslWire {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &saslWire{c: c}
}

func (w *saslWire) send(req kmsg.Request) {
	w.corr++
	if _, err := w.c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("sasl-diff")).AppendRequest(nil, req, w.corr)); err != nil {
		w.log = append(w.log, "write failed")
	}
}

func (w *saslWire) readFrame(within time.Duration) ([]byte, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(within))
	var size [4]byte
	if _, err := io.ReadFull(w.c, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(w.c, frame)
	return frame, err
}

// call sends req and logs a summary of its answer (or that none came).
func (w *saslWire) call(req kmsg.Request) kmsg.Response {
	w.send(req)
	frame, err := w.readFrame(5 * time.Second)
	if err != nil {
		w.log = append(w.log, kmsg.NameForKey(req.Key())+": no answer")
		return nil
	}
	body := frame[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		w.log = append(w.log, fmt.Sprintf("%s: undecodable answer: %v", kmsg.NameForKey(req.Key()), err))
		return nil
	}
	w.log = append(w.log, summarize(resp))
	return resp
}

func summarize(resp kmsg.Response) string {
	code := func(c int16) string {
		if c == 0 {
			return "NONE"
		}
		return kerr.ErrorForCode(c).(*kerr.Error).Message
	}
	switch r := resp.(type) {
	case *kmsg.ApiVersionsResponse:
		return "ApiVersions " + code(r.ErrorCode)
	case *kmsg.SASLHandshakeResponse:
		return fmt.Sprintf("SaslHandshake %s %v", code(r.ErrorCode), r.SupportedMechanisms)
	case *kmsg.SASLAuthenticateResponse:
		msg := ""
		if r.ErrorMessage != nil {
			msg = " " + strconv.Quote(*r.ErrorMessage)
		}
		tok := "" // its length varies with the random server nonce
		if r.ErrorCode == 0 {
			tok = fmt.Sprintf(" token=%t", len(r.SASLAuthBytes) > 0)
		}
		return fmt.Sprintf("SaslAuthenticate %s%s lifetime=%d%s", code(r.ErrorCode), msg, r.SessionLifetimeMillis, tok)
	case *kmsg.MetadataResponse:
		out := "Metadata"
		for _, t := range r.Topics {
			if t.ErrorCode != 0 {
				out += fmt.Sprintf(" %s:%s", derefStr(t.Topic), code(t.ErrorCode))
			}
		}
		return out
	case *kmsg.FetchResponse:
		out := fmt.Sprintf("Fetch %s session=%d", code(r.ErrorCode), r.SessionID)
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				out += fmt.Sprintf(" %s/%d:%s hw=%d lso=%d logStart=%d records=%d", t.Topic, p.Partition, code(p.ErrorCode),
					p.HighWatermark, p.LastStableOffset, p.LogStartOffset, len(p.RecordBatches))
			}
		}
		return out
	case *kmsg.ProduceResponse:
		out := "Produce"
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				msg := "<nil>"
				if p.ErrorMessage != nil {
					msg = strconv.Quote(*p.ErrorMessage)
				}
				out += fmt.Sprintf(" %s/%d:%s base=%d logStart=%d appendTime=%d %s", t.Topic, p.Partition, code(p.ErrorCode),
					p.BaseOffset, p.LogStartOffset, p.LogAppendTime, msg)
			}
		}
		return out
	}
	return fmt.Sprintf("%T", resp)
}

// raw writes a bare size-prefixed token (SaslHandshake v0 framing).
func (w *saslWire) raw(b []byte) {
	if _, err := w.c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)); err != nil {
		w.log = append(w.log, "write failed")
	}
}

// end classifies how the connection ends: still open, closed at once, or
// closed after the failed-authentication delay; start is when the last
// request went out.
func (w *saslWire) end(start time.Time) string {
	_ = w.c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	buf := make([]byte, 256)
	got := 0 // bytes the broker sent that nobody asked for
	for {
		n, err := w.c.Read(buf)
		got += n
		if err == nil {
			continue
		}
		extra := ""
		if got > 0 {
			extra = fmt.Sprintf(" (after %d more bytes)", got)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "open" + extra
		}
		if took := time.Since(start); took >= saslDiffDelay-100*time.Millisecond {
			return "closed after the delay" + extra
		}
		return "closed at once" + extra
	}
}

func plainTok(user, pass string) []byte { return []byte("\x00" + user + "\x00" + pass) }

func hs(v int16, mech string) *kmsg.SASLHandshakeRequest {
	r := kmsg.NewPtrSASLHandshakeRequest()
	r.Version, r.Mechanism = v, mech
	return r
}

func auth(v int16, tok []byte) *kmsg.SASLAuthenticateRequest {
	r := kmsg.NewPtrSASLAuthenticateRequest()
	r.Version, r.SASLAuthBytes = v, tok
	return r
}

func md() *kmsg.MetadataRequest {
	r := kmsg.NewPtrMetadataRequest()
	r.Version = 4
	return r
}

// saslScenarios are SaslServerAuthenticator's cases, played on a raw
// connection; each returns its log and how the connection ended.
var saslScenarios = []struct {
	name string
	play func(w *saslWire) string
}{
	{"produce before authentication", func(w *saslWire) string {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 7, 1, 1000
		start := time.Now()
		w.send(req)
		return w.end(start)
	}},
	{"metadata after ApiVersions", func(w *saslWire) string {
		w.call(kmsg.NewPtrApiVersionsRequest())
		start := time.Now()
		w.send(md())
		return w.end(start)
	}},
	{"second ApiVersions", func(w *saslWire) string {
		w.call(kmsg.NewPtrApiVersionsRequest())
		start := time.Now()
		w.send(kmsg.NewPtrApiVersionsRequest())
		return w.end(start)
	}},
	{"garbage first frame", func(w *saslWire) string {
		start := time.Now()
		w.raw([]byte{0x60, 0x01, 2, 3, 4, 5})
		return w.end(start)
	}},
	{"frame above sasl.server.max.receive.size", func(w *saslWire) string {
		start := time.Now()
		_, _ = w.c.Write([]byte{0, 0x10, 0, 0})
		return w.end(start)
	}},
	{"unknown mechanism", func(w *saslWire) string {
		w.call(kmsg.NewPtrApiVersionsRequest())
		start := time.Now()
		w.call(hs(1, "GSSAPI"))
		if time.Since(start) >= saslDiffDelay-100*time.Millisecond {
			w.log = append(w.log, "answered after the delay")
		}
		return w.end(start)
	}},
	{"PLAIN wrong password", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(auth(2, plainTok("alice", "wrong")))
		if time.Since(start) >= saslDiffDelay-100*time.Millisecond {
			w.log = append(w.log, "answered after the delay")
		}
		return w.end(start)
	}},
	{"PLAIN three tokens expected", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(auth(1, []byte("alice")))
		return w.end(start)
	}},
	{"PLAIN authorization id", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(auth(1, []byte("admin\x00alice\x00alice-secret")))
		return w.end(start)
	}},
	{"SCRAM unknown user", func(w *saslWire) string {
		w.call(hs(1, "SCRAM-SHA-256"))
		start := time.Now()
		w.call(auth(1, []byte("n,,n=nobody,r=abcdefgh")))
		return w.end(start)
	}},
	{"SCRAM bad first message", func(w *saslWire) string {
		w.call(hs(1, "SCRAM-SHA-512"))
		start := time.Now()
		w.call(auth(1, []byte("hello")))
		return w.end(start)
	}},
	{"metadata instead of SaslAuthenticate", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		r := md()
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr("t1")
		r.Topics = append(r.Topics, t)
		w.call(r)
		return w.end(start)
	}},
	{"produce instead of SaslAuthenticate", func(w *saslWire) string {
		w.call(hs(1, "SCRAM-SHA-256"))
		start := time.Now()
		r := kmsg.NewPtrProduceRequest()
		r.Version, r.Acks, r.TimeoutMillis = 8, -1, 1000
		t := kmsg.NewProduceRequestTopic()
		t.Topic = "t1"
		p := kmsg.NewProduceRequestTopicPartition()
		p.Partition, p.Records = 3, []byte{} // Kafka's partitionSizes needs records (null: an NPE)
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		w.call(r)
		return w.end(start)
	}},
	{"re-authentication with a v0 SaslHandshake", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		w.call(auth(1, plainTok("alice", "alice-secret")))
		start := time.Now()
		if w.call(hs(0, "PLAIN")) == nil {
			return w.end(start)
		}
		w.raw(plainTok("alice", "alice-secret"))
		if f, err := w.readFrame(5 * time.Second); err != nil {
			w.log = append(w.log, "raw: no answer")
		} else {
			w.log = append(w.log, fmt.Sprintf("raw answer of %d bytes", len(f)))
		}
		start = time.Now()
		w.call(md())
		return w.end(start)
	}},
	{"fetch instead of SaslAuthenticate", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		r := kmsg.NewPtrFetchRequest()
		r.Version, r.MaxWaitMillis, r.SessionEpoch = 11, 100, -1
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "t1"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = 2, 1024
		ft.Partitions = append(ft.Partitions, fp)
		r.Topics = append(r.Topics, ft)
		w.call(r)
		return w.end(start)
	}},
	{"ApiVersions instead of SaslAuthenticate", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(kmsg.NewPtrApiVersionsRequest())
		return w.end(start)
	}},
	{"v0 raw PLAIN, then requests", func(w *saslWire) string {
		w.call(kmsg.NewPtrApiVersionsRequest())
		w.call(hs(0, "PLAIN"))
		w.raw(plainTok("alice", "alice-secret"))
		if f, err := w.readFrame(5 * time.Second); err != nil {
			w.log = append(w.log, "raw: no answer")
		} else {
			w.log = append(w.log, fmt.Sprintf("raw answer of %d bytes", len(f)))
		}
		w.call(md())
		return w.end(time.Now())
	}},
	{"v0 raw PLAIN wrong password", func(w *saslWire) string {
		w.call(hs(0, "PLAIN"))
		start := time.Now()
		w.raw(plainTok("alice", "wrong"))
		return w.end(start)
	}},
	{"v0 raw SCRAM wrong password", func(w *saslWire) string {
		w.call(hs(0, "SCRAM-SHA-256"))
		sess, first, _ := scram.Auth{User: "alice", Pass: "wrong"}.AsSha256Mechanism().Authenticate(context.Background(), "")
		w.raw(first)
		f, err := w.readFrame(5 * time.Second)
		if err != nil {
			w.log = append(w.log, "raw: no answer")
			return w.end(time.Now())
		}
		_, final, err := sess.Challenge(f)
		if err != nil {
			w.log = append(w.log, "client: "+err.Error())
			return w.end(time.Now())
		}
		start := time.Now()
		w.raw(final)
		return w.end(start)
	}},
	{"SCRAM-SHA-256 exchange, re-authentication, principal change", func(w *saslWire) string {
		scramLogin := func(user, pass string) {
			w.call(hs(1, "SCRAM-SHA-256"))
			sess, first, _ := scram.Auth{User: user, Pass: pass}.AsSha256Mechanism().Authenticate(context.Background(), "")
			r1, _ := w.call(auth(2, first)).(*kmsg.SASLAuthenticateResponse)
			if r1 == nil || r1.ErrorCode != 0 {
				return
			}
			_, final, err := sess.Challenge(r1.SASLAuthBytes)
			if err != nil {
				w.log = append(w.log, "client: "+err.Error())
				return
			}
			r2, _ := w.call(auth(2, final)).(*kmsg.SASLAuthenticateResponse)
			if r2 != nil && r2.ErrorCode == 0 {
				if done, _, err := sess.Challenge(r2.SASLAuthBytes); err != nil || !done {
					w.log = append(w.log, "server signature not accepted")
				}
			}
		}
		scramLogin("alice", "alice-secret")
		w.call(md())
		scramLogin("alice", "alice-secret") // the first re-authentication may come at once
		w.call(md())
		// Another within a second is an ordinary SaslHandshake.
		w.call(hs(1, "SCRAM-SHA-256"))
		w.call(md())
		time.Sleep(1100 * time.Millisecond) // KafkaChannel's one-second minimum between re-authentications
		start := time.Now()
		scramLogin("bob", "bob-secret")
		return w.end(start)
	}},
	{"SaslHandshake again during re-authentication", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		w.call(auth(1, plainTok("alice", "alice-secret")))
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(hs(1, "PLAIN"))
		return w.end(start)
	}},
	{"SaslAuthenticate v0 exchange: no session lifetime field", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		w.call(auth(0, plainTok("admin", "admin-secret")))
		w.call(hs(1, "PLAIN")) // a v0 client cannot re-authenticate... but the broker's session has a lifetime
		return w.end(time.Now())
	}},
	{"PLAIN empty username and password", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(auth(1, plainTok("", "x")))
		return w.end(start)
	}},
	{"PLAIN empty password", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		start := time.Now()
		w.call(auth(1, plainTok("alice", "")))
		return w.end(start)
	}},
	{"expired session: the next request closes the connection", func(w *saslWire) string {
		w.call(hs(1, "SCRAM-SHA-512"))
		sess, first, _ := scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism().Authenticate(context.Background(), "")
		r1, _ := w.call(auth(1, first)).(*kmsg.SASLAuthenticateResponse)
		if r1 == nil || r1.ErrorCode != 0 {
			return w.end(time.Now())
		}
		_, final, _ := sess.Challenge(r1.SASLAuthBytes)
		w.call(auth(1, final))
		w.call(md())
		time.Sleep(1200 * time.Millisecond) // past the 1000 ms session lifetime of SCRAM-SHA-512 on both brokers
		start := time.Now()
		w.send(md())
		return w.end(start)
	}},
	{"ApiVersions of an unknown version, then a known one, then authentication", func(w *saslWire) string {
		av := kmsg.NewPtrApiVersionsRequest()
		av.Version = 99
		w.send(av)
		if f, err := w.readFrame(5 * time.Second); err != nil {
			w.log = append(w.log, "ApiVersions v99: no answer")
		} else {
			r := kmsg.NewPtrApiVersionsResponse() // KIP-511: a v0 body
			if err := r.ReadFrom(f[4:]); err != nil {
				w.log = append(w.log, "ApiVersions v99: undecodable")
			} else {
				w.log = append(w.log, "ApiVersions v99 "+summarize(r))
			}
		}
		w.call(kmsg.NewPtrApiVersionsRequest())
		w.call(hs(1, "PLAIN"))
		w.call(auth(2, plainTok("alice", "alice-secret")))
		w.call(md())
		return w.end(time.Now())
	}},
	{"re-authentication with another mechanism", func(w *saslWire) string {
		w.call(hs(1, "PLAIN"))
		w.call(auth(1, plainTok("alice", "alice-secret")))
		w.call(hs(1, "SCRAM-SHA-512"))
		start := time.Now()
		w.send(auth(1, []byte("n,,n=alice,r=abcdefgh")))
		return w.end(start)
	}},
}

// TestSASLAgainstKafka39 plays the same raw SASL exchanges against a
// Kafka 3.9 broker's SASL_PLAINTEXT listener and ours, with the same
// settings and credentials, and compares every answer and how each
// connection ends (open, closed at once, closed after
// connection.failed.authentication.delay.ms). Differences Kafka shows
// are listed in saslDiffKnown and asserted to still hold.
func TestSASLAgainstKafka39(t *testing.T) {
	cluster.Kafka39Lib(t) // fails naming `make deps` when Kafka 3.9 is not installed
	settings := map[string]string{
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config":          "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":          "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"connection.failed.authentication.delay.ms":                            strconv.Itoa(int(saslDiffDelay / time.Millisecond)),
		"connections.max.reauth.ms":                                            "60000",
		"listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms": "1000",
		// For the DescribeConfigs comparison only.
		"ssl.principal.mapping.rules":                          "RULE:^CN=(.*?),.*$/$1/L,DEFAULT",
		"listener.name.sasl_plaintext.ssl.keystore.type":       "PKCS12",
		"listener.name.sasl_plaintext.ssl.key.password":        "secret",
		"listener.name.sasl_plaintext.sasl.kerberos.kinit.cmd": "/bin/true",
		"super.users": "User:admin",
	}
	var extra []string
	for k, v := range settings {
		extra = append(extra, k+"="+v)
	}
	oursSASL := harness.FreeLoopbackAddr(t)
	c := cluster.Start(t, 1, append(extra, "listeners=PLAINTEXT://{LISTEN},SASL_PLAINTEXT://"+oursSASL)...)

	// The same SCRAM credentials for alice and bob in both clusters.
	creds := map[string]string{}
	out, errOut, code := c.Tool("kafka-configs.sh", "--bootstrap-server", c.Bootstrap(), "--alter", "--entity-type", "users",
		"--entity-name", "alice", "--add-config", "SCRAM-SHA-256=[password=alice-secret],SCRAM-SHA-512=[password=alice-secret]")
	if code != 0 {
		t.Fatalf("kafka-configs alice: %s %s", out, errOut)
	}
	if out, errOut, code = c.Tool("kafka-configs.sh", "--bootstrap-server", c.Bootstrap(), "--alter", "--entity-type", "users",
		"--entity-name", "bob", "--add-config", "SCRAM-SHA-256=[password=bob-secret]"); code != 0 {
		t.Fatalf("kafka-configs bob: %s %s", out, errOut)
	}
	zk := c.ZKConn()
	for _, u := range []string{"alice", "bob"} {
		data, _, err := zk.Get(c.ZKPath("/config/users/" + u))
		if err != nil {
			t.Fatal(err)
		}
		creds[u] = string(data)
	}
	chroot := "/kafka39-sasl"
	for u, data := range creds {
		if err := zk.CreateRecursive(chroot+"/config/users/"+u, []byte(data), zkmeta.Persistent); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	refPort := freePortNumber(t)
	refSASL := harness.FreeLoopbackAddr(t)
	overrides := map[string]string{"listeners": fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,SASL_PLAINTEXT://%s", refPort, refSASL)}
	for k, v := range settings {
		overrides[k] = v
	}
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Chroot: chroot, Port: refPort, Overrides: overrides})
	refAddr := ref.Addr

	t.Run("SCRAM credential APIs", func(t *testing.T) {
		scramAPIsAgainstKafka(t, c.Bootstrap(), refAddr)
	})
	t.Run("LZ4 frames", func(t *testing.T) {
		lz4FramesAgainstKafka(t, c.Broker(0).Addr, refAddr)
	})
	t.Run("DescribeConfigs security keys", func(t *testing.T) {
		securityConfigsAgainstKafka(t, c.Broker(0).Addr, refAddr)
	})
	// Scenarios run side by side, each on both brokers at once: they only
	// wait on the network and the delay.
	for _, sc := range saslScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			kw, ow := dialSASL(t, refSASL), dialSASL(t, oursSASL)
			var kEnd string
			done := make(chan struct{})
			go func() { defer close(done); kEnd = sc.play(kw) }()
			oEnd := sc.play(ow)
			<-done
			kafka := strings.Join(append(kw.log, kEnd), " | ")
			ours := strings.Join(append(ow.log, oEnd), " | ")
			if known, ok := saslDiffKnown[sc.name]; ok {
				if kafka != known.kafka || ours != known.ours {
					t.Errorf("known difference changed:\nKafka: %s\n ours: %s\nrecorded Kafka: %s\nrecorded ours:  %s", kafka, ours, known.kafka, known.ours)
				}
				return
			}
			if kafka != ours {
				t.Errorf("\nKafka: %s\n ours: %s", kafka, ours)
			}
		})
	}
}

// saslDiffKnown are the recorded differences: what Kafka 3.9 answers, what
// we answer, for a scenario.
var saslDiffKnown = map[string]struct{ kafka, ours string }{
	// Re-authentication begun with a SaslHandshake v0: Kafka answers it
	// and takes the next frame as a bare token (a new authenticator without
	// Kafka headers), then the connection goes on; ours closes the
	// connection at once, because its request reader (conn.go's readLoop)
	// reads ahead and cannot tell a bare token from a request.
	"re-authentication with a v0 SaslHandshake": {
		kafka: `SaslHandshake NONE [PLAIN SCRAM-SHA-512 SCRAM-SHA-256] | SaslAuthenticate NONE "" lifetime=60000 token=false | SaslHandshake NONE [PLAIN SCRAM-SHA-512 SCRAM-SHA-256] | raw answer of 0 bytes | Metadata | open`,
		ours:  `SaslHandshake NONE [PLAIN SCRAM-SHA-512 SCRAM-SHA-256] | SaslAuthenticate NONE "" lifetime=60000 token=false | SASLHandshake: no answer | closed at once`,
	},
}

// securityKeys are the broker keys of listeners, TLS, SASL and ACLs that
// DescribeConfigs lists for a broker (KafkaConfig's keys, and the
// listener-prefixed ones set in server.properties).
var securityKeys = []string{
	"listeners", "advertised.listeners", "listener.security.protocol.map", "security.inter.broker.protocol",
	"inter.broker.listener.name", "control.plane.listener.name",
	"sasl.enabled.mechanisms", "sasl.mechanism.inter.broker.protocol", "sasl.jaas.config",
	"listener.name.sasl_plaintext.plain.sasl.jaas.config", "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config",
	"connections.max.reauth.ms", "listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms",
	"connection.failed.authentication.delay.ms", "sasl.server.max.receive.size", "sasl.kerberos.service.name",
	"sasl.login.class", "sasl.server.callback.handler.class", "principal.builder.class",
	"ssl.keystore.location", "ssl.keystore.password", "ssl.key.password", "ssl.keystore.type",
	"ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.location", "ssl.truststore.password",
	"ssl.truststore.type", "ssl.truststore.certificates", "ssl.client.auth", "ssl.enabled.protocols", "ssl.protocol",
	"ssl.cipher.suites", "ssl.endpoint.identification.algorithm", "ssl.principal.mapping.rules",
	"ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.secure.random.implementation", "ssl.provider",
	"ssl.engine.factory.class", "ssl.allow.dn.changes", "ssl.allow.san.changes", "security.providers",
	"sasl.kerberos.kinit.cmd", "sasl.kerberos.ticket.renew.window.factor", "sasl.kerberos.ticket.renew.jitter",
	"sasl.kerberos.min.time.before.relogin", "sasl.kerberos.principal.to.local.rules",
	"sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds",
	"sasl.login.refresh.buffer.seconds", "authorizer.class.name", "super.users",
	"listener.name.sasl_plaintext.ssl.keystore.type", "listener.name.sasl_plaintext.ssl.key.password",
	"listener.name.sasl_plaintext.sasl.kerberos.kinit.cmd",
	"sasl.client.callback.handler.class", "sasl.login.callback.handler.class", "sasl.login.connect.timeout.ms",
	"sasl.login.read.timeout.ms", "sasl.login.retry.backoff.max.ms", "sasl.login.retry.backoff.ms",
	"sasl.mechanism.controller.protocol", "sasl.oauthbearer.clock.skew.seconds", "sasl.oauthbearer.expected.audience",
	"sasl.oauthbearer.expected.issuer", "sasl.oauthbearer.jwks.endpoint.refresh.ms",
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
	"sasl.oauthbearer.jwks.endpoint.url", "sasl.oauthbearer.scope.claim.name", "sasl.oauthbearer.sub.claim.name",
	"sasl.oauthbearer.token.endpoint.url", "delegation.token.master.key", "delegation.token.secret.key",
	"delegation.token.expiry.time.ms", "delegation.token.max.lifetime.ms", "delegation.token.expiry.check.interval.ms",
	"zookeeper.ssl.cipher.suites", "zookeeper.ssl.client.enable", "zookeeper.ssl.crl.enable", "zookeeper.ssl.enabled.protocols",
	"zookeeper.ssl.endpoint.identification.algorithm", "zookeeper.ssl.keystore.location", "zookeeper.ssl.keystore.password",
	"zookeeper.ssl.keystore.type", "zookeeper.ssl.ocsp.enable", "zookeeper.ssl.protocol", "zookeeper.ssl.truststore.location",
	"zookeeper.ssl.truststore.password", "zookeeper.ssl.truststore.type", "zookeeper.clientCnxnSocket",
	"password.encoder.cipher.algorithm", "password.encoder.iterations", "password.encoder.key.length",
	"password.encoder.keyfactory.algorithm", "password.encoder.old.secret", "password.encoder.secret",
	"max.connection.creation.rate", "max.connections", "max.connections.per.ip", "max.connections.per.ip.overrides",
	"connections.max.idle.ms", "early.start.listeners", "controller.listener.names", "group.initial.rebalance.delay.ms",
}

// securityConfigsAgainstKafka describes the security keys of each side's
// broker (synonyms and documentation included) and compares name, value,
// source, read-only, sensitivity, type, synonyms and whether documentation
// is there (its text is our own). Listener addresses read {ADDR}.
func securityConfigsAgainstKafka(t *testing.T, ours, kafka string) {
	addrs := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	describe := func(addr string) map[string]string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version, req.IncludeSynonyms, req.IncludeDocumentation = 4, true, true
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType, res.ResourceName, res.ConfigNames = kmsg.ConfigResourceTypeBroker, "0", securityKeys
		req.Resources = append(req.Resources, res)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, rr := range resp.Resources {
			if rr.ErrorCode != 0 {
				t.Fatalf("%s: error %d %v", addr, rr.ErrorCode, derefStr(rr.ErrorMessage))
			}
			for _, c := range rr.Configs {
				val := "null"
				if c.Value != nil {
					val = strconv.Quote(addrs.ReplaceAllString(*c.Value, "{ADDR}"))
				}
				line := fmt.Sprintf("value=%s source=%v readOnly=%t sensitive=%t type=%v doc=%t", val, c.Source, c.ReadOnly,
					c.IsSensitive, c.ConfigType, c.Documentation != nil && *c.Documentation != "")
				for _, sy := range c.ConfigSynonyms {
					v := "null"
					if sy.Value != nil {
						v = strconv.Quote(addrs.ReplaceAllString(*sy.Value, "{ADDR}"))
					}
					line += fmt.Sprintf(" syn[%s=%s %v]", sy.Name, v, sy.Source)
				}
				out[c.Name] = line
			}
		}
		return out
	}
	k, o := describe(kafka), describe(ours)
	for _, name := range securityKeys {
		kl, kok := k[name]
		ol, ook := o[name]
		if !kok {
			kl = "(not listed)"
			t.Errorf("%s: not listed by Kafka 3.9: nothing to compare (a key Kafka lists belongs here)", name)
		}
		if !ook {
			ol = "(not listed)"
		}
		if known, ok := securityConfigKnown[name]; ok {
			if kl != known.kafka || ol != known.ours {
				t.Errorf("%s: known difference changed:\nKafka: %s\n ours: %s\nrecorded Kafka: %s\nrecorded ours:  %s", name, kl, ol, known.kafka, known.ours)
			}
			continue
		}
		if kl != ol {
			t.Errorf("%s:\nKafka: %s\n ours: %s", name, kl, ol)
		}
	}
}

// securityConfigKnown are the recorded differences of
// securityConfigsAgainstKafka, by key: Kafka 3.9's line, ours.
var securityConfigKnown = map[string]struct{ kafka, ours string }{}

func freePortNumber(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(harness.FreeLoopbackAddr(t))
	n, _ := strconv.Atoi(p)
	return n
}

// scramAPIsAgainstKafka sends the same AlterUserScramCredentials and
// DescribeUserScramCredentials requests to Kafka 3.9 and to ours (their
// PLAINTEXT listeners; each broker is its cluster's controller) and
// compares the results, user by user.
func scramAPIsAgainstKafka(t *testing.T, ours, kafka string) {
	up := func(user string, mech int8, it int32) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
		u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		u.Name, u.Mechanism, u.Iterations, u.Salt, u.SaltedPassword = user, mech, it, []byte("salt"), []byte("0123456789abcdef0123456789abcdef")
		return u
	}
	del := func(user string, mech int8) kmsg.AlterUserSCRAMCredentialsRequestDeletion {
		d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		d.Name, d.Mechanism = user, mech
		return d
	}
	type step struct {
		ups  []kmsg.AlterUserSCRAMCredentialsRequestUpsertion
		dels []kmsg.AlterUserSCRAMCredentialsRequestDeletion
		desc []string // describe these users (nil: no describe; empty: all)
	}
	steps := []step{
		{ups: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{up("u1", 1, 4096), up("u1", 2, 16384), up("u2", 1, 8192)}},
		{ups: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{up("", 1, 4096), up("u3", 0, 4096), up("u4", 1, 4095), up("u5", 2, 16385), up("u6", 1, 5000)},
			dels: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{del("u7", 3), del("u6", 1)}},
		{dels: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{del("u2", 2), del("u1", 1)}},
		{desc: []string{}},
		{desc: []string{"u1", "", "nobody", "u2", "u2"}},
	}
	run := func(addr string, st step) string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var lines []string
		if st.desc != nil {
			req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
			for _, u := range st.desc {
				ru := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
				ru.Name = u
				req.Users = append(req.Users, ru)
			}
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return "error: " + err.Error()
			}
			for _, r := range resp.Results {
				l := fmt.Sprintf("%s %d %q", r.User, r.ErrorCode, derefStr(r.ErrorMessage))
				for _, ci := range r.CredentialInfos {
					l += fmt.Sprintf(" %d:%d", ci.Mechanism, ci.Iterations)
				}
				lines = append(lines, l)
			}
			return fmt.Sprintf("top %d %q: ", resp.ErrorCode, derefStr(resp.ErrorMessage)) + strings.Join(lines, "; ")
		}
		req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
		req.Upsertions, req.Deletions = st.ups, st.dels
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return "error: " + err.Error()
		}
		for _, r := range resp.Results {
			lines = append(lines, fmt.Sprintf("%s %d %q", r.User, r.ErrorCode, derefStr(r.ErrorMessage)))
		}
		slices.Sort(lines) // Kafka's order comes from Scala maps and sets
		return strings.Join(lines, "; ")
	}
	for i, st := range steps {
		k, o := run(kafka, st), run(ours, st)
		if k != o {
			t.Errorf("step %d:\nKafka: %s\n ours: %s", i, k, o)
		}
	}
}

func derefStr(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
