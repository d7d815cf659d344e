package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleAlterPartitionReassignments starts or cancels reassignments on the
// controller; any other broker answers NOT_CONTROLLER with the error's
// message (KafkaController.processApiPartitionReassignment).
func (s *Server) handleAlterPartitionReassignments(ctx context.Context, req *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.AlterPartitionReassignments(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.ErrorCode = kerr.NotController.Code
	resp.ErrorMessage = kmsg.StringPtr(kerr.NotController.Description) // ApiError(NOT_CONTROLLER)
	return resp
}

// handleListPartitionReassignments lists reassignments on the controller;
// any other broker answers NOT_CONTROLLER with the error's message
// (KafkaController.processListPartitionReassignments).
func (s *Server) handleListPartitionReassignments(ctx context.Context, req *kmsg.ListPartitionReassignmentsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.ListPartitionReassignments(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	resp.ErrorCode = kerr.NotController.Code
	resp.ErrorMessage = kmsg.StringPtr(kerr.NotController.Description) // ApiError(NOT_CONTROLLER)
	return resp
}
