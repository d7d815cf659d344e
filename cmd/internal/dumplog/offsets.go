package dumplog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// This file is DumpLogSegments' OffsetsMessageParser (--offsets-decoder):
// a __consumer_offsets record's key and value as the JSON of Kafka's
// generated JsonConverters, {"type":"<key version>","data":{...}} and
// {"version":"<value version>","data":{...}}, fields in schema order and only
// those of the record's version. A consumer group's member subscription and
// assignment are decoded too (ConsumerProtocolSubscription/Assignment); bytes
// that do not decode stay base64, as Jackson writes a byte array.

// jsonField is one field of an ordered JSON object.
type jsonField struct {
	name  string
	value any
}

// jsonObject is a JSON object that keeps its field order.
type jsonObject []jsonField

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(f.name))
		b.WriteByte(':')
		v, err := marshalJSON(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalJSON is json.Marshal without HTML escaping (Jackson does none).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func jsonString(s string) string {
	b, _ := marshalJSON(s)
	return string(b)
}

// jsonBytes is a byte array as Jackson writes a BinaryNode: base64, or null.
func jsonBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// offsetsRecord returns what DumpLogSegments prints for one __consumer_offsets
// record: the key (absent only for a record without a key) and the payload
// (absent when the key could not be decoded).
func offsetsRecord(rec storage.Record) (key string, payload string, hasPayload bool) {
	if rec.KeyNull || len(rec.Key) < 2 {
		return fmt.Sprintf("Error at offset %d, skipping. Failed to decode message at offset %d using offset topic decoder (message had a missing key)", rec.Offset, rec.Offset), "", false
	}
	keyVersion := int16(uint16(rec.Key[0])<<8 | uint16(rec.Key[1]))
	var k jsonObject
	switch keyVersion {
	case 0, 1:
		var m kmsg.OffsetCommitKey
		if err := m.ReadFrom(rec.Key); err != nil {
			return fmt.Sprintf("Error at offset %d, skipping. %v", rec.Offset, err), "", false
		}
		k = jsonObject{{"group", m.Group}, {"topic", m.Topic}, {"partition", m.Partition}}
	case 2:
		var m kmsg.GroupMetadataKey
		if err := m.ReadFrom(rec.Key); err != nil {
			return fmt.Sprintf("Error at offset %d, skipping. %v", rec.Offset, err), "", false
		}
		k = jsonObject{{"group", m.Group}}
	default:
		return fmt.Sprintf("Unknown record type %d at offset %d, skipping.", keyVersion, rec.Offset), "", false
	}
	kb, _ := marshalJSON(jsonObject{{"type", strconv.Itoa(int(keyVersion))}, {"data", k}})
	if rec.ValueNull {
		return string(kb), "<DELETE>", true
	}
	v, err := offsetsValue(keyVersion, rec.Value)
	if err != nil {
		return fmt.Sprintf("Error at offset %d, skipping. %v", rec.Offset, err), "", false
	}
	return string(kb), v, true
}

func offsetsValue(keyVersion int16, b []byte) (string, error) {
	if len(b) < 2 {
		return "", fmt.Errorf("value too short (%d bytes)", len(b))
	}
	version := int16(uint16(b[0])<<8 | uint16(b[1]))
	var data jsonObject
	if keyVersion <= 1 {
		if version < 0 || version > 4 {
			return "", fmt.Errorf("Unknown offset message version: %d", version)
		}
		var m kmsg.OffsetCommitValue
		if err := m.ReadFrom(b); err != nil {
			return "", err
		}
		data = jsonObject{{"offset", m.Offset}}
		if version >= 3 {
			data = append(data, jsonField{"leaderEpoch", m.LeaderEpoch})
		}
		data = append(data, jsonField{"metadata", m.Metadata}, jsonField{"commitTimestamp", m.CommitTimestamp})
		if version == 1 {
			data = append(data, jsonField{"expireTimestamp", m.ExpireTimestamp})
		}
	} else {
		if version < 0 || version > 4 {
			return "", fmt.Errorf("Unknown group metadata message version: %d", version)
		}
		var m kmsg.GroupMetadataValue
		if err := m.ReadFrom(b); err != nil {
			return "", err
		}
		data = jsonObject{{"protocolType", m.ProtocolType}, {"generation", m.Generation}, {"protocol", m.Protocol}, {"leader", m.Leader}}
		if version >= 2 {
			data = append(data, jsonField{"currentStateTimestamp", m.CurrentStateTimestamp})
		}
		members := make([]jsonObject, 0, len(m.Members))
		for _, mm := range m.Members {
			o := jsonObject{{"memberId", mm.MemberID}}
			if version >= 3 {
				o = append(o, jsonField{"groupInstanceId", mm.InstanceID})
			}
			o = append(o, jsonField{"clientId", mm.ClientID}, jsonField{"clientHost", mm.ClientHost})
			if version >= 1 {
				o = append(o, jsonField{"rebalanceTimeout", mm.RebalanceTimeoutMillis})
			}
			o = append(o, jsonField{"sessionTimeout", mm.SessionTimeoutMillis})
			var sub, asg any = jsonBytes(mm.Subscription), jsonBytes(mm.Assignment)
			if m.ProtocolType == "consumer" {
				if s, ok := subscriptionJSON(mm.Subscription); ok {
					sub = s
				}
				if a, ok := assignmentJSON(mm.Assignment); ok {
					asg = a
				}
			}
			o = append(o, jsonField{"subscription", sub}, jsonField{"assignment", asg})
			members = append(members, o)
		}
		data = append(data, jsonField{"members", members})
	}
	out, err := marshalJSON(jsonObject{{"version", strconv.Itoa(int(version))}, {"data", data}})
	return string(out), err
}

func topicPartitions(topic string, ps []int32) jsonObject {
	if ps == nil {
		ps = []int32{}
	}
	return jsonObject{{"topic", topic}, {"partitions", ps}}
}

// subscriptionJSON decodes a ConsumerProtocolSubscription (versions 0-3).
func subscriptionJSON(b []byte) (jsonObject, bool) {
	var m kmsg.ConsumerMemberMetadata
	if len(b) < 2 || m.ReadFrom(b) != nil || m.Version < 0 || m.Version > 3 {
		return nil, false
	}
	topics := m.Topics
	if topics == nil {
		topics = []string{}
	}
	o := jsonObject{{"topics", topics}, {"userData", jsonBytes(m.UserData)}}
	if m.Version >= 1 {
		owned := make([]jsonObject, 0, len(m.OwnedPartitions))
		for _, p := range m.OwnedPartitions {
			owned = append(owned, topicPartitions(p.Topic, p.Partitions))
		}
		o = append(o, jsonField{"ownedPartitions", owned})
	}
	if m.Version >= 2 {
		o = append(o, jsonField{"generationId", m.Generation})
	}
	if m.Version >= 3 {
		o = append(o, jsonField{"rackId", m.Rack})
	}
	return o, true
}

// assignmentJSON decodes a ConsumerProtocolAssignment (versions 0-3).
func assignmentJSON(b []byte) (jsonObject, bool) {
	var m kmsg.ConsumerMemberAssignment
	if len(b) < 2 || m.ReadFrom(b) != nil || m.Version < 0 || m.Version > 3 {
		return nil, false
	}
	assigned := make([]jsonObject, 0, len(m.Topics))
	for _, t := range m.Topics {
		assigned = append(assigned, topicPartitions(t.Topic, t.Partitions))
	}
	return jsonObject{{"assignedPartitions", assigned}, {"userData", jsonBytes(m.UserData)}}, true
}

// offsetsDecoderLine writes the decoded key and payload of a record line.
func offsetsDecoderLine(w interface{ WriteString(string) (int, error) }, prefix string, rec storage.Record) {
	key, payload, ok := offsetsRecord(rec)
	w.WriteString(prefix + "key: " + key)
	if ok {
		w.WriteString(" payload: " + payload)
	}
}
