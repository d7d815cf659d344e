// ApiVersions (key 18) v0-4: lists every key and version range of
// supportedAPIs (dispatch.go), sorted by key. A version newer than ours is
// answered UNSUPPORTED_VERSION in a v0 body naming ApiVersions' own range,
// so the client retries lower (KIP-511).
// Version steps: v1 throttle_time_ms, v3 flexible (KIP-482) with client
// software name and version, checked against Kafka's pattern
// (INVALID_REQUEST otherwise, KIP-511); v3+ tagged feature fields (KIP-584).
// ZooKeeper mode: no supported features, finalized features epoch from the
// /feature znode (-1 without one), no finalized feature.
// Deviation: only the versions our handlers serve are listed, never more
// than Kafka 3.9; see TestApiVersionsMatchKafka39 for the differences.

package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleApiVersions lists every API and version range this broker serves.
func (s *Server) handleApiVersions(req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	// ApiVersionsRequest.isValid (KIP-511): from v3 the client software
	// name and version must match SOFTWARE_NAME_VERSION_PATTERN, else
	// INVALID_REQUEST with no API keys (getErrorResponse).
	if req.Version >= 3 && (!validSoftwareNameOrVersion(req.ClientSoftwareName) || !validSoftwareNameOrVersion(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	keys := make([]int, 0, len(supportedAPIs))
	for k := range supportedAPIs {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	for _, k := range keys {
		vr := supportedAPIs[kmsg.Key(k)]
		resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{
			ApiKey: int16(k), MinVersion: vr.min, MaxVersion: vr.max,
		})
	}
	// v3+ (tagged) supported features: none. KafkaServer (ZooKeeper mode)
	// builds its ApiVersionManager with BrokerFeatures.createEmpty();
	// defaultSupportedFeatures (metadata.version, kraft.version) is KRaft's.
	// v3+ (tagged): ZkMetadataCache.features, kept by watchFeature from
	// /feature: its znode version as the epoch, -1 (UNKNOWN_FINALIZED_FEATURES_EPOCH)
	// without an enabled one; no finalized feature in ZooKeeper mode.
	resp.FinalizedFeaturesEpoch = -1
	if f := s.features.Load(); f != nil {
		resp.FinalizedFeaturesEpoch = f.epoch
	}
	return resp
}

// apiVersionsUnsupported is KIP-511's answer to an ApiVersions version newer
// than ours: UNSUPPORTED_VERSION in a v0 body listing ApiVersions' own range,
// so the client retries with a version we know.
func (s *Server) apiVersionsUnsupported() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	vr := supportedAPIs[kmsg.ApiVersions]
	resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: int16(kmsg.ApiVersions), MinVersion: vr.min, MaxVersion: vr.max}}
	return resp
}

// validSoftwareNameOrVersion is Kafka's SOFTWARE_NAME_VERSION_PATTERN,
// [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?: ASCII letters and digits,
// with '-' and '.' allowed inside but not at either end, never empty.
func validSoftwareNameOrVersion(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum {
			continue
		}
		if (c == '-' || c == '.') && i > 0 && i < len(s)-1 {
			continue
		}
		return false
	}
	return true
}
