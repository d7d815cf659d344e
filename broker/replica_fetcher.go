package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// replicaFetchVersion is the Fetch version followers send: v12 carries the
// replica id, LastFetchedEpoch (diverging-epoch answers, KIP-320) and topic
// names, so a leader whose metadata cache lags behind LeaderAndIsr still
// serves it.
const replicaFetchVersion = 12

// offsetForLeaderEpochVersion is what followers send to their leader.
const offsetForLeaderEpochVersion = 4

// fetcherKey names one fetcher: a leader and a fetcher id in
// [0, num.replica.fetchers).
type fetcherKey struct {
	leader int32
	id     int
}

// fetchTarget is a partition to follow.
type fetchTarget struct {
	p       *partition
	leader  int32
	addr    string // host:port of the leader, "" to look it up in the metadata cache
	epoch   int32
	skipOLE bool // start fetching at once (no truncation round)
}

// fetcherManager runs the replica fetchers (Kafka's ReplicaFetcherManager):
// one goroutine per (leader, fetcher id), partitions hashed across them.
type fetcherManager struct {
	cfg    Config
	cache  *metadataCache
	logger *slog.Logger
	// quotas are the broker's replication quotas: the follower one is
	// applied here, the leader one by handleFetch.
	quotas *replicationQuotas
	// secure sets up a client dialing another broker's listener (TLS,
	// SASL: Server.secureClient); nil: the listener's TLS only.
	secure func(c *protocol.Client, listener string)

	mu       sync.Mutex
	ctx      context.Context
	fetchers map[fetcherKey]*replicaFetcher
	byTP     map[topicPartition]fetcherKey
	closed   bool
}

func newFetcherManager(cfg Config, cache *metadataCache, logger *slog.Logger) *fetcherManager {
	return &fetcherManager{cfg: cfg, cache: cache, logger: logger, ctx: context.Background(), quotas: newReplicationQuotas(cfg),
		fetchers: map[fetcherKey]*replicaFetcher{}, byTP: map[topicPartition]fetcherKey{}}
}

// start sets the context fetchers run under.
func (m *fetcherManager) start(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
}

// fetcherID is Kafka's AbstractFetcherManager.getFetcherId: the partition's
// hash modulo num.replica.fetchers.
func (m *fetcherManager) fetcherID(tp topicPartition) int {
	n := max(m.cfg.NumReplicaFetchers, 1)
	h := fnv.New32a()
	_, _ = h.Write([]byte(tp.Topic))
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(tp.Partition))
	_, _ = h.Write(b[:])
	return int(h.Sum32() % uint32(n))
}

// add starts following targets; each replaces any earlier fetch state of
// its partition.
func (m *fetcherManager) add(targets []fetchTarget) {
	m.remove(tpsOf(targets))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for _, t := range targets {
		if t.leader < 0 {
			continue
		}
		tp := t.p.tp()
		key := fetcherKey{leader: t.leader, id: m.fetcherID(tp)}
		f, ok := m.fetchers[key]
		if !ok {
			f = newReplicaFetcher(m, key)
			m.fetchers[key] = f
			f.start(m.ctx)
		}
		f.addPartition(t)
		m.byTP[tp] = key
	}
}

func tpsOf(targets []fetchTarget) []topicPartition {
	out := make([]topicPartition, len(targets))
	for i, t := range targets {
		out[i] = t.p.tp()
	}
	return out
}

// remove stops fetching the partitions; a fetcher left with none stops.
func (m *fetcherManager) remove(tps []topicPartition) {
	var idle []*replicaFetcher
	m.mu.Lock()
	for _, tp := range tps {
		key, ok := m.byTP[tp]
		if !ok {
			continue
		}
		delete(m.byTP, tp)
		f := m.fetchers[key]
		if f != nil && f.removePartition(tp) == 0 {
			delete(m.fetchers, key)
			idle = append(idle, f)
		}
	}
	m.mu.Unlock()
	for _, f := range idle {
		f.stop()
	}
}

