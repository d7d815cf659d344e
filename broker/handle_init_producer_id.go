// InitProducerID: API key 22, versions 0-4.
//
// Gives an idempotent producer a fresh producer id at epoch 0; ids come from
// blocks this broker reserves in /latest_producer_id_block, so they are
// unique cluster-wide and survive restarts. v3 (KIP-360) lets the producer
// send its current id and epoch: both or neither, else INVALID_REQUEST.
// v4 (KIP-588) brings PRODUCER_FENCED, which only transactions return.
//
// Deviations from Kafka 3.9: the transaction coordinator is not built, so a
// transactional id gets COORDINATOR_NOT_AVAILABLE (an empty one
// INVALID_REQUEST); v5 (KIP-890) is not served; blocks are taken from
// ZooKeeper directly, never from the controller (KIP-730).

package broker

import (
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// handleInitProducerID gives an idempotent producer a new producer id at
// epoch 0, as Kafka does for producers without a transactional id.
// Transactions are not served yet.
func (s *Server) handleInitProducerID(req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	// KafkaApis.handleInitProducerIdRequest: a producer id and epoch (v3+)
	// come together or not at all.
	if (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	// TransactionCoordinator.handleInitProducerId: an empty transactional
	// id is INVALID_REQUEST.
	if req.TransactionalID != nil && *req.TransactionalID == "" {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	id, err := s.producerIDs.next()
	if err != nil {
		s.logger.Error("producer id allocation failed", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}

// producerIDAllocator hands out producer ids from blocks reserved in
// /latest_producer_id_block (Kafka's ZkProducerIdManager): ids are unique
// across the cluster and never reused after a restart.
type producerIDAllocator struct {
	zk        *zkmeta.Client
	brokerID  int32
	blockSize int64

	mu          sync.Mutex
	nextID, end int64 // next id to give; last id of the block
}

func newProducerIDAllocator(zk *zkmeta.Client, brokerID int32, blockSize int64) *producerIDAllocator {
	return &producerIDAllocator{zk: zk, brokerID: brokerID, blockSize: blockSize, nextID: 0, end: -1}
}

func (a *producerIDAllocator) next() (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nextID > a.end {
		start, end, err := a.zk.AllocateProducerIDBlock(a.brokerID, a.blockSize)
		if err != nil {
			return 0, fmt.Errorf("allocating a producer id block: %w", err)
		}
		a.nextID, a.end = start, end
	}
	id := a.nextID
	a.nextID++
	return id, nil
}
