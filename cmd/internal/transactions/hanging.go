package transactions

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

var hangingHeaders = []string{"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset",
	"LastTimestamp", "Duration(min)"}

// maxBatchSize is FindHangingTransactionsCommand.MAX_BATCH_SIZE: topics
// per DescribeTopics and partitions per DescribeProducers call.
const maxBatchSize = 500

// openTransaction is an open transaction of a producer on a partition.
type openTransaction struct {
	tp topicPartition
	p  producerState
}

// findHangingCommand is FindHangingTransactionsCommand: the partitions in
// scope (one, a topic's, or every partition with a replica on a broker),
// their producers with a transaction open longer than the maximum
// transaction timeout, and of those the ones whose coordinator does not
// know the partition: no transactional id has the producer id, the id is
// unknown, or its transaction does not include the partition.
func findHangingCommand(ctx context.Context, a *admin, ns namespace, out *strings.Builder) error {
	brokerID, hasBroker := ns.int32("broker_id")
	topic, hasTopic := ns.str("topic")
	if !hasTopic && !hasBroker {
		return &exitError{msg: "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search"}
	}
	partition, hasPartition := ns.int32("partition")
	if hasPartition && !hasTopic {
		return &exitError{msg: "The --partition argument requires --topic to be provided"}
	}
	maxTimeoutMin, ok := ns.int32("max_transaction_timeout")
	if !ok {
		maxTimeoutMin = 15
	}
	maxTimeoutMs := int64(maxTimeoutMin) * 60_000
	var broker *int32
	if hasBroker {
		broker = &brokerID
	}

	var tps []topicPartition
	if hasTopic && hasPartition {
		tps = []topicPartition{{topic, partition}}
	} else {
		var topics []string
		if hasTopic {
			topics = []string{topic}
		} else {
			infos, err := a.describeTopics(ctx, nil)
			if err != nil {
				return fail("Failed to list topics", err)
			}
			for _, t := range infos {
				topics = append(topics, t.name)
			}
			topics = stringSetOrder(topics) // listTopics().names() is a HashSet
		}
		for start := 0; start < len(topics); start += maxBatchSize {
			batch := topics[start:min(len(topics), start+maxBatchSize)]
			infos, err := a.describeTopics(ctx, batch)
			if err != nil {
				return fail(fmt.Sprintf("Failed to describe %d topics", len(batch)), err)
			}
			// allTopicNames() is a HashMap by topic name.
			names := make([]string, len(infos))
			for i, t := range infos {
				names[i] = t.name
			}
			for _, i := range cli.JavaHashMapOrder(cli.JavaStringHashes(names)) {
				for _, p := range infos[i].partitions {
					if broker == nil || slices.Contains(p.replicas, *broker) {
						tps = append(tps, topicPartition{infos[i].name, p.partition})
					}
				}
			}
		}
	}

	var candidates []openTransaction
	for start := 0; start < len(tps); start += maxBatchSize {
		batch := tps[start:min(len(tps), start+maxBatchSize)]
		res, err := a.describeProducers(ctx, broker, batch)
		if err != nil {
			b := "Optional.empty"
			if broker != nil {
				b = fmt.Sprintf("Optional[%d]", *broker)
			}
			return fail(fmt.Sprintf("Failed to describe producers for %d partitions on broker %s", len(batch), b), err)
		}
		now := a.now().UnixMilli()
		for _, tp := range producersMapOrder(batch) {
			for _, p := range res[tp] {
				if p.txnStartOffset >= 0 && now-p.lastTimestamp > maxTimeoutMs {
					candidates = append(candidates, openTransaction{tp: tp, p: p})
				}
			}
		}
	}

	var hanging []openTransaction
	if len(candidates) > 0 {
		// groupByProducerId: a HashMap<Long, List<OpenTransaction>>.
		var pids []int64
		byPID := map[int64][]openTransaction{}
		for _, c := range candidates {
			if _, ok := byPID[c.p.producerID]; !ok {
				pids = append(pids, c.p.producerID)
			}
			byPID[c.p.producerID] = append(byPID[c.p.producerID], c)
		}
		pids = longMapOrder(pids)

		listings, err := a.listTransactions(ctx, pids, -1)
		if err != nil {
			return fail(fmt.Sprintf("Failed to list transactions for %d producers", len(pids)), err)
		}
		txnIDs := map[int64]string{}
		for _, id := range brokerOrder(listings) {
			for _, l := range listings[id] {
				if _, ok := byPID[l.producerID]; ok {
					txnIDs[l.producerID] = l.transactionalID
				}
			}
		}
		var ids []string
		for _, pid := range pids {
			if id, ok := txnIDs[pid]; ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		descs := map[string]description{}
		if len(ids) > 0 {
			found, failed, err := a.describeTransactions(ctx, ids)
			if err == nil {
				for _, id := range ids {
					if e, ok := failed[id]; ok {
						if je, ok := e.(*javaError); !ok || je.class != "TransactionalIdNotFoundException" {
							err = e
							break
						}
					}
				}
			}
			if err != nil {
				return fail(fmt.Sprintf("Failed to describe %d transactions", len(ids)), err)
			}
			descs = found
		}
		for _, pid := range pids {
			id, ok := txnIDs[pid]
			if !ok {
				hanging = append(hanging, byPID[pid]...)
				continue
			}
			d, ok := descs[id]
			if !ok {
				hanging = append(hanging, byPID[pid]...)
				continue
			}
			for _, c := range byPID[pid] {
				if !slices.Contains(d.topicPartition, c.tp) {
					hanging = append(hanging, c)
				}
			}
		}
	}

	now := a.now().UnixMilli()
	rows := make([][]string, 0, len(hanging))
	for _, h := range hanging {
		rows = append(rows, []string{h.tp.topic, strconv.Itoa(int(h.tp.partition)), strconv.FormatInt(h.p.producerID, 10),
			strconv.Itoa(int(h.p.producerEpoch)), strconv.Itoa(int(h.p.coordinatorEpoch)), strconv.FormatInt(h.p.txnStartOffset, 10),
			strconv.FormatInt(h.p.lastTimestamp, 10), strconv.FormatInt((now-h.p.lastTimestamp)/60_000, 10)})
	}
	prettyPrintTable(out, hangingHeaders, rows)
	return nil
}

// stringSetOrder is the iteration order of a HashSet<String>.
func stringSetOrder(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, i := range cli.JavaHashMapOrder(cli.JavaStringHashes(ss)) {
		out = append(out, ss[i])
	}
	return out
}

// producersMapOrder is the iteration order of DescribeProducersResult.all():
// a HashMap<TopicPartition, ...> created with the partition count as its
// initial capacity.
func producersMapOrder(tps []topicPartition) []topicPartition {
	hashes := make([]int32, len(tps))
	for i, tp := range tps {
		hashes[i] = cli.TopicPartitionHash(tp.topic, tp.partition)
	}
	out := make([]topicPartition, 0, len(tps))
	for _, i := range cli.JavaHashOrder(hashes, cli.JavaTableSize(len(tps), len(tps))) {
		out = append(out, tps[i])
	}
	return out
}

// longMapOrder is the iteration order of a HashMap<Long, ...>
// (Long.hashCode folds the high half into the low).
func longMapOrder(ids []int64) []int64 {
	hashes := make([]int32, len(ids))
	for i, v := range ids {
		hashes[i] = int32(uint64(v) ^ uint64(v)>>32)
	}
	out := make([]int64, 0, len(ids))
	for _, i := range cli.JavaHashMapOrder(hashes) {
		out = append(out, ids[i])
	}
	return out
}