// shutdown stops every fetcher and waits for them.
func (m *fetcherManager) shutdown() {
	m.mu.Lock()
	m.closed = true
	all := m.fetchers
	m.fetchers = map[fetcherKey]*replicaFetcher{}
	m.byTP = map[topicPartition]fetcherKey{}
	m.mu.Unlock()
	for _, f := range all {
		f.stop()
	}
}

// fetchState is one partition in a fetcher.
type fetchState struct {
	fetchTarget
	truncating bool
	delayUntil time.Time
	// caughtUp is PartitionFetchState.isReplicaInSync: the last fetch
	// brought the log to the leader's high watermark. Only the fetcher's
	// goroutine uses it.
	caughtUp bool
	// lastErr is the partition error of the previous fetch: a new one is
	// logged at info, repeats only at debug.
	lastErr error
}

// replicaFetcher is one fetcher goroutine (Kafka's ReplicaFetcherThread):
// it truncates new partitions by OffsetForLeaderEpoch, then fetches them
// from the leader as a replica and appends what it gets.
type replicaFetcher struct {
	m   *fetcherManager
	key fetcherKey

	mu     sync.Mutex
	parts  map[topicPartition]*fetchState
	addr   string
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	client *protocol.Client
}

func newReplicaFetcher(m *fetcherManager, key fetcherKey) *replicaFetcher {
	return &replicaFetcher{m: m, key: key, parts: map[topicPartition]*fetchState{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

func (f *replicaFetcher) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	f.cancel = cancel
	go func() {
		defer close(f.done)
		f.run(ctx)
	}()
}

func (f *replicaFetcher) stop() {
	f.cancel()
	<-f.done
}

func (f *replicaFetcher) addPartition(t fetchTarget) {
	f.mu.Lock()
	f.parts[t.p.tp()] = &fetchState{fetchTarget: t, truncating: !t.skipOLE}
	if t.addr != "" && t.addr != f.addr {
		f.addr = t.addr
		if f.client != nil {
			_ = f.client.Close()
			f.client = nil
		}
	}
	f.mu.Unlock()
	f.poke()
}

func (f *replicaFetcher) removePartition(tp topicPartition) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.parts, tp)
	return len(f.parts)
}

func (f *replicaFetcher) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// current reports whether st is still the partition's fetch state.
func (f *replicaFetcher) current(st *fetchState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts[st.p.tp()] == st
}

func (f *replicaFetcher) delay(st *fetchState, d time.Duration) {
	f.mu.Lock()
	st.delayUntil = time.Now().Add(d)
	f.mu.Unlock()
}

// ready returns the partitions not backing off, and when the next one is due.
func (f *replicaFetcher) ready() (truncating, fetching []*fetchState, next time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, st := range f.parts {
		if st.delayUntil.After(now) {
			if next.IsZero() || st.delayUntil.Before(next) {
				next = st.delayUntil
			}
			continue
		}
		if st.truncating {
			truncating = append(truncating, st)
		} else {
			fetching = append(fetching, st)
		}
	}
	return truncating, fetching, next
}

