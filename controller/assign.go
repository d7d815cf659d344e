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

// brokerRack is a broker id with its broker.rack ("" when unset).
type brokerRack struct {
	ID   int32
	Rack string
}

// assignReplicasRackAware is Kafka's AdminUtils.assignReplicasToBrokersRackAware:
// brokers are ordered alternating between racks (rack names sorted, brokers
// sorted within a rack); the first replica goes round-robin over that list
// from startIndex; each further replica is the next broker (at a shift that
// grows each time the partition id wraps) whose rack has no replica yet
// unless every rack has one, and that holds no replica unless every broker
// has one. startIndex (and with it the shift) is random when negative.
func assignReplicasRackAware(brokers []brokerRack, nPartitions int32, replicationFactor int16, startIndex int, startPartitionID int32, rnd *rand.Rand) (map[int32][]int32, error) {
	if nPartitions <= 0 {
		return nil, fmt.Errorf("number of partitions must be larger than 0")
	}
	if replicationFactor <= 0 {
		return nil, fmt.Errorf("replication factor must be larger than 0")
	}
	if int(replicationFactor) > len(brokers) {
		return nil, fmt.Errorf("replication factor: %d larger than available brokers: %d", replicationFactor, len(brokers))
	}
	rackOf := map[int32]string{}
	for _, b := range brokers {
		rackOf[b.ID] = b.Rack
	}
	arranged := rackAlternatedBrokers(rackOf)
	racks := map[string]bool{}
	for _, r := range rackOf {
		racks[r] = true
	}
	numRacks, n := len(racks), len(arranged)
	shift := startIndex
	if startIndex < 0 {
		startIndex = rnd.IntN(n)
		shift = rnd.IntN(n)
	}
	out := make(map[int32][]int32, nPartitions)
	pid := max(startPartitionID, 0)
	for range nPartitions {
		if pid > 0 && int(pid)%n == 0 {
			shift++
		}
		first := (int(pid) + startIndex) % n
		leader := arranged[first]
		replicas := []int32{leader}
		racksWith := map[string]bool{rackOf[leader]: true}
		brokersWith := map[int32]bool{leader: true}
		k := 0
		for range int(replicationFactor) - 1 {
			for {
				b := arranged[replicaIndex(first, shift*numRacks, k, n)]
				k++
				rack := rackOf[b]
				if (!racksWith[rack] || len(racksWith) == numRacks) && (!brokersWith[b] || len(brokersWith) == n) {
					replicas = append(replicas, b)
					racksWith[rack] = true
					brokersWith[b] = true
					break
				}
			}
		}
		out[pid] = replicas
		pid++
	}
	return out, nil
}

// rackAlternatedBrokers is Kafka's getRackAlternatedBrokerList: one broker
// from each rack in turn (racks sorted by name, brokers by id).
func rackAlternatedBrokers(rackOf map[int32]string) []int32 {
	byRack := map[string][]int32{}
	for id, r := range rackOf {
		byRack[r] = append(byRack[r], id)
	}
	racks := make([]string, 0, len(byRack))
	for r, ids := range byRack {
		slices.Sort(ids)
		racks = append(racks, r)
	}
	slices.Sort(racks)
	out := make([]int32, 0, len(rackOf))
	next := map[string]int{}
	for i := 0; len(out) < len(rackOf); i = (i + 1) % len(racks) {
		r := racks[i]
		if next[r] < len(byRack[r]) {
			out = append(out, byRack[r][next[r]])
			next[r]++
		}
	}
	return out
}

// assignForBrokers picks Kafka's rack-aware assignment when every broker
// has a rack, the rack-unaware one when none has, and refuses a mix (Kafka's
// RackAwareMode.Enforced). startIndex < 0 means random start and shift;
// otherwise both are startIndex, as Kafka's fixedStartIndex.
func assignForBrokers(brokers []brokerRack, nPartitions int32, rf int16, startIndex int, startPartitionID int32, rnd *rand.Rand) (map[int32][]int32, error) {
	withRack := 0
	ids := make([]int32, 0, len(brokers))
	for _, b := range brokers {
		ids = append(ids, b.ID)
		if b.Rack != "" {
			withRack++
		}
	}
	switch {
	case withRack == 0:
		return assignReplicas(ids, nPartitions, rf, startIndex, startIndex, startPartitionID, rnd)
	case withRack == len(brokers):
		return assignReplicasRackAware(brokers, nPartitions, rf, startIndex, startPartitionID, rnd)
	default:
		return nil, fmt.Errorf("not all brokers have rack information for replica rack aware assignment")
	}
}
