package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// versionRange is the span of versions the broker serves for one API.
type versionRange struct{ min, max int16 }

// supportedAPIs is what ApiVersions advertises, the one table of the API
// keys and versions this broker serves: only versions whose handler really
// serves them, and never one an Apache Kafka 3.9 ZooKeeper-mode broker does
// not advertise (TestApiVersionsMatchKafka39 compares it with Kafka's table
// key by key and documents every difference). A request outside it closes
// the connection, as Kafka does for a version it does not enable
// (SocketServer.parseRequestHeader).
// Produce v0-v2 message sets (magic 0/1) are up-converted to v2 batches, as
// Kafka 3.9 does; Fetch v0-v3 get them down-converted to magic 0/1.
var supportedAPIs = map[kmsg.Key]versionRange{
	kmsg.Produce:          {0, 11},
	kmsg.Fetch:            {0, 17},
	kmsg.ListOffsets:      {0, 9},
	kmsg.Metadata:         {0, 12},
	kmsg.LeaderAndISR:     {0, 7},
	kmsg.StopReplica:      {0, 4},
	kmsg.UpdateMetadata:   {0, 8},
	kmsg.ApiVersions:      {0, 4},
	kmsg.CreateTopics:     {0, 7},
	kmsg.DeleteTopics:     {0, 6},
	kmsg.InitProducerID:   {0, 5},
	kmsg.DescribeConfigs:  {0, 4},
	kmsg.CreatePartitions: {0, 3},

	kmsg.AlterConfigs:            {0, 2},
	kmsg.DeleteRecords:           {0, 2},
	kmsg.IncrementalAlterConfigs: {0, 1},

	kmsg.AlterPartition:             {0, 3},
	kmsg.ControlledShutdown:         {0, 3},
	kmsg.ElectLeaders:               {0, 2},
	kmsg.AlterPartitionAssignments:  {0, 0},
	kmsg.ListPartitionReassignments: {0, 0},
	kmsg.DescribeCluster:            {0, 1},
	kmsg.OffsetForLeaderEpoch:       {0, 4},

	// The classic group protocol (KIP-848's versions are left out).
	kmsg.FindCoordinator: {0, 6},
	kmsg.JoinGroup:       {0, 9},
	kmsg.SyncGroup:       {0, 5},
	kmsg.Heartbeat:       {0, 4},
	kmsg.LeaveGroup:      {0, 5},
	kmsg.OffsetCommit:    {0, 8},
	kmsg.OffsetFetch:     {0, 8},
	kmsg.TxnOffsetCommit: {0, 4},
	kmsg.OffsetDelete:    {0, 0},
	kmsg.ListGroups:      {0, 4},
	kmsg.DescribeGroups:  {0, 5},
	kmsg.DeleteGroups:    {0, 2},

	// ACLs (AclApis; SECURITY_DISABLED without an authorizer).
	kmsg.DescribeACLs: {0, 3},
	kmsg.CreateACLs:   {0, 3},
	kmsg.DeleteACLs:   {0, 3},
	// SASL (sasl_conn.go; on an authenticated or PLAINTEXT connection they
	// get ILLEGAL_SASL_STATE) and SCRAM credentials.
	kmsg.SASLHandshake:    {0, 1},
	kmsg.SASLAuthenticate: {0, 2},

	kmsg.DescribeUserSCRAMCredentials: {0, 0},
	kmsg.AlterUserSCRAMCredentials:    {0, 0},

	// Transactions (handle_txn.go; KIP-98, KIP-664).
	kmsg.AddPartitionsToTxn:   {0, 5},
	kmsg.AddOffsetsToTxn:      {0, 4},
	kmsg.EndTxn:               {0, 4},
	kmsg.DescribeTransactions: {0, 0},
	kmsg.ListTransactions:     {0, 1},
	// The partition leader's side (handle_write_txn_markers.go, handle_describe_producers.go).
	kmsg.WriteTxnMarkers:   {0, 1},
	kmsg.DescribeProducers: {0, 0},
}

