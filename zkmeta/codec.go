package zkmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// BrokerInfo is a /brokers/ids/<id> registration.
type BrokerInfo struct {
	ID        int32
	Host      string // top-level host: the first PLAINTEXT endpoint's (Kafka rule), "" if none
	Port      int32  // likewise, -1 if none
	Rack      *string
	Endpoints []string // "LISTENER://host:port", advertised order
	// SecurityProtocols maps listener name to security protocol; nil derives it (a listener named after a
	// protocol uses that protocol, any other name PLAINTEXT).
	SecurityProtocols map[string]string
	JMXPort           int32 // written as -1 when 0
	Epoch             int64 // czxid of the znode (broker epoch); filled by reads and RegisterBroker
	Timestamp         int64 // registration time, ms; 0 means now on RegisterBroker
	Version           int   // JSON version read back (we write 5)
}

// Endpoint is one parsed advertised listener.
type Endpoint struct {
	Listener string
	Host     string
	Port     int32
}

// ParseEndpoint splits "LISTENER://host:port" (host may be empty or a bracketed IPv6 address).
func ParseEndpoint(s string) (Endpoint, error) {
	name, rest, ok := strings.Cut(s, "://")
	if !ok || name == "" {
		return Endpoint{}, fmt.Errorf("parse endpoint %q: want LISTENER://host:port", s)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Endpoint{}, fmt.Errorf("parse endpoint %q: missing port", s)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
	port, err := strconv.ParseInt(rest[i+1:], 10, 32)
	if err != nil {
		return Endpoint{}, fmt.Errorf("parse endpoint %q: bad port: %w", s, err)
	}
	return Endpoint{Listener: name, Host: host, Port: int32(port)}, nil
}

var knownProtocols = map[string]bool{"PLAINTEXT": true, "SSL": true, "SASL_PLAINTEXT": true, "SASL_SSL": true}

func (b BrokerInfo) protocolOf(listener string) string {
	if p, ok := b.SecurityProtocols[listener]; ok {
		return p
	}
	if knownProtocols[listener] {
		return listener
	}
	return "PLAINTEXT"
}

// EncodeBroker renders the v5 registration exactly as BrokerIdZNode.encode (a mutable.HashMap: version,
// host, port, endpoints, jmx_port, timestamp, then rack, listener_security_protocol_map, features).
func EncodeBroker(b BrokerInfo) ([]byte, error) {
	eps := b.Endpoints
	if len(eps) == 0 && b.Host != "" {
		eps = []string{fmt.Sprintf("PLAINTEXT://%s:%d", b.Host, b.Port)}
	}
	host, port := "null", int64(-1)
	var protoKeys []string
	protos := rawObj{}
	for _, s := range eps {
		ep, err := ParseEndpoint(s)
		if err != nil {
			return nil, fmt.Errorf("encode broker %d: %w", b.ID, err)
		}
		proto := b.protocolOf(ep.Listener)
		if proto == "PLAINTEXT" && port == -1 {
			host, port = jsonString(ep.Host), int64(ep.Port)
		}
		protoKeys = append(protoKeys, ep.Listener)
		protos[ep.Listener] = jsonString(proto)
	}
	jmx := int64(b.JMXPort)
	if jmx == 0 {
		jmx = -1
	}
	obj := rawObj{
		"version":                        "5",
		"host":                           host,
		"port":                           jsonInt(port),
		"endpoints":                      jsonStringList(eps),
		"jmx_port":                       jsonInt(jmx),
		"timestamp":                      jsonString(strconv.FormatInt(b.Timestamp, 10)),
		"listener_security_protocol_map": encodeObj(protos, scalaImmutableMapOrder(protoKeys)),
		"features":                       "{}",
	}
	added := []string{"listener_security_protocol_map", "features"}
	if b.Rack != nil {
		obj["rack"] = jsonString(*b.Rack)
		added = []string{"rack", "listener_security_protocol_map", "features"}
	}
	order := scalaMutableMapOrder([]string{"version", "host", "port", "endpoints", "jmx_port", "timestamp"}, added)
	return []byte(encodeObj(obj, order)), nil
}

// flexInt accepts a JSON number or a string holding one (Kafka writes timestamps and some versions as strings).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", quoteData(b))
	}
	*f = flexInt(v)
	return nil
}

