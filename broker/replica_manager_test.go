package broker

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// newReplicaTestServer is broker self with one log dir and a metadata
// cache knowing brokers 1..3 (none reachable: followers' fetchers back off).
func newReplicaTestServer(t *testing.T, self int32, dir string) *Server {
	t.Helper()
	return newReplicaTestServerDirs(t, self, []string{dir})
}

// newReplicaTestServerDirs is newReplicaTestServer with several log dirs.
func newReplicaTestServerDirs(t *testing.T, self int32, dirs []string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.BrokerID = self
	logger := slog.New(slog.DiscardHandler)
	logs, err := storage.OpenManager(dirs, cfg.Storage, logger)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg, logger: logger, logs: logs, cache: newMetadataCache()}
	s.cache.update(1, 1, []cachedBroker{plainBroker(1, "127.0.0.1", 1), plainBroker(2, "127.0.0.1", 1),
		plainBroker(3, "127.0.0.1", 1)}, nil)
	s.replicas = newReplicaManager(cfg, logs, nil, logger, s.cache, s.brokerEpoch.Load)
	t.Cleanup(func() {
		s.replicas.shutdown()
		_ = logs.Close()
	})
	return s
}

// leaderAndIsr sends one partition state of topic t (v5) and returns the
// partition's error; the metadata cache learns the state too, as from the
// controller's UpdateMetadata that follows.
func leaderAndIsr(t *testing.T, s *Server, partition, leader, epoch int32, isr, replicas []int32) error {
	t.Helper()
	err := leaderAndIsrOnly(t, s, partition, leader, epoch, isr, replicas)
	knowPartition(s.cache, partition, leader, epoch, isr, replicas)
	return err
}

// leaderAndIsrOnly is leaderAndIsr without the metadata cache's update.
func leaderAndIsrOnly(t *testing.T, s *Server, partition, leader, epoch int32, isr, replicas []int32) error {
	t.Helper()
	return leaderAndIsrState(t, s, partition, leader, epoch, isr, replicas, false)
}

