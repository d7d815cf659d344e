package broker

import (
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzSASLExchange feeds arbitrary frames to a new connection's
// authenticator, as a client would send them before authenticating: it
// may fail the exchange, never panic. Seeds: an ApiVersions, handshakes
// v0 and v1 and SaslAuthenticate tokens of both mechanisms.
func FuzzSASLExchange(f *testing.F) {
	cfg := DefaultConfig()
	cfg.Listeners = []string{"SASL_PLAINTEXT://127.0.0.1:0"}
	cfg.StaticConfigs = map[string]string{
		"sasl.enabled.mechanisms":                                     "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config":         testJAAS,
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": scramLoginModule + " required;",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scramLoginModule + " required;",
	}
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler), cache: newMetadataCache()}
	st, err := newSASLSettings(cfg, s.logger)
	if err != nil {
		f.Fatal(err)
	}
	s.sasl.Store(st)
	c256, _ := scramSHA256.credential("alice-secret", []byte("salt"), 4096)
	s.scram.update("alice", map[string]string{mechScramSHA256: scramCredentialString(c256)})
	frame := func(req kmsg.Request) []byte {
		return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, 1)[4:]
	}
	hs := func(v int16, m string) []byte {
		r := kmsg.NewPtrSASLHandshakeRequest()
		r.Version, r.Mechanism = v, m
		return frame(r)
	}
	auth := func(tok string) []byte {
		r := kmsg.NewPtrSASLAuthenticateRequest()
		r.Version, r.SASLAuthBytes = 2, []byte(tok)
		return frame(r)
	}
	f.Add(frame(kmsg.NewPtrApiVersionsRequest()), hs(1, "PLAIN"), auth("\x00alice\x00alice-secret"))
	f.Add(hs(0, "SCRAM-SHA-256"), []byte("n,,n=alice,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add(hs(1, "SCRAM-SHA-256"), auth("n,a=alice,m=x,n=alice,r=abc,tokenauth=true"), auth("c=biws,r=abcdef,p=AAAA"))
	f.Add([]byte{0, 17, 0, 1}, []byte{}, []byte{0xff})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		sa := s.newConnSASL("SASL_PLAINTEXT")
		for _, fr := range [][]byte{a, b, c} {
			out := sa.frame(s, fr)
			if out.authFailed || out.closeNow {
				return
			}
		}
	})
}
