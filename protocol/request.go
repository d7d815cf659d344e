package protocol

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	// ErrUnknownAPIKey: the request's API key is not one kmsg and Kafka 3.9 both know; the caller
	// closes the connection.
	ErrUnknownAPIKey = errors.New("unknown api key")
	// ErrUnsupportedVersion: the version is outside what kmsg and Kafka 3.9 both know; the header is still returned,
	// the body is not decoded. For ApiVersions the broker must answer (KIP-511).
	ErrUnsupportedVersion = errors.New("unsupported api version")
	// ErrMalformedRequest: a truncated header or body (bytes after the body are ignored).
	ErrMalformedRequest = errors.New("malformed request")
)

const apiVersionsKey = 18

// RequestHeader is a decoded request header (v0, v1 or v2).
type RequestHeader struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      *string
	HeaderVersion int8
}

// requestHeaderVersion: v2 for flexible requests (KIP-482), v0 only for
// ControlledShutdown v0, otherwise v1.
func requestHeaderVersion(key, version int16, flexible bool) int8 {
	switch {
	case flexible:
		return 2
	case key == 7 && version == 0:
		return 0
	default:
		return 1
	}
}

// ParseRequest decodes a frame (as returned by ReadFrame) into its header and
// body. The body is decoded with kmsg at the header's version. The returned
// request's byte fields (Produce records, tags) alias frame: do not reuse the
// frame's buffer while the request is in use. The body is rewritten in
// frame, in place, so that kmsg reads what Kafka reads (checkBody): a
// tagged-field count of 2^31 or more, which Kafka reads as a negative int,
// is zero, and tagged fields Kafka 3.9 does not know are dropped.
//
// Errors: ErrUnknownAPIKey (header returned), ErrUnsupportedVersion (header
// returned, request nil; for ApiVersions the header is parsed as v2 like
// Kafka does), ErrMalformedRequest for a truncated header or body, or one whose declared
// counts do not fit in its bytes (checkBody). Bytes
// left after the body are ignored, as Kafka ignores them
// (AbstractRequest.parseRequest reads the struct and never checks what
// remains; librdkafka 2.x leaves some after an all-topics Metadata v9+
// body). The body is decoded once. It never panics.
func ParseRequest(frame []byte) (hdr RequestHeader, req kmsg.Request, err error) {
	defer func() {
		if p := recover(); p != nil {
			req = nil
			err = fmt.Errorf("%w: decoder panic: %v", ErrMalformedRequest, p)
		}
	}()
	r := reader{src: frame}
	hdr.APIKey = r.int16()
	hdr.APIVersion = r.int16()
	hdr.CorrelationID = r.int32()
	if r.bad {
		return hdr, nil, fmt.Errorf("%w: header of %d bytes is too short", ErrMalformedRequest, len(frame))
	}
	req = kmsg.RequestForKey(hdr.APIKey)
	schema := requestSchema(hdr.APIKey)
	if req == nil || schema == nil {
		// A key Kafka 3.9 does not know ends the connection there too
		// (RequestContext.parseRequest: ApiKeys.forId throws).
		hdr.HeaderVersion = 1
		return hdr, nil, fmt.Errorf("%w: %d", ErrUnknownAPIKey, hdr.APIKey)
	}
	maxVersion := min(req.MaxVersion(), schema.max)
	if hdr.APIVersion < schema.min || hdr.APIVersion > maxVersion {
		// KIP-511: ApiVersions newer than we know still gets an answer, so read
		// the client id (header v2 for ApiVersions v3+) on a best-effort basis.
		hdr.HeaderVersion = 1
		if hdr.APIKey == apiVersionsKey && hdr.APIVersion > 0 {
			hdr.HeaderVersion = 2
		}
		hdr.ClientID = r.nullableString()
		if r.bad {
			hdr.ClientID = nil
		}
		return hdr, nil, fmt.Errorf("%w: %s v%d (max %d)", ErrUnsupportedVersion,
			kmsg.NameForKey(hdr.APIKey), hdr.APIVersion, maxVersion)
	}
	req.SetVersion(hdr.APIVersion)
	hdr.HeaderVersion = requestHeaderVersion(hdr.APIKey, hdr.APIVersion, req.IsFlexible())
	if hdr.HeaderVersion >= 1 {
		hdr.ClientID = r.nullableString()
	}
	if hdr.HeaderVersion >= 2 {
		r.skipTags()
	}
	if r.bad {
		return hdr, nil, fmt.Errorf("%w: truncated %s v%d header", ErrMalformedRequest,
			kmsg.NameForKey(hdr.APIKey), hdr.APIVersion)
	}
	// Bound every declared count by the bytes left before kmsg loops or
	// allocates by it (bound.go).
	n, err := checkBody(schema, hdr.APIVersion, r.src)
	if err != nil {
		return hdr, nil, fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}
	if err := req.ReadFrom(r.src[:n]); err != nil {
		return hdr, nil, fmt.Errorf("%w: decode %s v%d body: %v", ErrMalformedRequest,
			kmsg.NameForKey(hdr.APIKey), hdr.APIVersion, err)
	}
	return hdr, req, nil
}
