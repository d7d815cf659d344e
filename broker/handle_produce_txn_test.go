package broker

import (
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producerBatch is n records from producer pid/epoch starting at sequence
// seq, transactional or only idempotent (attributes bit 4).
func producerBatch(pid int64, epoch int16, seq int32, n int, transactional bool) []byte {
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: now,
		MaxTimestamp: now, ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(n)}
	if transactional {
		b.Attributes = 0x10
	}
	for i := range n {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'x')
		body = binary.AppendVarint(body, 0)
		b.Records = append(binary.AppendVarint(b.Records, int64(len(body))), body...)
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// txnProduce is a Produce v9 (acks 1) of one batch per (topic, partition).
func txnProduce(txnID *string, parts ...struct {
	topic     string
	partition int32
	records   []byte
}) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis, req.TransactionID = 9, 1, 1000, txnID
	for _, p := range parts {
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = p.topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p.partition, p.records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

type txnPart = struct {
	topic     string
	partition int32
	records   []byte
}

// KafkaApis.handleProduceRequest / ReplicaManager.handleProduceAppend:
// the transactional id rules for the whole request (KafkaApisTest
// testTransactionalParametersSetCorrectly, ReplicaManagerTest
// testTransactionVerificationBlocksOutOfOrderSequence's setup,
// testInvalidPidMapping...).
func TestProduceTransactionalRules(t *testing.T) {
	id := "txn-1"
	txnA := producerBatch(1000, 0, 0, 2, true)
	txnB := producerBatch(2000, 0, 0, 1, true)
	txnAEpoch1 := producerBatch(1000, 1, 0, 1, true)
	idempotent := producerBatch(3000, 0, 0, 1, false)
	for _, tc := range []struct {
		name     string
		txnID    *string
		authz    bool
		parts    []txnPart
		wantCode []int16
		wantMsg  string
		appended bool
	}{
		{name: "transactional without an id", parts: []txnPart{{"t", 0, txnA}, {"nosuch", 0, idempotent}},
			wantCode: []int16{kerr.TransactionalIDAuthorizationFailed.Code, kerr.TransactionalIDAuthorizationFailed.Code}},
		{name: "transactional id not authorized", txnID: &id, authz: true, parts: []txnPart{{"t", 0, txnA}},
			wantCode: []int16{kerr.TransactionalIDAuthorizationFailed.Code}},
		{name: "two producer ids", txnID: &id, parts: []txnPart{{"t", 0, txnA}, {"acks", 0, txnB}, {"nosuch", 0, txnA}},
			wantCode: []int16{kerr.InvalidProducerIDMapping.Code, kerr.InvalidProducerIDMapping.Code, kerr.InvalidProducerIDMapping.Code},
			wantMsg:  "Transactional records contained more than one producer ID"},
		{name: "two epochs", txnID: &id, parts: []txnPart{{"t", 0, txnA}, {"acks", 0, txnAEpoch1}},
			wantCode: []int16{kerr.InvalidProducerIDMapping.Code, kerr.InvalidProducerIDMapping.Code},
			wantMsg:  "Transactional records contained more than one producer ID"},
		{name: "idempotent with a transactional id", txnID: &id, parts: []txnPart{{"t", 0, idempotent}},
			wantCode: []int16{0}, appended: true},
		{name: "transactional, verification off", txnID: &id, parts: []txnPart{{"t", 0, txnA}},
			wantCode: []int16{0}, appended: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newProduceTestServer(t)
			if tc.authz {
				s.authz = storeAuthorizer(t, newFakeACLStore())
			}
			resp := dispatchRequest(t, s, txnProduce(tc.txnID, tc.parts...)).(*kmsg.ProduceResponse)
			var got []kmsg.ProduceResponseTopicPartition
			for _, rt := range resp.Topics {
				got = append(got, rt.Partitions...)
			}
			if len(got) != len(tc.wantCode) {
				t.Fatalf("%d partitions answered, want %d: %+v", len(got), len(tc.wantCode), resp)
			}
			for i, p := range got {
				if p.ErrorCode != tc.wantCode[i] {
					t.Errorf("partition %d: error %d, want %d", i, p.ErrorCode, tc.wantCode[i])
				}
				if tc.wantCode[i] != 0 && (p.BaseOffset != -1 || p.LogStartOffset != -1 || p.LogAppendTime != -1) {
					t.Errorf("partition %d: offsets %d/%d/%d, want -1", i, p.BaseOffset, p.LogStartOffset, p.LogAppendTime)
				}
				msg := ""
				if p.ErrorMessage != nil {
					msg = *p.ErrorMessage
				}
				if tc.wantCode[i] != 0 && msg != tc.wantMsg {
					t.Errorf("partition %d: message %q, want %q", i, msg, tc.wantMsg)
				}
			}
			p, _ := s.replicas.get("t", 0)
			if leo := p.log.LogEndOffset(); (leo > 0) != tc.appended {
				t.Errorf("LEO %d, appended %v", leo, tc.appended)
			}
		})
	}
}

// KIP-890 part 1 on the produce path (ReplicaManager.handleProduceAppend,
// postVerificationCallback; ReplicaManagerTest testTransactionVerificationFlow,
// testTransactionVerificationErrors...): a batch that starts a transaction
// is appended only once the coordinator verified its partition, and the
// coordinator's errors are translated.
func TestProduceTransactionVerification(t *testing.T) {
	id := "txn-1"
	for _, tc := range []struct {
		name        string
		coordinator bool  // a coordinator node is known
		answer      int16 // the coordinator's per-partition answer
		version     int16
		wantCode    int16
		wantMsg     string
	}{
		{"no coordinator", false, 0, 9, kerr.NotEnoughReplicas.Code,
			"Unable to verify the partition has been added to the transaction. Underlying error: COORDINATOR_NOT_AVAILABLE"},
		{"verified", true, 0, 9, 0, ""},
		{"not in the transaction", true, kerr.InvalidTxnState.Code, 9, kerr.InvalidTxnState.Code, "Partition was not added to the transaction"},
		{"concurrent transactions", true, kerr.ConcurrentTransactions.Code, 9, kerr.NotEnoughReplicas.Code,
			"Unable to verify the partition has been added to the transaction. Underlying error: CONCURRENT_TRANSACTIONS"},
		{"producer fenced", true, kerr.ProducerFenced.Code, 9, kerr.InvalidProducerEpoch.Code, ""},
		{"abortable, v10", true, kerr.TransactionAbortable.Code, 10, kerr.InvalidTxnState.Code, "Partition was not added to the transaction"},
		{"abortable, v11", true, kerr.TransactionAbortable.Code, 11, kerr.TransactionAbortable.Code, ""},
		// The cluster default set dynamically turns it off (no coordinator asked).
		{"disabled dynamically", false, 0, 11, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newProduceTestServer(t)
			s.cfg.TransactionPartitionVerification = true
			if tc.name == "disabled dynamically" {
				s.dynamic.set(false, map[string]string{"transaction.partition.verification.enable": "false"})
			}
			f := newFakeTxnCoordinator()
			coordinator := func(string) (cachedNode, bool) { return cachedNode{ID: 2, Host: "127.0.0.1", Port: 2}, tc.coordinator }
			s.txnVerifier = newAddPartitionsToTxnManager(coordinator, f.request, time.Minute, slog.New(slog.DiscardHandler))
			t.Cleanup(s.txnVerifier.close)
			f.answers <- verified(tc.answer)
			req := txnProduce(&id, txnPart{"t", 0, producerBatch(1000, 0, 0, 2, true)})
			req.Version = tc.version
			_, p := produceVia(t, s, req)
			msg := ""
			if p.ErrorMessage != nil {
				msg = *p.ErrorMessage
			}
			if p.ErrorCode != tc.wantCode || msg != tc.wantMsg {
				t.Fatalf("answer %d %q, want %d %q", p.ErrorCode, msg, tc.wantCode, tc.wantMsg)
			}
			if tc.coordinator && tc.name != "disabled dynamically" {
				r := awaitRequest(t, f)
				txn := r.Transactions[0]
				if txn.TransactionalID != id || txn.ProducerID != 1000 || !txn.VerifyOnly || txn.Topics[0].Topic != "t" {
					t.Fatalf("verification request %+v", txn)
				}
			}
			pt, _ := s.replicas.get("t", 0)
			if leo := pt.log.LogEndOffset(); (leo == 2) != (tc.wantCode == 0) {
				t.Fatalf("LEO %d after answer %d", leo, tc.wantCode)
			}
		})
	}
}

// FuzzEachBatchInfo: the produce path reads batch headers of a request's
// records before any validation; no input may make it panic or loop.
func FuzzEachBatchInfo(f *testing.F) {
	f.Add(producerBatch(1000, 2, 7, 3, true))
	f.Add(append(producerBatch(1, 0, 0, 1, false), producerBatch(2, 0, 0, 1, true)...))
	f.Add(legacyMessageSet(1, 2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, records []byte) {
		n := 0
		eachBatchInfo(records, func(b batchInfo) { n++ })
		if n > len(records)/61 {
			t.Fatalf("%d batches in %d bytes", n, len(records))
		}
	})
}