// flexInt32 is a flexInt that must fit an int32 (Kafka reads these fields with to[Int], which refuses
// anything but a JSON int).
type flexInt32 int32

func (f *flexInt32) UnmarshalJSON(b []byte) error {
	var v flexInt
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return fmt.Errorf("%d is out of the int32 range", v)
	}
	*f = flexInt32(v)
	return nil
}

// decodeObject unmarshals znode data that must be one JSON object: Kafka's decoders call asJsonObject on
// it, which refuses null, arrays, strings and numbers (encoding/json alone takes null for an empty object).
func decodeObject(data []byte, v any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(data, v)
}

// maxQuoted bounds how much of a malformed znode's data an error message quotes.
const maxQuoted = 256

// quoteData quotes data for an error message, clipped to maxQuoted bytes.
func quoteData(data []byte) string {
	if len(data) > maxQuoted {
		return fmt.Sprintf("%q... (%d bytes)", data[:maxQuoted], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// malformed is a decoder's error for data it cannot use: it wraps ErrMalformed, quotes (a clipped) data
// and carries err's message, clipped too (encoding/json's messages quote whole values).
func malformed(what string, data []byte, err error) error {
	msg := err.Error()
	if len(msg) > maxQuoted {
		msg = msg[:maxQuoted] + "..."
	}
	return fmt.Errorf("decode %s %s: %w: %s", what, quoteData(data), ErrMalformed, msg)
}

// DecodeBroker parses any registration version >= 1.
func DecodeBroker(id int32, data []byte) (BrokerInfo, error) {
	var raw struct {
		Version   flexInt32         `json:"version"`
		Host      *string           `json:"host"`
		Port      *flexInt32        `json:"port"`
		JMXPort   flexInt32         `json:"jmx_port"`
		Timestamp flexInt           `json:"timestamp"`
		Endpoints []string          `json:"endpoints"`
		Rack      *string           `json:"rack"`
		Protocols map[string]string `json:"listener_security_protocol_map"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return BrokerInfo{}, malformed(fmt.Sprintf("broker %d registration", id), data, err)
	}
	if raw.Version < 1 {
		return BrokerInfo{}, malformed(fmt.Sprintf("broker %d registration", id), data, fmt.Errorf("unsupported version %d", raw.Version))
	}
	b := BrokerInfo{ID: id, Rack: raw.Rack, JMXPort: int32(raw.JMXPort), Timestamp: int64(raw.Timestamp),
		Version: int(raw.Version), SecurityProtocols: raw.Protocols, Port: -1}
	if raw.Host != nil {
		b.Host = *raw.Host
	}
	if raw.Port != nil {
		b.Port = int32(*raw.Port)
	}
	b.Endpoints = raw.Endpoints
	if raw.Version == 1 || len(b.Endpoints) == 0 {
		if b.Host != "" && b.Port >= 0 {
			b.Endpoints = []string{fmt.Sprintf("PLAINTEXT://%s:%d", b.Host, b.Port)}
		}
	}
	return b, nil
}

// ControllerInfo is the /controller znode.
type ControllerInfo struct {
	BrokerID  int32
	Timestamp int64
	// KRaftControllerEpoch is -1 in ZooKeeper mode (the field exists since Kafka 3.4's migration support).
	KRaftControllerEpoch int32
}

// EncodeController renders /controller as Kafka 3.7's ControllerZNode.encode (an immutable Map4, insertion
// order): {"version":2,"brokerid":N,"timestamp":"ms","kraftControllerEpoch":-1}.
func EncodeController(brokerID int32, timestampMs int64) []byte {
	return []byte(fmt.Sprintf(`{"version":2,"brokerid":%d,"timestamp":"%d","kraftControllerEpoch":-1}`, brokerID, timestampMs))
}

// DecodeController parses /controller (versions 1 and 2).
func DecodeController(data []byte) (ControllerInfo, error) {
	var raw struct {
		BrokerID  *flexInt32 `json:"brokerid"`
		Timestamp flexInt    `json:"timestamp"`
		KRaft     *flexInt32 `json:"kraftControllerEpoch"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return ControllerInfo{}, malformed(ControllerPath, data, err)
	}
	if raw.BrokerID == nil {
		return ControllerInfo{}, malformed(ControllerPath, data, errors.New("no brokerid"))
	}
	ci := ControllerInfo{BrokerID: int32(*raw.BrokerID), Timestamp: int64(raw.Timestamp), KRaftControllerEpoch: -1}
	if raw.KRaft != nil {
		ci.KRaftControllerEpoch = int32(*raw.KRaft)
	}
	return ci, nil
}

// EncodeClusterID renders /cluster/id: {"version":"1","id":"..."} (version is a string in Kafka).
func EncodeClusterID(id string) []byte {
	return []byte(`{"version":"1","id":` + jsonString(id) + `}`)
}

// DecodeClusterID parses /cluster/id.
func DecodeClusterID(data []byte) (string, error) {
	var raw struct {
		ID *string `json:"id"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return "", malformed(ClusterIDPath, data, err)
	}
	if raw.ID == nil {
		return "", malformed(ClusterIDPath, data, errors.New("no id"))
	}
	return *raw.ID, nil
}

// TopicAssignment is /brokers/topics/<t>.
type TopicAssignment struct {
	Topic            string
	TopicID          [16]byte // zero when the znode has no topic_id (pre-2.8 topics)
	Partitions       map[int32][]int32
	AddingReplicas   map[int32][]int32
	RemovingReplicas map[int32][]int32
}

// EncodeTopicAssignment renders the v3 topic znode as TopicZNode.encode: a mutable.HashMap of version,
// partitions, adding_replicas, removing_replicas, += topic_id, whose order is partitions, topic_id,
// adding_replicas, removing_replicas, version. Empty adding/removing lists are left out per partition.
func EncodeTopicAssignment(a TopicAssignment) []byte {
	nonEmpty := func(m map[int32][]int32) map[int32][]int32 {
		out := make(map[int32][]int32)
		for p, r := range m {
			if len(r) > 0 {
				out[p] = r
			}
		}
		return out
	}
	obj := rawObj{
		"version":           "3",
		"partitions":        partitionMapJSON(a.Partitions),
		"adding_replicas":   partitionMapJSON(nonEmpty(a.AddingReplicas)),
		"removing_replicas": partitionMapJSON(nonEmpty(a.RemovingReplicas)),
	}
	var added []string
	if a.TopicID != ([16]byte{}) {
		obj["topic_id"] = jsonString(UUIDString(a.TopicID))
		added = []string{"topic_id"}
	}
	order := scalaMutableMapOrder([]string{"version", "partitions", "adding_replicas", "removing_replicas"}, added)
	return []byte(encodeObj(obj, order))
}

// DecodeTopicAssignment parses any topic znode version (1..3).
func DecodeTopicAssignment(topic string, data []byte) (TopicAssignment, error) {
	a := TopicAssignment{Topic: topic, Partitions: map[int32][]int32{},
		AddingReplicas: map[int32][]int32{}, RemovingReplicas: map[int32][]int32{}}
	if len(data) == 0 {
		return a, nil // Kafka treats a null znode as an empty assignment
	}
	what := "topic " + topic + " assignment"
	var raw struct {
		TopicID    *string            `json:"topic_id"`
		Partitions map[string][]int32 `json:"partitions"`
		Adding     map[string][]int32 `json:"adding_replicas"`
		Removing   map[string][]int32 `json:"removing_replicas"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return a, malformed(what, data, err)
	}
	if raw.TopicID != nil {
		id, err := ParseUUID(*raw.TopicID)
		if err != nil {
			return a, malformed(what, data, err)
		}
		a.TopicID = id
	}
	conv := func(src map[string][]int32, dst map[int32][]int32, field string) error {
		for k, v := range src {
			// A partition id is a non-negative int (Kafka's partition.toInt would take "-1" or "+1"; a
			// negative partition cannot exist, so we refuse it).
			p, err := strconv.ParseInt(k, 10, 32)
			if err != nil || p < 0 || strconv.FormatInt(p, 10) != k {
				return malformed(what, data, fmt.Errorf("%s: bad partition %s", field, quoteData([]byte(k))))
			}
			if v == nil { // Kafka: null is not a Seq[Int]
				return malformed(what, data, fmt.Errorf("%s: partition %d has null replicas", field, p))
			}
			dst[int32(p)] = v
		}
		return nil
	}
	for _, c := range []struct {
		src   map[string][]int32
		dst   map[int32][]int32
		field string
	}{{raw.Partitions, a.Partitions, "partitions"}, {raw.Adding, a.AddingReplicas, "adding_replicas"}, {raw.Removing, a.RemovingReplicas, "removing_replicas"}} {
		if err := conv(c.src, c.dst, c.field); err != nil {
			return a, err
		}
	}
	return a, nil
}

// EncodeEntityConfig renders /config/<type>/<name>: {"version":1,"config":{...}}; config keys follow
// java.util.Properties order (filled in sorted key order).
func EncodeEntityConfig(configs map[string]string) []byte {
	keys := make([]string, 0, len(configs))
	for k := range configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	obj := make(rawObj, len(keys))
	for _, k := range keys {
		obj[k] = jsonString(configs[k])
	}
	return []byte(`{"version":1,"config":` + encodeObj(obj, javaPropertiesOrder(keys)) + `}`)
}

// DecodeEntityConfig parses a config znode; null or empty data is an empty config.
func DecodeEntityConfig(data []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(data) == 0 {
		return out, nil
	}
	var raw struct {
		Config map[string]json.RawMessage `json:"config"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return nil, malformed("config", data, err)
	}
	for k, v := range raw.Config {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			s = string(v) // a non-string value: keep its JSON text
		}
		out[k] = s
	}
	return out, nil
}

// EncodeConfigChange renders a /config/changes/config_change_<seq> notification.
func EncodeConfigChange(entityPath string) []byte {
	return []byte(`{"version":2,"entity_path":` + jsonString(entityPath) + `}`)
}

// DecodeConfigChange parses a config change notification (version 2 only, as Kafka 3.7).
func DecodeConfigChange(data []byte) (entityPath string, err error) {
	var raw struct {
		Version    flexInt `json:"version"`
		EntityPath string  `json:"entity_path"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return "", malformed("config change", data, err)
	}
	if raw.Version != 2 || raw.EntityPath == "" {
		return "", malformed("config change", data, errors.New("unsupported version or missing entity_path"))
	}
	return raw.EntityPath, nil
}

// LeaderAndIsr is a partition state znode plus its znode version.
type LeaderAndIsr struct {
	Leader              int32
	LeaderEpoch         int32
	ISR                 []int32
	ControllerEpoch     int32
	ZkVersion           int32 // partition epoch: the state znode's version
	LeaderRecoveryState int8  // 0 RECOVERED, 1 RECOVERING
}

// EncodePartitionState renders TopicPartitionStateZNode.encode: an immutable HashMap of version, leader,
// leader_epoch, controller_epoch, isr (+ leader_recovery_state only when not RECOVERED).
func EncodePartitionState(s LeaderAndIsr) []byte {
	isr := s.ISR
	if isr == nil {
		isr = []int32{}
	}
	obj := rawObj{
		"version":          "1",
		"leader":           jsonInt(int64(s.Leader)),
		"leader_epoch":     jsonInt(int64(s.LeaderEpoch)),
		"controller_epoch": jsonInt(int64(s.ControllerEpoch)),
		"isr":              jsonIntList(isr),
	}
	keys := []string{"version", "leader", "leader_epoch", "controller_epoch", "isr"}
	if s.LeaderRecoveryState != 0 {
		obj["leader_recovery_state"] = jsonInt(int64(s.LeaderRecoveryState))
		keys = append(keys, "leader_recovery_state")
	}
	return []byte(encodeObj(obj, scalaImmutableMapOrder(keys)))
}

// DecodePartitionState parses a state znode; zkVersion is the znode's version.
func DecodePartitionState(data []byte, zkVersion int32) (LeaderAndIsr, error) {
	var raw struct {
		Leader          *flexInt32 `json:"leader"`
		LeaderEpoch     *flexInt32 `json:"leader_epoch"`
		ISR             []int32    `json:"isr"`
		ControllerEpoch *flexInt32 `json:"controller_epoch"`
		Recovery        flexInt32  `json:"leader_recovery_state"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return LeaderAndIsr{}, malformed("partition state", data, err)
	}
	// TopicPartitionStateZNode.decode: leader, leader_epoch, isr and controller_epoch are required.
	if raw.Leader == nil || raw.LeaderEpoch == nil || raw.ControllerEpoch == nil || raw.ISR == nil {
		return LeaderAndIsr{}, malformed("partition state", data, errors.New("missing field"))
	}
	// LeaderRecoveryState.of: 0 RECOVERED, 1 RECOVERING, anything else is refused.
	if raw.Recovery != 0 && raw.Recovery != 1 {
		return LeaderAndIsr{}, malformed("partition state", data, fmt.Errorf("unknown leader_recovery_state %d", raw.Recovery))
	}
	return LeaderAndIsr{Leader: int32(*raw.Leader), LeaderEpoch: int32(*raw.LeaderEpoch), ISR: raw.ISR,
		ControllerEpoch: int32(*raw.ControllerEpoch), ZkVersion: zkVersion, LeaderRecoveryState: int8(raw.Recovery)}, nil
}

// ProducerIDBlock is /latest_producer_id_block.
type ProducerIDBlock struct {
	BrokerID int32
	Start    int64 // first id, inclusive
	End      int64 // last id, inclusive
}

// EncodeProducerIDBlock renders ProducerIdBlockZNode JSON (an immutable Map4, insertion order).
func EncodeProducerIDBlock(b ProducerIDBlock) []byte {
	return []byte(fmt.Sprintf(`{"version":1,"broker":%d,"block_start":"%d","block_end":"%d"}`, b.BrokerID, b.Start, b.End))
}

// DecodeProducerIDBlock parses /latest_producer_id_block.
func DecodeProducerIDBlock(data []byte) (ProducerIDBlock, error) {
	var raw struct {
		Broker *flexInt32 `json:"broker"`
		Start  *flexInt   `json:"block_start"`
		End    *flexInt   `json:"block_end"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return ProducerIDBlock{}, malformed(ProducerIDBlockPath, data, err)
	}
	if raw.Broker == nil || raw.Start == nil || raw.End == nil {
		return ProducerIDBlock{}, malformed(ProducerIDBlockPath, data, errors.New("missing field"))
	}
	return ProducerIDBlock{BrokerID: int32(*raw.Broker), Start: int64(*raw.Start), End: int64(*raw.End)}, nil
}

// EncodeControllerEpoch renders /controller_epoch: decimal text.
func EncodeControllerEpoch(epoch int32) []byte { return []byte(strconv.FormatInt(int64(epoch), 10)) }

// DecodeControllerEpoch parses /controller_epoch.
func DecodeControllerEpoch(data []byte) (int32, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32)
	if err != nil { // strconv's error would quote all of data
		return 0, malformed(ControllerEpochPath, data, errors.New("not a 32-bit decimal integer"))
	}
	return int32(v), nil
}