func (f *replicaFetcher) clientFor() (*protocol.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client != nil {
		return f.client, nil
	}
	addr := f.addr
	// ReplicaManager.makeFollowers: the leader's node on the inter-broker listener.
	if b, ok := f.m.cache.aliveNode(f.key.leader, f.m.cfg.interBrokerListener()); ok && addr == "" {
		addr = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	if addr == "" {
		return nil, fmt.Errorf("no address known for leader %d", f.key.leader)
	}
	f.client = protocol.NewClient(addr, fmt.Sprintf("broker-%d-fetcher-%d", f.m.cfg.BrokerID, f.key.id), f.m.cfg.ReplicaSocketTimeout)
	f.m.secureClient(f.client, f.m.cfg.interBrokerListener())
	return f.client, nil
}

func (f *replicaFetcher) dropClient(cl *protocol.Client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client == cl {
		_ = cl.Close()
		f.client = nil
	}
}

func (f *replicaFetcher) run(ctx context.Context) {
	defer func() {
		f.mu.Lock()
		if f.client != nil {
			_ = f.client.Close()
		}
		f.mu.Unlock()
	}()
	for ctx.Err() == nil {
		truncating, fetching, next := f.ready()
		if len(truncating) == 0 && len(fetching) == 0 {
			var timer *time.Timer
			var due <-chan time.Time
			if !next.IsZero() {
				timer = time.NewTimer(time.Until(next))
				due = timer.C
			}
			select {
			case <-ctx.Done():
			case <-f.kick:
			case <-due:
			}
			if timer != nil {
				timer.Stop()
			}
			continue
		}
		if len(truncating) > 0 {
			f.truncate(ctx, truncating)
			continue
		}
		f.fetch(ctx, fetching)
	}
}

// request sends req to the leader; on failure every partition in sts backs off.
func (f *replicaFetcher) request(ctx context.Context, req kmsg.Request, sts []*fetchState) (kmsg.Response, bool) {
	cl, err := f.clientFor()
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, f.m.cfg.ReplicaSocketTimeout)
		var resp kmsg.Response
		resp, err = cl.Request(rctx, req)
		cancel()
		if err == nil {
			return resp, true
		}
		f.dropClient(cl)
	}
	if ctx.Err() == nil {
		f.m.logger.Debug("replica fetcher request failed", "leader", f.key.leader, "err", err)
		for _, st := range sts {
			f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		}
	}
	return nil, false
}

// truncate runs one OffsetForLeaderEpoch round (KIP-101, KIP-279): each
// partition asks the leader for the end offset of its latest epoch and
// truncates to where the logs agree. A partition with no epoch truncates
// to its high watermark.
func (f *replicaFetcher) truncate(ctx context.Context, sts []*fetchState) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = offsetForLeaderEpochVersion
	req.ReplicaID = f.m.cfg.BrokerID
	asked := map[topicPartition]*fetchState{}
	topics := map[string]int{}
	for _, st := range sts {
		latest := st.p.log.LeaderEpochs().LatestEpoch()
		if latest == storage.UndefinedEpoch {
			f.finishTruncation(st, st.p.highWatermark(), true)
			continue
		}
		i, ok := topics[st.p.topic]
		if !ok {
			i = len(req.Topics)
			topics[st.p.topic] = i
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = st.p.topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition = st.p.id
		rp.CurrentLeaderEpoch = st.epoch
		rp.LeaderEpoch = latest
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		asked[st.p.tp()] = st
	}
	if len(asked) == 0 {
		return
	}
	var list []*fetchState
	for _, st := range asked {
		list = append(list, st)
	}
	kresp, ok := f.request(ctx, req, list)
	if !ok {
		return
	}
	resp := kresp.(*kmsg.OffsetForLeaderEpochResponse)
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			st, ok := asked[topicPartition{t.Topic, rp.Partition}]
			if !ok {
				continue
			}
			delete(asked, st.p.tp())
			if rp.ErrorCode != 0 {
				f.m.logger.Debug("OffsetForLeaderEpoch failed", "topic", t.Topic, "partition", rp.Partition,
					"leader", f.key.leader, "err", kerr.ErrorForCode(rp.ErrorCode))
				f.delay(st, f.m.cfg.ReplicaFetchBackoff)
				continue
			}
			f.truncateToLeader(st, rp.LeaderEpoch, rp.EndOffset)
		}
	}
	for _, st := range asked { // not answered
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
	}
}

// truncateToLeader truncates given the leader's (epoch, end offset).
func (f *replicaFetcher) truncateToLeader(st *fetchState, leaderEpoch int32, leaderEnd int64) {
	localEpoch, localEnd := storage.UndefinedEpoch, storage.UndefinedEpochOffset
	if leaderEpoch >= 0 {
		localEpoch, localEnd = st.p.log.LeaderEpochs().EndOffsetFor(leaderEpoch, st.p.log.LogEndOffset())
	}
	offset, complete := truncationOffset(leaderEpoch, leaderEnd, localEpoch, localEnd, st.p.log.LogEndOffset(), st.p.highWatermark())
	f.finishTruncation(st, offset, complete)
}

