package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// alterItem is one partition's proposed ISR change.
type alterItem struct {
	p              *partition
	gen            uint64
	topic          string
	topicID        [16]byte
	partition      int32
	leaderEpoch    int32
	partitionEpoch int32
	newISR         []int32
}

// alterPartitionVersion is what we send: v2 names topics by id, as a Kafka
// 3.7 broker in ZooKeeper mode does once topic ids exist (v3 would need
// broker epochs per ISR member).
const alterPartitionVersion = 2

// alterPartitionClient sends ISR changes to the controller as
// AlterPartition requests (Kafka's DefaultAlterPartitionManager): changes
// queue up and go out in one request at a time, always over the network,
// even when the controller runs in this process. A request that fails as a
// whole (no controller, connection lost, NOT_CONTROLLER) is retried after a
// backoff while its partitions still have it in flight. A change the
// controller answered as stale (our leader or partition epoch is old) is
// settled from the partition's state znode, so a LeaderAndIsr that never
// comes cannot freeze the ISR.
type alterPartitionClient struct {
	cache     *metadataCache
	readState func(topic string, partition int32) (zkmeta.LeaderAndIsr, bool, error)
	self      int32
	listener  string // the controller's listener (Config.controllerListener)
	// secure sets up a new client for listener (Server.secureClient); nil: plaintext.
	secure      func(c *protocol.Client, listener string)
	brokerEpoch func() int64
	logger      *slog.Logger
	timeout     time.Duration
	backoff     time.Duration
	now         func() time.Time // the clock passed to the partitions; time.Now if nil

	mu      sync.Mutex
	queue   []*alterItem
	kick    chan struct{}
	target  int32
	client  *protocol.Client
	stopped bool
}

func newAlterPartitionClient(cache *metadataCache, zk *zkmeta.Client, self int32, listener string, brokerEpoch func() int64, logger *slog.Logger) *alterPartitionClient {
	return &alterPartitionClient{cache: cache, readState: zk.PartitionState, self: self, listener: listener, brokerEpoch: brokerEpoch, logger: logger,
		timeout: 10 * time.Second, backoff: 200 * time.Millisecond, kick: make(chan struct{}, 1), target: -1}
}

func (c *alterPartitionClient) nowMs() int64 {
	if c.now == nil {
		return time.Now().UnixMilli()
	}
	return c.now().UnixMilli()
}

// submit queues an ISR change.
func (c *alterPartitionClient) submit(item *alterItem) {
	if item == nil {
		return
	}
	c.mu.Lock()
	c.queue = append(c.queue, item)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run sends queued changes until ctx ends.
func (c *alterPartitionClient) run(ctx context.Context) {
	defer c.closeClient()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		for {
			c.mu.Lock()
			batch := c.queue
			c.queue = nil
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			retry := c.send(ctx, batch)
			if len(retry) == 0 {
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.backoff):
			}
			c.mu.Lock()
			c.queue = append(retry, c.queue...)
			c.mu.Unlock()
		}
	}
}

// send sends one request and applies its answer; it returns the items to
// retry.
func (c *alterPartitionClient) send(ctx context.Context, batch []*alterItem) []*alterItem {
	live := batch[:0:0]
	for _, it := range batch {
		if it.p.alterStillPending(it) {
			live = append(live, it)
		}
	}
	if len(live) == 0 {
		return nil
	}
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = alterPartitionVersion
	req.BrokerID = c.self
	req.BrokerEpoch = c.brokerEpoch()
	byTopic := map[[16]byte]int{}
	for _, it := range live {
		i, ok := byTopic[it.topicID]
		if !ok {
			i = len(req.Topics)
			byTopic[it.topicID] = i
			t := kmsg.NewAlterPartitionRequestTopic()
			t.Topic, t.TopicID = it.topic, it.topicID
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.Partition = it.partition
		rp.LeaderEpoch = it.leaderEpoch
		rp.NewISR = it.newISR
		rp.PartitionEpoch = it.partitionEpoch
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	client, err := c.clientFor()
	if err != nil {
		c.logger.Debug("AlterPartition not sent", "err", err)
		return live
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	kresp, err := client.Request(rctx, req)
	if err != nil {
		c.logger.Warn("AlterPartition to the controller failed", "err", err)
		c.dropClient(client)
		return live
	}
	resp := kresp.(*kmsg.AlterPartitionResponse)
	if resp.ErrorCode != 0 {
		c.logger.Warn("controller refused AlterPartition", "err", kerr.ErrorForCode(resp.ErrorCode))
		return live
	}
	answered := map[*alterItem]bool{}
	var retryAnswered []*alterItem
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			for _, it := range live {
				if it.topicID != t.TopidID || it.partition != rp.Partition || answered[it] {
					continue
				}
				answered[it] = true
				if rp.ErrorCode != 0 {
					c.logger.Info("controller rejected ISR change", "topic", it.topic, "partition", it.partition,
						"isr", it.newISR, "err", kerr.ErrorForCode(rp.ErrorCode))
				} else {
					c.logger.Info("ISR changed", "topic", it.topic, "partition", it.partition, "isr", rp.ISR,
						"leader_epoch", rp.LeaderEpoch, "partition_epoch", rp.PartitionEpoch)
				}
				switch it.p.completeAlter(it, rp.ErrorCode, rp.ISR, rp.LeaderEpoch, rp.PartitionEpoch, c.nowMs()) {
				case alterRetry:
					retryAnswered = append(retryAnswered, it)
				case alterAwaitState:
					if err := c.settleFromZooKeeper(it); err != nil {
						c.logger.Warn("reading partition state failed", "topic", it.topic, "partition", it.partition, "err", err)
						retryAnswered = append(retryAnswered, it)
					}
				}
			}
		}
	}
	retry := retryAnswered
	for _, it := range live {
		if !answered[it] {
			retry = append(retry, it)
		}
	}
	return retry
}

// settleFromZooKeeper reads the partition's state znode to end a change the
// controller called stale (see partition.adoptCommittedState).
func (c *alterPartitionClient) settleFromZooKeeper(it *alterItem) error {
	st, ok, err := c.readState(it.topic, it.partition)
	if err != nil {
		return err
	}
	if ok { // a deleted partition gets StopReplica
		it.p.adoptCommittedState(it, st, c.nowMs())
	}
	return nil
}

func (c *alterPartitionClient) clientFor() (*protocol.Client, error) {
	id := c.cache.controller()
	// MetadataCacheControllerNodeProvider: the controller's node on
	// control.plane.listener.name, else the inter-broker listener.
	b, ok := c.cache.aliveNode(id, c.listener)
	if !ok {
		return nil, fmt.Errorf("no live controller known on listener %s (controller id %d)", c.listener, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, protocol.ErrClientClosed
	}
	addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	if c.client != nil && c.target == id && c.client.Addr() == addr {
		return c.client, nil
	}
	if c.client != nil {
		_ = c.client.Close()
	}
	c.client = protocol.NewClient(addr, fmt.Sprintf("broker-%d-alter-partition", c.self), 5*time.Second)
	if c.secure != nil {
		c.secure(c.client, c.listener) // TLS and SASL (Server.secureClient)
	}
	c.target = id
	return c.client, nil
}

func (c *alterPartitionClient) dropClient(cl *protocol.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == cl {
		_ = cl.Close()
		c.client = nil
	}
}

func (c *alterPartitionClient) closeClient() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.client != nil {
		_ = c.client.Close()
		c.client = nil
	}
}
