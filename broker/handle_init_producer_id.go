// InitProducerID: API key 22, versions 0-5.
//
// Without a transactional id it gives an idempotent producer a fresh
// producer id at epoch 0; ids come from blocks this broker reserves in
// /latest_producer_id_block, so they are unique cluster-wide and survive
// restarts. With one, the transaction coordinator (broker/txn) bumps the
// id's epoch, fencing an older producer instance and aborting its open
// transaction (TransactionCoordinator.handleInitProducerId).
// Version steps: v1 as v0 (throttle first, KIP-219), v2 flexible
// (KIP-482), v3 the producer's current id and epoch for recovery after an
// abortable error (KIP-360: both or neither, else INVALID_REQUEST), v4
// PRODUCER_FENCED (KIP-588; v0-3 get INVALID_PRODUCER_EPOCH), v5
// TRANSACTION_ABORTABLE (KIP-890; never returned here, as in Kafka 3.9).
// Authorization (WRITE on the transactional id; IDEMPOTENT_WRITE or a
// topic WRITE without one): aclGate (acl_checks.go).
//
// Deviation from Kafka 3.9: blocks are taken from ZooKeeper directly,
// never from the controller (KIP-730).

package broker

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// handleInitProducerID gives an idempotent producer a new producer id at
// epoch 0, as Kafka does for producers without a transactional id, and
// hands a transactional id to the transaction coordinator.
func (s *Server) handleInitProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	// KafkaApis.handleInitProducerIdRequest: a producer id and epoch (v3+)
	// come together or not at all.
	if (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	if req.TransactionalID != nil {
		// TransactionCoordinator.handleInitProducerId: an empty id is
		// INVALID_REQUEST, then the timeout and the id's state decide.
		if *req.TransactionalID == "" {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp
		}
		if s.txn == nil {
			resp.ErrorCode = kerr.NotCoordinator.Code
			return resp
		}
		pid, epoch, err := s.txn.InitProducerID(ctx, *req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch)
		if err != nil {
			// KafkaApis: clients before KIP-588 (v0-3) know fencing as
			// INVALID_PRODUCER_EPOCH.
			resp.ErrorCode = fencedForVersion(err, req.Version, 4).Code
			return resp
		}
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
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
