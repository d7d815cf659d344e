package reassign

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const anyLogDir = "any"

// tp is a TopicPartition; its String is Java's "topic-partition".
type tp struct {
	Topic     string
	Partition int32
}

func (p tp) String() string { return fmt.Sprintf("%s-%d", p.Topic, p.Partition) }

func tpLess(a, b tp) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

// tpr is a TopicPartitionReplica; its String is Java's "topic-partition-broker".
type tpr struct {
	Topic     string
	Partition int32
	Broker    int32
}

func (r tpr) String() string { return fmt.Sprintf("%s-%d-%d", r.Topic, r.Partition, r.Broker) }

// tprLess is compareTopicPartitionReplicas: broker, then topic, then partition.
func tprLess(a, b tpr) bool {
	if a.Broker != b.Broker {
		return a.Broker < b.Broker
	}
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

func sortedTPs[V any](m map[tp]V) []tp {
	out := make([]tp, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return tpLess(out[i], out[j]) })
	return out
}

func joinInts(v []int32, sep string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, sep)
}

// Errors of Kafka's JSON helpers (org.apache.kafka.server.util.json).
func mappingError(msg string) error {
	return &cli.JavaError{Class: "com.fasterxml.jackson.databind.JsonMappingException", Msg: msg}
}

func adminOperationError(msg string) error {
	return &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: msg}
}

func adminCommandFailed(msg string) error {
	return &cli.JavaError{Class: "org.apache.kafka.server.common.AdminCommandFailedException", Msg: msg}
}

// parseJSON reads one JSON value as Jackson's readTree does (numbers kept as written).
func parseJSON(data string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// nodeText is how a Jackson JsonNode prints in error messages.
func nodeText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func asObject(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, mappingError("Expected JSON object, received " + nodeText(v))
	}
	return m, nil
}

func asArray(v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, mappingError("Expected JSON array, received " + nodeText(v))
	}
	return a, nil
}

func field(m map[string]any, name string) (any, error) {
	v, ok := m[name]
	if !ok {
		return nil, mappingError("No such field exists: `" + name + "`")
	}
	return v, nil
}

func asInt(v any) (int32, error) {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			return int32(i), nil
		}
	}
	return 0, mappingError("Expected `Integer` value, received " + nodeText(v))
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", mappingError("Expected `String` value, received " + nodeText(v))
	}
	return s, nil
}

func versionOf(m map[string]any) (int32, error) {
	v, ok := m["version"]
	if !ok {
		return 1, nil
	}
	return asInt(v)
}

