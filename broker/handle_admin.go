// CreateTopics (key 19) v0-7, DeleteTopics (key 20) v0-6 and
// CreatePartitions (key 37) v0-3: topic administration, done by the active
// controller as in ZooKeeper mode; any other broker answers NOT_CONTROLLER
// per topic and the client retries on the controller named in Metadata.
// Creates wait up to timeout_ms for every new partition to get a leader
// (REQUEST_TIMED_OUT otherwise); deletes wait for the topics to leave the
// metadata cache.
// Version steps: CreateTopics v1 validate_only (KIP-108), v5 returns the
// configs (KIP-464), v5/v4/v2 flexible (KIP-482), DeleteTopics v6 by topic
// id (KIP-516), CreateTopics v7 returns topic ids.
// Authorization (CREATE, DELETE, ALTER, DESCRIBE_CONFIGS) is aclGate's
// (acl_checks.go); a delete by a null name with no id is
// TOPIC_AUTHORIZATION_FAILED as it matches no authorized name.
// Deviation: no create.topic.policy.class.name support.

package broker

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic administration is served by the controller, as in Kafka's ZooKeeper
// mode: any other broker answers NOT_CONTROLLER and the client retries on
// the controller named in Metadata.

func (s *Server) handleCreateTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		deadline := time.Now().Add(time.Duration(req.TimeoutMillis) * time.Millisecond)
		resp := c.CreateTopics(ctx, req)
		s.completeCreateTopicsResponse(req, resp)
		if req.ValidateOnly {
			return resp
		}
		created := map[string]int32{}
		for _, r := range resp.Topics {
			if r.ErrorCode == 0 {
				created[r.Topic] = r.NumPartitions
			}
		}
		timedOut := s.awaitCreatedLeaders(ctx, created, req.TimeoutMillis, deadline)
		for i := range resp.Topics {
			r := &resp.Topics[i]
			if r.ErrorCode != 0 || !timedOut[r.Topic] {
				continue
			}
			// KafkaApis.handleCreateTopicsRequest (handleCreateTopicsResults):
			// a topic not answered NONE loses its configs and counts; its
			// topic id stays.
			r.ErrorCode, r.ErrorMessage = kerr.RequestTimedOut.Code, nil
			r.Configs, r.NumPartitions, r.ReplicationFactor, r.ConfigErrorCode = nil, -1, -1, 0
		}
		return resp
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode = kerr.NotController.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// handleDeleteTopics is KafkaApis.handleDeleteTopicsRequest: every topic
// NOT_CONTROLLER off the controller; with delete.topic.enable=false every
// topic INVALID_REQUEST before v3, TOPIC_DELETION_DISABLED from v3; a topic
// naming both a name and an id fails the whole request with INVALID_REQUEST
// (DeleteTopicsRequest.getErrorResponse); an id the controller does not know
// is UNKNOWN_TOPIC_ID, a null name with no id TOPIC_AUTHORIZATION_FAILED (it
// is never among the authorized names), a name the metadata cache does not
// know UNKNOWN_TOPIC_OR_PARTITION. The rest go to the controller. Each answer
// carries the name (resolved from the id) and the id as asked, and only an
// error code: Kafka never sets error_message here.
// deleteTopicsRecheck is how often a DeleteTopics waiting for its topics to
// leave the metadata cache looks again.
const deleteTopicsRecheck = 20 * time.Millisecond

// awaitTopicsLeaveMetadata waits, up to timeout, until none of topics is
// in the metadata cache (DelayedDeleteTopics.tryComplete) and returns those
// still there. A timeout <= 0 does not wait: every topic is returned.
func (s *Server) awaitTopicsLeaveMetadata(ctx context.Context, topics []string, timeout time.Duration) []string {
	if timeout <= 0 {
		return topics
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(deleteTopicsRecheck)
	defer tick.Stop()
	for {
		topics = slices.DeleteFunc(topics, func(t string) bool {
			_, ok := s.cache.topic(t)
			return !ok
		})
		if len(topics) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-timer.C:
			// DelayedDeleteTopics.onComplete looks once more.
			return slices.DeleteFunc(topics, func(t string) bool {
				_, ok := s.cache.topic(t)
				return !ok
			})
		case <-ctx.Done():
			return topics
		}
	}
}

