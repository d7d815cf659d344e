package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// The record versions Kafka 3.7 writes to __consumer_offsets (ZooKeeper
// mode, inter.broker.protocol.version 3.7): GroupMetadataManager's
// offsetCommitKey, groupMetadataKey, offsetCommitValue and
// groupMetadataValue. Key version 0 and 1 are offset commits, 2 group
// metadata; anything else is skipped on load.
const (
	offsetCommitKeyVersion         int16 = 1
	groupMetadataKeyVersion        int16 = 2
	offsetCommitValueVersion       int16 = 3
	offsetCommitValueExpireVersion int16 = 1 // a commit carrying an explicit expire timestamp (OffsetCommit v2-v4 retention)
	groupMetadataValueVersion      int16 = 3
)

// Record is one key/value record of __consumer_offsets. A nil Value is a
// tombstone.
type Record struct {
	Key   []byte
	Value []byte
}

// Batch is one record batch read back from __consumer_offsets.
type Batch struct {
	BaseOffset    int64
	ProducerID    int64
	Transactional bool
	Control       bool
	Records       []Record
}

// TopicPartition names a partition whose offset a group commits.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// offsetAndMetadata is Kafka's OffsetAndMetadata: one committed offset.
type offsetAndMetadata struct {
	Offset          int64
	LeaderEpoch     int32 // -1 when not known
	Metadata        string
	CommitTimestamp int64
	ExpireTimestamp int64 // -1 unless an OffsetCommit v2-v4 retention time set it
}

func offsetCommitKey(groupID string, tp TopicPartition) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version = offsetCommitKeyVersion
	k.Group, k.Topic, k.Partition = groupID, tp.Topic, tp.Partition
	return k.AppendTo(nil)
}

func groupMetadataKey(groupID string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version = groupMetadataKeyVersion
	k.Group = groupID
	return k.AppendTo(nil)
}

func offsetCommitValue(o offsetAndMetadata) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetCommitValueVersion
	if o.ExpireTimestamp >= 0 {
		v.Version = offsetCommitValueExpireVersion
	}
	v.Offset = o.Offset
	v.LeaderEpoch = o.LeaderEpoch
	v.Metadata = o.Metadata
	v.CommitTimestamp = o.CommitTimestamp
	v.ExpireTimestamp = o.ExpireTimestamp
	return v.AppendTo(nil)
}

// groupMetadataValue encodes the group's state for generation g with the
// given assignment (GroupMetadataManager.groupMetadataValue). Every member
// must have an assignment.
func groupMetadataValue(g *group, assignment map[string][]byte) ([]byte, error) {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolTypeOrEmpty()
	v.Generation = g.generation
	v.Protocol = g.protocolName
	if g.leaderID != "" {
		leader := g.leaderID
		v.Leader = &leader
	}
	v.CurrentStateTimestamp = g.stateTimestamp
	for _, m := range g.sortedMembers() {
		if g.protocolName == nil {
			return nil, fmt.Errorf("group %s: writing non-empty group metadata with no protocol", g.id)
		}
		a, ok := assignment[m.id]
		if !ok {
			return nil, fmt.Errorf("group %s: member %s has no assignment", g.id, m.id)
		}
		mm := kmsg.NewGroupMetadataValueMember()
		mm.MemberID = m.id
		mm.InstanceID = m.instanceID
		mm.ClientID = m.clientID
		mm.ClientHost = m.clientHost
		mm.RebalanceTimeoutMillis = m.rebalanceTimeoutMs
		mm.SessionTimeoutMillis = m.sessionTimeoutMs
		mm.Subscription = m.metadata(*g.protocolName)
		if mm.Subscription == nil {
			mm.Subscription = []byte{}
		}
		mm.Assignment = a
		if mm.Assignment == nil {
			mm.Assignment = []byte{}
		}
		v.Members = append(v.Members, mm)
	}
	return v.AppendTo(nil), nil
}

// keyKind is what a __consumer_offsets key is.
type keyKind int

const (
	keyUnknown keyKind = iota
	keyOffset
	keyGroup
)

// parsedKey is a decoded __consumer_offsets key.
type parsedKey struct {
	kind    keyKind
	version int16
	group   string
	tp      TopicPartition
}

var errShortKey = errors.New("record key shorter than its version")

