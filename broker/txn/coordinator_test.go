package txn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var bg = context.Background()

// mk builds a transactional id's metadata as the coordinator holds it.
func mk(id string, pid int64, epoch int16, state State, parts ...TopicPartition) *txnMetadata {
	m := newMetadata(id, pid, 60000, 1_700_000_000_000)
	m.producerEpoch = epoch
	m.state = state
	for _, tp := range parts {
		m.partitions[tp] = struct{}{}
	}
	if state != Empty {
		m.startTimestamp = 1_699_999_999_000
	}
	return m
}

func TestInitProducerIDValidation(t *testing.T) {
	e := newEnv(t, false)
	cases := []struct {
		name      string
		id        string
		timeout   int32
		pid       int64
		epoch     int16
		wantError *kerr.Error
	}{
		{"empty transactional id", "", 60000, -1, -1, kerr.InvalidRequest},
		{"timeout 0", "a", 0, -1, -1, kerr.InvalidTransactionTimeout},
		{"negative timeout", "a", -5, -1, -1, kerr.InvalidTransactionTimeout},
		{"timeout above transaction.max.timeout.ms", "a", 900001, -1, -1, kerr.InvalidTransactionTimeout},
		{"producer id without epoch", "a", 60000, 5, -1, kerr.InvalidRequest},
		{"epoch without producer id", "a", 60000, -1, 3, kerr.InvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, epoch, err := e.c.InitProducerID(bg, tc.id, tc.timeout, tc.pid, tc.epoch)
			if err != tc.wantError || pid != -1 || epoch != -1 {
				t.Fatalf("got %d/%d %v, want -1/-1 %v", pid, epoch, err, tc.wantError)
			}
		})
	}
	if n := e.store.count(0); n != 0 {
		t.Fatalf("%d records written", n)
	}
}

func TestInitProducerIDNewID(t *testing.T) {
	cases := []struct {
		name       string
		pid        int64
		epoch      int16
		wantPID    int64
		wantEpoch  int16
		partitions int32
	}{
		{"no expected producer", -1, -1, 1000, 0, 1},
		{"KIP-360 recovery with no state: fresh metadata is valid", 5, 3, 1000, 0, 1},
		{"partition of my-txn in 50", -1, -1, 1000, 0, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.NumPartitions = tc.partitions
			store := newMemStore()
			e := newEnvWith(t, cfg, store, false)
			p := PartitionFor("my-txn", tc.partitions)
			if p != 0 {
				e.c.Elected(p, 1)
				waitLoaded(t, e.c, p)
			}
			pid, epoch, err := e.c.InitProducerID(bg, "my-txn", 60000, tc.pid, tc.epoch)
			if err != nil || pid != tc.wantPID || epoch != tc.wantEpoch {
				t.Fatalf("got %d/%d %v", pid, epoch, err)
			}
			vals := store.values(t, p, "my-txn")
			want := &TxnLogValue{ProducerID: 1000, ProducerEpoch: 0, TimeoutMs: 60000, State: Empty,
				LastUpdateTimestamp: e.clock.Now().UnixMilli(), StartTimestamp: -1}
			if len(vals) != 1 || !reflect.DeepEqual(vals[0], want) {
				t.Fatalf("records in partition %d: %+v, want one %+v", p, vals, want)
			}
			// TxnTransitMetadata.lastProducerId is always the current producer id.
			m, _ := e.meta(t, "my-txn")
			if m.lastProducerEpoch != -1 || m.lastProducerID != 1000 {
				t.Fatalf("last producer %d/%d", m.lastProducerID, m.lastProducerEpoch)
			}
		})
	}
}

