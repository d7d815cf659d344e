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