// parseKey decodes a key (GroupMetadataManager.readMessageKey).
func parseKey(b []byte) (parsedKey, error) {
	if len(b) < 2 {
		return parsedKey{}, errShortKey
	}
	version := int16(binary.BigEndian.Uint16(b))
	switch {
	case version == 0 || version == 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(b); err != nil {
			return parsedKey{}, fmt.Errorf("decoding offset commit key v%d: %w", version, err)
		}
		return parsedKey{kind: keyOffset, version: version, group: k.Group, tp: TopicPartition{k.Topic, k.Partition}}, nil
	case version == 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(b); err != nil {
			return parsedKey{}, fmt.Errorf("decoding group metadata key v%d: %w", version, err)
		}
		return parsedKey{kind: keyGroup, version: version, group: k.Group}, nil
	}
	return parsedKey{kind: keyUnknown, version: version}, nil
}

// parseOffsetValue decodes an offset commit value
// (GroupMetadataManager.readOffsetMessageValue).
func parseOffsetValue(b []byte) (offsetAndMetadata, error) {
	// Bounded before kmsg loops or allocates by a count read from disk.
	b, err := protocol.CheckVersionedData("OffsetCommitValue", b)
	if err != nil {
		return offsetAndMetadata{}, fmt.Errorf("decoding offset commit value: %w", err)
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(b); err != nil {
		return offsetAndMetadata{}, fmt.Errorf("decoding offset commit value: %w", err)
	}
	if v.Version < 0 || v.Version > 4 {
		return offsetAndMetadata{}, fmt.Errorf("unknown offset commit value version %d", v.Version)
	}
	o := offsetAndMetadata{Offset: v.Offset, LeaderEpoch: -1, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp, ExpireTimestamp: -1}
	if v.Version >= 3 {
		o.LeaderEpoch = v.LeaderEpoch
	}
	if v.Version == 1 {
		o.ExpireTimestamp = v.ExpireTimestamp
	}
	return o, nil
}

// parseGroupValue decodes a group metadata value into a loaded group
// (GroupMetadataManager.readGroupMessageValue): Empty without members,
// else Stable.
func parseGroupValue(groupID string, b []byte) (*group, error) {
	b, err := protocol.CheckVersionedData("GroupMetadataValue", b)
	if err != nil {
		return nil, fmt.Errorf("decoding group metadata value: %w", err)
	}
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(b); err != nil {
		return nil, fmt.Errorf("decoding group metadata value: %w", err)
	}
	if v.Version < 0 || v.Version > 4 {
		return nil, fmt.Errorf("unknown group metadata value version %d", v.Version)
	}
	g := newGroup(groupID, stateEmpty, v.CurrentStateTimestamp)
	g.generation = v.Generation
	if v.ProtocolType != "" {
		pt := v.ProtocolType
		g.protocolType = &pt
	}
	g.protocolName = v.Protocol
	if v.Leader != nil {
		g.leaderID = *v.Leader
	}
	if len(v.Members) > 0 {
		if v.Protocol == nil {
			return nil, fmt.Errorf("group %s has members but no protocol", groupID)
		}
		g.state = stateStable
	}
	for _, mm := range v.Members {
		if g.has(mm.MemberID) {
			return nil, fmt.Errorf("group %s lists member %q twice", groupID, mm.MemberID)
		}
		rebalance := mm.RebalanceTimeoutMillis
		if v.Version == 0 {
			rebalance = mm.SessionTimeoutMillis
		}
		m := &member{
			id: mm.MemberID, instanceID: mm.InstanceID, clientID: mm.ClientID, clientHost: mm.ClientHost,
			rebalanceTimeoutMs: rebalance, sessionTimeoutMs: mm.SessionTimeoutMillis,
			protocolType: v.ProtocolType, protocols: []Protocol{{Name: *v.Protocol, Metadata: mm.Subscription}},
			assignment: mm.Assignment,
		}
		if err := g.add(m, nil); err != nil {
			return nil, err
		}
	}
	g.computeSubscribedTopics()
	return g, nil
}

// controlRecordType is the type of a control batch's record (0 abort, 1 commit).
func controlRecordType(key []byte) (int16, bool) {
	if len(key) < 4 {
		return 0, false
	}
	return int16(binary.BigEndian.Uint16(key[2:])), true
}
