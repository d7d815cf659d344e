// AlterPartition (key 56) v0-3: a partition leader's ISR change
// (KIP-497; named AlterIsr before v2). The active controller of this
// process validates and applies it; any other broker answers
// NOT_CONTROLLER so the leader resends to the controller in its metadata.
// Version steps: v1 adds leader_recovery_state (KIP-704), v2 topic ids
// (KIP-516), v3 new_isr_with_epochs (KIP-903, broker epochs).
// No deviation from Kafka 3.9 known here: the controller's side lives in
// the controller package.

package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleAlterPartition serves AlterPartition (ISR changes sent by partition
// leaders): the active controller of this process validates and applies it;
// any other broker answers NOT_CONTROLLER so the leader retries on the
// controller named in its metadata.
func (s *Server) handleAlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.AlterPartition(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	resp.ErrorCode = kerr.NotController.Code
	return resp
}