// leaderAndIsrState sends one partition state of topic t (LeaderAndIsr v5)
// with this IsNew and returns the partition's error.
func leaderAndIsrState(t *testing.T, s *Server, partition, leader, epoch int32, isr, replicas []int32, isNew bool) error {
	t.Helper()
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.Version = 5
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 1, 1, -1
	ts := kmsg.NewLeaderAndISRRequestTopicState()
	ts.Topic, ts.TopicID = "t", [16]byte{7}
	ps := kmsg.NewLeaderAndISRRequestTopicPartition()
	ps.Topic, ps.Partition, ps.Leader, ps.LeaderEpoch, ps.ISR, ps.Replicas, ps.ZKVersion = "t", partition, leader, epoch, isr, replicas, epoch
	ps.IsNew = isNew
	ts.PartitionStates = append(ts.PartitionStates, ps)
	req.TopicStates = append(req.TopicStates, ts)
	resp := s.handleLeaderAndIsr(req).(*kmsg.LeaderAndISRResponse)
	if resp.ErrorCode != 0 {
		return kerr.ErrorForCode(resp.ErrorCode)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("LeaderAndIsr response %+v", resp)
	}
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// replicaFetch is one fetch of t-partition by replica at offset, read once.
func replicaFetch(s *Server, replica, partition, epoch int32, offset int64) kmsg.FetchResponseTopicPartition {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = replica
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.FetchOffset, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = partition, epoch, offset, -1, -1, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, _, _, _, _ := s.readFetch(req, replica, true)
	return resp.Topics[0].Partitions[0]
}

// A storage error while becoming leader (rebuilding the producer state,
// recording the leader epoch) must leave no half-made leader: the HW does
// not move, followers' fetches and produces get KAFKA_STORAGE_ERROR, and
// the partition stays offline, as ReplicaManager.makeLeaders marks it
// (markPartitionOffline) and answers KAFKA_STORAGE_ERROR.
func TestBecomeLeaderStorageFailure(t *testing.T) {
	failed := errors.New("disk on fire")
	faults := []struct {
		name string
		fail func(p *partition)
	}{
		{"producer state", func(p *partition) {
			p.loadProducers = func(*storage.Log) error { return failed }
		}},
		{"leader epoch", func(p *partition) {
			p.assignEpoch = func(*storage.Log, int32, int64) error { return failed }
		}},
	}
	for _, fault := range faults {
		for _, wasLeader := range []bool{false, true} {
			name := fault.name + "/from follower"
			if wasLeader {
				name = fault.name + "/from leader"
			}
			t.Run(name, func(t *testing.T) {
				s := newReplicaTestServer(t, 1, t.TempDir())
				replicas := []int32{1, 2}
				var p *partition
				if wasLeader {
					if err := leaderAndIsr(t, s, 0, 1, 1, replicas, replicas); err != nil {
						t.Fatal(err)
					}
					p, _ = s.replicas.get("t", 0)
					if _, err := p.appendRecords(testBatch(3), 1); err != nil {
						t.Fatal(err)
					}
					if _, err := p.followerFetch(2, 1, 0, 3, 0, true); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := leaderAndIsr(t, s, 0, 2, 1, replicas, replicas); err != nil {
						t.Fatal(err)
					}
					p, _ = s.replicas.get("t", 0)
					// The test plays the fetcher.
					s.replicas.fetchers.remove([]topicPartition{{"t", 0}})
					if err := p.appendAsFollower(testBatch(3), 1, 1, 0); err != nil {
						t.Fatal(err)
					}
				}
				if hw := p.highWatermark(); hw != 1 {
					t.Fatalf("HW %d before the failure, want 1", hw)
				}
				fault.fail(p)

				if err := leaderAndIsr(t, s, 0, 1, 2, replicas, replicas); !errors.Is(err, kerr.KafkaStorageError) {
					t.Errorf("LeaderAndIsr partition error %v, want KAFKA_STORAGE_ERROR", err)
				}
				if _, err := s.replicas.leaderPartition("t", 0); !errors.Is(err, kerr.KafkaStorageError) {
					t.Errorf("clients get %v, want KAFKA_STORAGE_ERROR", err)
				}
				if _, err := p.appendRecords(testBatch(1), 1); err == nil {
					t.Error("an offline partition accepted a produce")
				}
				p.maybeIncrementHW(1)
				if done, err := p.enoughReplicasReached(3, 1, time.Now().UnixMilli()); !done || err == nil {
					t.Errorf("acks=all on an offline partition: done %v err %v", done, err)
				}
				if hw := p.highWatermark(); hw != 1 {
					t.Errorf("HW %d after the failure, want 1 (no copy acknowledged)", hw)
				}
				if got := replicaFetch(s, 2, 0, 2, 3); got.ErrorCode != kerr.KafkaStorageError.Code {
					t.Fatalf("follower fetch: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(got.ErrorCode))
				}
				// Offline until restart: a newer state is refused too.
				if err := leaderAndIsr(t, s, 0, 1, 3, replicas, replicas); !errors.Is(err, kerr.KafkaStorageError) {
					t.Fatalf("LeaderAndIsr to an offline partition: %v, want KAFKA_STORAGE_ERROR", err)
				}
				if err := s.replicas.stopReplica("t", 0, false, noLeaderEpoch); !errors.Is(err, kerr.KafkaStorageError) {
					t.Fatalf("StopReplica to an offline partition: %v, want KAFKA_STORAGE_ERROR", err)
				}
			})
		}
	}
}

// A log that cannot be created (here a file where its directory goes)
// takes the partition offline, as ReplicaManager.makeLeaders/makeFollowers
// do on the KafkaStorageException of createLogIfNotExists
// (markPartitionOffline: HostedPartition.Offline): the LeaderAndIsr answer,
// clients, followers and StopReplica get KAFKA_STORAGE_ERROR, and a later
// LeaderAndIsr does not retry until the broker restarts.
func TestCreateLogFailureTakesPartitionOffline(t *testing.T) {
	for _, leader := range []int32{1, 2} {
		t.Run(map[int32]string{1: "leader", 2: "follower"}[leader], func(t *testing.T) {
			dir := t.TempDir()
			s := newReplicaTestServer(t, 1, dir)
			blocker := filepath.Join(dir, "t-0")
			if err := os.WriteFile(blocker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			replicas := []int32{1, 2}
			if err := leaderAndIsr(t, s, 0, leader, 1, replicas, replicas); !errors.Is(err, kerr.KafkaStorageError) {
				t.Fatalf("LeaderAndIsr: %v, want KAFKA_STORAGE_ERROR", err)
			}
			// The disk recovers; the partition stays offline until restart.
			if err := os.Remove(blocker); err != nil {
				t.Fatal(err)
			}
			if _, err := s.replicas.leaderPartition("t", 0); !errors.Is(err, kerr.KafkaStorageError) {
				t.Errorf("clients get %v, want KAFKA_STORAGE_ERROR", err)
			}
			if got := replicaFetch(s, 2, 0, 1, 0); got.ErrorCode != kerr.KafkaStorageError.Code {
				t.Errorf("follower fetch: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(got.ErrorCode))
			}
			if err := leaderAndIsr(t, s, 0, leader, 2, replicas, replicas); !errors.Is(err, kerr.KafkaStorageError) {
				t.Errorf("a later LeaderAndIsr: %v, want KAFKA_STORAGE_ERROR", err)
			}
			if err := s.replicas.stopReplica("t", 0, true, noLeaderEpoch); !errors.Is(err, kerr.KafkaStorageError) {
				t.Errorf("StopReplica: %v, want KAFKA_STORAGE_ERROR", err)
			}
			if _, ok := s.logs.Get("t", 0); ok {
				t.Error("a log was created for the offline partition")
			}
		})
	}
}

// A log on disk of another topic ID is not a storage error: the answer is
// INCONSISTENT_TOPIC_ID (ReplicaManager.becomeLeaderOrFollower,
// LogManager.getOrCreateLog) and the partition stays usable for its own
// topic ID. Clients are not served by it: the metadata cache knows the
// partition, so NOT_LEADER_OR_FOLLOWER (Kafka hosts it without a log:
// Partition.getLocalLog answers the same).
func TestCreateLogInconsistentTopicID(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "t-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := storage.WritePartitionMetadata(filepath.Join(dir, "t-0"), [16]byte{9}); err != nil {
		t.Fatal(err)
	}
	s := newReplicaTestServer(t, 1, dir)
	if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1}, []int32{1}); !errors.Is(err, kerr.InconsistentTopicID) {
		t.Fatalf("LeaderAndIsr: %v, want INCONSISTENT_TOPIC_ID", err)
	}
	if _, err := s.replicas.leaderPartition("t", 0); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Errorf("clients get %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
}

// The HW checkpoint must not be written before the first LeaderAndIsr read
// it: a full-cluster restart whose controller is slow (> the checkpoint
// interval) must keep every HW. Kafka starts the checkpoint thread after
// the first LeaderAndIsr (ReplicaManager.startHighWatermarkCheckPointThread)
// and writes no log dir that hosts no partition. Entries of logs on disk
// that are not hosted (yet) are kept.
func TestHighWatermarkCheckpointBeforeFirstLeaderAndIsr(t *testing.T) {
	dir := t.TempDir()
	// Follower 2 never fetches after a restart: the leader's HW stays
	// where the checkpoint put it.
	both := []int32{1, 2}
	restart := func(prev *Server) *Server {
		if prev != nil {
			prev.replicas.shutdown()
			if err := prev.logs.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return newReplicaTestServer(t, 1, dir)
	}
	hwOf := func(s *Server, partition int32) int64 {
		p, ok := s.replicas.get("t", partition)
		if !ok {
			t.Fatalf("t-%d not hosted", partition)
		}
		return p.highWatermark()
	}

	s := restart(nil)
	for part := range int32(2) {
		if err := leaderAndIsr(t, s, part, 1, 1, both, both); err != nil {
			t.Fatal(err)
		}
		p, _ := s.replicas.get("t", part)
		if _, err := p.appendRecords(testBatch(5), 1); err != nil {
			t.Fatal(err)
		}
		if _, err := p.followerFetch(2, 5, 0, 5, time.Now().UnixMilli(), true); err != nil {
			t.Fatal(err)
		}
		if hw := p.highWatermark(); hw != 5 {
			t.Fatalf("HW %d, want 5", hw)
		}
	}

	// Restarted: the checkpoint task runs before any LeaderAndIsr, then
	// the broker stops again.
	s = restart(s)
	s.replicas.checkpointHighWatermarks()
	s = restart(s)
	s.replicas.checkpointHighWatermarks()
	if err := leaderAndIsr(t, s, 0, 1, 2, both, both); err != nil {
		t.Fatal(err)
	}
	if hw := hwOf(s, 0); hw != 5 {
		t.Fatalf("t-0 HW %d after a checkpoint before the first LeaderAndIsr, want 5", hw)
	}
	// Now checkpointing with t-1 on disk but not hosted keeps its entry.
	s.replicas.checkpointHighWatermarks()
	s = restart(s)
	for part := range int32(2) {
		if err := leaderAndIsr(t, s, part, 1, 3, both, both); err != nil {
			t.Fatal(err)
		}
		if hw := hwOf(s, part); hw != 5 {
			t.Fatalf("t-%d HW %d after restarts, want 5", part, hw)
		}
	}
}

// A replica stopped without deletion stays hosted in Kafka
// (ReplicaManager.stopPartitions removes only deleted partitions from
// allPartitions), so checkpointHighWatermarks keeps writing its current HW.
// Ours leaves the hosted set: its checkpoint entry must be its HW at the
// stop, not the last periodic write. A deleted replica's entry goes.
func TestStopReplicaKeepsHighWatermarkCheckpoint(t *testing.T) {
	for _, del := range []bool{false, true} {
		t.Run(map[bool]string{false: "stop", true: "delete"}[del], func(t *testing.T) {
			s := newReplicaTestServer(t, 1, t.TempDir())
			both := []int32{1, 2}
			if err := leaderAndIsr(t, s, 0, 1, 1, both, both); err != nil {
				t.Fatal(err)
			}
			p, _ := s.replicas.get("t", 0)
			if _, err := p.appendRecords(testBatch(5), 1); err != nil {
				t.Fatal(err)
			}
			if _, err := p.followerFetch(2, 2, 0, 5, time.Now().UnixMilli(), true); err != nil {
				t.Fatal(err)
			}
			s.replicas.checkpointHighWatermarks() // the periodic write: HW 2
			if _, err := p.followerFetch(2, 5, 0, 5, time.Now().UnixMilli(), true); err != nil {
				t.Fatal(err)
			}
			if hw := p.highWatermark(); hw != 5 {
				t.Fatalf("setup: HW %d, want 5", hw)
			}
			if err := s.replicas.stopReplica("t", 0, del, noLeaderEpoch); err != nil {
				t.Fatal(err)
			}
			s.replicas.checkpointHighWatermarks()
			hws, err := s.logs.ReadReplicationCheckpoint()
			if err != nil {
				t.Fatal(err)
			}
			hw, ok := hws[storage.TopicPartition{Topic: "t", Partition: 0}]
			switch {
			case del && ok:
				t.Fatalf("deleted replica still checkpointed at %d", hw)
			case !del && (!ok || hw != 5):
				t.Fatalf("stopped replica checkpointed at %d (present %v), want its HW 5", hw, ok)
			}
		})
	}
}

// Each log dir's replication-offset-checkpoint stands alone: one that
// cannot be read loses no other dir's HWs, is never rewritten, and its
// partitions go offline. Kafka reads the file per log dir
// (LazyOffsetCheckpoints); a read failure is a KafkaStorageException
// (CheckpointFileWithFailureHandler.read) that takes that dir offline, so
// makeLeader/makeFollower mark its partitions offline
// (KAFKA_STORAGE_ERROR) and checkpointHighWatermarks no longer writes it.
func TestHighWatermarkCheckpointUnreadableDir(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	both := []int32{1, 2}
	s := newReplicaTestServerDirs(t, 1, dirs)
	for part := range int32(2) { // t-0 goes to dirs[0], t-1 to dirs[1]
		if err := leaderAndIsr(t, s, part, 1, 1, both, both); err != nil {
			t.Fatal(err)
		}
		p, _ := s.replicas.get("t", part)
		if _, err := p.appendRecords(testBatch(5), 1); err != nil {
			t.Fatal(err)
		}
		if _, err := p.followerFetch(2, 5, 0, 5, time.Now().UnixMilli(), true); err != nil {
			t.Fatal(err)
		}
	}
	s.replicas.shutdown() // writes the checkpoints
	if err := s.logs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "t-0")); err != nil {
		t.Fatalf("setup: t-0 not in the first dir: %v", err)
	}
	bad := []byte("not a checkpoint\n")
	badFile := filepath.Join(dirs[0], storage.ReplicationOffsetCheckpoint)
	if err := os.WriteFile(badFile, bad, 0o644); err != nil {
		t.Fatal(err)
	}

	s = newReplicaTestServerDirs(t, 1, dirs)
	if err := leaderAndIsr(t, s, 1, 1, 2, both, both); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.replicas.get("t", 1); p.highWatermark() != 5 {
		t.Fatalf("t-1 (readable dir) HW %d, want 5", p.highWatermark())
	}
	if err := leaderAndIsr(t, s, 0, 1, 2, both, both); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("t-0 (unreadable dir) LeaderAndIsr: %v, want KAFKA_STORAGE_ERROR", err)
	}
	s.replicas.checkpointHighWatermarks()
	if got, err := os.ReadFile(badFile); err != nil || string(got) != string(bad) {
		t.Fatalf("unreadable checkpoint rewritten: %q %v", got, err)
	}
	hws, err := storage.ReadOffsetCheckpoint(filepath.Join(dirs[1], storage.ReplicationOffsetCheckpoint))
	if err != nil || hws[storage.TopicPartition{Topic: "t", Partition: 1}] != 5 {
		t.Fatalf("readable dir's checkpoint %v %v, want t-1 at 5", hws, err)
	}
}

