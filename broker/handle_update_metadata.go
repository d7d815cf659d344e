// UpdateMetadata: API key 6, versions 0-8 (controller to broker).
//
// Replaces the metadata cache (live brokers, controller, partition states)
// with the controller's view. A stale broker epoch (v5+, KIP-380) fails
// the whole request with STALE_BROKER_EPOCH, an older controller epoch
// with STALE_CONTROLLER_EPOCH. Partitions marked as being deleted drop
// their committed group offsets. v4 adds offline replicas (KIP-112), v5 groups by topic,
// v7 topic ids (KIP-516), v8 IsKRaftController (KIP-866).
//
// Every endpoint of every live broker is kept per listener (v0 carries the
// PLAINTEXT node only, v1-v2 endpoints without listener names: named after
// their security protocol, as UpdateMetadataRequest reads them).
//
// Deviation from Kafka 3.9: IsKRaftController is ignored (no ZooKeeper to
// KRaft migration).

package broker

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
)

// handleUpdateMetadata replaces the metadata cache's view with what the
// controller sends. A request for an earlier life of this broker is refused
// with STALE_BROKER_EPOCH, one from an older controller epoch with
// STALE_CONTROLLER_EPOCH.
func (s *Server) handleUpdateMetadata(req *kmsg.UpdateMetadataRequest) kmsg.Response {
	s.stateChangeMu.Lock()
	defer s.stateChangeMu.Unlock()
	resp := req.ResponseKind().(*kmsg.UpdateMetadataResponse)
	if req.Version >= 5 && s.brokerEpochStale(req.BrokerEpoch) {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	if !s.acceptControllerEpoch(req.ControllerEpoch) {
		resp.ErrorCode = kerr.StaleControllerEpoch.Code
		return resp
	}
	brokers := make([]cachedBroker, 0, len(req.LiveBrokers))
	for _, b := range req.LiveBrokers {
		brokers = append(brokers, updateMetadataBroker(req.Version, b))
	}
	s.warnUnequalListeners(brokers)
	var parts []partitionUpdate
	var deleted []group.TopicPartition
	add := func(topic string, id [16]byte, p kmsg.UpdateMetadataRequestTopicPartition) {
		parts = append(parts, partitionUpdate{Topic: topic, TopicID: id, Partition: p.Partition, State: cachedPartition{
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, ISR: p.ISR, Replicas: p.Replicas, OfflineReplicas: p.OfflineReplicas,
		}})
		if p.Leader == leaderDuringDelete {
			deleted = append(deleted, group.TopicPartition{Topic: topic, Partition: p.Partition})
		}
	}
	for _, p := range req.PartitionStates {
		add(p.Topic, [16]byte{}, p)
	}
	for _, t := range req.TopicStates {
		for _, p := range t.PartitionStates {
			add(t.Topic, t.TopicID, p)
		}
	}
	if !s.cache.update(req.ControllerID, req.ControllerEpoch, brokers, parts) {
		resp.ErrorCode = kerr.StaleControllerEpoch.Code
		return resp
	}
	if len(deleted) > 0 {
		// GroupCoordinator.handleDeletedPartitions: committed offsets of a
		// deleted topic go, with tombstones; the appends wait for
		// replication, so not under the state-change lock.
		go s.groups.OnPartitionsDeleted(deleted)
	}
	return resp
}

// brokerEpochStale is ZkBrokerEpochManager.isBrokerEpochStale: a control
// request carrying a broker epoch older than ours was meant for an earlier
// life of this broker id; -1 means the controller did not say. A newer one
// is possible (the controller saw our registration before we did).
func (s *Server) brokerEpochStale(epoch int64) bool {
	return epoch != -1 && epoch < s.brokerEpoch.Load()
}

// acceptControllerEpoch records the newest controller epoch seen and
// reports whether epoch is not older than it.
func (s *Server) acceptControllerEpoch(epoch int32) bool {
	for {
		cur := s.controllerEpoch.Load()
		if epoch < cur {
			return false
		}
		if epoch == cur || s.controllerEpoch.CompareAndSwap(cur, epoch) {
			return true
		}
	}
}

// updateMetadataBroker is one live broker of an UpdateMetadata request as
// the metadata cache keeps it (ZkMetadataCache.updateMetadata): its
// endpoints by listener. UpdateMetadataRequest gives v0 one PLAINTEXT
// endpoint from host and port, and names a v1-v2 endpoint after its
// security protocol (ListenerName.forSecurityProtocol).
func updateMetadataBroker(version int16, b kmsg.UpdateMetadataRequestLiveBroker) cachedBroker {
	cb := cachedBroker{ID: b.ID, Rack: b.Rack}
	if version == 0 {
		cb.Endpoints = []cachedEndpoint{{Listener: "PLAINTEXT", Host: b.Host, Port: b.Port, Protocol: Plaintext}}
		return cb
	}
	for _, e := range b.Endpoints {
		name := e.ListenerName
		if version < 3 || name == "" {
			name = SecurityProtocol(e.SecurityProtocol).String()
		}
		cb.Endpoints = append(cb.Endpoints, cachedEndpoint{Listener: name, Host: e.Host, Port: e.Port, Protocol: SecurityProtocol(e.SecurityProtocol)})
	}
	return cb
}

// warnUnequalListeners is ZkMetadataCache.updateMetadata's check: the live
// brokers should all have this broker's listeners; Kafka logs an error and
// serves on.
func (s *Server) warnUnequalListeners(brokers []cachedBroker) {
	names := func(b cachedBroker) string {
		var out []string
		for _, e := range b.Endpoints {
			out = append(out, e.Listener)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	var mine string
	found := false
	for _, b := range brokers {
		if b.ID == s.cfg.BrokerID {
			mine, found = names(b), true
		}
	}
	if !found {
		return
	}
	for _, b := range brokers {
		if names(b) != mine {
			s.logger.Error("Listeners are not identical across brokers", "broker", s.cfg.BrokerID, "listeners", mine, "other_broker", b.ID, "other_listeners", names(b))
			return
		}
	}
}
