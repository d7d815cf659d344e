package transactions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The Admin calls the tool makes, each with the error rules of the Java
// admin client's handler for it (clients/admin/internals/*Handler.java and
// the lookup strategies): what is retried until default.api.timeout.ms and
// what fails the call, with the exception message the tool then prints.

// topicPartition is org.apache.kafka.common.TopicPartition.
type topicPartition struct {
	topic     string
	partition int32
}

// String is TopicPartition.toString: "topic-partition".
func (tp topicPartition) String() string { return fmt.Sprintf("%s-%d", tp.topic, tp.partition) }

// javaError is a Java exception: its message is what the tool prints.
type javaError struct {
	class string // simple class name, e.g. TimeoutException
	msg   string
}

func (e *javaError) Error() string { return e.msg }

// errorFor is Errors.exception(message): the exception of a Kafka error
// code with the handler's message, or the error's default message.
func errorFor(code int16, msg string) *javaError {
	class := "UnknownServerException"
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		class = camel(ke.Message) + "Exception"
		if msg == "" {
			msg = ke.Description
		}
	}
	if c, ok := exceptionClasses[code]; ok {
		class = c
	} else if c, ok := cli.ErrorClasses[code]; ok {
		class = strings.TrimPrefix(c, "org.apache.kafka.common.errors.")
	}
	return &javaError{class: class, msg: msg}
}

// exceptionClasses are the exceptions whose names are not the error's
// name in camel case.
var exceptionClasses = map[int16]string{
	6:  "NotLeaderOrFollowerException",
	47: "InvalidProducerEpochException",
	51: "ConcurrentTransactionsException",
	52: "TransactionCoordinatorFencedException",
	53: "TransactionalIdAuthorizationException",
}

func camel(s string) string {
	out := make([]byte, 0, len(s))
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
		case up:
			out = append(out, upper(c))
			up = false
		default:
			out = append(out, lower(c))
		}
	}
	return string(out)
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// admin issues the calls through one franz-go client; every call retries
// its retriable errors until the deadline of default.api.timeout.ms.
type admin struct {
	cl         *kgo.Client
	log        io.Writer // stderr: the admin client's ERROR lines (tools-log4j: WARN and above)
	apiTimeout time.Duration
	backoff    time.Duration
	now        func() time.Time
}

// logError writes an ERROR line of one of the admin client's handlers as
// Kafka's tools-log4j.properties lays it out; throwable is the exception
// logged with it ("class: message"; an ApiException has no stack trace).
func (a *admin) logError(handler, msg string, throwable *javaError) {
	if a.log == nil {
		return
	}
	t := ""
	if throwable != nil {
		t = "org.apache.kafka.common.errors." + throwable.class + ": " + throwable.msg
	}
	io.WriteString(a.log, cli.Log4jLine(a.now(), "ERROR", "[AdminClient clientId=adminclient-1] "+msg,
		"org.apache.kafka.clients.admin.internals."+handler, t))
}

// callTimeout is the TimeoutException of a call that ran out of time
// (KafkaAdminClient's Call.fail once its deadline passed): the call's
// name with the API of its last attempt, its deadline and tries.
func callTimeout(call, api string, deadline, now time.Time, tries int) *javaError {
	return &javaError{class: "TimeoutException", msg: fmt.Sprintf(
		"Call(callName=%s, deadlineMs=%d, tries=%d, nextAllowedTryMs=%d) timed out at %d after %d attempt(s)",
		callName(call, api), deadline.UnixMilli(), tries, now.UnixMilli()+100, now.UnixMilli(), tries)}
}

// callName is how KafkaAdminClient names a call: an AdminApiDriver call
// with the API of its stage ("describeProducers(api=METADATA)"), a plain
// call (api "") by its name.
func callName(call, api string) string {
	if api == "" {
		return call
	}
	return call + "(api=" + api + ")"
}

// errNoNode is an attempt that found no broker to send its request to: a
// broker id the cluster does not have, or none reachable.
var errNoNode = errors.New("no node")

// noNode turns franz-go's error for a request to a broker it does not
// know into errNoNode.
func noNode(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if strings.Contains(err.Error(), "unknown broker") || strings.Contains(err.Error(), "unable to dial") || errors.As(err, &ne) {
		return errNoNode
	}
	return err
}

