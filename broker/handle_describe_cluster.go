package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterAuthorizedOperationsOmitted is Kafka's Int.MinValue sentinel for
// "authorized operations not requested".
const clusterAuthorizedOperationsOmitted = -2147483648

// handleDescribeCluster answers from the metadata cache: the cluster id,
// the controller and the live brokers (Kafka's KafkaApis.handleDescribeCluster).
func (s *Server) handleDescribeCluster(req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.Version = req.Version
	resp.EndpointType = req.EndpointType
	if req.Version >= 1 && req.EndpointType != 1 { // brokers (1) are described; controllers (2) are KRaft's
		msg := "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		if req.EndpointType != 2 {
			msg = "Unsupported endpoint type"
		}
		resp.ErrorCode = unsupportedEndpointType
		resp.ErrorMessage = &msg
		return resp
	}
	resp.ClusterID = s.clusterID
	resp.ControllerID = s.cache.controller()
	resp.ClusterAuthorizedOperations = clusterAuthorizedOperationsOmitted
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOperations
	}
	for _, b := range s.cache.liveBrokers() {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = b.ID, b.Host, b.Port, b.Rack
		resp.Brokers = append(resp.Brokers, rb)
	}
	return resp
}

// unsupportedEndpointType is Kafka's UNSUPPORTED_ENDPOINT_TYPE (error 119).
const unsupportedEndpointType = 119

// allClusterOperations is the bit set of every cluster operation (no
// authorizer: everything is allowed): ALTER(4), CLUSTER_ACTION(7),
// DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11), IDEMPOTENT_WRITE(12), CREATE(5),
// DESCRIBE(8).
const allClusterOperations = 1<<4 | 1<<5 | 1<<7 | 1<<8 | 1<<10 | 1<<11 | 1<<12