// completeCreateTopicsResponse adds what ZkAdminManager.createTopics
// answers beside the controller's outcome: a topic created (or valid, with
// validate_only) carries its whole config (v5+; maybePopulateMetadataAndConfigs:
// every topic key with its value, source, read-only and sensitive flags,
// without synonyms), and a validate_only answer no topic id (populateIds runs
// only for a topic written to ZooKeeper).
func (s *Server) completeCreateTopicsResponse(req *kmsg.CreateTopicsRequest, resp *kmsg.CreateTopicsResponse) {
	for i := range resp.Topics {
		r := &resp.Topics[i]
		if r.ErrorCode != 0 {
			continue
		}
		if req.ValidateOnly {
			r.TopicID = [16]byte{}
		}
		if req.Version < 5 || s.logs == nil {
			continue
		}
		overrides := map[string]string{}
		for _, t := range req.Topics {
			if t.Topic != r.Topic {
				continue
			}
			for _, cfg := range t.Configs {
				if cfg.Value != nil {
					overrides[cfg.Name] = *cfg.Value
				}
			}
			break
		}
		entries, err := s.topicConfigEntries(overrides, nil, false)
		if err != nil {
			s.logger.Warn("describing a new topic's configs failed", "topic", r.Topic, "err", err)
			continue
		}
		r.Configs = r.Configs[:0]
		for _, e := range entries {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, int8(e.Source), e.IsSensitive
			r.Configs = append(r.Configs, c)
		}
	}
}