// attemptFunc is one attempt of a call: done ends the call with err; api
// names the request it last sent (METADATA while looking up leaders or
// coordinators).
type attemptFunc func(ctx context.Context) (done bool, api string, err error)

// retry runs attempt until it reports done or the call's deadline
// (default.api.timeout.ms) passes.
func (a *admin) retry(ctx context.Context, call string, attempt attemptFunc) error {
	deadline := a.now().Add(a.apiTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for tries := 1; ; tries++ {
		done, api, err := attempt(ctx)
		if done {
			return err
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.Canceled {
				return ctx.Err()
			}
			if errors.Is(err, errNoNode) {
				// The call never had a broker to go to.
				return &javaError{class: "TimeoutException", msg: "Timed out waiting for a node assignment. Call: " + callName(call, api)}
			}
			return callTimeout(call, api, deadline, a.now(), tries)
		case <-time.After(a.backoff):
		}
	}
}

// metadata is a Metadata request for topics (nil: all topics).
func (a *admin) metadata(ctx context.Context, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	return req.RequestWith(ctx, a.cl)
}

// brokerIDs are the live brokers, as AllBrokersStrategy finds them: a
// Metadata request for no topic.
func (a *admin) brokerIDs(ctx context.Context) ([]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	ids := make([]int32, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	return ids, nil
}

// listing is a TransactionListing.
type listing struct {
	transactionalID string
	producerID      int64
	state           string
}

// listTransactions is Admin.listTransactions: ListTransactions to every
// broker (ListTransactionsHandler), by broker id. A producer-id filter and
// a duration filter (< 0: none) narrow it.
func (a *admin) listTransactions(ctx context.Context, producerIDs []int64, durationMs int64) (map[int32][]listing, error) {
	out := map[int32][]listing{}
	err := a.retry(ctx, "listTransactions", func(ctx context.Context) (bool, string, error) {
		api := "METADATA"
		ids, err := a.brokerIDs(ctx)
		if err != nil {
			return false, api, noNode(err)
		}
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			req := kmsg.NewPtrListTransactionsRequest()
			req.ProducerIDFilters = append([]int64{}, producerIDs...)
			req.StateFilters = []string{}
			req.DurationFilterMillis = durationMs
			api = "LIST_TRANSACTIONS"
			resp, err := req.RequestWith(ctx, a.cl.Broker(int(id)))
			if err != nil {
				return false, api, err
			}
			switch resp.ErrorCode {
			case 0:
			case kerr.CoordinatorLoadInProgress.Code:
				return false, api, nil // retried after backing off
			case kerr.CoordinatorNotAvailable.Code:
				return true, api, &javaError{class: "CoordinatorNotAvailableException", msg: fmt.Sprintf(
					"ListTransactions request sent to broker %d failed because the coordinator is shutting down", id)}
			default:
				a.logError("ListTransactionsHandler", fmt.Sprintf("The `ListTransactions` request sent to broker %d failed because of an unexpected error %s",
					id, errorName(resp.ErrorCode)), nil)
				return true, api, errorFor(resp.ErrorCode, fmt.Sprintf(
					"ListTransactions request sent to broker %d failed with an unexpected exception", id))
			}
			ls := []listing{}
			for _, s := range resp.TransactionStates {
				ls = append(ls, listing{transactionalID: s.TransactionalID, producerID: s.ProducerID, state: stateName(s.TransactionState)})
			}
			out[id] = ls
		}
		return true, api, nil
	})
	return out, err
}

// stateName is TransactionState.parse(...).toString(): Kafka's names, and
// "Unknown" for any other.
func stateName(s string) string {
	switch s {
	case "Ongoing", "PrepareAbort", "PrepareCommit", "CompleteAbort", "CompleteCommit", "Empty", "PrepareEpochFence":
		return s
	}
	return "Unknown"
}

// description is a TransactionDescription.
type description struct {
	coordinatorID  int32
	state          string
	producerID     int64
	producerEpoch  int16
	timeoutMs      int32
	startTimeMs    int64 // -1: none
	topicPartition []topicPartition
}

// findCoordinator is CoordinatorStrategy for a transactional id:
// FindCoordinator with key type 1.
func (a *admin) findCoordinator(ctx context.Context, txnID string) (int32, bool, error) {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType = 1
	req.CoordinatorKey = txnID
	req.CoordinatorKeys = []string{txnID}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return 0, false, err
	}
	code, node := resp.ErrorCode, resp.NodeID
	if len(resp.Coordinators) > 0 {
		code, node = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].NodeID
	}
	switch code {
	case 0:
		return node, true, nil
	case kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code:
		return 0, false, nil
	case kerr.TransactionalIDAuthorizationFailed.Code:
		return 0, true, &javaError{class: "TransactionalIdAuthorizationException", msg: fmt.Sprintf(
			"FindCoordinator request for transactionalId `%s` failed due to authorization failure", txnID)}
	}
	return 0, true, errorFor(code, fmt.Sprintf("FindCoordinator request for key CoordinatorKey(idValue='%s', type=TRANSACTION) failed due to unexpected error", txnID))
}