func TestInitProducerIDByState(t *testing.T) {
	type seed struct {
		pid, lastPID      int64
		epoch, lastEpoch  int16
		state             State
		pending           bool
		expPID            int64
		expEpoch          int16
		wantPID           int64
		wantEpoch         int16
		wantLastEpoch     int16
		wantLastPID       int64
		wantErr           *kerr.Error
		wantRecordWritten bool
	}
	cases := map[string]seed{
		"Empty bumps":                    {pid: 1, lastPID: -1, epoch: 5, lastEpoch: -1, state: Empty, expPID: -1, expEpoch: -1, wantPID: 1, wantEpoch: 6, wantLastEpoch: -1, wantLastPID: 1, wantRecordWritten: true},
		"CompleteCommit bumps":           {pid: 1, lastPID: -1, epoch: 5, lastEpoch: -1, state: CompleteCommit, expPID: -1, expEpoch: -1, wantPID: 1, wantEpoch: 6, wantLastEpoch: -1, wantLastPID: 1, wantRecordWritten: true},
		"CompleteAbort bumps":            {pid: 1, lastPID: -1, epoch: 5, lastEpoch: -1, state: CompleteAbort, expPID: -1, expEpoch: -1, wantPID: 1, wantEpoch: 6, wantLastEpoch: -1, wantLastPID: 1, wantRecordWritten: true},
		"PrepareCommit":                  {pid: 1, epoch: 5, state: PrepareCommit, expPID: -1, expEpoch: -1, wantErr: kerr.ConcurrentTransactions},
		"PrepareAbort":                   {pid: 1, epoch: 5, state: PrepareAbort, expPID: -1, expEpoch: -1, wantErr: kerr.ConcurrentTransactions},
		"pending transition":             {pid: 1, epoch: 5, state: Empty, pending: true, expPID: -1, expEpoch: -1, wantErr: kerr.ConcurrentTransactions},
		"exhausted epoch rotates the id": {pid: 1, lastPID: -1, epoch: 32766, lastEpoch: -1, state: CompleteCommit, expPID: -1, expEpoch: -1, wantPID: 1000, wantEpoch: 0, wantLastEpoch: -1, wantLastPID: 1, wantRecordWritten: true},
		"exhausted with KIP-360 epoch":   {pid: 1, lastPID: -1, epoch: 32766, lastEpoch: -1, state: CompleteAbort, expPID: 1, expEpoch: 32766, wantPID: 1000, wantEpoch: 0, wantLastEpoch: 32766, wantLastPID: 1, wantRecordWritten: true},
		"retry after rotation":           {pid: 2000, lastPID: 1, epoch: 0, lastEpoch: 32766, state: Empty, expPID: 1, expEpoch: 32766, wantPID: 2000, wantEpoch: 0, wantLastEpoch: 32766, wantLastPID: 2000, wantRecordWritten: true},
		"old id with other epoch":        {pid: 2000, lastPID: 1, epoch: 0, lastEpoch: 32766, state: Empty, expPID: 1, expEpoch: 10, wantErr: kerr.ProducerFenced},
		"KIP-360 bump":                   {pid: 1, lastPID: -1, epoch: 2, lastEpoch: -1, state: CompleteAbort, expPID: 1, expEpoch: 2, wantPID: 1, wantEpoch: 3, wantLastEpoch: 2, wantLastPID: 1, wantRecordWritten: true},
		"KIP-360 retry of a success":     {pid: 1, lastPID: 1, epoch: 3, lastEpoch: 2, state: Empty, expPID: 1, expEpoch: 2, wantPID: 1, wantEpoch: 3, wantLastEpoch: 2, wantLastPID: 1, wantRecordWritten: true},
		"KIP-360 stale epoch":            {pid: 1, lastPID: 1, epoch: 3, lastEpoch: 2, state: Empty, expPID: 1, expEpoch: 1, wantErr: kerr.ProducerFenced},
		"other producer id":              {pid: 1, lastPID: -1, epoch: 0, lastEpoch: -1, state: Empty, expPID: 7, expEpoch: 0, wantErr: kerr.ProducerFenced},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			m := mk("t1", tc.pid, tc.epoch, tc.state)
			m.lastProducerID, m.lastProducerEpoch = tc.lastPID, tc.lastEpoch
			if tc.pending {
				m.pending, m.hasPending = Ongoing, true
			}
			e.seed(t, m)
			pid, epoch, err := e.c.InitProducerID(bg, "t1", 30000, tc.expPID, tc.expEpoch)
			if err != tc.wantErr {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			written := len(e.store.values(t, 0, "t1"))
			if (written == 1) != tc.wantRecordWritten || written > 1 {
				t.Fatalf("%d records written", written)
			}
			if err != nil {
				if pid != -1 || epoch != -1 {
					t.Fatalf("error with %d/%d", pid, epoch)
				}
				return
			}
			if pid != tc.wantPID || epoch != tc.wantEpoch {
				t.Fatalf("got %d/%d, want %d/%d", pid, epoch, tc.wantPID, tc.wantEpoch)
			}
			// completeTransitionTo(Empty) leaves the in-memory start time as it was.
			got, _ := e.meta(t, "t1")
			if got.state != Empty || got.producerID != tc.wantPID || got.producerEpoch != tc.wantEpoch ||
				got.lastProducerEpoch != tc.wantLastEpoch || got.lastProducerID != tc.wantLastPID || got.timeoutMs != 30000 ||
				got.startTimestamp != m.startTimestamp || got.hasPending {
				t.Fatalf("metadata %+v", got)
			}
			v := e.store.values(t, 0, "t1")[0]
			if v.State != Empty || v.ProducerID != tc.wantPID || v.ProducerEpoch != tc.wantEpoch || v.Partitions != nil {
				t.Fatalf("record %+v", v)
			}
		})
	}
}

// A second producer instance fences the first: the open transaction is
// aborted at epoch+1 and the caller retries until it completes, ending at
// epoch+2 (TransactionCoordinator.handleInitProducerId with Ongoing).
func TestInitProducerIDFencesOngoing(t *testing.T) {
	e := newEnv(t, true)
	e.seed(t, mk("t1", 1, 4, Ongoing, tps("t", 0, "u", 1)...))
	_, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1)
	if err != kerr.ConcurrentTransactions {
		t.Fatalf("first call: %v", err)
	}
	vals := e.store.values(t, 0, "t1")
	if len(vals) != 1 || vals[0].State != PrepareAbort || vals[0].ProducerEpoch != 5 || !reflect.DeepEqual(vals[0].Partitions, tps("t", 0, "u", 1)) {
		t.Fatalf("records %+v", vals)
	}
	reqs := e.markers.requests()
	if len(reqs) != 1 || reqs[0].Commit || reqs[0].ProducerEpoch != 5 || reqs[0].CoordinatorEpoch != 1 || reqs[0].TxnPartition != 0 ||
		!reflect.DeepEqual(reqs[0].Partitions, tps("t", 0, "u", 1)) {
		t.Fatalf("markers %+v", reqs)
	}
	// The fenced producer is rejected meanwhile.
	if err := e.c.EndTxn(bg, "t1", 1, 4, true); err != kerr.ProducerFenced {
		t.Fatalf("old producer EndTxn: %v", err)
	}
	if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != kerr.ConcurrentTransactions {
		t.Fatalf("retry during markers: %v", err)
	}
	e.markers.complete(t, "t1")
	e.waitState(t, "t1", CompleteAbort)
	pid, epoch, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1)
	if err != nil || pid != 1 || epoch != 6 {
		t.Fatalf("after the abort: %d/%d %v", pid, epoch, err)
	}
	if err := e.c.AddPartitions(bg, "t1", 1, 4, tps("t", 0)); err != kerr.ProducerFenced {
		t.Fatalf("old producer AddPartitions: %v", err)
	}
}

// A fence whose PrepareAbort cannot be written keeps the bumped epoch and
// does not bump again on the next attempt (hasFailedEpochFence).
func TestInitProducerIDFailedFence(t *testing.T) {
	e := newEnv(t, false)
	e.seed(t, mk("t1", 1, 4, Ongoing, tps("t", 0)...))
	e.store.setAppendErr(func(_, _ []byte) error { return kerr.NotEnoughReplicas })
	if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != kerr.CoordinatorNotAvailable {
		t.Fatalf("first: %v", err)
	}
	m, _ := e.meta(t, "t1")
	if !m.hasFailedEpochFence || m.producerEpoch != 5 || m.state != Ongoing || m.hasPending {
		t.Fatalf("after failed fence: %+v", m)
	}
	// The old producer is fenced already.
	if err := e.c.EndTxn(bg, "t1", 1, 4, true); err != kerr.ProducerFenced {
		t.Fatalf("old producer: %v", err)
	}
	e.store.setAppendErr(nil)
	if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != kerr.ConcurrentTransactions {
		t.Fatalf("second: %v", err)
	}
	vals := e.store.values(t, 0, "t1")
	if len(vals) < 1 || vals[0].State != PrepareAbort || vals[0].ProducerEpoch != 5 {
		t.Fatalf("records %+v", vals)
	}
	e.waitState(t, "t1", CompleteAbort)
	m, _ = e.meta(t, "t1")
	if m.hasFailedEpochFence || m.producerEpoch != 5 {
		t.Fatalf("after abort: %+v", m)
	}
}

