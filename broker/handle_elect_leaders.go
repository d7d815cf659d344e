// ElectLeaders (key 43) v0-2: preferred (KIP-183) or, from v1, unclean
// (KIP-460, election_type) leader election, run by the active controller.
// Any other broker answers as KafkaController does when not active: the
// request succeeds and every partition asked (every known partition for a
// null topic list, each once) is NOT_CONTROLLER. v1 adds the top-level
// error code, v2 is flexible (KIP-482).
// Deviation: ACLs not built, so no CLUSTER_AUTHORIZATION_FAILED.

package broker

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleElectLeaders serves ElectLeaders (preferred or unclean) on the
// controller. Any other broker answers as KafkaController.processReplicaLeaderElection
// does when not active: the request succeeds and every partition asked
// (every partition in the metadata cache for a null topic list, each
// once) is NOT_CONTROLLER, without a message.
func (s *Server) handleElectLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.ElectLeaders(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	partitions := map[string][]int32{}
	var topics []string
	add := func(topic string, p int32) {
		ps, known := partitions[topic]
		if !known {
			topics = append(topics, topic)
		}
		if !slices.Contains(ps, p) {
			partitions[topic] = append(ps, p)
		}
	}
	if req.Topics == nil {
		for _, name := range s.cache.topicNames() {
			if t, ok := s.cache.topic(name); ok {
				for p := range t.Partitions {
					add(name, p)
				}
			}
		}
	}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			add(t.Topic, p)
		}
	}
	for _, topic := range topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = topic
		ps := partitions[topic]
		slices.Sort(ps)
		for _, p := range ps {
			rp := kmsg.NewElectLeadersResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, kerr.NotController.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