// Partition.readRecords checks a fetch's LastFetchedEpoch: an epoch whose
// end the leader cannot determine, or a fetch offset below the log start,
// is OFFSET_OUT_OF_RANGE (not a diverging epoch of -1/-1); an epoch that
// ends below the fetch offset, or that the leader only knows an older one
// of, is a diverging epoch.
func TestFetchLastFetchedEpochChecks(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	only := []int32{1}
	if err := leaderAndIsr(t, s, 0, 1, 1, only, only); err != nil {
		t.Fatal(err)
	}
	p, _ := s.replicas.get("t", 0)
	if _, err := p.appendRecords(testBatch(5), 1); err != nil { // epoch 1: 0..4
		t.Fatal(err)
	}
	if err := leaderAndIsr(t, s, 0, 1, 3, only, only); err != nil {
		t.Fatal(err)
	}
	if _, err := p.appendRecords(testBatch(3), 1); err != nil { // epoch 3: 5..7
		t.Fatal(err)
	}
	if _, err := p.log.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		lastFetched  int32
		offset       int64
		wantErr      error
		wantDiverged [2]int64 // epoch, end offset
	}{
		{"epoch unknown to the leader", 4, 8, kerr.OffsetOutOfRange, [2]int64{-1, -1}},
		{"diverged below the log start", 2, 2, kerr.OffsetOutOfRange, [2]int64{-1, -1}},
		{"missing epoch diverges", 2, 6, nil, [2]int64{1, 5}},
		{"epoch ends below the fetch offset", 1, 6, nil, [2]int64{1, 5}},
		{"in step", 1, 4, nil, [2]int64{-1, -1}},
		{"at the end", 3, 8, nil, [2]int64{-1, -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, replica := range []int32{2, -1} {
				req := kmsg.NewPtrFetchRequest()
				req.Version, req.ReplicaID, req.MaxBytes = 12, replica, 1<<20
				rt := kmsg.NewFetchRequestTopic()
				rt.Topic = "t"
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.CurrentLeaderEpoch, rp.FetchOffset, rp.LastFetchedEpoch, rp.PartitionMaxBytes = 3, tc.offset, tc.lastFetched, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				resp, _, _, _, _ := s.readFetch(req, replica, false)
				got := resp.Topics[0].Partitions[0]
				if err := kerr.ErrorForCode(got.ErrorCode); !errors.Is(err, tc.wantErr) {
					t.Fatalf("replica %d: error %v, want %v", replica, err, tc.wantErr)
				}
				if d := [2]int64{int64(got.DivergingEpoch.Epoch), got.DivergingEpoch.EndOffset}; d != tc.wantDiverged {
					t.Fatalf("replica %d: diverging epoch %v, want %v", replica, d, tc.wantDiverged)
				}
			}
		})
	}
}