func TestInitProducerIDCoordinatorErrors(t *testing.T) {
	e := newEnv(t, false)
	e.pids.err = kerr.CoordinatorLoadInProgress
	if _, _, err := e.c.InitProducerID(bg, "new", 60000, -1, -1); err != kerr.CoordinatorLoadInProgress {
		t.Fatalf("pid allocation failure: %v", err)
	}
	e.pids.err = errors.New("zk down")
	if _, _, err := e.c.InitProducerID(bg, "new", 60000, -1, -1); err != kerr.UnknownServerError {
		t.Fatalf("pid allocation failure: %v", err)
	}
	e.pids.err = nil
	e.c.Resigned(0, 1)
	if _, _, err := e.c.InitProducerID(bg, "new", 60000, -1, -1); err != kerr.NotCoordinator {
		t.Fatalf("not led: %v", err)
	}
}

// TransactionStateManager.appendTransactionToLog's error mapping; the
// pending transition is cleared, the state is unchanged.
func TestAppendErrorMapping(t *testing.T) {
	cases := []struct {
		appendErr error
		want      *kerr.Error
	}{
		{kerr.UnknownTopicOrPartition, kerr.CoordinatorNotAvailable},
		{kerr.NotEnoughReplicas, kerr.CoordinatorNotAvailable},
		{kerr.NotEnoughReplicasAfterAppend, kerr.CoordinatorNotAvailable},
		{kerr.RequestTimedOut, kerr.CoordinatorNotAvailable},
		{kerr.NotLeaderForPartition, kerr.NotCoordinator},
		{kerr.KafkaStorageError, kerr.NotCoordinator},
		{kerr.MessageTooLarge, kerr.UnknownServerError},
		{kerr.RecordListTooLarge, kerr.UnknownServerError},
		{kerr.InvalidRequiredAcks, kerr.InvalidRequiredAcks},
		{context.DeadlineExceeded, kerr.CoordinatorNotAvailable},
		{fmt.Errorf("wrapped: %w", kerr.NotEnoughReplicas), kerr.CoordinatorNotAvailable},
		{errors.New("boom"), kerr.UnknownServerError},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.appendErr), func(t *testing.T) {
			e := newEnv(t, false)
			e.seed(t, mk("t1", 1, 0, Empty))
			e.store.setAppendErr(func(_, _ []byte) error { return tc.appendErr })
			if err := e.c.AddPartitions(bg, "t1", 1, 0, tps("t", 0)); err != tc.want {
				t.Fatalf("AddPartitions: %v, want %v", err, tc.want)
			}
			m, _ := e.meta(t, "t1")
			if m.hasPending || m.state != Empty || len(m.partitions) != 0 {
				t.Fatalf("metadata after failure %+v", m)
			}
		})
	}
}

func TestAddPartitions(t *testing.T) {
	type tc struct {
		seed      *txnMetadata
		id        string
		pid       int64
		epoch     int16
		add       []TopicPartition
		want      *kerr.Error
		wantParts []TopicPartition // nil: nothing written
		newStart  bool
	}
	pending := mk("t1", 1, 0, Empty)
	pending.pending, pending.hasPending = Dead, true
	cases := map[string]tc{
		"unknown id":            {id: "t1", pid: 1, add: tps("t", 0), want: kerr.InvalidProducerIDMapping},
		"empty id":              {id: "", pid: 1, add: tps("t", 0), want: kerr.InvalidRequest},
		"other producer id":     {seed: mk("t1", 1, 0, Empty), id: "t1", pid: 2, add: tps("t", 0), want: kerr.InvalidProducerIDMapping},
		"stale epoch":           {seed: mk("t1", 1, 0, Empty), id: "t1", pid: 1, epoch: 1, add: tps("t", 0), want: kerr.ProducerFenced},
		"PrepareCommit":         {seed: mk("t1", 1, 0, PrepareCommit, tps("t", 0)...), id: "t1", pid: 1, add: tps("t", 0), want: kerr.ConcurrentTransactions},
		"PrepareAbort":          {seed: mk("t1", 1, 0, PrepareAbort, tps("t", 0)...), id: "t1", pid: 1, add: tps("t", 0), want: kerr.ConcurrentTransactions},
		"pending expiry":        {seed: pending, id: "t1", pid: 1, add: tps("t", 0), want: kerr.ConcurrentTransactions},
		"Empty starts":          {seed: mk("t1", 1, 0, Empty), id: "t1", pid: 1, add: tps("t", 0), wantParts: tps("t", 0), newStart: true},
		"CompleteCommit starts": {seed: mk("t1", 1, 0, CompleteCommit), id: "t1", pid: 1, add: tps("t", 0), wantParts: tps("t", 0), newStart: true},
		"CompleteAbort starts":  {seed: mk("t1", 1, 0, CompleteAbort), id: "t1", pid: 1, add: tps("t", 0, "t", 1), wantParts: tps("t", 0, "t", 1), newStart: true},
		"Ongoing already added": {seed: mk("t1", 1, 0, Ongoing, tps("t", 0)...), id: "t1", pid: 1, add: tps("t", 0)},
		"Ongoing adds":          {seed: mk("t1", 1, 0, Ongoing, tps("t", 0)...), id: "t1", pid: 1, add: tps("t", 1), wantParts: tps("t", 0, "t", 1)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			e.clock.Advance(time.Second)
			if c.seed != nil {
				e.seed(t, c.seed)
			}
			if err := e.c.AddPartitions(bg, c.id, c.pid, c.epoch, c.add); err != c.want {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			vals := e.store.values(t, 0, "t1")
			if c.wantParts == nil {
				if len(vals) != 0 {
					t.Fatalf("written %+v", vals)
				}
				return
			}
			if len(vals) != 1 || vals[0].State != Ongoing || !reflect.DeepEqual(vals[0].Partitions, c.wantParts) {
				t.Fatalf("records %+v", vals)
			}
			m, _ := e.meta(t, "t1")
			wantStart := c.seed.startTimestamp
			if c.newStart {
				wantStart = e.clock.Now().UnixMilli()
			}
			if m.state != Ongoing || m.startTimestamp != wantStart || !reflect.DeepEqual(m.partitionList(), c.wantParts) || m.hasPending {
				t.Fatalf("metadata %+v, want start %d", m, wantStart)
			}
		})
	}
}