// describeTransactions is Admin.describeTransactions for the ids
// (DescribeTransactionsHandler): per id its description or its error.
func (a *admin) describeTransactions(ctx context.Context, txnIDs []string) (map[string]description, map[string]error, error) {
	descs := map[string]description{}
	failed := map[string]error{}
	err := a.retry(ctx, "describeTransactions", func(ctx context.Context) (bool, string, error) {
		api := "METADATA"
		pending := false
		var lastErr error
		for _, id := range txnIDs {
			if _, ok := descs[id]; ok {
				continue
			}
			if _, ok := failed[id]; ok {
				continue
			}
			api = "FIND_COORDINATOR"
			node, ok, err := a.findCoordinator(ctx, id)
			if err != nil && ok {
				failed[id] = err
				continue
			}
			if err != nil || !ok {
				pending, lastErr = true, noNode(err)
				continue
			}
			req := kmsg.NewPtrDescribeTransactionsRequest()
			req.TransactionalIDs = []string{id}
			api = "DESCRIBE_TRANSACTIONS"
			resp, err := req.RequestWith(ctx, a.cl.Broker(int(node)))
			if err != nil {
				pending, lastErr = true, noNode(err)
				continue
			}
			for _, s := range resp.TransactionStates {
				if s.TransactionalID != id {
					continue
				}
				switch s.ErrorCode {
				case 0:
					d := description{coordinatorID: node, state: stateName(s.State), producerID: s.ProducerID,
						producerEpoch: s.ProducerEpoch, timeoutMs: s.TimeoutMillis, startTimeMs: s.StartTimestamp}
					if d.startTimeMs < 0 {
						d.startTimeMs = -1
					}
					for _, t := range s.Topics {
						for _, p := range t.Partitions {
							d.topicPartition = append(d.topicPartition, topicPartition{t.Topic, p})
						}
					}
					descs[id] = d
				case kerr.TransactionalIDAuthorizationFailed.Code:
					failed[id] = &javaError{class: "TransactionalIdAuthorizationException", msg: fmt.Sprintf(
						"DescribeTransactions request for transactionalId `%s` failed due to authorization failure", id)}
				case kerr.TransactionalIDNotFound.Code:
					failed[id] = &javaError{class: "TransactionalIdNotFoundException", msg: fmt.Sprintf(
						"DescribeTransactions request for transactionalId `%s` failed because the ID could not be found", id)}
				case kerr.CoordinatorLoadInProgress.Code, kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code:
					pending = true
				default:
					failed[id] = errorFor(s.ErrorCode, fmt.Sprintf(
						"DescribeTransactions request for transactionalId `%s` failed due to unexpected error", id))
				}
			}
		}
		return !pending, api, lastErr
	})
	return descs, failed, err
}

// producerState is a ProducerState of DescribeProducers.
type producerState struct {
	producerID       int64
	producerEpoch    int32
	lastSequence     int32
	lastTimestamp    int64
	coordinatorEpoch int32 // -1: none
	txnStartOffset   int64 // -1: none
}