// A follower whose fetch fails in a way it cannot repair backs off
// (replica.fetch.backoff.ms) instead of fetching again at once.
func TestFollowerBacksOffOnUnresolvedOutOfRange(t *testing.T) {
	// The follower's last epoch (7) is one the leader never had.
	fp, f, fetching := fetchRoundAgainstLeader(t, fetchedBatch(5, 0, 7))
	f.fetch(t.Context(), fetching)
	if err := fetching[0].lastErr; !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Errorf("fetch error %v, want OFFSET_OUT_OF_RANGE", err)
	}
	if truncating, fetching, _ := f.ready(); len(truncating)+len(fetching) != 0 {
		t.Fatal("the follower fetches again at once after an error it could not repair")
	}
	if leo := fp.log.LogEndOffset(); leo != 5 {
		t.Fatalf("follower LEO %d, want 5", leo)
	}
}

// StopReplica v3 carries the leader epoch (ReplicaManager.stopReplicas): a
// partition whose epoch is newer is left alone with FENCED_LEADER_EPOCH;
// -1 (no epoch, as in v0-2) and -2 (topic deletion) stop it whatever its
// epoch.
func TestStopReplicaLeaderEpoch(t *testing.T) {
	tests := []struct {
		name        string
		version     int16
		leaderEpoch int32
		del         bool
		wantErr     error
		wantHosted  bool
	}{
		{"older epoch is fenced", 3, 4, false, kerr.FencedLeaderEpoch, true},
		{"older epoch with delete is fenced", 3, 4, true, kerr.FencedLeaderEpoch, true},
		{"current epoch", 3, 5, false, nil, false},
		{"newer epoch", 3, 6, true, nil, false},
		{"no epoch", 3, -1, false, nil, false},
		{"deletion sentinel", 3, -2, true, nil, false},
		{"v1 has no epoch", 1, 0, true, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newReplicaTestServer(t, 1, t.TempDir())
			only := []int32{1}
			if err := leaderAndIsr(t, s, 0, 1, 5, only, only); err != nil {
				t.Fatal(err)
			}
			req := kmsg.NewPtrStopReplicaRequest()
			req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = tc.version, 1, 1, -1
			rt := kmsg.NewStopReplicaRequestTopic()
			rt.Topic = "t"
			if tc.version >= 3 {
				ps := kmsg.NewStopReplicaRequestTopicPartitionState()
				ps.Partition, ps.LeaderEpoch, ps.Delete = 0, tc.leaderEpoch, tc.del
				rt.PartitionStates = append(rt.PartitionStates, ps)
			} else {
				req.DeletePartitions = tc.del
				rt.Partitions = []int32{0}
			}
			req.Topics = append(req.Topics, rt)
			resp := s.handleStopReplica(req).(*kmsg.StopReplicaResponse)
			if resp.ErrorCode != 0 || len(resp.Partitions) != 1 {
				t.Fatalf("response %+v", resp)
			}
			if err := kerr.ErrorForCode(resp.Partitions[0].ErrorCode); !errors.Is(err, tc.wantErr) {
				t.Fatalf("partition error %v, want %v", err, tc.wantErr)
			}
			if _, hosted := s.replicas.get("t", 0); hosted != tc.wantHosted {
				t.Fatalf("hosted %v, want %v", hosted, tc.wantHosted)
			}
			if _, onDisk := s.logs.Get("t", 0); onDisk != (tc.wantHosted || !tc.del) {
				t.Fatalf("log on disk %v", onDisk)
			}
		})
	}
}