func TestVerifyPartitions(t *testing.T) {
	all := func(e *kerr.Error, parts ...TopicPartition) map[TopicPartition]*kerr.Error {
		out := map[TopicPartition]*kerr.Error{}
		for _, tp := range parts {
			out[tp] = e
		}
		return out
	}
	both := tps("t", 0, "t", 1)
	pendingOngoing := mk("t1", 1, 0, Ongoing, tps("t", 0)...)
	pendingOngoing.pending, pendingOngoing.hasPending = PrepareCommit, true
	cases := map[string]struct {
		seed  *txnMetadata
		id    string
		pid   int64
		epoch int16
		want  map[TopicPartition]*kerr.Error
	}{
		"added and not added":    {mk("t1", 1, 0, Ongoing, tps("t", 0)...), "t1", 1, 0, map[TopicPartition]*kerr.Error{both[0]: nil, both[1]: kerr.TransactionAbortable}},
		"pending not checked":    {pendingOngoing, "t1", 1, 0, map[TopicPartition]*kerr.Error{both[0]: nil, both[1]: kerr.TransactionAbortable}},
		"wrong epoch":            {mk("t1", 1, 0, Ongoing, tps("t", 0)...), "t1", 1, 1, all(kerr.ProducerFenced, both...)},
		"wrong producer id":      {mk("t1", 1, 0, Ongoing, tps("t", 0)...), "t1", 2, 0, all(kerr.InvalidProducerIDMapping, both...)},
		"PrepareCommit":          {mk("t1", 1, 0, PrepareCommit, tps("t", 0)...), "t1", 1, 0, all(kerr.ConcurrentTransactions, both...)},
		"PrepareAbort":           {mk("t1", 1, 0, PrepareAbort, tps("t", 0)...), "t1", 1, 0, all(kerr.ConcurrentTransactions, both...)},
		"unknown id":             {nil, "t1", 1, 0, all(kerr.InvalidProducerIDMapping, both...)},
		"empty id":               {nil, "", 1, 0, all(kerr.InvalidRequest, both...)},
		"Empty: none were added": {mk("t1", 1, 0, Empty), "t1", 1, 0, all(kerr.TransactionAbortable, both...)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			if c.seed != nil {
				e.seed(t, c.seed)
			}
			got := e.c.VerifyPartitions(c.id, c.pid, c.epoch, both)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			if n := e.store.count(0); n != 0 {
				t.Fatalf("%d records written", n)
			}
		})
	}
}

func TestEndTxnDecisions(t *testing.T) {
	cases := []struct {
		state  State
		commit bool
		want   *kerr.Error
	}{
		{CompleteCommit, true, nil},
		{CompleteAbort, false, nil},
		{CompleteAbort, true, kerr.InvalidTxnState},
		{CompleteCommit, false, kerr.InvalidTxnState},
		{Empty, true, kerr.InvalidTxnState},
		{Empty, false, kerr.InvalidTxnState},
		{PrepareCommit, true, kerr.ConcurrentTransactions},
		{PrepareAbort, false, kerr.ConcurrentTransactions},
		{PrepareCommit, false, kerr.InvalidTxnState},
		{PrepareAbort, true, kerr.InvalidTxnState},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v commit=%v", c.state, c.commit), func(t *testing.T) {
			e := newEnv(t, false)
			e.seed(t, mk("t1", 1, 3, c.state))
			if err := e.c.EndTxn(bg, "t1", 1, 3, c.commit); err != c.want {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if n := e.store.count(0); n != 0 {
				t.Fatalf("%d records written", n)
			}
		})
	}
	t.Run("identity checks", func(t *testing.T) {
		e := newEnv(t, false)
		if err := e.c.EndTxn(bg, "t1", 1, 3, true); err != kerr.InvalidProducerIDMapping {
			t.Fatalf("unknown id: %v", err)
		}
		if err := e.c.EndTxn(bg, "", 1, 3, true); err != kerr.InvalidRequest {
			t.Fatalf("empty id: %v", err)
		}
		m := e.seed(t, mk("t1", 1, 3, Ongoing, tps("t", 0)...))
		for _, c := range []struct {
			pid   int64
			epoch int16
			want  *kerr.Error
		}{{2, 3, kerr.InvalidProducerIDMapping}, {1, 4, kerr.ProducerFenced}, {1, 2, kerr.ProducerFenced}} {
			if err := e.c.EndTxn(bg, "t1", c.pid, c.epoch, true); err != c.want {
				t.Fatalf("%d/%d: %v, want %v", c.pid, c.epoch, err, c.want)
			}
		}
		m.mu.Lock()
		m.pending, m.hasPending = Ongoing, true
		m.mu.Unlock()
		if err := e.c.EndTxn(bg, "t1", 1, 3, true); err != kerr.ConcurrentTransactions {
			t.Fatalf("pending: %v", err)
		}
		if n := e.store.count(0); n != 0 {
			t.Fatalf("%d records written", n)
		}
	})
}

