package controller

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Admin writes that cannot reach ZooKeeper are answered REQUEST_TIMED_OUT:
// Kafka's ZooKeeperClient holds them until ZooKeeper is back, so a Kafka
// client sees its request time out (a TimeoutException), never an
// UNKNOWN_SERVER_ERROR.
func TestAdminWritesWithoutZooKeeper(t *testing.T) {
	tc := newTestCluster(t, 1)
	var down atomic.Bool
	client := tc.hookedSession(func(req zkmeta.Request, send func() error) error {
		if down.Load() && changesZnode(req, func(p string) bool { return strings.Contains(p, "zk-down") }) {
			return zkmeta.ErrConnectionLoss // what a call gets while no server is reachable
		}
		return send()
	})
	tc.run(New(Config{BrokerID: 1, RequestTimeout: 5 * time.Second, DeleteTopicEnable: true}, client, slog.New(slog.NewTextHandler(io.Discard, nil))))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	create := func(topic string) int16 {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 5000
		return tc.c.CreateTopics(ctx, req).Topics[0].ErrorCode
	}
	if code := create("zk-down-existing"); code != 0 {
		t.Fatalf("creating a topic with ZooKeeper up: %v", kerr.ErrorForCode(code))
	}
	down.Store(true)
	if code := create("zk-down-new"); code != kerr.RequestTimedOut.Code {
		t.Errorf("CreateTopics without ZooKeeper: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"zk-down-existing"}
	del.TimeoutMillis = 1000
	if code := tc.c.DeleteTopics(ctx, del).Topics[0].ErrorCode; code != kerr.RequestTimedOut.Code {
		t.Errorf("DeleteTopics without ZooKeeper: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}
}