func (f *replicaFetcher) finishTruncation(st *fetchState, offset int64, complete bool) {
	if !f.current(st) {
		return
	}
	if err := st.p.truncateAsFollower(offset, st.epoch); err != nil {
		f.m.logger.Warn("follower truncation failed", "topic", st.p.topic, "partition", st.p.id, "offset", offset, "err", err)
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		return
	}
	if complete {
		f.mu.Lock()
		st.truncating = false
		f.mu.Unlock()
	}
}

// fetch sends one Fetch as a replica and applies the answer.
func (f *replicaFetcher) fetch(ctx context.Context, sts []*fetchState) {
	req := kmsg.NewPtrFetchRequest()
	req.Version = replicaFetchVersion
	req.ReplicaID = f.m.cfg.BrokerID
	req.MaxWaitMillis = int32(f.m.cfg.ReplicaFetchWaitMax.Milliseconds())
	req.MinBytes = f.m.cfg.ReplicaFetchMinBytes
	req.MaxBytes = f.m.cfg.ReplicaFetchResponseMax
	req.SessionID = 0
	req.SessionEpoch = -1
	byTP := map[topicPartition]*fetchState{}
	topics := map[string]int{}
	sts = f.unthrottled(sts)
	if len(sts) == 0 {
		return
	}
	for _, st := range sts {
		i, ok := topics[st.p.topic]
		if !ok {
			i = len(req.Topics)
			topics[st.p.topic] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = st.p.topic, st.p.topicID
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = st.p.id
		rp.CurrentLeaderEpoch = st.epoch
		rp.FetchOffset = st.p.log.LogEndOffset()
		rp.LastFetchedEpoch = st.p.log.LeaderEpochs().LatestEpoch()
		rp.LogStartOffset = st.p.log.LogStartOffset()
		rp.PartitionMaxBytes = f.m.cfg.ReplicaFetchMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		byTP[st.p.tp()] = st
	}
	kresp, ok := f.request(ctx, req, sts)
	if !ok {
		return
	}
	resp := kresp.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		f.m.logger.Debug("replica fetch failed", "leader", f.key.leader, "err", kerr.ErrorForCode(resp.ErrorCode))
		for _, st := range sts {
			f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		}
		return
	}
	for _, t := range resp.Topics {
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			st, ok := byTP[topicPartition{t.Topic, rp.Partition}]
			if !ok || !f.current(st) {
				continue
			}
			f.applyFetched(ctx, st, rp)
		}
	}
}

func (f *replicaFetcher) applyFetched(ctx context.Context, st *fetchState, rp *kmsg.FetchResponseTopicPartition) {
	err := kerr.ErrorForCode(rp.ErrorCode)
	if err != nil && !errors.Is(err, st.lastErr) {
		f.m.logger.Info("replica fetch partition error", "topic", st.p.topic, "partition", st.p.id,
			"leader", f.key.leader, "epoch", st.epoch, "err", err)
	}
	st.lastErr = err
	switch {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		f.handleOutOfRange(ctx, st)
		return
	default:
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		return
	}
	if rp.DivergingEpoch.EndOffset >= 0 {
		f.truncateToLeader(st, rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset)
		return
	}
	records := wholeBatches(rp.RecordBatches)
	if err := st.p.appendAsFollower(records, st.epoch, rp.HighWatermark, rp.LogStartOffset); err != nil {
		if errors.Is(err, kerr.KafkaStorageError) {
			// AbstractFetcherThread.markPartitionFailed: the partition went
			// offline; stop fetching it.
			f.m.logger.Error("follower append failed; partition offline", "topic", st.p.topic, "partition", st.p.id, "err", err)
			f.removePartition(st.p.tp())
			return
		}
		f.m.logger.Warn("follower append failed", "topic", st.p.topic, "partition", st.p.id, "err", err)
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		return
	}
	st.caughtUp = st.p.log.LogEndOffset() >= rp.HighWatermark
	if q := f.m.quotas.follower; q.isThrottled(st.p.topic, st.p.id) {
		q.record(int64(len(records)), time.Now())
	}
}

