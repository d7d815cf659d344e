package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Versions of the controller-to-broker requests (Kafka 3.7 sends these in
// ZooKeeper mode: topic ids in LeaderAndIsr v5+ and UpdateMetadata v7+).
const (
	leaderAndIsrVersion   = 6
	updateMetadataVersion = 7
	stopReplicaVersion    = 3
)

// leaderDuringDelete marks partitions of a topic being deleted in
// UpdateMetadata (Kafka's LeaderAndIsr.LeaderDuringDelete).
const leaderDuringDelete = -2

// sendLeaderAndIsr tells every live replica of parts its role, one request
// per broker. No replica is new (IsNew false).
func (c *Controller) sendLeaderAndIsr(parts []topicPartition) []<-chan error {
	return c.sendLeaderAndIsrWith(parts, -1, nil)
}

// sendLeaderAndIsrExcept is sendLeaderAndIsr skipping one broker (a replica
// going offline in controlled shutdown).
func (c *Controller) sendLeaderAndIsrExcept(parts []topicPartition, except int32) []<-chan error {
	return c.sendLeaderAndIsrWith(parts, except, nil)
}

// isNewFunc says which replicas a LeaderAndIsr creates: their partition
// state carries IsNew (KIP-112), which lets the broker create the log even
// while one of its log dirs is offline. A nil isNewFunc marks none.
type isNewFunc func(tp topicPartition, broker int32) bool

// createdPartitions marks every replica of tps new: their leadership state
// was just created (PartitionStateMachine.initializeLeaderAndIsrForPartitions
// sends isNew = true to the ISR, the live replicas).
func createdPartitions(tps []topicPartition) isNewFunc {
	if len(tps) == 0 {
		return nil
	}
	set := make(map[topicPartition]bool, len(tps))
	for _, tp := range tps {
		set[tp] = true
	}
	return func(tp topicPartition, _ int32) bool { return set[tp] }
}

// addingReplicas marks the replicas a reassignment adds new
// (KafkaController.updateLeaderEpochAndSendRequest: isNew = false for the
// original replicas, true for the adding ones, which may be placed in any
// online log dir; startNewReplicasForReassignedPartition: NewReplica, isNew
// = true).
func (c *Controller) addingReplicas(tp topicPartition, broker int32) bool {
	return slices.Contains(c.state.assignmentOf(tp).adding, broker)
}

// sendLeaderAndIsrWith is sendLeaderAndIsrExcept with the replicas isNew
// names marked new.
func (c *Controller) sendLeaderAndIsrWith(parts []topicPartition, except int32, isNew isNewFunc) []<-chan error {
	// A partition without a leadership state gets no LeaderAndIsr (Kafka's
	// OnlineReplica transition adds one only with partitionLeadershipInfo).
	withState := make([]topicPartition, 0, len(parts))
	for _, tp := range parts {
		if _, ok := c.state.partitions[tp]; ok {
			withState = append(withState, tp)
		}
	}
	byBroker := c.liveReplicasByBroker(withState)
	var out []<-chan error
	for _, id := range c.state.liveBrokerIDs() {
		if tps := byBroker[id]; len(tps) > 0 && id != except {
			epoch := c.state.liveBrokers[id].Epoch
			out = append(out, c.sendTracked(id, c.leaderAndIsrRequestWith(id, tps, isNew), func(resp kmsg.Response, err error) {
				c.onLeaderAndIsrResponse(id, epoch, resp, err)
			}))
		}
	}
	return out
}

// onLeaderAndIsrResponse is Kafka's processLeaderAndIsrResponseReceived
// (event loop): a partition answered with KAFKA_STORAGE_ERROR has its
// replica on this broker marked offline (onReplicasBecomeOffline), one
// answered without error is online again. Answers from an earlier
// incarnation of the broker (another broker epoch) are ignored: its offline
// replicas were forgotten when it restarted.
func (c *Controller) onLeaderAndIsrResponse(id int32, epoch int64, resp kmsg.Response, err error) {
	b, live := c.state.liveBrokers[id]
	if err != nil || !live || b.Epoch != epoch {
		return
	}
	r, ok := resp.(*kmsg.LeaderAndISRResponse)
	if !ok {
		return
	}
	if r.ErrorCode != 0 {
		c.logger.Error("LeaderAndIsr refused", "broker", id, "error_code", r.ErrorCode)
		return
	}
	names := map[[16]byte]string{}
	for n, a := range c.state.topics {
		names[a.TopicID] = n
	}
	offline, online := leaderAndIsrOutcome(r, names)
	prev := c.state.offlineReplicas[id]
	cur := map[topicPartition]bool{}
	for tp := range prev {
		cur[tp] = true
	}
	for _, tp := range online {
		delete(cur, tp)
	}
	var newOffline []topicPartition
	for _, tp := range offline {
		if !cur[tp] {
			newOffline = append(newOffline, tp)
		}
		cur[tp] = true
	}
	if len(cur) == 0 {
		delete(c.state.offlineReplicas, id)
	} else {
		c.state.offlineReplicas[id] = cur
	}
	if len(newOffline) > 0 {
		sortPartitions(newOffline)
		c.logger.Warn("replicas offline after a storage error", "broker", id, "partitions", newOffline)
		c.onReplicasBecomeOffline(id, newOffline)
	}
}

// leaderAndIsrOutcome lists the partitions of a LeaderAndIsr response
// answered with KAFKA_STORAGE_ERROR and those answered without error
// (other errors leave a replica as it was, as in Kafka). names maps topic
// IDs (v5+ responses) to names.
func leaderAndIsrOutcome(r *kmsg.LeaderAndISRResponse, names map[[16]byte]string) (offline, online []topicPartition) {
	add := func(topic string, p int32, code int16) {
		switch code {
		case kerr.KafkaStorageError.Code:
			offline = append(offline, topicPartition{topic, p})
		case 0:
			online = append(online, topicPartition{topic, p})
		}
	}
	for _, p := range r.Partitions { // v0-v4
		add(p.Topic, p.Partition, p.ErrorCode)
	}
	for _, t := range r.Topics { // v5+
		name, ok := names[t.TopicID]
		if !ok {
			continue
		}
		for _, p := range t.Partitions {
			add(name, p.Partition, p.ErrorCode)
		}
	}
	return offline, online
}

// onReplicasBecomeOffline is Kafka's KafkaController.onReplicasBecomeOffline
// for replicas of one broker (event loop): replicas of topics being deleted
// fail their deletion; the other partitions elect a new leader if theirs
// went offline, the replicas leave the ISR and are stopped (OfflineReplica).
func (c *Controller) onReplicasBecomeOffline(id int32, tps []topicPartition) {
	var forDeletion []partitionReplica
	var others []topicPartition
	for _, tp := range tps {
		if c.state.deleting[tp.Topic] {
			forDeletion = append(forDeletion, partitionReplica{tp, id})
		} else if _, ok := c.state.topics[tp.Topic]; ok {
			others = append(others, tp)
		}
	}
	changed := c.electLeaders(others)
	if len(others) > 0 {
		if s, ok := c.senders[id]; ok {
			s.send(c.stopReplicaRequest(id, others, false))
		}
	}
	if len(changed) > 0 {
		c.sendLeaderAndIsr(changed)
	}
	// The offline replicas reach every broker's metadata even when no
	// leader or ISR changed: the OfflineReplica transition sends
	// UpdateMetadata for their partitions, and onReplicasBecomeOffline one
	// with the live brokers alone when nothing else would be sent.
	all := append(slices.Clone(changed), others...)
	sortPartitions(all)
	c.sendUpdateMetadata(nil, slices.Compact(all))
	if len(forDeletion) > 0 {
		c.failReplicaDeletion(forDeletion)
		c.resumeDeletions()
	}
}

// trackedRequest keeps the response the sender decoded for a request: the
// protocol client asks ResponseKind for each attempt, and the last one is
// the answer once the sender reports success.
type trackedRequest struct {
	kmsg.Request
	last kmsg.Response
}

func (r *trackedRequest) ResponseKind() kmsg.Response {
	r.last = r.Request.ResponseKind()
	return r.last
}

// sendTracked queues req for a broker and, once it has been answered (or
// given up), runs onResponse on the event loop, as Kafka's controller turns
// its response callbacks into controller events. The returned channel
// yields the delivery's outcome, like brokerSender.send.
func (c *Controller) sendTracked(id int32, req kmsg.Request, onResponse func(kmsg.Response, error)) <-chan error {
	tr := &trackedRequest{Request: req}
	done := c.senders[id].send(tr)
	out := make(chan error, 1)
	c.mu.Lock()
	events := c.events
	c.mu.Unlock()
	loopDone := c.loopDone
	go func() {
		err := <-done // after the sender's last ResponseKind call
		out <- err
		var resp kmsg.Response
		if err == nil {
			resp = tr.last
		}
		select {
		case events <- func() {
			if c.state != nil { // not while the loop drains on shutdown
				onResponse(resp, err)
			}
		}:
		case <-loopDone:
		}
	}()
	return out
}

// leaderAndIsrRequest is the LeaderAndIsr for one broker, no replica new.
func (c *Controller) leaderAndIsrRequest(brokerID int32, parts []topicPartition) *kmsg.LeaderAndISRRequest {
	return c.leaderAndIsrRequestWith(brokerID, parts, nil)
}

// leaderAndIsrRequestWith is the LeaderAndIsr for one broker; a replica
// isNew names gets IsNew (ControllerBrokerRequestBatch
// .addLeaderAndIsrRequestForBrokers).
func (c *Controller) leaderAndIsrRequestWith(brokerID int32, parts []topicPartition, isNew isNewFunc) *kmsg.LeaderAndISRRequest {
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.Version = leaderAndIsrVersion
	req.ControllerID = c.cfg.BrokerID
	req.ControllerEpoch = c.epoch
	req.BrokerEpoch = c.state.liveBrokers[brokerID].Epoch
	leaders := map[int32]bool{}
	byTopic := map[string]*kmsg.LeaderAndISRRequestTopicState{}
	var order []string
	for _, tp := range parts {
		st := c.state.partitions[tp]
		ts, ok := byTopic[tp.Topic]
		if !ok {
			ts = &kmsg.LeaderAndISRRequestTopicState{Topic: tp.Topic, TopicID: c.state.topics[tp.Topic].TopicID}
			byTopic[tp.Topic] = ts
			order = append(order, tp.Topic)
		}
		p := kmsg.NewLeaderAndISRRequestTopicPartition()
		p.Partition = tp.Partition
		p.ControllerEpoch = st.ControllerEpoch
		p.Leader = st.Leader
		p.LeaderEpoch = st.LeaderEpoch
		p.ISR = slices.Clone(st.ISR)
		p.ZKVersion = st.ZkVersion
		p.Replicas = slices.Clone(c.state.replicas(tp))
		p.LeaderRecoveryState = st.LeaderRecoveryState
		p.IsNew = isNew != nil && isNew(tp, brokerID)
		ts.PartitionStates = append(ts.PartitionStates, p)
		if st.Leader >= 0 {
			leaders[st.Leader] = true
		}
	}
	for _, t := range order {
		req.TopicStates = append(req.TopicStates, *byTopic[t])
	}
	for _, id := range c.state.liveBrokerIDs() {
		if leaders[id] {
			// ControllerChannelManager: leaders' nodes on the inter-broker listener.
			ep, _ := c.state.liveBrokers[id].EndpointFor(c.cfg.interBrokerListener())
			req.LiveLeaders = append(req.LiveLeaders, kmsg.LeaderAndISRRequestLiveLeader{BrokerID: id, Host: ep.Host, Port: ep.Port})
		}
	}
	return req
}

// sendUpdateMetadata sends the live broker set and the states of parts to
// the given brokers (all live brokers when nil). Partitions of topics being
// deleted go out with leader leaderDuringDelete.
func (c *Controller) sendUpdateMetadata(brokers []int32, parts []topicPartition) []<-chan error {
	if brokers == nil {
		brokers = c.state.liveBrokerIDs()
	}
	var out []<-chan error
	for _, id := range brokers {
		if s, ok := c.senders[id]; ok {
			out = append(out, s.send(c.updateMetadataRequest(id, parts)))
		}
	}
	return out
}

func (c *Controller) updateMetadataRequest(brokerID int32, parts []topicPartition) *kmsg.UpdateMetadataRequest {
	req := kmsg.NewPtrUpdateMetadataRequest()
	req.Version = updateMetadataVersion
	req.ControllerID = c.cfg.BrokerID
	req.ControllerEpoch = c.epoch
	req.BrokerEpoch = c.state.liveBrokers[brokerID].Epoch
	byTopic := map[string]*kmsg.UpdateMetadataRequestTopicState{}
	var order []string
	for _, tp := range parts {
		// ControllerBrokerRequestBatch.updateMetadataRequestPartitionInfo: a partition without a
		// leadership state ("Leader not yet assigned") is left out.
		st, ok := c.state.partitions[tp]
		if !ok {
			continue
		}
		ts, ok := byTopic[tp.Topic]
		if !ok {
			ts = &kmsg.UpdateMetadataRequestTopicState{Topic: tp.Topic, TopicID: c.state.topics[tp.Topic].TopicID}
			byTopic[tp.Topic] = ts
			order = append(order, tp.Topic)
		}
		replicas := c.state.replicas(tp)
		p := kmsg.NewUpdateMetadataRequestTopicPartition()
		p.Partition = tp.Partition
		p.ControllerEpoch = st.ControllerEpoch
		p.Leader = st.Leader
		if c.state.deleting[tp.Topic] {
			p.Leader = leaderDuringDelete
		}
		p.LeaderEpoch = st.LeaderEpoch
		p.ISR = slices.Clone(st.ISR)
		p.ZKVersion = st.ZkVersion
		p.Replicas = slices.Clone(replicas)
		p.OfflineReplicas = []int32{}
		for _, r := range replicas {
			if c.state.replicaGone(r, tp) {
				p.OfflineReplicas = append(p.OfflineReplicas, r)
			}
		}
		ts.PartitionStates = append(ts.PartitionStates, p)
	}
	for _, t := range order {
		req.TopicStates = append(req.TopicStates, *byTopic[t])
	}
	for _, id := range c.state.liveBrokerIDs() {
		b := c.state.liveBrokers[id]
		lb := kmsg.NewUpdateMetadataRequestLiveBroker()
		lb.ID, lb.Rack = id, b.Rack
		// Version 0 carries the PLAINTEXT listener's node only; v1+ every
		// endpoint with its security protocol id, v3+ its listener name.
		plain, _ := b.EndpointFor("PLAINTEXT")
		lb.Host, lb.Port = plain.Host, plain.Port
		lb.Endpoints = []kmsg.UpdateMetadataRequestLiveBrokerEndpoint{}
		for _, ep := range b.ListenerEndpoints() {
			lb.Endpoints = append(lb.Endpoints, kmsg.UpdateMetadataRequestLiveBrokerEndpoint{
				Port: ep.Port, Host: ep.Host, ListenerName: ep.Listener, SecurityProtocol: securityProtocolIDs[ep.SecurityProtocol],
			})
		}
		req.LiveBrokers = append(req.LiveBrokers, lb)
	}
	return req
}

// sendStopReplica asks each live replica of parts to stop serving them and,
// when del, to delete their logs.
func (c *Controller) sendStopReplica(parts []topicPartition, del bool) []<-chan error {
	byBroker := c.liveReplicasByBroker(parts)
	var out []<-chan error
	for _, id := range c.state.liveBrokerIDs() {
		tps := byBroker[id]
		if len(tps) == 0 {
			continue
		}
		out = append(out, c.senders[id].send(c.stopReplicaRequest(id, tps, del)))
	}
	return out
}

// stopReplicaRequest asks one broker to stop serving tps (and delete them
// when del).
func (c *Controller) stopReplicaRequest(id int32, tps []topicPartition, del bool) *kmsg.StopReplicaRequest {
	req := kmsg.NewPtrStopReplicaRequest()
	req.Version = stopReplicaVersion
	req.ControllerID = c.cfg.BrokerID
	req.ControllerEpoch = c.epoch
	req.BrokerEpoch = c.state.liveBrokers[id].Epoch
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.Topic] = i
			req.Topics = append(req.Topics, kmsg.StopReplicaRequestTopic{Topic: tp.Topic})
		}
		req.Topics[i].PartitionStates = append(req.Topics[i].PartitionStates, kmsg.StopReplicaRequestTopicPartitionState{
			Partition: tp.Partition, LeaderEpoch: c.stopEpoch(tp), Delete: del,
		})
	}
	return req
}