// describeProducers is Admin.describeProducers (DescribeProducersHandler):
// each partition asked of its leader (PartitionLeaderStrategy, retrying
// while the topic or leader is unknown), or of brokerID when given.
// Returns the producers of each partition or the first partition error.
func (a *admin) describeProducers(ctx context.Context, brokerID *int32, tps []topicPartition) (map[topicPartition][]producerState, error) {
	out := map[topicPartition][]producerState{}
	var failure error
	err := a.retry(ctx, "describeProducers", func(ctx context.Context) (bool, string, error) {
		api := "METADATA"
		var lastErr error
		todo := map[int32][]topicPartition{}
		var missing []topicPartition
		for _, tp := range tps {
			if _, ok := out[tp]; !ok {
				missing = append(missing, tp)
			}
		}
		if brokerID != nil {
			todo[*brokerID] = missing
		} else {
			leaders, err := a.leaders(ctx, missing)
			if err != nil {
				var je *javaError
				if errors.As(err, &je) {
					return true, api, err
				}
				return false, api, noNode(err)
			}
			for tp, l := range leaders {
				todo[l] = append(todo[l], tp)
			}
		}
		for _, b := range sortedKeys(todo) {
			req := kmsg.NewPtrDescribeProducersRequest()
			byTopic := map[string]int{}
			for _, tp := range todo[b] {
				i, ok := byTopic[tp.topic]
				if !ok {
					rt := kmsg.NewDescribeProducersRequestTopic()
					rt.Topic = tp.topic
					req.Topics = append(req.Topics, rt)
					i = len(req.Topics) - 1
					byTopic[tp.topic] = i
				}
				req.Topics[i].Partitions = append(req.Topics[i].Partitions, tp.partition)
			}
			api = "DESCRIBE_PRODUCERS"
			resp, err := req.RequestWith(ctx, a.cl.Broker(int(b)))
			if err != nil {
				lastErr = noNode(err)
				continue
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					tp := topicPartition{t.Topic, p.Partition}
					if p.ErrorCode != 0 {
						if err := a.producersError(tp, p.ErrorCode, p.ErrorMessage, brokerID); err != nil {
							failure = err
							return true, api, nil
						}
						continue
					}
					ps := []producerState{}
					for _, ap := range p.ActiveProducers {
						ps = append(ps, producerState{producerID: ap.ProducerID, producerEpoch: ap.ProducerEpoch,
							lastSequence: ap.LastSequence, lastTimestamp: ap.LastTimestamp,
							coordinatorEpoch: max(ap.CoordinatorEpoch, -1), txnStartOffset: max(ap.CurrentTxnStartOffset, -1)})
					}
					out[tp] = ps
				}
			}
		}
		return len(out) == len(tps), api, lastErr
	})
	if failure != nil {
		return nil, failure
	}
	return out, err
}

// producersError is DescribeProducersHandler.handlePartitionError: nil
// for the errors it retries; it logs the others as Kafka's handler does.
func (a *admin) producersError(tp topicPartition, code int16, msg *string, brokerID *int32) error {
	const handler = "DescribeProducersHandler"
	text := ""
	if msg != nil {
		text = *msg
	}
	apiErr := errorFor(code, text) // ApiError.exception()
	switch code {
	case kerr.NotLeaderForPartition.Code:
		if brokerID == nil {
			return nil
		}
		a.logError(handler, fmt.Sprintf("Not leader error in `DescribeProducers` response for partition %s for brokerId %d set in options",
			tp, *brokerID), apiErr)
		return errorFor(code, fmt.Sprintf("Failed to describe active producers for partition %s on brokerId %d", tp, *brokerID))
	case kerr.UnknownTopicOrPartition.Code:
		return nil
	case kerr.InvalidTopicException.Code:
		a.logError(handler, fmt.Sprintf("Invalid topic in `DescribeProducers` response for partition %s", tp), apiErr)
		return &javaError{class: "InvalidTopicException", msg: fmt.Sprintf(
			"Failed to fetch metadata for partition %s due to invalid topic error: %s", tp, apiErr.msg)}
	case kerr.TopicAuthorizationFailed.Code:
		a.logError(handler, fmt.Sprintf("Authorization failed in `DescribeProducers` response for partition %s", tp), apiErr)
		return &javaError{class: "TopicAuthorizationException", msg: fmt.Sprintf(
			"Failed to describe active producers for partition %s due to authorization failure on topic `%s`", tp, tp.topic)}
	}
	a.logError(handler, fmt.Sprintf("Unexpected error in `DescribeProducers` response for partition %s", tp), apiErr)
	return errorFor(code, fmt.Sprintf("Failed to describe active producers for partition %s due to unexpected error", tp))
}