// EndTxn answers once PrepareCommit is written; the markers follow, then
// CompleteCommit; requests meanwhile see CONCURRENT_TRANSACTIONS and a
// retried EndTxn afterwards NONE.
func TestEndTxnCommitFlow(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprint("commit=", commit), func(t *testing.T) {
			e := newEnv(t, true)
			if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != nil {
				t.Fatal(err)
			}
			if err := e.c.AddPartitions(bg, "t1", 1000, 0, tps("t", 0, "u", 2)); err != nil {
				t.Fatal(err)
			}
			start := e.clock.Now().UnixMilli()
			e.clock.Advance(time.Second)
			if err := e.c.EndTxn(bg, "t1", 1000, 0, commit); err != nil {
				t.Fatal(err)
			}
			prepare, complete := PrepareAbort, CompleteAbort
			if commit {
				prepare, complete = PrepareCommit, CompleteCommit
			}
			vals := e.store.values(t, 0, "t1")
			if len(vals) != 3 || vals[2].State != prepare || !reflect.DeepEqual(vals[2].Partitions, tps("t", 0, "u", 2)) || vals[2].StartTimestamp != start {
				t.Fatalf("records %+v", vals)
			}
			reqs := e.markers.requests()
			want := MarkerRequest{TransactionalID: "t1", ProducerID: 1000, ProducerEpoch: 0, CoordinatorEpoch: 1, Commit: commit, TxnPartition: 0, Partitions: tps("t", 0, "u", 2)}
			if len(reqs) != 1 || !reflect.DeepEqual(reqs[0], want) {
				t.Fatalf("markers %+v, want %+v", reqs, want)
			}
			if err := e.c.AddPartitions(bg, "t1", 1000, 0, tps("t", 0)); err != kerr.ConcurrentTransactions {
				t.Fatalf("AddPartitions during markers: %v", err)
			}
			if err := e.c.EndTxn(bg, "t1", 1000, 0, commit); err != kerr.ConcurrentTransactions {
				t.Fatalf("EndTxn retry during markers: %v", err)
			}
			d, err := e.c.DescribeTransaction("t1")
			if err != nil || d.State != prepare || len(d.Partitions) != 2 {
				t.Fatalf("describe during markers %+v %v", d, err)
			}
			e.markers.complete(t, "t1")
			e.waitState(t, "t1", complete)
			vals = e.store.values(t, 0, "t1")
			if len(vals) != 4 || vals[3].State != complete || len(vals[3].Partitions) != 0 || vals[3].Partitions == nil || vals[3].StartTimestamp != start {
				t.Fatalf("completion %+v", vals[len(vals)-1])
			}
			if err := e.c.EndTxn(bg, "t1", 1000, 0, commit); err != nil {
				t.Fatalf("retry after completion: %v", err)
			}
			if err := e.c.EndTxn(bg, "t1", 1000, 0, !commit); err != kerr.InvalidTxnState {
				t.Fatalf("opposite after completion: %v", err)
			}
			// The next transaction starts from the completed state.
			if err := e.c.AddPartitions(bg, "t1", 1000, 0, tps("v", 0)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEndTxnAppendFailures(t *testing.T) {
	t.Run("PrepareCommit times out", func(t *testing.T) {
		e := newEnv(t, false)
		e.seed(t, mk("t1", 1, 0, Ongoing, tps("t", 0)...))
		e.store.setAppendErr(func(_, _ []byte) error { return kerr.RequestTimedOut })
		if err := e.c.EndTxn(bg, "t1", 1, 0, true); err != kerr.CoordinatorNotAvailable {
			t.Fatalf("got %v", err)
		}
		m, _ := e.meta(t, "t1")
		if m.state != Ongoing || m.hasPending || m.hasFailedEpochFence {
			t.Fatalf("metadata %+v", m)
		}
		if len(e.markers.requests()) != 0 {
			t.Fatal("markers sent")
		}
	})
	t.Run("coordinator epoch changes during the append", func(t *testing.T) {
		store := newMemStore()
		e := newEnvWith(t, testConfig(), store, false)
		e.seed(t, mk("t1", 1, 0, Ongoing, tps("t", 0)...))
		gate := make(chan struct{})
		store.mu.Lock()
		store.appendGate = gate
		store.mu.Unlock()
		res := make(chan *kerr.Error, 1)
		go func() { res <- e.c.EndTxn(bg, "t1", 1, 0, true) }()
		waitFor(t, "append started", func() bool { m, _ := e.c.lookupRaw("t1"); return m != nil && m.isPending() })
		// Re-election at a newer epoch while the append waits.
		e.c.Resigned(0, 1)
		store.mu.Lock()
		store.appendGate = nil
		store.mu.Unlock()
		e.c.Elected(0, 2)
		close(gate)
		if err := <-res; err != kerr.NotCoordinator && err != kerr.CoordinatorLoadInProgress {
			t.Fatalf("got %v", err)
		}
		waitLoaded(t, e.c, 0)
		if len(e.markers.requests()) > 1 {
			t.Fatalf("markers %+v", e.markers.requests())
		}
	})
}

// lookupRaw returns the cached metadata without the partition checks.
func (c *Coordinator) lookupRaw(id string) (*txnMetadata, bool) {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	pc := c.caches[c.PartitionFor(id)]
	if pc == nil {
		return nil, false
	}
	m := pc.get(id)
	return m, m != nil
}

func (m *txnMetadata) isPending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hasPending
}

// The completion write is retried on COORDINATOR_NOT_AVAILABLE with the
// pending state kept; requests meanwhile get CONCURRENT_TRANSACTIONS.
func TestCompletionRetry(t *testing.T) {
	e := newEnv(t, true)
	e.seed(t, mk("t1", 1, 0, Ongoing, tps("t", 0)...))
	if err := e.c.EndTxn(bg, "t1", 1, 0, true); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failures := 0
	e.store.setAppendErr(func(_, v []byte) error {
		mu.Lock()
		defer mu.Unlock()
		failures++
		return kerr.NotEnoughReplicas
	})
	e.markers.complete(t, "t1")
	waitFor(t, "failed completion", func() bool { mu.Lock(); defer mu.Unlock(); return failures == 1 })
	waitFor(t, "retry scheduled", func() bool { return e.clock.pendingTimers() == 1 })
	m, _ := e.meta(t, "t1")
	if m.state != PrepareCommit || !m.hasPending || m.pending != CompleteCommit {
		t.Fatalf("metadata after failed completion %+v", m)
	}
	if err := e.c.EndTxn(bg, "t1", 1, 0, true); err != kerr.ConcurrentTransactions {
		t.Fatalf("EndTxn retry: %v", err)
	}
	e.store.setAppendErr(nil)
	e.clock.Advance(completionRetryBackoff)
	e.waitState(t, "t1", CompleteCommit)
}

// Other completion errors give up: the new coordinator redoes the markers.
func TestCompletionGivesUpWhenNotCoordinator(t *testing.T) {
	e := newEnv(t, true)
	e.seed(t, mk("t1", 1, 0, Ongoing, tps("t", 0)...))
	if err := e.c.EndTxn(bg, "t1", 1, 0, true); err != nil {
		t.Fatal(err)
	}
	e.store.setAppendErr(func(_, _ []byte) error { return kerr.NotLeaderForPartition })
	before := e.store.count(0)
	e.markers.complete(t, "t1")
	waitFor(t, "completion attempted", func() bool { e.store.mu.Lock(); defer e.store.mu.Unlock(); return e.store.appends == before+1 })
	waitFor(t, "pending cleared", func() bool { m, _ := e.meta(t, "t1"); return !m.hasPending })
	if n := e.clock.pendingTimers(); n != 0 {
		t.Fatalf("%d retries scheduled", n)
	}
}

func TestAbortTimedOutTransactions(t *testing.T) {
	e := newEnv(t, true)
	now := e.clock.Now().UnixMilli()
	timedOut := mk("old", 1, 7, Ongoing, tps("t", 0)...)
	timedOut.startTimestamp, timedOut.timeoutMs = now, 1000
	fresh := mk("fresh", 2, 0, Ongoing, tps("t", 0)...)
	fresh.startTimestamp, fresh.timeoutMs = now+500, 1000
	pending := mk("pending", 3, 0, Ongoing, tps("t", 0)...)
	pending.startTimestamp, pending.timeoutMs = now, 1000
	pending.pending, pending.hasPending = PrepareCommit, true
	done := mk("done", 4, 0, CompleteCommit)
	done.startTimestamp, done.timeoutMs = now, 1000
	for _, m := range []*txnMetadata{timedOut, fresh, pending, done} {
		e.seed(t, m)
	}
	e.clock.Advance(1000 * time.Millisecond)
	e.c.abortTimedOutTransactions()
	if n := e.store.count(0); n != 0 { // start+timeout < now is strict
		t.Fatalf("%d records at the deadline", n)
	}
	e.clock.Advance(time.Millisecond)
	e.c.abortTimedOutTransactions()
	vals := e.store.values(t, 0, "old")
	if len(vals) != 1 || vals[0].State != PrepareAbort || vals[0].ProducerEpoch != 8 {
		t.Fatalf("records %+v", vals)
	}
	for _, id := range []string{"fresh", "pending", "done"} {
		if len(e.store.values(t, 0, id)) != 0 {
			t.Fatalf("%s aborted", id)
		}
	}
	if err := e.c.EndTxn(bg, "old", 1, 7, true); err != kerr.ProducerFenced {
		t.Fatalf("timed-out producer's EndTxn: %v", err)
	}
	e.markers.complete(t, "old")
	e.waitState(t, "old", CompleteAbort)
	if err := e.c.AddPartitions(bg, "old", 1, 7, tps("t", 0)); err != kerr.ProducerFenced {
		t.Fatalf("timed-out producer's AddPartitions: %v", err)
	}
}

func TestAbortTimedOutFailedFence(t *testing.T) {
	e := newEnv(t, false)
	now := e.clock.Now().UnixMilli()
	m := mk("old", 1, 7, Ongoing, tps("t", 0)...)
	m.startTimestamp, m.timeoutMs = now, 10
	e.seed(t, m)
	e.clock.Advance(time.Second)
	e.store.setAppendErr(func(_, _ []byte) error { return kerr.NotEnoughReplicas })
	e.c.abortTimedOutTransactions()
	got, _ := e.meta(t, "old")
	if got.producerEpoch != 8 || !got.hasFailedEpochFence || got.state != Ongoing {
		t.Fatalf("after failed abort %+v", got)
	}
	e.store.setAppendErr(nil)
	e.c.abortTimedOutTransactions()
	e.waitState(t, "old", CompleteAbort)
	got, _ = e.meta(t, "old")
	if got.producerEpoch != 8 {
		t.Fatalf("epoch bumped twice: %d", got.producerEpoch)
	}
}

// The periodic tasks run from Start on the configured intervals.
func TestPeriodicTasks(t *testing.T) {
	cfg := testConfig()
	cfg.AbortTimedOutInterval = 10 * time.Second
	cfg.RemoveExpiredInterval = time.Hour
	cfg.IDExpiration = 2 * time.Hour
	e := newEnvWith(t, cfg, newMemStore(), false)
	m := mk("old", 1, 7, Ongoing, tps("t", 0)...)
	m.startTimestamp, m.timeoutMs = e.clock.Now().UnixMilli(), 15000
	e.seed(t, m)
	e.clock.Advance(10 * time.Second)
	if n := e.store.count(0); n != 0 {
		t.Fatal("aborted before its timeout")
	}
	e.clock.Advance(10 * time.Second)
	e.waitState(t, "old", CompleteAbort)
	e.clock.Advance(3 * time.Hour)
	waitFor(t, "expired", func() bool { _, ok := e.meta(t, "old"); return !ok })
}

func TestTransactionalIDExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.IDExpiration = time.Hour
	e := newEnvWith(t, cfg, newMemStore(), false)
	base := e.clock.Now().UnixMilli()
	old := mk("old", 1, 3, CompleteCommit)
	old.lastUpdateTimestamp = base
	ongoing := mk("ongoing", 2, 0, Ongoing, tps("t", 0)...)
	ongoing.lastUpdateTimestamp = base
	recent := mk("recent", 3, 0, Empty)
	recent.lastUpdateTimestamp = base + 1
	for _, m := range []*txnMetadata{old, ongoing, recent} {
		e.seed(t, m)
	}
	e.clock.Advance(time.Hour)
	e.store.setAppendErr(func(_, _ []byte) error { return kerr.NotEnoughReplicas })
	e.c.removeExpiredTransactionalIDs()
	if m, ok := e.meta(t, "old"); !ok || m.hasPending {
		t.Fatalf("after failed tombstone: %+v %v", m, ok)
	}
	e.store.setAppendErr(nil)
	e.c.removeExpiredTransactionalIDs()
	if vals := e.store.values(t, 0, "old"); len(vals) != 1 || vals[0] != nil {
		t.Fatalf("records %+v", vals)
	}
	if _, ok := e.meta(t, "old"); ok {
		t.Fatal("old still cached")
	}
	for _, id := range []string{"ongoing", "recent"} {
		if _, ok := e.meta(t, id); !ok || len(e.store.values(t, 0, id)) != 0 {
			t.Fatalf("%s expired", id)
		}
	}
	if _, err := e.c.DescribeTransaction("old"); err != kerr.TransactionalIDNotFound {
		t.Fatalf("describe: %v", err)
	}
	if err := e.c.EndTxn(bg, "old", 1, 3, true); err != kerr.InvalidProducerIDMapping {
		t.Fatalf("EndTxn: %v", err)
	}
	pid, epoch, err := e.c.InitProducerID(bg, "old", 60000, -1, -1)
	if err != nil || pid != 1000 || epoch != 0 {
		t.Fatalf("InitProducerId after expiry: %d/%d %v", pid, epoch, err)
	}
}

// Loading: later records override, tombstones delete, unknown key
// versions are skipped, transactions in Prepare* get their markers
// resent and are completed; Ongoing ones are left alone.
func TestLoad(t *testing.T) {
	store := newMemStore()
	put := func(id string, v *TxnLogValue) {
		if v == nil {
			store.put(0, EncodeKey(id), nil)
			return
		}
		b, err := EncodeValue(*v)
		if err != nil {
			t.Fatal(err)
		}
		store.put(0, EncodeKey(id), b)
	}
	put("a", &TxnLogValue{ProducerID: 1, ProducerEpoch: 0, TimeoutMs: 60000, State: Empty, StartTimestamp: -1})
	put("a", &TxnLogValue{ProducerID: 1, ProducerEpoch: 0, TimeoutMs: 60000, State: Ongoing, Partitions: tps("t", 0), StartTimestamp: 5})
	put("b", &TxnLogValue{ProducerID: 2, ProducerEpoch: 3, TimeoutMs: 60000, State: PrepareCommit, Partitions: tps("t", 1, "u", 0), StartTimestamp: 5})
	put("c", &TxnLogValue{ProducerID: 3, ProducerEpoch: 0, TimeoutMs: 60000, State: CompleteAbort, Partitions: []TopicPartition{}, StartTimestamp: 5})
	put("c", nil)
	put("d", &TxnLogValue{Version: 1, ProducerID: 4, ProducerEpoch: 1, TimeoutMs: 60000, State: PrepareAbort, Partitions: tps("t", 2), StartTimestamp: 5})
	store.put(0, []byte{0, 1, 0, 1, 'z'}, []byte{0, 9})
	cfg := testConfig()
	e := &env{store: store, markers: newFakeMarkers(true), clock: newFakeClock(), pids: &pidSource{}}
	e.c = NewCoordinator(cfg, store, e.markers, e.pids.source, e.clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.c.Start(1)
	t.Cleanup(e.c.Close)
	e.c.Elected(0, 4)
	waitLoaded(t, e.c, 0)
	a, _ := e.meta(t, "a")
	if a.state != Ongoing || !reflect.DeepEqual(a.partitionList(), tps("t", 0)) || a.lastProducerEpoch != -1 || a.lastProducerID != -1 {
		t.Fatalf("a: %+v", a)
	}
	if _, ok := e.meta(t, "c"); ok {
		t.Fatal("tombstoned c loaded")
	}
	e.waitState(t, "b", CompleteCommit)
	e.waitState(t, "d", CompleteAbort)
	reqs := e.markers.requests()
	byID := map[string]MarkerRequest{}
	for _, r := range reqs {
		byID[r.TransactionalID] = r
	}
	if r := byID["b"]; !r.Commit || r.CoordinatorEpoch != 4 || r.ProducerEpoch != 3 || !reflect.DeepEqual(r.Partitions, tps("t", 1, "u", 0)) {
		t.Fatalf("b's markers %+v", r)
	}
	if r := byID["d"]; r.Commit || r.CoordinatorEpoch != 4 || !reflect.DeepEqual(r.Partitions, tps("t", 2)) {
		t.Fatalf("d's markers %+v", r)
	}
	if len(reqs) != 2 {
		t.Fatalf("markers %+v", reqs)
	}
	if vals := store.values(t, 0, "b"); vals[len(vals)-1].State != CompleteCommit {
		t.Fatalf("b's records %+v", vals)
	}
	e.markers.mu.Lock()
	removed := append([]int32(nil), e.markers.removed...)
	e.markers.mu.Unlock()
	if len(removed) == 0 || removed[0] != 0 {
		t.Fatalf("queued markers not dropped on election: %v", removed)
	}
}

// While a partition loads every API answers COORDINATOR_LOAD_IN_PROGRESS;
// resigning during the load installs nothing; after a resignation
// requests get NOT_COORDINATOR and the partition's markers are dropped.
func TestLoadingAndResignation(t *testing.T) {
	store := newMemStore()
	e := newEnvWith(t, testConfig(), store, true)
	e.seed(t, mk("t1", 1, 0, Ongoing, tps("t", 0)...))
	gate := make(chan struct{})
	store.mu.Lock()
	store.loadGate = gate
	store.mu.Unlock()
	e.c.Resigned(0, 1)
	e.c.Elected(0, 2)
	check := func(want *kerr.Error) {
		t.Helper()
		if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != want {
			t.Errorf("InitProducerId: %v, want %v", err, want)
		}
		if err := e.c.AddPartitions(bg, "t1", 1, 0, tps("t", 0)); err != want {
			t.Errorf("AddPartitions: %v, want %v", err, want)
		}
		if err := e.c.EndTxn(bg, "t1", 1, 0, true); err != want {
			t.Errorf("EndTxn: %v, want %v", err, want)
		}
		if _, err := e.c.DescribeTransaction("t1"); err != want {
			t.Errorf("DescribeTransactions: %v, want %v", err, want)
		}
		if got := e.c.VerifyPartitions("t1", 1, 0, tps("t", 0)); got[tps("t", 0)[0]] != want {
			t.Errorf("verify: %v, want %v", got, want)
		}
	}
	check(kerr.CoordinatorLoadInProgress)
	if _, _, err := e.c.ListTransactions(nil, nil, -1); err != kerr.CoordinatorLoadInProgress {
		t.Errorf("ListTransactions: %v", err)
	}
	// Resign while loading: the load installs nothing.
	e.c.Resigned(0, 2)
	close(gate)
	check(kerr.NotCoordinator)
	e.c.wg.Wait() // the load goroutine ended
	check(kerr.NotCoordinator)

	// A stale resignation (older epoch) does not unload a newer election.
	store.mu.Lock()
	store.loadGate = nil
	store.mu.Unlock()
	e.c.Elected(0, 3)
	waitLoaded(t, e.c, 0)
	e.c.Resigned(0, 2)
	if _, err := e.c.DescribeTransaction("t1"); err != kerr.TransactionalIDNotFound {
		t.Fatalf("after stale resignation: %v", err)
	}
	// Markers queued before a resignation are dropped with it.
	if _, _, err := e.c.InitProducerID(bg, "t1", 60000, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := e.c.AddPartitions(bg, "t1", 1000, 0, tps("t", 0)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.EndTxn(bg, "t1", 1000, 0, true); err != nil {
		t.Fatal(err)
	}
	if !e.markers.queued("t1") {
		t.Fatal("markers not queued")
	}
	e.c.Resigned(0, -1)
	if e.markers.queued("t1") {
		t.Fatal("markers kept after resignation")
	}
	check(kerr.NotCoordinator)
}

func TestDescribeAndList(t *testing.T) {
	e := newEnv(t, false)
	now := e.clock.Now().UnixMilli()
	a := mk("a", 1, 2, Ongoing, tps("u", 3, "t", 1, "t", 0)...)
	a.startTimestamp, a.timeoutMs = now-70000, 90000
	b := mk("b", 2, 0, Empty)
	c := mk("c", 3, 0, CompleteCommit)
	c.startTimestamp = now - 1000
	for _, m := range []*txnMetadata{a, b, c} {
		e.seed(t, m)
	}
	d, err := e.c.DescribeTransaction("a")
	want := TransactionDescription{TransactionalID: "a", State: Ongoing, TimeoutMs: 90000, StartTimestamp: now - 70000,
		ProducerID: 1, ProducerEpoch: 2, Partitions: tps("t", 0, "t", 1, "u", 3)}
	if err != nil || !reflect.DeepEqual(d, want) {
		t.Fatalf("describe %+v %v", d, err)
	}
	if _, err := e.c.DescribeTransaction(""); err != kerr.InvalidRequest {
		t.Fatalf("describe empty id: %v", err)
	}
	if _, err := e.c.DescribeTransaction("zz"); err != kerr.TransactionalIDNotFound {
		t.Fatalf("describe unknown: %v", err)
	}
	ids := func(l []TransactionListing) []string {
		var out []string
		for _, x := range l {
			out = append(out, x.TransactionalID)
		}
		return out
	}
	cases := []struct {
		name        string
		states      []string
		pids        []int64
		duration    int64
		want        []string
		wantUnknown []string
	}{
		{"all", nil, nil, -1, []string{"a", "b", "c"}, nil},
		{"Ongoing and Bogus", []string{"Ongoing", "Bogus"}, nil, -1, []string{"a"}, []string{"Bogus"}},
		{"only unknown states match nothing", []string{"Bogus"}, nil, -1, nil, []string{"Bogus"}},
		{"producer ids", nil, []int64{2, 3, 99}, -1, []string{"b", "c"}, nil},
		{"duration 60 s (start -1 always passes, as in Kafka)", nil, nil, 60000, []string{"a", "b"}, nil},
		{"duration and state", []string{"Empty", "CompleteCommit"}, nil, 500, []string{"b", "c"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, unknown, err := e.c.ListTransactions(tc.states, tc.pids, tc.duration)
			if err != nil || !reflect.DeepEqual(ids(l), tc.want) || !reflect.DeepEqual(unknown, tc.wantUnknown) {
				t.Fatalf("got %v %v %v", ids(l), unknown, err)
			}
		})
	}
	l, _, _ := e.c.ListTransactions([]string{"Ongoing"}, nil, -1)
	if len(l) != 1 || l[0] != (TransactionListing{TransactionalID: "a", ProducerID: 1, State: Ongoing}) {
		t.Fatalf("listing %+v", l)
	}
	e.c.Close()
	if _, err := e.c.DescribeTransaction("a"); err != kerr.CoordinatorNotAvailable {
		t.Fatalf("describe after close: %v", err)
	}
	if _, _, err := e.c.ListTransactions(nil, nil, -1); err != kerr.CoordinatorNotAvailable {
		t.Fatalf("list after close: %v", err)
	}
}

// Many producers drive transactions concurrently (run with -race): every
// transaction ends committed or aborted, no transition is left pending.
func TestConcurrentTransactions(t *testing.T) {
	cfg := testConfig()
	cfg.NumPartitions = 3
	e := newEnvWith(t, cfg, newMemStore(), false)
	for p := int32(1); p < 3; p++ {
		e.c.Elected(p, 1)
		waitLoaded(t, e.c, p)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("txn-%d", i%4) // two producers per id fence each other
			for round := 0; round < 20; round++ {
				pid, epoch, err := e.c.InitProducerID(bg, id, 60000, -1, -1)
				if err != nil {
					continue
				}
				if e.c.AddPartitions(bg, id, pid, epoch, tps("t", i, "u", round%3)) != nil {
					continue
				}
				_ = e.c.VerifyPartitions(id, pid, epoch, tps("t", i))
				_ = e.c.EndTxn(bg, id, pid, epoch, round%2 == 0)
				_, _ = e.c.DescribeTransaction(id)
				_, _, _ = e.c.ListTransactions(nil, nil, -1)
			}
		}(i)
	}
	wg.Wait()
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("txn-%d", i)
		waitFor(t, id+" settled", func() bool {
			m, ok := e.meta(t, id)
			return ok && !m.hasPending && m.state != PrepareCommit && m.state != PrepareAbort
		})
	}
}