// Leader epochs of StopReplica with no current epoch (Kafka's
// LeaderAndIsr.EpochDuringDelete and NoEpoch).
const (
	epochDuringDelete = -2
	noEpoch           = -1
)

// stopEpoch is the leader epoch a StopReplica for tp carries
// (ControllerChannelManager.addStopReplicaRequestForBrokers).
func (c *Controller) stopEpoch(tp topicPartition) int32 {
	st, ok := c.state.partitions[tp]
	return stopEpoch(st, ok, c.state.deleting[tp.Topic])
}

// stopEpoch is Kafka's ControllerContext.leaderEpoch: -2 for a topic queued
// for deletion (brokers stop it whatever their epoch), else the partition's
// current leader epoch (brokers refuse an older one), or -1 when it has no
// leader and ISR yet.
func stopEpoch(st zkmeta.LeaderAndIsr, hasState, deleting bool) int32 {
	switch {
	case deleting:
		return epochDuringDelete
	case !hasState:
		return noEpoch
	}
	return st.LeaderEpoch
}

// liveReplicasByBroker groups partitions by each of their live replicas
// (a replica whose log directory is offline is not live).
func (c *Controller) liveReplicasByBroker(parts []topicPartition) map[int32][]topicPartition {
	byBroker := map[int32][]topicPartition{}
	for _, tp := range parts {
		for _, r := range c.state.replicas(tp) {
			if !c.state.replicaGone(r, tp) {
				byBroker[r] = append(byBroker[r], tp)
			}
		}
	}
	return byBroker
}

// securityProtocolIDs are Kafka's SecurityProtocol ids, as UpdateMetadata
// endpoints carry them.
var securityProtocolIDs = map[string]int16{"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}