// Control requests meant for an earlier life of this broker (a broker epoch
// older than ours) are refused with STALE_BROKER_EPOCH before anything is
// applied, the controller epoch included (KafkaApis: isBrokerEpochStale for
// LeaderAndIsr, StopReplica and UpdateMetadata); -1 is an unknown epoch.
func TestControlRequestsBrokerEpoch(t *testing.T) {
	const ours = 100
	send := func(s *Server, kind string, brokerEpoch int64) int16 {
		switch kind {
		case "LeaderAndIsr":
			req := kmsg.NewPtrLeaderAndISRRequest()
			req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 5, 1, 2, brokerEpoch
			return s.handleLeaderAndIsr(req).(*kmsg.LeaderAndISRResponse).ErrorCode
		case "StopReplica":
			req := kmsg.NewPtrStopReplicaRequest()
			req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 3, 1, 2, brokerEpoch
			rt := kmsg.NewStopReplicaRequestTopic()
			rt.Topic = "t"
			ps := kmsg.NewStopReplicaRequestTopicPartitionState()
			rt.PartitionStates = append(rt.PartitionStates, ps)
			req.Topics = append(req.Topics, rt)
			return s.handleStopReplica(req).(*kmsg.StopReplicaResponse).ErrorCode
		default:
			req := kmsg.NewPtrUpdateMetadataRequest()
			req.Version, req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 7, 1, 2, brokerEpoch
			return s.handleUpdateMetadata(req).(*kmsg.UpdateMetadataResponse).ErrorCode
		}
	}
	for _, kind := range []string{"LeaderAndIsr", "StopReplica", "UpdateMetadata"} {
		for _, tc := range []struct {
			epoch int64
			want  int16
		}{{ours - 1, kerr.StaleBrokerEpoch.Code}, {-1, 0}, {ours, 0}, {ours + 1, 0}} {
			s := newReplicaTestServer(t, 1, t.TempDir())
			s.brokerEpoch.Store(ours)
			only := []int32{1}
			if err := leaderAndIsr(t, s, 0, 1, 1, only, only); err != nil {
				t.Fatal(err)
			}
			if code := send(s, kind, tc.epoch); code != tc.want {
				t.Fatalf("%s with broker epoch %d: %v, want %v", kind, tc.epoch, kerr.ErrorForCode(code), kerr.ErrorForCode(tc.want))
			}
			_, hosted := s.replicas.get("t", 0)
			if stale := tc.want != 0; stale != hosted && kind == "StopReplica" {
				t.Fatalf("StopReplica with broker epoch %d: partition hosted %v", tc.epoch, hosted)
			}
			if adopted := s.controllerEpoch.Load() == 2; adopted == (tc.want != 0) {
				t.Fatalf("%s with broker epoch %d: controller epoch %d", kind, tc.epoch, s.controllerEpoch.Load())
			}
		}
	}
}

