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
	// v3+ (tagged): BrokerFeatures.defaultSupportedFeatures of a 3.9
	// broker: metadata.version from 3.0-IV1 (level 1) to 3.9-IV0 (21), and
	// each production feature whose latest production level is above 0
	// (kraft.version 0-1; transaction.version's is 0 in 3.9).
	for _, f := range supportedFeatures {
		sf := kmsg.NewApiVersionsResponseSupportedFeature()
		sf.Name, sf.MinVersion, sf.MaxVersion = f.name, f.min, f.max
		resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
	}
	// v3+ (tagged): ZkMetadataCache.features, kept by watchFeature from
	// /feature: its znode version as the epoch, -1 (UNKNOWN_FINALIZED_FEATURES_EPOCH)
	// without an enabled one; no finalized feature in ZooKeeper mode.
	resp.FinalizedFeaturesEpoch = -1
	if f := s.features.Load(); f != nil {
		resp.FinalizedFeaturesEpoch = f.epoch
	}
	return resp
}

// supportedFeatures is Kafka 3.9's supported feature ranges (KIP-584).
var supportedFeatures = []struct {
	name     string
	min, max int16
}{
	{"metadata.version", 1, 21},
	{"kraft.version", 0, 1},
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