// leaders is PartitionLeaderStrategy: the leader of each partition with
// one; a *javaError for what fails the call, any other error to retry.
func (a *admin) leaders(ctx context.Context, tps []topicPartition) (map[topicPartition]int32, error) {
	var topics []string
	seen := map[string]bool{}
	for _, tp := range tps {
		if !seen[tp.topic] {
			seen[tp.topic] = true
			topics = append(topics, tp.topic)
		}
	}
	resp, err := a.metadata(ctx, topics)
	if err != nil {
		return nil, err
	}
	want := map[topicPartition]bool{}
	for _, tp := range tps {
		want[tp] = true
	}
	out := map[topicPartition]int32{}
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		switch t.ErrorCode {
		case 0:
		case kerr.UnknownTopicOrPartition.Code, kerr.LeaderNotAvailable.Code, kerr.BrokerNotAvailable.Code:
			continue
		case kerr.TopicAuthorizationFailed.Code:
			for _, tp := range tps {
				if tp.topic == name {
					return nil, &javaError{class: "TopicAuthorizationException", msg: fmt.Sprintf(
						"Failed to fetch metadata for partition %s due to topic authorization failure", tp)}
				}
			}
			continue
		case kerr.InvalidTopicException.Code:
			for _, tp := range tps {
				if tp.topic == name {
					return nil, &javaError{class: "InvalidTopicException", msg: fmt.Sprintf(
						"Failed to fetch metadata for partition %s due to invalid topic `%s`", tp, name)}
				}
			}
			continue
		default:
			for _, tp := range tps {
				if tp.topic == name {
					return nil, errorFor(t.ErrorCode, fmt.Sprintf(
						"Failed to fetch metadata for partition %s due to unexpected error for topic `%s`", tp, name))
				}
			}
			continue
		}
		for _, p := range t.Partitions {
			tp := topicPartition{name, p.Partition}
			if !want[tp] {
				continue
			}
			switch p.ErrorCode {
			case 0:
			case kerr.NotLeaderForPartition.Code, kerr.ReplicaNotAvailable.Code, kerr.LeaderNotAvailable.Code,
				kerr.BrokerNotAvailable.Code, kerr.KafkaStorageError.Code, kerr.UnknownTopicOrPartition.Code:
				continue
			default:
				return nil, errorFor(p.ErrorCode, "Unexpected error during metadata lookup for "+tp.String())
			}
			if p.Leader >= 0 {
				out[tp] = p.Leader
			}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[int32]V) []int32 {
	ks := make([]int32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

const abortHandler = "AbortTransactionHandler"

// errorName is Errors.name(): the error code's constant name.
func errorName(code int16) string {
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return "UNKNOWN_SERVER_ERROR"
}

// abortSpec is an AbortTransactionSpec.
type abortSpec struct {
	tp               topicPartition
	producerID       int64
	producerEpoch    int16
	coordinatorEpoch int32
}

// String is AbortTransactionSpec.toString.
func (s abortSpec) String() string {
	return fmt.Sprintf("AbortTransactionSpec(topicPartition=%s, producerId=%d, producerEpoch=%d, coordinatorEpoch=%d)",
		s.tp, s.producerID, s.producerEpoch, s.coordinatorEpoch)
}

// abortTransaction is Admin.abortTransaction (AbortTransactionHandler): a
// WriteTxnMarkers request with one ABORT marker to the partition's leader.
func (a *admin) abortTransaction(ctx context.Context, spec abortSpec) error {
	var failure error
	err := a.retry(ctx, "abortTransaction", func(ctx context.Context) (bool, string, error) {
		api := "METADATA"
		leaders, err := a.leaders(ctx, []topicPartition{spec.tp})
		if err != nil {
			var je *javaError
			if errors.As(err, &je) {
				failure = err
				return true, api, nil
			}
			return false, api, noNode(err)
		}
		leader, ok := leaders[spec.tp]
		if !ok {
			return false, api, nil
		}
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID = spec.producerID
		m.ProducerEpoch = spec.producerEpoch
		m.CoordinatorEpoch = spec.coordinatorEpoch
		m.Committed = false
		mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		mt.Topic = spec.tp.topic
		mt.Partitions = []int32{spec.tp.partition}
		m.Topics = append(m.Topics, mt)
		req.Markers = append(req.Markers, m)
		api = "WRITE_TXN_MARKERS"
		resp, err := req.RequestWith(ctx, a.cl.Broker(int(leader)))
		if err != nil {
			return false, api, nil
		}
		if len(resp.Markers) != 1 || resp.Markers[0].ProducerID != spec.producerID ||
			len(resp.Markers[0].Topics) != 1 || resp.Markers[0].Topics[0].Topic != spec.tp.topic ||
			len(resp.Markers[0].Topics[0].Partitions) != 1 || resp.Markers[0].Topics[0].Partitions[0].Partition != spec.tp.partition {
			failure = &javaError{class: "KafkaException", msg: "WriteTxnMarkers response included unexpected entries"}
			return true, api, nil
		}
		code := resp.Markers[0].Topics[0].Partitions[0].ErrorCode
		switch code {
		case 0:
			return true, api, nil
		case kerr.ClusterAuthorizationFailed.Code:
			a.logError(abortHandler, fmt.Sprintf("WriteTxnMarkers request for abort spec %s failed cluster authorization", spec), nil)
			failure = &javaError{class: "ClusterAuthorizationException", msg: fmt.Sprintf(
				"WriteTxnMarkers request with %s failed due to cluster authorization error", spec)}
		case kerr.InvalidProducerEpoch.Code:
			a.logError(abortHandler, fmt.Sprintf("WriteTxnMarkers request for abort spec %s failed due to an invalid producer epoch", spec), nil)
			failure = &javaError{class: "InvalidProducerEpochException", msg: fmt.Sprintf(
				"WriteTxnMarkers request with %s failed due an invalid producer epoch", spec)}
		case kerr.TransactionCoordinatorFenced.Code:
			a.logError(abortHandler, fmt.Sprintf("WriteTxnMarkers request for abort spec %s failed because the coordinator epoch is fenced", spec), nil)
			failure = &javaError{class: "TransactionCoordinatorFencedException", msg: fmt.Sprintf(
				"WriteTxnMarkers request with %s failed since the provided coordinator epoch %d has been fenced by the active coordinator",
				spec, spec.coordinatorEpoch)}
		case kerr.NotLeaderForPartition.Code, kerr.ReplicaNotAvailable.Code, kerr.BrokerNotAvailable.Code,
			kerr.UnknownTopicOrPartition.Code:
			return false, api, nil
		default:
			a.logError(abortHandler, fmt.Sprintf("WriteTxnMarkers request for abort spec %s failed due to an unexpected error %s",
				spec, errorName(code)), nil)
			failure = errorFor(code, fmt.Sprintf("WriteTxnMarkers request with %s failed due to unexpected error: %s",
				spec, errorFor(code, "").msg))
		}
		return true, api, nil
	})
	if failure != nil {
		return failure
	}
	return err
}

// topicsInfo is what find-hanging needs of Metadata: every topic's name
// (internal ones included) and each partition's replicas.
type topicInfo struct {
	name       string
	partitions []partitionInfo
}

type partitionInfo struct {
	partition int32
	replicas  []int32
}

// describeTopics is Admin.listTopics(listInternal) (names nil) or
// Admin.describeTopics(names): plain KafkaAdminClient calls, retried until
// the deadline while no broker answers; an unknown topic fails at once.
func (a *admin) describeTopics(ctx context.Context, names []string) ([]topicInfo, error) {
	// describeTopics first lists the nodes (to pick DescribeTopicPartitions
	// or Metadata): an unreachable cluster times out in that call.
	call := "listNodes"
	if names == nil {
		call = "listTopics"
	}
	var out []topicInfo
	var failure error
	err := a.retry(ctx, call, func(ctx context.Context) (bool, string, error) {
		resp, err := a.metadata(ctx, names)
		if err != nil {
			return false, "", noNode(err)
		}
		out = out[:0]
		for _, t := range resp.Topics {
			name := ""
			if t.Topic != nil {
				name = *t.Topic
			}
			if t.ErrorCode != 0 {
				if t.ErrorCode == kerr.UnknownTopicOrPartition.Code {
					failure = &javaError{class: "UnknownTopicOrPartitionException", msg: "This server does not host this topic-partition."}
				} else {
					failure = errorFor(t.ErrorCode, "")
				}
				return true, "", nil
			}
			ti := topicInfo{name: name}
			for _, p := range t.Partitions {
				ti.partitions = append(ti.partitions, partitionInfo{partition: p.Partition, replicas: p.Replicas})
			}
			sort.Slice(ti.partitions, func(i, j int) bool { return ti.partitions[i].partition < ti.partitions[j].partition })
			out = append(out, ti)
		}
		return true, "", nil
	})
	if failure != nil {
		return nil, failure
	}
	return out, err
}