// unthrottled leaves out of a fetch the partitions the follower quota holds
// back (ReplicaFetcherThread.shouldFollowerThrottle: throttled, not caught
// up, quota exceeded). When it holds back every partition they back off,
// as Kafka's fetcher waits fetchBackOffMs on an empty fetch.
func (f *replicaFetcher) unthrottled(sts []*fetchState) []*fetchState {
	q := f.m.quotas.follower
	now := time.Now()
	out := sts[:0:0]
	var held []*fetchState
	for _, st := range sts {
		if !st.caughtUp && q.isThrottled(st.p.topic, st.p.id) && q.isQuotaExceeded(now) {
			held = append(held, st)
			continue
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		backoff := min(f.m.cfg.ReplicaFetchBackoff, time.Duration(q.windowMs)*time.Millisecond)
		for _, st := range held {
			f.delay(st, backoff)
		}
	}
	return out
}

// handleOutOfRange: the leader has no data at our LEO. If its LEO is
// below ours, truncate to it; if its log start is above ours, start over
// there (ReplicaFetcherThread's fetchEarliestOffsetFromLeader path).
func (f *replicaFetcher) handleOutOfRange(ctx context.Context, st *fetchState) {
	// One request per timestamp (fetchLatestOffsetFromLeader,
	// fetchEarliestOffsetFromLeader): a leader answers a partition asked
	// twice in one request INVALID_REQUEST.
	latest, ok := f.leaderOffset(ctx, st, latestTimestamp)
	if !ok {
		return
	}
	earliest, ok := f.leaderOffset(ctx, st, earliestTimestamp)
	if !ok {
		return
	}
	leo := st.p.log.LogEndOffset()
	var err error
	switch {
	case latest.Offset < leo:
		err = st.p.truncateAsFollower(latest.Offset, st.epoch)
	case earliest.Offset > leo || leo < st.p.log.LogStartOffset():
		err = st.p.restartAsFollowerAt(earliest.Offset, st.epoch)
	default:
		// The leader's offsets do not explain the error (e.g. it cannot
		// place our last fetched epoch): fetching again at once would get
		// the same answer, so back off as on any other partition error.
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		return
	}
	if err != nil {
		f.m.logger.Warn("follower could not recover from OFFSET_OUT_OF_RANGE", "topic", st.p.topic, "partition", st.p.id, "err", err)
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
	}
}

// leaderOffset asks the leader for one partition's offset at a special
// timestamp; ok is false (and the partition delayed) on any error.
func (f *replicaFetcher) leaderOffset(ctx context.Context, st *fetchState, timestamp int64) (kmsg.ListOffsetsResponseTopicPartition, bool) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	req.ReplicaID = f.m.cfg.BrokerID
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = st.p.topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = st.p.id
	rp.CurrentLeaderEpoch = st.epoch
	rp.Timestamp = timestamp
	t.Partitions = append(t.Partitions, rp)
	req.Topics = append(req.Topics, t)
	kresp, ok := f.request(ctx, req, []*fetchState{st})
	if !ok {
		return kmsg.ListOffsetsResponseTopicPartition{}, false
	}
	resp := kresp.(*kmsg.ListOffsetsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		f.delay(st, f.m.cfg.ReplicaFetchBackoff)
		return kmsg.ListOffsetsResponseTopicPartition{}, false
	}
	return resp.Topics[0].Partitions[0], true
}

// wholeBatches drops a partial trailing batch (a fetch may end inside one).
func wholeBatches(records []byte) []byte {
	pos := 0
	for pos+storage.BatchHeaderSize <= len(records) {
		h, err := storage.ParseBatchHeader(records[pos:])
		if err != nil || h.Size() > int64(len(records)-pos) || h.Size() <= 0 {
			break
		}
		pos += int(h.Size())
	}
	return records[:pos]
}

// secureClient sets up c for listener: Server.secureClient, or the
// listener's TLS alone when the manager runs without a server (tests).
func (m *fetcherManager) secureClient(c *protocol.Client, listener string) {
	if m.secure != nil {
		m.secure(c, listener)
		return
	}
	c.SetTLS(m.cfg.ClientTLS(listener)) // nil: plaintext (tls.go)
}