// parseTopicsData is --topics-to-move-json-file: {"topics":[{"topic":"foo"}],"version":1}.
func parseTopicsData(data string) ([]string, error) {
	js, err := parseJSON(data)
	if err != nil {
		return nil, adminOperationError("The input string is not a valid JSON")
	}
	obj, err := asObject(js)
	if err != nil {
		return nil, err
	}
	version, err := versionOf(obj)
	if err != nil {
		return nil, err
	}
	if version != 1 {
		return nil, adminOperationError(fmt.Sprintf("Not supported version field value %d", version))
	}
	var out []string
	topics, ok := obj["topics"]
	if !ok {
		return out, nil
	}
	arr, err := asArray(topics)
	if err != nil {
		return nil, err
	}
	for _, e := range arr {
		o, err := asObject(e)
		if err != nil {
			return nil, err
		}
		tv, err := field(o, "topic")
		if err != nil {
			return nil, err
		}
		t, err := asString(tv)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// target is one entry of a reassignment JSON file.
type target struct {
	TP       tp
	Replicas []int32
}

// reassignmentData is a parsed --reassignment-json-file: the entries in file order and the
// replicas with an explicit log dir.
type reassignmentData struct {
	Parts   []target
	LogDirs map[tpr]string
}

// parseReassignmentData is parsePartitionReassignmentData (without deduplication).
func parseReassignmentData(data string) (*reassignmentData, error) {
	if data == "" {
		return nil, adminOperationError("com.fasterxml.jackson.core.JsonParseException: The input string shouldn't be empty")
	}
	js, err := parseJSON(data)
	if err != nil {
		return nil, adminOperationError("com.fasterxml.jackson.core.JsonParseException: " + err.Error())
	}
	obj, err := asObject(js)
	if err != nil {
		return nil, err
	}
	version, err := versionOf(obj)
	if err != nil {
		return nil, err
	}
	if version != 1 {
		return nil, adminOperationError(fmt.Sprintf("Not supported version field value %d", version))
	}
	out := &reassignmentData{LogDirs: map[tpr]string{}}
	parts, ok := obj["partitions"]
	if !ok {
		return out, nil
	}
	arr, err := asArray(parts)
	if err != nil {
		return nil, err
	}
	for _, e := range arr {
		t, dirs, err := parseTarget(e)
		if err != nil {
			return nil, err
		}
		out.Parts = append(out.Parts, t)
		for i, d := range dirs {
			if d != anyLogDir {
				out.LogDirs[tpr{t.TP.Topic, t.TP.Partition, t.Replicas[i]}] = d
			}
		}
	}
	return out, nil
}

func parseTarget(e any) (target, []string, error) {
	o, err := asObject(e)
	if err != nil {
		return target{}, nil, err
	}
	var t target
	v, err := field(o, "topic")
	if err == nil {
		t.TP.Topic, err = asString(v)
	}
	if err == nil {
		v, err = field(o, "partition")
	}
	if err == nil {
		t.TP.Partition, err = asInt(v)
	}
	if err == nil {
		v, err = field(o, "replicas")
	}
	var arr []any
	if err == nil {
		arr, err = asArray(v)
	}
	if err != nil {
		return target{}, nil, err
	}
	t.Replicas = []int32{}
	for _, r := range arr {
		id, err := asInt(r)
		if err != nil {
			return target{}, nil, err
		}
		t.Replicas = append(t.Replicas, id)
	}
	var dirs []string
	if dv, ok := o["log_dirs"]; ok {
		darr, err := asArray(dv)
		if err != nil {
			return target{}, nil, err
		}
		for _, d := range darr {
			s, err := asString(d)
			if err != nil {
				return target{}, nil, err
			}
			dirs = append(dirs, s)
		}
	} else {
		for range t.Replicas {
			dirs = append(dirs, anyLogDir)
		}
	}
	if len(dirs) != len(t.Replicas) {
		return target{}, nil, adminCommandFailed(fmt.Sprintf("Size of replicas list %s is different from size of log dirs list %s for partition %s",
			javaList(t.Replicas), "["+strings.Join(dirs, ", ")+"]", t.TP))
	}
	return t, dirs, nil
}

// javaList is java.util.List.toString of integers: "[1, 2, 3]".
func javaList(v []int32) string { return "[" + joinInts(v, ", ") + "]" }

// parseExecuteArgs is parseExecuteAssignmentArgs: the checks --execute makes on the file.
func parseExecuteArgs(data string) (map[tp][]int32, map[tpr]string, error) {
	d, err := parseReassignmentData(data)
	if err != nil {
		return nil, nil, err
	}
	if len(d.Parts) == 0 {
		return nil, nil, adminCommandFailed("Partition reassignment list cannot be empty")
	}
	for _, p := range d.Parts {
		if len(p.Replicas) == 0 {
			return nil, nil, adminCommandFailed("Partition replica list cannot be empty")
		}
	}
	seen := map[tp]int{}
	var dupParts []tp
	for _, p := range d.Parts {
		seen[p.TP]++
		if seen[p.TP] == 2 {
			dupParts = append(dupParts, p.TP)
		}
	}
	if len(dupParts) > 0 {
		return nil, nil, adminCommandFailed("Partition reassignment contains duplicate topic partitions: " + strings.Join(javaTPOrder(dupParts), ","))
	}
	var dupMsgs []string
	for _, p := range d.Parts {
		count := map[int32]int{}
		var dups []int32
		for _, r := range p.Replicas {
			count[r]++
			if count[r] == 2 {
				dups = append(dups, r)
			}
		}
		if len(dups) > 0 {
			dupMsgs = append(dupMsgs, fmt.Sprintf("%s contains multiple entries for %s", p.TP, joinInts(javaSetOrderInts(dups), ",")))
		}
	}
	if len(dupMsgs) > 0 {
		return nil, nil, adminCommandFailed("Partition replica lists may not contain duplicate entries: " + strings.Join(dupMsgs, ". "))
	}
	out := make(map[tp][]int32, len(d.Parts))
	for _, p := range d.Parts {
		out[p.TP] = p.Replicas
	}
	return out, d.LogDirs, nil
}

type jsonPartition struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs"`
}

type jsonReassignment struct {
	Version    int             `json:"version"`
	Partitions []jsonPartition `json:"partitions"`
}

// formatReassignmentJSON is formatAsReassignmentJson: compact, partitions sorted, log dirs "any"
// unless given.
func formatReassignmentJSON(parts map[tp][]int32, logDirs map[tpr]string) string {
	out := jsonReassignment{Version: 1, Partitions: []jsonPartition{}}
	for _, p := range sortedTPs(parts) {
		replicas := parts[p]
		if replicas == nil {
			replicas = []int32{}
		}
		dirs := make([]string, len(replicas))
		for i, r := range replicas {
			dirs[i] = anyLogDir
			if d, ok := logDirs[tpr{p.Topic, p.Partition, r}]; ok {
				dirs[i] = d
			}
		}
		out.Partitions = append(out.Partitions, jsonPartition{Topic: p.Topic, Partition: p.Partition, Replicas: replicas, LogDirs: dirs})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return "" // cannot happen: plain strings and ints
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// javaTPOrder lists partitions as a HashSet<TopicPartition> filled in the given order iterates them.
func javaTPOrder(parts []tp) []string {
	hashes := make([]int32, len(parts))
	for i, p := range parts {
		hashes[i] = cli.TopicPartitionHash(p.Topic, p.Partition)
	}
	out := make([]string, 0, len(parts))
	for _, i := range cli.JavaHashMapOrder(hashes) {
		out = append(out, parts[i].String())
	}
	return out
}
