package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// assignReplicas is Kafka's rack-unaware replica assignment
// (AdminUtils.assignReplicasToBrokersRackUnaware): the first replica of each
// partition goes round-robin from startIndex; the others follow at a shift
// that grows by one each time the partition id wraps around the broker list,
// so replicas of consecutive partitions spread over different brokers.
// startIndex and shift are random when negative.
func assignReplicas(brokers []int32, nPartitions int32, replicationFactor int16, startIndex, shift int, startPartitionID int32, rnd *rand.Rand) (map[int32][]int32, error) {
	if nPartitions <= 0 {
		return nil, fmt.Errorf("number of partitions must be larger than 0")
	}
	if replicationFactor <= 0 {
		return nil, fmt.Errorf("replication factor must be larger than 0")
	}
	if int(replicationFactor) > len(brokers) {
		return nil, fmt.Errorf("replication factor: %d larger than available brokers: %d", replicationFactor, len(brokers))
	}
	sorted := slices.Clone(brokers)
	slices.Sort(sorted)
	n := len(sorted)
	if startIndex < 0 {
		startIndex = rnd.IntN(n)
	}
	if shift < 0 {
		shift = rnd.IntN(n)
	}
	out := make(map[int32][]int32, nPartitions)
	pid := max(startPartitionID, 0)
	for range nPartitions {
		if pid > 0 && int(pid)%n == 0 {
			shift++
		}
		first := (int(pid) + startIndex) % n
		replicas := []int32{sorted[first]}
		for j := 0; j < int(replicationFactor)-1; j++ {
			replicas = append(replicas, sorted[replicaIndex(first, shift, j, n)])
		}
		out[pid] = replicas
		pid++
	}
	return out, nil
}

func replicaIndex(first, shift, j, n int) int {
	s := 1 + (shift+j)%(n-1)
	return (first + s) % n
}
