package protocol

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// responseHeaderFlexible reports whether the response header carries tagged
// fields (header v1). ApiVersions responses always use header v0 (KIP-511), so
// that a client can parse the answer before it knows the broker's versions.
func responseHeaderFlexible(key int16, flexible bool) bool {
	return flexible && key != apiVersionsKey
}

// EncodeResponse encodes a complete response frame: int32 size, correlation
// id, the header's tagged fields when the response is flexible (never for
// ApiVersions), then resp's body at hdr.APIVersion. An ApiVersions request
// whose version is outside what kmsg knows is answered with a v0 body, as
// Kafka does (KIP-511); the caller sets UNSUPPORTED_VERSION in it.
func EncodeResponse(hdr RequestHeader, resp kmsg.Response) []byte {
	version := hdr.APIVersion
	if resp.Key() == apiVersionsKey && (version < 0 || version > resp.MaxVersion()) {
		version = 0
	}
	resp.SetVersion(version)
	dst := make([]byte, 4, 64)
	dst = appendInt32(dst, hdr.CorrelationID)
	if responseHeaderFlexible(resp.Key(), resp.IsFlexible()) {
		dst = appendUvarint(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}
