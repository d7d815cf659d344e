package zkmeta

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// UUIDString renders a Kafka Uuid: URL-safe base64 of the 16 bytes without padding (22 characters).
func UUIDString(u [16]byte) string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// ParseUUID parses Kafka's Uuid string form (Uuid.fromString).
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) > 24 {
		return u, fmt.Errorf("parse uuid %s: input string is too long to be decoded as a base64 UUID", quoteData([]byte(s)))
	}
	enc := base64.RawURLEncoding
	if len(s) == 24 { // tolerate padding
		enc = base64.URLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return u, fmt.Errorf("parse uuid %s: %w", quoteData([]byte(s)), err)
	}
	if len(b) != 16 {
		return u, fmt.Errorf("parse uuid %s: decoded to %d bytes, want 16", quoteData([]byte(s)), len(b))
	}
	copy(u[:], b)
	return u, nil
}

// NewTopicID returns a random id as Uuid.randomUuid does: never the zero UUID nor the reserved metadata
// topic id (0,1), and never one whose string form starts with '-' (it would look like a CLI flag).
func NewTopicID() [16]byte {
	for {
		var u [16]byte
		_, _ = rand.Read(u[:]) // never fails since Go 1.24
		// Kafka derives it from java.util.UUID.randomUUID: version 4, IETF variant.
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		if u == ([16]byte{}) || u == metadataTopicID || UUIDString(u)[0] == '-' {
			continue
		}
		return u
	}
}

// metadataTopicID is Uuid.METADATA_TOPIC_ID = new Uuid(0L, 1L).
var metadataTopicID = [16]byte{15: 1}
