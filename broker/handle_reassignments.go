// AlterPartitionReassignments: API key 45, version 0.
// ListPartitionReassignments: API key 46, version 0.
//
// Both come from KIP-455. The active controller starts or cancels
// reassignments, or lists those in progress with their adding and removing
// replicas. Any other broker answers NOT_CONTROLLER with the error's
// message, as a ZooKeeper-mode Kafka 3.9 broker does (no forwarding).
//
// Authorization: ALTER / DESCRIBE on the cluster, checked by aclGate
// (acl_checks.go).

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