// fetchRoundAgainstLeader sets up leader 1 of t-0 (replicas 1 and 2, leader
// epoch 3) holding 5 records and serving connections, and follower 2 whose
// log gets followerBatches; the follower's own fetcher is removed and a
// fetcher the test drives is returned with t-0 ready to fetch.
func fetchRoundAgainstLeader(t *testing.T, followerBatches ...[]byte) (*partition, *replicaFetcher, []*fetchState) {
	t.Helper()
	leader := newReplicaTestServer(t, 1, t.TempDir())
	replicas := []int32{1, 2}
	if err := leaderAndIsr(t, leader, 0, 1, 3, replicas, replicas); err != nil {
		t.Fatal(err)
	}
	lp, _ := leader.replicas.get("t", 0)
	if _, err := lp.appendRecords(testBatch(5), 1); err != nil {
		t.Fatal(err)
	}
	addr, _ := serveConns(t, leader)

	follower := newReplicaTestServer(t, 2, t.TempDir())
	if err := leaderAndIsr(t, follower, 0, 1, 3, replicas, replicas); err != nil {
		t.Fatal(err)
	}
	fp, _ := follower.replicas.get("t", 0)
	follower.replicas.fetchers.remove([]topicPartition{{"t", 0}}) // the test runs the fetch rounds
	for _, b := range followerBatches {
		if err := fp.appendAsFollower(b, 3, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	f := newReplicaFetcher(follower.replicas.fetchers, fetcherKey{leader: 1})
	t.Cleanup(func() {
		if f.client != nil {
			_ = f.client.Close()
		}
	})
	f.addPartition(fetchTarget{p: fp, leader: 1, addr: addr, epoch: 3, skipOLE: true})
	_, fetching, _ := f.ready()
	if len(fetching) != 1 {
		t.Fatalf("%d partitions ready to fetch, want 1", len(fetching))
	}
	return fp, f, fetching
}

// readFetch is one read of a fetch without the long poll: newFetch, one
// replicaManager.readFromLog (recording a follower's position if record)
// and the response. It returns the response, its file ranges, the bytes
// read, the partitions found and whether any partition has an error.
func (s *Server) readFetch(req *kmsg.FetchRequest, replicaID int32, record bool) (*kmsg.FetchResponse, [][]protocol.FileRange, int64, []*partition, bool) {
	f := s.newFetch(req, replicaID)
	total, found, hasError := s.replicas.readFromLog(f.params, f.parts, record)
	resp, records := s.fetchResponseData(req, f)
	return resp, records, total, found, hasError || f.anyRefused
}
