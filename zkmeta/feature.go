package zkmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"
)

// FeaturePath is the cluster-wide finalized features znode (KIP-584).
const FeaturePath = "/feature"

// FeatureZNode versions: v1 carries min_version_level and max_version_level
// per feature, v2 (written from IBP 3.3-IV0) only max_version_level.
const (
	FeatureZNodeV1 = 1
	FeatureZNodeV2 = 2
)

// FeatureZNode is /feature's content (Kafka's FeatureZNode).
type FeatureZNode struct {
	Version  int
	Enabled  bool             // status 1 (Enabled) or 0 (Disabled)
	Features map[string]int16 // finalized feature -> max version level
}

// EncodeFeatureZNode writes /feature as Kafka 3.9 does (FeatureZNode.encode):
// {"features":{...},"version":2,"status":1}, in that key order (the order
// of Kafka's Scala map), features sorted by name.
func EncodeFeatureZNode(f FeatureZNode) []byte {
	var b bytes.Buffer
	b.WriteString(`{"features":{`)
	for i, name := range slices.Sorted(maps.Keys(f.Features)) {
		if i > 0 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(name)
		lvl := strconv.Itoa(int(f.Features[name]))
		b.Write(n)
		b.WriteString(`:{"max_version_level":` + lvl)
		if f.Version == FeatureZNodeV1 {
			b.WriteString(`,"min_version_level":` + lvl)
		}
		b.WriteByte('}')
	}
	status := 0
	if f.Enabled {
		status = 1
	}
	fmt.Fprintf(&b, `},"version":%d,"status":%d}`, f.Version, status)
	return b.Bytes()
}

// DecodeFeatureZNode parses /feature with FeatureZNode.decode's checks:
// version 1 or 2, status present and 0 or 1, features present, each with
// max_version_level >= 1 (v1 also min_version_level >= 1 and <= max).
func DecodeFeatureZNode(data []byte) (FeatureZNode, error) {
	var raw struct {
		Version  *int                       `json:"version"`
		Status   *int                       `json:"status"`
		Features map[string]map[string]*int `json:"features"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return FeatureZNode{}, malformed(FeaturePath, data, err)
	}
	if raw.Version == nil || *raw.Version < FeatureZNodeV1 || *raw.Version > FeatureZNodeV2 {
		return FeatureZNode{}, malformed(FeaturePath, data, errors.New("unsupported version"))
	}
	if raw.Status == nil {
		return FeatureZNode{}, malformed(FeaturePath, data, errors.New("status can not be absent"))
	}
	if *raw.Status != 0 && *raw.Status != 1 {
		return FeatureZNode{}, malformed(FeaturePath, data, fmt.Errorf("malformed status %d", *raw.Status))
	}
	if raw.Features == nil {
		return FeatureZNode{}, malformed(FeaturePath, data, errors.New("features map can not be absent"))
	}
	f := FeatureZNode{Version: *raw.Version, Enabled: *raw.Status == 1, Features: map[string]int16{}}
	for name, levels := range raw.Features {
		maxp, minp := levels["max_version_level"], levels["min_version_level"]
		if maxp == nil || f.Version == FeatureZNodeV1 && minp == nil {
			return FeatureZNode{}, malformed(FeaturePath, data, fmt.Errorf("feature %s lacks its version levels", name))
		}
		if *maxp < 1 || *maxp > 32767 || f.Version == FeatureZNodeV1 && (*minp < 1 || *maxp < *minp) {
			return FeatureZNode{}, malformed(FeaturePath, data, fmt.Errorf("feature %s has invalid version levels", name))
		}
		f.Features[name] = int16(*maxp)
	}
	return f, nil
}

// EnableFeatureVersioning is KafkaController.enableFeatureVersioning for a
// ZooKeeper-mode broker (inter.broker.protocol.version >= 2.7, whose
// BrokerFeatures are empty, so no default finalized features): /feature is
// created as {"features":{},"version":2,"status":1} when absent; an existing
// one keeps its features if enabled, loses them if disabled, and is
// rewritten only when that differs from what is stored. An undecodable
// /feature fails the call, as it fails Kafka's controller failover. It
// returns the znode's version (the finalized features epoch).
func (c *Client) EnableFeatureVersioning() (int32, error) {
	p := c.abs(FeaturePath)
	for attempt := 0; attempt < 3; attempt++ {
		data, st, err := c.conn.Get(p)
		if errors.Is(err, ErrNoNode) {
			want := FeatureZNode{Version: FeatureZNodeV2, Enabled: true, Features: map[string]int16{}}
			_, err = c.conn.Create(p, EncodeFeatureZNode(want), zk.FlagPersistent, openACL)
			if errors.Is(err, ErrNodeExists) {
				continue // created meanwhile: decide on its content
			}
			if err != nil {
				return 0, fmt.Errorf("create %s: %w", FeaturePath, classify(err))
			}
			_, st, err = c.conn.Get(p)
			if err != nil {
				return 0, fmt.Errorf("get %s: %w", FeaturePath, classify(err))
			}
			return st.Version, nil
		}
		if err != nil {
			return 0, fmt.Errorf("get %s: %w", FeaturePath, classify(err))
		}
		existing, err := DecodeFeatureZNode(data)
		if err != nil {
			return 0, err
		}
		want := FeatureZNode{Version: FeatureZNodeV2, Enabled: true, Features: map[string]int16{}}
		if existing.Enabled {
			want.Features = existing.Features
		}
		if existing.Version == want.Version && existing.Enabled && maps.Equal(existing.Features, want.Features) {
			return st.Version, nil
		}
		// KafkaZkClient.updateFeatureZNode: unconditional setData.
		st, err = c.conn.Set(p, EncodeFeatureZNode(want), -1)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("set %s: %w", FeaturePath, classify(err))
		}
		return st.Version, nil
	}
	return 0, fmt.Errorf("enable feature versioning: %s kept changing", FeaturePath)
}

// WatchFeature reads /feature and sets an existence watch on it (fired on
// creation, deletion and data change), as FinalizedFeatureChangeListener
// registers FeatureZNodeChangeHandler. ok is false when it is absent; data
// is raw so the caller decides what an undecodable node means.
func (c *Client) WatchFeature() (data []byte, zkVersion int32, ok bool, events <-chan Event, err error) {
	p := c.abs(FeaturePath)
	exists, _, w, err := c.conn.ExistsW(p)
	if err != nil {
		return nil, 0, false, nil, fmt.Errorf("watch %s: %w", FeaturePath, classify(err))
	}
	events = c.relay(w)
	if !exists {
		return nil, 0, false, events, nil
	}
	data, st, err := c.conn.Get(p)
	if errors.Is(err, ErrNoNode) {
		return nil, 0, false, events, nil // deleted meanwhile: the watch fires
	}
	if err != nil {
		return nil, 0, false, nil, fmt.Errorf("get %s: %w", FeaturePath, classify(err))
	}
	return data, st.Version, true, events, nil
}
