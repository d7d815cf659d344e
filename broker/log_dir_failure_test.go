package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// produceTo produces one record to t-partition with acks=1 and returns the
// partition's error code.
func produceTo(s *Server, partition int32) int16 {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, testBatch(1)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return s.handleProduce(context.Background(), req, false).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
}

// consumerFetchCode is one consumer fetch of t-partition at offset 0.
func consumerFetchCode(s *Server, version int16, partition int32) int16 {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = version, -1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = partition, -1, -1, -1, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, _, _, _, _ := s.readFetch(req, -1, true)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// listOffsetsOf is a consumer's ListOffsets (latest) of t-partition.
func listOffsetsOf(s *Server, partition int32) int16 {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = 4, -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, latestTimestamp, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return s.handleListOffsets(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode
}

// logDirTestServer is broker 1 with two log dirs, a ZooKeeper session (a
// fresh chroot of zs) and
// the log dir failure handler running, hosting t-0 (leader), t-1 (leader)
// and t-2 (follower of broker 2), each with two records, and the logs
// t-3 and t-4 on disk, not hosted.
func logDirTestServer(t *testing.T, zs *zktest.Server) (*Server, *zkmeta.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	zkc, err := zkmeta.Connect(ctx, zs.Chroot(t), 6*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zkc.Close)
	if err := zkc.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	s := newReplicaTestServerDirs(t, 1, []string{t.TempDir(), t.TempDir()})
	s.zk, s.fatal = zkc, make(chan error, 1)
	both := []int32{1, 2}
	for part, leader := range []int32{1, 1, 2} {
		if err := leaderAndIsr(t, s, int32(part), leader, 1, both, both); err != nil {
			t.Fatal(err)
		}
	}
	for part := range int32(2) {
		p, _ := s.replicas.get("t", part)
		if _, err := p.appendRecords(testBatch(2), 1); err != nil {
			t.Fatal(err)
		}
		if _, err := p.followerFetch(2, 2, 0, 2, time.Now().UnixMilli(), true); err != nil {
			t.Fatal(err)
		}
	}
	for _, part := range []int32{3, 4} {
		if _, err := s.logs.GetOrCreate("t", part, [16]byte{7}); err != nil {
			t.Fatal(err)
		}
	}
	s.replicas.startHighWatermarkCheckpoints()
	s.replicas.checkpointHighWatermarks()
	hctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runLogDirFailureHandler(hctx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return s, zkc
}

// A failed log dir takes exactly its partitions offline (Kafka's
// ReplicaManager.handleLogDirFailure), however the failure arrives: an
// I/O error reported under the dir (a checkpoint, an index, EIO on a
// sync), or an I/O error in a leader's append. The dir's partitions stop
// fetching and answer KAFKA_STORAGE_ERROR to Produce, Fetch, ListOffsets
// and LeaderAndIsr (HostedPartition.Offline; Fetch v5 and older
// NOT_LEADER_OR_FOLLOWER); a log of the dir not hosted is not recreated in
// the other dir; the other dir's partitions serve on; the dir's
// replication-offset-checkpoint is not written again; the controller is
// told by /log_dir_event_notification/log_dir_event_<seq>. The last dir's
// failure ends the broker (Fatal), with no notification (Kafka halts
// first).
func TestLogDirFailureTakesItsPartitionsOffline(t *testing.T) {
	eio := fmt.Errorf("%w: fsync: %w", storage.ErrStorage, syscall.EIO)
	zs := zktest.Start(t) // one ZooKeeper, a chroot per case
	for _, tc := range []struct {
		name string
		fail func(t *testing.T, s *Server, dir string)
	}{
		{"reported", func(t *testing.T, s *Server, dir string) { s.logs.ReportLogDirFailure(dir, syscall.EIO) }},
		{"leader append I/O error", func(t *testing.T, s *Server, dir string) {
			p, _ := s.replicas.get("t", 0)
			p.mu.Lock()
			p.appendToLog = func(*storage.Log, []byte, int32, bool) (storage.AppendInfo, error) { return storage.AppendInfo{}, eio }
			p.mu.Unlock()
			if code := produceTo(s, 0); code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce meeting EIO: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
			}
		}},
		{"follower append I/O error", func(t *testing.T, s *Server, dir string) {
			p, _ := s.replicas.get("t", 2)
			p.mu.Lock()
			p.appendFetched = func(*storage.Log, []byte) (storage.AppendInfo, error) { return storage.AppendInfo{}, eio }
			p.mu.Unlock()
			if err := p.appendAsFollower(testBatch(1), 1, 0, 0); !errors.Is(err, kerr.KafkaStorageError) {
				t.Fatalf("follower append meeting EIO: %v, want KAFKA_STORAGE_ERROR", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, zkc := logDirTestServer(t, zs)
			failed, _ := s.logs.LogDirOf("t", 0)
			healthy, _ := s.logs.LogDirOf("t", 1)
			if d, _ := s.logs.LogDirOf("t", 2); d != failed || healthy == failed {
				t.Fatalf("setup: t-0 in %s, t-1 in %s, t-2 in %s", failed, healthy, d)
			}
			var unhosted int32 = -1
			for _, part := range []int32{3, 4} {
				if d, _ := s.logs.LogDirOf("t", part); d == failed {
					unhosted = part
				}
			}
			if unhosted < 0 {
				t.Fatal("setup: no unhosted log in the dir to fail")
			}
			cpFailed := filepath.Join(failed, storage.ReplicationOffsetCheckpoint)
			before, err := os.ReadFile(cpFailed)
			if err != nil {
				t.Fatal(err)
			}

			tc.fail(t, s, failed)

			var names []string
			deadline := time.Now().Add(10 * time.Second)
			for len(names) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no log dir event notification")
				}
				if names, err = zkc.Children(zkmeta.LogDirEventPath); err != nil {
					t.Fatal(err)
				}
				if len(names) == 0 {
					time.Sleep(10 * time.Millisecond) // polling ZooKeeper
				}
			}
			data, _, err := zkc.Get(zkmeta.LogDirEventPath + "/" + names[0])
			if err != nil || !slices.Equal(names, []string{"log_dir_event_0000000000"}) || string(data) != `{"version":1,"broker":1,"event":1}` {
				t.Fatalf("notifications %v, first %s, %v", names, data, err)
			}
			if got := s.logs.OfflineLogDirs(); !slices.Equal(got, []string{failed}) {
				t.Fatalf("offline dirs %v, want %s", got, failed)
			}

			for _, part := range []int32{0, 2} {
				if code := produceTo(s, part); code != kerr.KafkaStorageError.Code {
					t.Errorf("produce t-%d: %v, want KAFKA_STORAGE_ERROR", part, kerr.ErrorForCode(code))
				}
				if code := consumerFetchCode(s, 12, part); code != kerr.KafkaStorageError.Code {
					t.Errorf("fetch v12 t-%d: %v, want KAFKA_STORAGE_ERROR", part, kerr.ErrorForCode(code))
				}
				if code := consumerFetchCode(s, 5, part); code != kerr.NotLeaderForPartition.Code {
					t.Errorf("fetch v5 t-%d: %v, want NOT_LEADER_OR_FOLLOWER", part, kerr.ErrorForCode(code))
				}
				if code := listOffsetsOf(s, part); code != kerr.KafkaStorageError.Code {
					t.Errorf("list offsets t-%d: %v, want KAFKA_STORAGE_ERROR", part, kerr.ErrorForCode(code))
				}
				if err := leaderAndIsr(t, s, part, 1, 2, []int32{1, 2}, []int32{1, 2}); !errors.Is(err, kerr.KafkaStorageError) {
					t.Errorf("LeaderAndIsr t-%d: %v, want KAFKA_STORAGE_ERROR", part, err)
				}
			}
			s.replicas.fetchers.mu.Lock()
			_, fetching := s.replicas.fetchers.byTP[topicPartition{"t", 2}]
			s.replicas.fetchers.mu.Unlock()
			if fetching {
				t.Error("t-2 (follower in the failed dir) still fetching")
			}
			if err := leaderAndIsr(t, s, unhosted, 1, 1, []int32{1, 2}, []int32{1, 2}); !errors.Is(err, kerr.KafkaStorageError) {
				t.Errorf("LeaderAndIsr t-%d (log in the failed dir, not hosted): %v, want KAFKA_STORAGE_ERROR", unhosted, err)
			}
			if d, ok := s.logs.LogDirOf("t", unhosted); ok {
				t.Errorf("t-%d recreated in %s", unhosted, d)
			}

			// A new replica (a partition never on this broker) is made in
			// the healthy dir (Kafka: the controller's LeaderAndIsr says
			// isNew, so getOrCreateLog does not refuse it).
			if err := leaderAndIsrIsNew(t, s, 9, 1, true); err != nil {
				t.Errorf("LeaderAndIsr for a new replica t-9: %v", err)
			}
			if d, ok := s.logs.LogDirOf("t", 9); !ok || d != healthy {
				t.Errorf("new replica t-9 in %q (%v), want %s", d, ok, healthy)
			}

			// The healthy dir serves on.
			if code := produceTo(s, 1); code != 0 {
				t.Errorf("produce t-1: %v", kerr.ErrorForCode(code))
			}
			if code := consumerFetchCode(s, 12, 1); code != 0 {
				t.Errorf("fetch t-1: %v", kerr.ErrorForCode(code))
			}
			if code := listOffsetsOf(s, 1); code != 0 {
				t.Errorf("list offsets t-1: %v", kerr.ErrorForCode(code))
			}
			if err := leaderAndIsr(t, s, 1, 1, 2, []int32{1, 2}, []int32{1, 2}); err != nil {
				t.Errorf("LeaderAndIsr t-1: %v", err)
			}
			p1, _ := s.replicas.get("t", 1)
			if _, err := p1.followerFetch(2, 3, 0, 3, time.Now().UnixMilli(), true); err != nil {
				t.Fatal(err)
			}

			s.replicas.checkpointHighWatermarks()
			if after, err := os.ReadFile(cpFailed); err != nil || string(after) != string(before) {
				t.Errorf("failed dir's replication-offset-checkpoint rewritten: %q -> %q (%v)", before, after, err)
			}
			hws, err := storage.ReadOffsetCheckpoint(filepath.Join(healthy, storage.ReplicationOffsetCheckpoint))
			if err != nil || hws[storage.TopicPartition{Topic: "t", Partition: 1}] != 3 {
				t.Errorf("healthy dir's checkpoint %v %v, want t-1 at 3", hws, err)
			}
			select {
			case err := <-s.Fatal():
				t.Fatalf("broker ended with a dir left: %v", err)
			default:
			}

			// The last dir fails: the broker ends, the controller is not told.
			s.logs.ReportLogDirFailure(healthy, syscall.ENOSPC)
			select {
			case err := <-s.Fatal():
				if !errors.Is(err, storage.ErrAllLogDirsOffline) {
					t.Fatalf("fatal error %v, want ErrAllLogDirsOffline", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("broker did not end when its last log dir failed")
			}
			if code := produceTo(s, 1); code != kerr.KafkaStorageError.Code {
				t.Errorf("produce t-1 after its dir failed: %v", kerr.ErrorForCode(code))
			}
			if names, err := zkc.Children(zkmeta.LogDirEventPath); err != nil || len(names) != 1 {
				t.Errorf("notifications after the last dir failed: %v %v, want the first only", names, err)
			}
		})
	}
}
