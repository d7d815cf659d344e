package cluster

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BrokerReplicas is a partition's replica list in one broker's metadata
// cache: a Metadata request to that broker alone, not to the cluster.
func (c *Cluster) BrokerReplicas(ctx context.Context, id int32, topic string, p int32) ([]int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(id).Addr))
	if err != nil {
		return nil, fmt.Errorf("client for broker %d: %w", id, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		return nil, fmt.Errorf("metadata from broker %d: %w", id, err)
	}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			if rp.Partition == p {
				return rp.Replicas, nil
			}
		}
	}
	return nil, fmt.Errorf("%s-%d not in broker %d's metadata", topic, p, id)
}