func (s *Server) handleDeleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	// DeleteTopicsRequest.topics(): before v6 the names, as topics without ids.
	asked := req.Topics
	if req.Version < 6 {
		asked = nil
		for _, n := range req.TopicNames {
			t := kmsg.NewDeleteTopicsRequestTopic()
			t.Topic = kmsg.StringPtr(n)
			asked = append(asked, t)
		}
	}
	answerAll := func(code int16) kmsg.Response {
		for _, t := range asked {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	c := s.activeController()
	switch {
	case c == nil:
		return answerAll(kerr.NotController.Code)
	case !s.cfg.DeleteTopicEnable:
		if req.Version < 3 {
			return answerAll(kerr.InvalidRequest.Code)
		}
		return answerAll(kerr.TopicDeletionDisabled.Code)
	}
	for _, t := range asked {
		if t.Topic != nil && t.TopicID != ([16]byte{}) {
			return answerAll(kerr.InvalidRequest.Code) // "Topic name and topic ID can not both be specified."
		}
	}
	var toDelete []string
	for _, t := range asked {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		if t.TopicID != ([16]byte{}) {
			rt.Topic = nil
			if name, ok := s.cache.topicName(t.TopicID); ok {
				rt.Topic = kmsg.StringPtr(name)
			}
		}
		switch {
		case t.TopicID != ([16]byte{}) && rt.Topic == nil:
			rt.ErrorCode = kerr.UnknownTopicID.Code
		case rt.Topic == nil:
			rt.ErrorCode = kerr.TopicAuthorizationFailed.Code
		default:
			if _, ok := s.cache.topic(*rt.Topic); !ok {
				rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if !slices.Contains(toDelete, *rt.Topic) {
				toDelete = append(toDelete, *rt.Topic)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(toDelete) == 0 {
		return resp
	}
	// The controller marks the topics and starts deleting them without
	// waiting; the wait is Kafka's DelayedDeleteTopics, below.
	creq := kmsg.NewPtrDeleteTopicsRequest()
	creq.Version, creq.TimeoutMillis, creq.TopicNames = 5, 0, toDelete
	codes := map[string]int16{}
	for _, r := range c.DeleteTopics(ctx, creq).Topics {
		if r.Topic != nil {
			codes[*r.Topic] = r.ErrorCode
		}
	}
	var marked []string
	for _, name := range toDelete {
		if code, ok := codes[name]; ok && code == 0 {
			marked = append(marked, name)
		}
	}
	// ZkAdminManager.deleteTopics: with timeout <= 0 a marked topic is
	// REQUEST_TIMED_OUT at once; else DelayedDeleteTopics waits until the
	// metadata cache no longer has the marked topics (the controller's
	// UpdateMetadata that starts their deletion), and a topic still there
	// when the timeout passes is REQUEST_TIMED_OUT.
	stillThere := map[string]bool{}
	for _, name := range s.awaitTopicsLeaveMetadata(ctx, marked, time.Duration(req.TimeoutMillis)*time.Millisecond) {
		stillThere[name] = true
	}
	for _, name := range toDelete {
		code, ok := codes[name]
		switch {
		case !ok:
			code = kerr.UnknownServerError.Code
		case code == 0 && stillThere[name]:
			code = kerr.RequestTimedOut.Code
		}
		// results.find(name): the first answer of that name gets the
		// code; a repeated name keeps NONE.
		for i := range resp.Topics {
			if r := &resp.Topics[i]; r.Topic != nil && *r.Topic == name && r.ErrorCode == 0 {
				r.ErrorCode = code
				break
			}
		}
	}
	return resp
}

// createLeadersRecheck is how often a CreateTopics or CreatePartitions
// waiting for its partitions' leaders looks at the metadata cache again.
const createLeadersRecheck = 20 * time.Millisecond

// awaitCreatedLeaders is the wait of ZkAdminManager.createTopics and
// createPartitions for topics the controller created (partitions 0..n-1
// of each): with timeoutMs <= 0 none is awaited and every one is
// returned (Kafka answers REQUEST_TIMED_OUT at once); else
// DelayedCreatePartitions waits until each partition has a leader in the
// metadata cache and returns those still leaderless at the deadline.
func (s *Server) awaitCreatedLeaders(ctx context.Context, created map[string]int32, timeoutMs int32, deadline time.Time) map[string]bool {
	missing := map[string]bool{}
	if len(created) == 0 {
		return missing
	}
	if timeoutMs <= 0 {
		for t := range created {
			missing[t] = true
		}
		return missing
	}
	// DelayedCreatePartitions.isMissingLeader: no partition state, or
	// LeaderAndIsr.NoLeader.
	look := func() {
		clear(missing)
		for name, n := range created {
			t, ok := s.cache.topic(name)
			for p := int32(0); p < n; p++ {
				if !ok {
					missing[name] = true
					break
				}
				if st, ok := t.Partitions[p]; !ok || st.Leader == -1 {
					missing[name] = true
					break
				}
			}
		}
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	tick := time.NewTicker(createLeadersRecheck)
	defer tick.Stop()
	for {
		look()
		if len(missing) == 0 {
			return missing
		}
		select {
		case <-tick.C:
		case <-timer.C:
			// DelayedCreatePartitions.onComplete looks once more.
			look()
			return missing
		case <-ctx.Done():
			return missing
		}
	}
}

func (s *Server) handleCreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		deadline := time.Now().Add(time.Duration(req.TimeoutMillis) * time.Millisecond)
		resp := c.CreatePartitions(ctx, req)
		if req.ValidateOnly {
			return resp
		}
		counts := map[string]int32{}
		for _, t := range req.Topics {
			if _, ok := counts[t.Topic]; !ok {
				counts[t.Topic] = t.Count
			}
		}
		created := map[string]int32{}
		for _, r := range resp.Topics {
			if r.ErrorCode == 0 {
				created[r.Topic] = counts[r.Topic]
			}
		}
		// ZkAdminManager.createPartitions: a grown topic's partitions are
		// all of 0..count-1; one timed out has no message.
		timedOut := s.awaitCreatedLeaders(ctx, created, req.TimeoutMillis, deadline)
		for i := range resp.Topics {
			if r := &resp.Topics[i]; r.ErrorCode == 0 && timedOut[r.Topic] {
				r.ErrorCode, r.ErrorMessage = kerr.RequestTimedOut.Code, nil
			}
		}
		return resp
	}
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	// KafkaApis.handleCreatePartitionsRequest answers a map by topic name:
	// a topic asked twice is answered once.
	seen := map[string]bool{}
	for _, t := range req.Topics {
		if seen[t.Topic] {
			continue
		}
		seen[t.Topic] = true
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode = kerr.NotController.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// ValidateTopicConfigs checks a new topic's config values against this
// broker's log defaults with storage's rules (LogConfig.validate); the
// controller's CreateTopics calls it last, as Kafka's validateTopicCreate.
func (s *Server) ValidateTopicConfigs(configs map[string]string) error {
	_, err := validateTopicConfigs(s.logs.DefaultConfig(), configs)
	return err
}
