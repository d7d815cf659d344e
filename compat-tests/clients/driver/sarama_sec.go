package driver

import (
	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// WithSecurity implements Secured: Net.TLS and Net.SASL. Sarama has no
// SCRAM client of its own; its examples plug in github.com/xdg-go/scram, as
// done here.
func (s Sarama) WithSecurity(sec Security) (Client, error) {
	if sec.TLS() {
		if _, err := sec.TLSConfig(); err != nil {
			return nil, err
		}
	}
	s.sec = &sec
	return s, nil
}

func (s Sarama) secure(cfg *sarama.Config) {
	if s.sec.TLS() {
		tc, _ := s.sec.TLSConfig() // checked in WithSecurity
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, tc
	}
	if !s.sec.SASL() {
		return
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.User, cfg.Net.SASL.Password = s.sec.User, s.sec.Password
	switch s.sec.Mechanism {
	case "PLAIN":
		cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case "SCRAM-SHA-256":
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: scram.SHA256} }
	case "SCRAM-SHA-512":
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: scram.SHA512} }
	}
}

// xdgSCRAM is sarama's SCRAMClient on xdg-go/scram (sarama's
// examples/sasl_scram_client).
type xdgSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (x *xdgSCRAM) Begin(user, password, authzID string) error {
	c, err := x.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}

func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }

func (x *xdgSCRAM) Done() bool { return x.conv.Done() }