// dispatch runs the handler of one request. A nil response means none is
// sent (acks=0). An error closes the connection.
func (s *Server) dispatch(ctx context.Context, r request) (*protocol.Response, error) {
	if r.req == nil {
		return s.respondUnsupportedVersion(r.hdr), nil
	}
	key := kmsg.Key(r.hdr.APIKey)
	vr, ok := supportedAPIs[key]
	if !ok || r.hdr.APIVersion < vr.min || r.hdr.APIVersion > vr.max {
		if key == kmsg.ApiVersions {
			return s.respondUnsupportedVersion(r.hdr), nil
		}
		return nil, fmt.Errorf("unsupported api %s version %d", key.Name(), r.hdr.APIVersion)
	}
	ctx = withRequestSize(ctx, len(r.frame))                // for Kafka's refusal message (acl_checks.go)
	deny, patch := s.aclGateFor(ctx, r.hdr.ClientID, r.req) // the authorization checks of KafkaApis (acl_checks.go)
	if deny != nil {
		return s.respond(r.hdr, deny), nil
	}
	var resp kmsg.Response
	switch req := r.req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp = s.handleApiVersions(req)
	case *kmsg.MetadataRequest:
		resp = s.handleMetadata(ctx, req)
	case *kmsg.ProduceRequest:
		resp = s.handleProduce(ctx, req, deref(r.hdr.ClientID) == adminClientID)
		if req.Acks == 0 {
			return nil, s.acksZeroOutcome(resp.(*kmsg.ProduceResponse))
		}
	case *kmsg.FetchRequest:
		return s.handleFetch(ctx, r.hdr, req), nil
	case *kmsg.ListOffsetsRequest:
		resp = s.handleListOffsets(req)
	case *kmsg.CreateTopicsRequest:
		resp = s.handleCreateTopics(ctx, req)
	case *kmsg.DeleteTopicsRequest:
		resp = s.handleDeleteTopics(ctx, req)
	case *kmsg.CreatePartitionsRequest:
		resp = s.handleCreatePartitions(ctx, req)
	case *kmsg.InitProducerIDRequest:
		resp = s.handleInitProducerID(ctx, req)
	case *kmsg.DescribeConfigsRequest:
		resp = s.handleDescribeConfigs(req)
	case *kmsg.DeleteRecordsRequest:
		resp = s.handleDeleteRecords(ctx, req)
	case *kmsg.AlterConfigsRequest:
		resp = s.handleAlterConfigs(req)
	case *kmsg.IncrementalAlterConfigsRequest:
		resp = s.handleIncrementalAlterConfigs(req)
	case *kmsg.OffsetForLeaderEpochRequest:
		resp = s.handleOffsetForLeaderEpoch(req)
	case *kmsg.LeaderAndISRRequest:
		resp = s.handleLeaderAndIsr(req)
	case *kmsg.UpdateMetadataRequest:
		resp = s.handleUpdateMetadata(req)
	case *kmsg.StopReplicaRequest:
		resp = s.handleStopReplica(req)
	case *kmsg.AlterPartitionRequest:
		resp = s.handleAlterPartition(ctx, req)
	case *kmsg.ControlledShutdownRequest:
		resp = s.handleControlledShutdown(ctx, req)
	case *kmsg.ElectLeadersRequest:
		resp = s.handleElectLeaders(ctx, req)
	case *kmsg.AlterPartitionAssignmentsRequest:
		resp = s.handleAlterPartitionReassignments(ctx, req)
	case *kmsg.ListPartitionReassignmentsRequest:
		resp = s.handleListPartitionReassignments(ctx, req)
	case *kmsg.DescribeClusterRequest:
		resp = s.handleDescribeCluster(ctx, req)
	case *kmsg.FindCoordinatorRequest:
		resp = s.handleFindCoordinator(ctx, req)
	case *kmsg.AddPartitionsToTxnRequest:
		resp = s.handleAddPartitionsToTxn(ctx, req)
	case *kmsg.AddOffsetsToTxnRequest:
		resp = s.handleAddOffsetsToTxn(ctx, req)
	case *kmsg.EndTxnRequest:
		resp = s.handleEndTxn(ctx, req)
	case *kmsg.DescribeTransactionsRequest:
		resp = s.handleDescribeTransactions(req)
	case *kmsg.ListTransactionsRequest:
		resp = s.handleListTransactions(req)
	case *kmsg.JoinGroupRequest:
		resp = s.handleJoinGroup(ctx, r.hdr, req)
	case *kmsg.SyncGroupRequest:
		resp = s.handleSyncGroup(ctx, req)
	case *kmsg.HeartbeatRequest:
		resp = s.handleHeartbeat(req)
	case *kmsg.LeaveGroupRequest:
		resp = s.handleLeaveGroup(req)
	case *kmsg.OffsetCommitRequest:
		resp = s.handleOffsetCommit(ctx, req)
	case *kmsg.OffsetFetchRequest:
		resp = s.handleOffsetFetch(req)
	case *kmsg.TxnOffsetCommitRequest:
		resp = s.handleTxnOffsetCommit(ctx, req)
	case *kmsg.OffsetDeleteRequest:
		resp = s.handleOffsetDelete(req)
	case *kmsg.ListGroupsRequest:
		resp = s.handleListGroups(req)
	case *kmsg.DescribeGroupsRequest:
		resp = s.handleDescribeGroups(req)
	case *kmsg.DeleteGroupsRequest:
		resp = s.handleDeleteGroups(req)
	case *kmsg.DescribeACLsRequest, *kmsg.CreateACLsRequest, *kmsg.DeleteACLsRequest:
		var err error
		if resp, err = s.dispatchACLs(ctx, req); err != nil {
			return nil, err
		}
	case *kmsg.SASLHandshakeRequest:
		resp = handleSaslHandshake()
	case *kmsg.SASLAuthenticateRequest:
		resp = handleSaslAuthenticate()
	case *kmsg.DescribeUserSCRAMCredentialsRequest:
		resp = s.handleDescribeUserScramCredentials(req)
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		resp = s.handleAlterUserScramCredentials(req)
	case *kmsg.WriteTxnMarkersRequest:
		resp = s.handleWriteTxnMarkers(ctx, req)
	case *kmsg.DescribeProducersRequest:
		resp = s.handleDescribeProducers(req)
	default:
		return nil, fmt.Errorf("no handler for api %s", key.Name())
	}
	if patch != nil {
		patch(resp)
	}
	return s.respond(r.hdr, resp), nil
}

func (s *Server) respond(hdr protocol.RequestHeader, resp kmsg.Response) *protocol.Response {
	out := &protocol.Response{}
	out.AppendBytes(protocol.EncodeResponse(hdr, resp))
	return out
}

// respondUnsupportedVersion answers an ApiVersions request of a version we do
// not serve with a v0 body (KIP-511).
func (s *Server) respondUnsupportedVersion(hdr protocol.RequestHeader) *protocol.Response {
	hdr.APIVersion = 0
	return s.respond(hdr, s.apiVersionsUnsupported())
}
