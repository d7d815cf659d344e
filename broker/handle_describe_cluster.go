// DescribeCluster (key 60) v0-1 (KIP-700): the cluster id, the controller
// and the live brokers on the request's listener, from the metadata cache. v1 adds endpoint_type
// (KIP-919): BROKER is served, CONTROLLER is MISMATCHED_ENDPOINT_TYPE and
// any other UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST at v0). A
// controller absent from the live brokers is answered -1.
// Authorized operations, when asked: every CLUSTER operation without an
// authorizer; with one, aclGate (acl_checks.go) fills in the principal's.

package broker

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterAuthorizedOperationsOmitted is Kafka's Int.MinValue sentinel for
// "authorized operations not requested".
const clusterAuthorizedOperationsOmitted = -2147483648

// handleDescribeCluster answers from the metadata cache: the cluster id,
// the controller and the live brokers (Kafka's KafkaApis.handleDescribeCluster,
// AuthHelper.computeDescribeClusterResponse).
func (s *Server) handleDescribeCluster(ctx context.Context, req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	// computeDescribeClusterResponse: an endpoint type other than BROKER(1)
	// or CONTROLLER(2) is unsupported, CONTROLLER is the wrong one for a
	// broker; both are INVALID_REQUEST at v0. The error answer keeps the
	// schema's defaults (endpoint type 1, controller -1).
	switch req.EndpointType {
	case 1:
	case 2:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		if req.Version == 0 {
			resp.ErrorCode = kerr.InvalidRequest.Code
		}
		msg := "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		resp.ErrorMessage = &msg
		return resp
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		if req.Version == 0 {
			resp.ErrorCode = kerr.InvalidRequest.Code
		}
		msg := "Unsupported endpoint type " + strconv.Itoa(int(req.EndpointType))
		resp.ErrorMessage = &msg
		return resp
	}
	resp.ClusterID = s.clusterID
	resp.ClusterAuthorizedOperations = clusterAuthorizedOperationsOmitted
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOperations
	}
	// getAliveBrokerNodes(request.context.listenerName): a broker without
	// the request's listener is left out.
	for _, b := range s.cache.aliveNodes(sessionFrom(ctx).listener) {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = b.ID, b.Host, b.Port, b.Rack
		resp.Brokers = append(resp.Brokers, rb)
	}
	// A controller that is not among the live brokers is answered -1, not
	// to confuse the client.
	resp.ControllerID = -1
	if _, live := s.cache.broker(s.cache.controller()); live {
		resp.ControllerID = s.cache.controller()
	}
	return resp
}

// allClusterOperations is the bit set of every CLUSTER operation
// (AclEntry.supportedOperations; without an authorizer all are allowed):
// CREATE(5), ALTER(7), DESCRIBE(8), CLUSTER_ACTION(9), DESCRIBE_CONFIGS(10),
// ALTER_CONFIGS(11), IDEMPOTENT_WRITE(12).
const allClusterOperations = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
