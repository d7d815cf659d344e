package reassign

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// brokerMeta is a broker id and its rack ("" when it has none or rack awareness is off).
type brokerMeta struct {
	ID   int32
	Rack string
}

// assignReplicas is AdminUtils.assignReplicasToBrokers with a random start index and shift, as
// --generate calls it: rack-unaware over the brokers in the given order when no broker has a
// rack, rack-aware (over a rack-alternated broker list) when all have one.
func assignReplicas(brokers []brokerMeta, nPartitions, rf int, rnd *rand.Rand) (map[int32][]int32, error) {
	if nPartitions <= 0 {
		return nil, &cli.JavaError{Class: "org.apache.kafka.common.errors.InvalidPartitionsException", Msg: "Number of partitions must be larger than 0."}
	}
	if rf <= 0 {
		return nil, &cli.JavaError{Class: "org.apache.kafka.common.errors.InvalidReplicationFactorException", Msg: "Replication factor must be larger than 0."}
	}
	if rf > len(brokers) {
		return nil, &cli.JavaError{Class: "org.apache.kafka.common.errors.InvalidReplicationFactorException",
			Msg: fmt.Sprintf("Replication factor: %d larger than available brokers: %d.", rf, len(brokers))}
	}
	racked := 0
	for _, b := range brokers {
		if b.Rack != "" {
			racked++
		}
	}
	if racked == 0 {
		ids := make([]int32, len(brokers))
		for i, b := range brokers {
			ids[i] = b.ID
		}
		return assignRackUnaware(ids, nPartitions, rf, rnd.IntN(len(ids)), rnd.IntN(len(ids))), nil
	}
	if racked != len(brokers) {
		return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException",
			Msg: "Not all brokers have rack information for replica rack aware assignment."}
	}
	return assignRackAware(brokers, nPartitions, rf, rnd), nil
}

// secondReplica is AdminUtils.replicaIndex: where the (j+2)-th replica goes, given the first
// replica's index and the shift.
func secondReplica(first, shift, j, n int) int {
	if n <= 1 {
		return first
	}
	s := 1 + (shift+j)%(n-1)
	return (first + s) % n
}

func assignRackUnaware(brokers []int32, nPartitions, rf, startIndex, shift int) map[int32][]int32 {
	n := len(brokers)
	out := make(map[int32][]int32, nPartitions)
	for pid := 0; pid < nPartitions; pid++ {
		if pid > 0 && pid%n == 0 {
			shift++
		}
		first := (pid + startIndex) % n
		replicas := []int32{brokers[first]}
		for j := 0; j < rf-1; j++ {
			replicas = append(replicas, brokers[secondReplica(first, shift, j, n)])
		}
		out[int32(pid)] = replicas
	}
	return out
}

// rackAlternated is AdminUtils.getRackAlternatedBrokerList: racks in name order, brokers of each
// rack ascending, taking one broker from each rack in turn.
func rackAlternated(brokers []brokerMeta) []int32 {
	byRack := map[string][]int32{}
	for _, b := range brokers {
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
	}
	racks := make([]string, 0, len(byRack))
	for r, ids := range byRack {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		racks = append(racks, r)
	}
	sort.Strings(racks)
	next := map[string]int{}
	var out []int32
	for i := 0; len(out) < len(brokers); i = (i + 1) % len(racks) {
		r := racks[i]
		if next[r] < len(byRack[r]) {
			out = append(out, byRack[r][next[r]])
			next[r]++
		}
	}
	return out
}

func assignRackAware(brokers []brokerMeta, nPartitions, rf int, rnd *rand.Rand) map[int32][]int32 {
	rackOf := map[int32]string{}
	racks := map[string]bool{}
	for _, b := range brokers {
		rackOf[b.ID] = b.Rack
		racks[b.Rack] = true
	}
	numRacks := len(racks)
	arranged := rackAlternated(brokers)
	n := len(arranged)
	startIndex, shift := rnd.IntN(n), rnd.IntN(n)
	out := make(map[int32][]int32, nPartitions)
	for pid := 0; pid < nPartitions; pid++ {
		if pid > 0 && pid%n == 0 {
			shift++
		}
		first := (pid + startIndex) % n
		leader := arranged[first]
		replicas := []int32{leader}
		racksUsed := map[string]bool{rackOf[leader]: true}
		brokersUsed := map[int32]bool{leader: true}
		k := 0
		for j := 0; j < rf-1; j++ {
			for {
				b := arranged[secondReplica(first, shift*numRacks, k, n)]
				k++
				r := rackOf[b]
				if (!racksUsed[r] || len(racksUsed) == numRacks) && (!brokersUsed[b] || len(brokersUsed) == n) {
					replicas = append(replicas, b)
					racksUsed[r] = true
					brokersUsed[b] = true
					break
				}
			}
		}
		out[int32(pid)] = replicas
	}
	return out
}
