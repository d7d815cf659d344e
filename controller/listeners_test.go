package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The controller's requests carry the brokers' registrations as
// ControllerChannelManager sends them: UpdateMetadata every endpoint of
// every live broker with its listener name and security protocol id (and
// the PLAINTEXT-named listener's node as v0's host and port); LeaderAndIsr
// live leaders on the inter-broker listener.
func TestRequestEndpoints(t *testing.T) {
	c := &Controller{cfg: Config{BrokerID: 1, InterBrokerListener: "BROKER"}, state: newClusterState(), epoch: 3}
	c.state.liveBrokers[1] = zkmeta.BrokerInfo{ID: 1, Endpoints: []string{"PLAINTEXT://client1:9092", "BROKER://in1:29092", "SECURE://s1:9094"},
		SecurityProtocols: map[string]string{"PLAINTEXT": "PLAINTEXT", "BROKER": "PLAINTEXT", "SECURE": "SASL_SSL"}}
	c.state.liveBrokers[2] = zkmeta.BrokerInfo{ID: 2, Endpoints: []string{"BROKER://in2:29093"},
		SecurityProtocols: map[string]string{"BROKER": "PLAINTEXT"}}
	tp := topicPartition{Topic: "t", Partition: 0}
	c.state.topics["t"] = zkmeta.TopicAssignment{Partitions: map[int32][]int32{0: {2, 1}}}
	c.state.partitions[tp] = zkmeta.LeaderAndIsr{Leader: 2, ISR: []int32{2, 1}, ControllerEpoch: 3}

	um := c.updateMetadataRequest(1, []topicPartition{tp})
	want := map[int32][]kmsg.UpdateMetadataRequestLiveBrokerEndpoint{
		1: {{Port: 9092, Host: "client1", ListenerName: "PLAINTEXT", SecurityProtocol: 0},
			{Port: 29092, Host: "in1", ListenerName: "BROKER", SecurityProtocol: 0},
			{Port: 9094, Host: "s1", ListenerName: "SECURE", SecurityProtocol: 3}},
		2: {{Port: 29093, Host: "in2", ListenerName: "BROKER", SecurityProtocol: 0}},
	}
	if len(um.LiveBrokers) != 2 {
		t.Fatalf("live brokers %+v", um.LiveBrokers)
	}
	for _, lb := range um.LiveBrokers {
		w := want[lb.ID]
		if len(lb.Endpoints) != len(w) {
			t.Fatalf("broker %d endpoints %+v, want %+v", lb.ID, lb.Endpoints, w)
		}
		for i := range w {
			if g := lb.Endpoints[i]; g.Port != w[i].Port || g.Host != w[i].Host || g.ListenerName != w[i].ListenerName || g.SecurityProtocol != w[i].SecurityProtocol {
				t.Errorf("broker %d endpoint %d: %+v, want %+v", lb.ID, i, lb.Endpoints[i], w[i])
			}
		}
	}
	if lb := um.LiveBrokers[0]; lb.ID != 1 || lb.Host != "client1" || lb.Port != 9092 {
		t.Errorf("v0 node of broker 1: %s:%d", lb.Host, lb.Port)
	}

	la := c.leaderAndIsrRequest(1, []topicPartition{tp})
	if len(la.LiveLeaders) != 1 || la.LiveLeaders[0].BrokerID != 2 || la.LiveLeaders[0].Host != "in2" || la.LiveLeaders[0].Port != 29093 {
		t.Errorf("live leaders %+v, want broker 2 at in2:29093 (BROKER)", la.LiveLeaders)
	}
}
