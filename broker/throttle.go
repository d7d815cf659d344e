package broker

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Replication quotas (Kafka's ReplicationQuotaManager, KIP-73). The leader
// quota bounds the bytes this broker sends to followers of its throttled
// replicas, the follower quota the bytes it fetches for its own throttled
// replicas. Which replicas are throttled comes from the topic configs
// leader/follower.replication.throttled.replicas ("*" or "p:b,p:b" lists,
// only entries naming this broker count); the rates from the dynamic
// broker configs leader/follower.replication.throttled.rate (this broker's
// own /config/brokers/<id>, else /config/brokers/<default>, else no bound).

// The dynamic broker config keys this broker applies (DynamicConfig.Broker's
// quota keys).
const (
	leaderThrottledRateKey   = "leader.replication.throttled.rate"
	followerThrottledRateKey = "follower.replication.throttled.rate"
	alterLogDirsRateKey      = "replica.alter.log.dirs.io.max.bytes.per.second"

	leaderThrottledReplicasKey   = "leader.replication.throttled.replicas"
	followerThrottledReplicasKey = "follower.replication.throttled.replicas"
)

// dynamicBrokerKeys are the keys AlterConfigs accepts for a BROKER resource.
var dynamicBrokerKeys = []string{followerThrottledRateKey, leaderThrottledRateKey, alterLogDirsRateKey}

func isDynamicBrokerKey(k string) bool { return slices.Contains(dynamicBrokerKeys, k) }

// Kafka's defaults for the quota sensor window (replication.quota.window.num,
// replication.quota.window.size.seconds).
const (
	defaultQuotaWindowNum  = 11
	defaultQuotaWindowSize = time.Second
)

// rateSample is one window of a sampled rate.
type rateSample struct {
	startMs int64
	bytes   float64
}

// replicationQuota is one ReplicationQuotaManager: a byte rate bound
// measured as Kafka's Rate over numSamples windows of windowMs, and the
// partitions it applies to.
type replicationQuota struct {
	numSamples int
	windowMs   int64

	mu        sync.Mutex
	bound     float64 // bytes/s; +Inf is unthrottled
	samples   []rateSample
	throttled map[string]throttledPartitions
}

// throttledPartitions is one topic's throttled partitions; all is "*".
type throttledPartitions struct {
	all   bool
	parts map[int32]bool
}

func newReplicationQuota(numSamples int, window time.Duration) *replicationQuota {
	if numSamples < 1 {
		numSamples = defaultQuotaWindowNum
	}
	if window <= 0 {
		window = defaultQuotaWindowSize
	}
	return &replicationQuota{numSamples: numSamples, windowMs: window.Milliseconds(),
		bound: math.Inf(1), throttled: map[string]throttledPartitions{}}
}

// updateQuota sets the bound in bytes/s (math.MaxInt64 or less than zero:
// unthrottled).
func (q *replicationQuota) updateQuota(rate int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if rate < 0 || rate == math.MaxInt64 {
		q.bound = math.Inf(1)
		return
	}
	q.bound = float64(rate)
}

// markThrottled replaces the topic's throttled partitions.
func (q *replicationQuota) markThrottled(topic string, t throttledPartitions) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !t.all && len(t.parts) == 0 {
		delete(q.throttled, topic)
		return
	}
	q.throttled[topic] = t
}

// isThrottled reports whether the partition's replication is throttled.
func (q *replicationQuota) isThrottled(topic string, partition int32) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	t, ok := q.throttled[topic]
	return ok && (t.all || t.parts[partition])
}

// isQuotaExceeded reports whether the measured rate is above the bound.
func (q *replicationQuota) isQuotaExceeded(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if math.IsInf(q.bound, 1) {
		return false
	}
	return q.rateLocked(now.UnixMilli()) > q.bound
}

// record adds bytes to the current window.
func (q *replicationQuota) record(bytes int64, now time.Time) {
	if bytes <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	nowMs := now.UnixMilli()
	q.purgeLocked(nowMs)
	if n := len(q.samples); n == 0 || nowMs >= q.samples[n-1].startMs+q.windowMs {
		q.samples = append(q.samples, rateSample{startMs: nowMs})
		if len(q.samples) > q.numSamples {
			q.samples = q.samples[1:]
		}
	}
	q.samples[len(q.samples)-1].bytes += float64(bytes)
}

// rate is Kafka's Rate.measure: the bytes of the live samples over the
// time since the oldest one started, counted as at least numSamples-1 full
// windows (so a fresh quota does not read a huge rate from one sample).
func (q *replicationQuota) rateLocked(nowMs int64) float64 {
	q.purgeLocked(nowMs)
	if len(q.samples) == 0 {
		return 0
	}
	var total float64
	for _, s := range q.samples {
		total += s.bytes
	}
	elapsed := nowMs - q.samples[0].startMs
	full := elapsed / q.windowMs
	if minFull := int64(q.numSamples - 1); full < minFull {
		elapsed += (minFull - full) * q.windowMs
	}
	if elapsed <= 0 {
		elapsed = q.windowMs
	}
	return total / (float64(elapsed) / 1000)
}

// purgeLocked drops samples older than the whole window.
func (q *replicationQuota) purgeLocked(nowMs int64) {
	span := int64(q.numSamples) * q.windowMs
	i := 0
	for i < len(q.samples) && nowMs-q.samples[i].startMs >= span {
		i++
	}
	if i > 0 {
		q.samples = append(q.samples[:0], q.samples[i:]...)
	}
}

// parseThrottledReplicas is ConfigHandler.parseThrottledPartitions: the
// partitions of a throttled-replicas value whose broker is brokerID.
// Malformed entries are skipped.
func parseThrottledReplicas(value string, brokerID int32) throttledPartitions {
	value = strings.TrimSpace(value)
	if value == "*" {
		return throttledPartitions{all: true}
	}
	out := throttledPartitions{parts: map[int32]bool{}}
	for _, e := range strings.Split(value, ",") {
		p, b, ok := strings.Cut(strings.TrimSpace(e), ":")
		if !ok {
			continue
		}
		pi, err1 := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		bi, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
		if err1 != nil || err2 != nil || int32(bi) != brokerID {
			continue
		}
		out.parts[int32(pi)] = true
	}
	return out
}

// replicationQuotas are the broker's quota managers and the dynamic broker
// configs they come from.
type replicationQuotas struct {
	brokerID int32
	leader   *replicationQuota
	follower *replicationQuota

	mu       sync.Mutex
	perBroke map[string]string // /config/brokers/<id>
	defaults map[string]string // /config/brokers/<default>
}

// newReplicationQuotas builds the quota managers with the window of the
// broker's replication.quota.window.* settings.
func newReplicationQuotas(cfg Config) *replicationQuotas {
	num, window := defaultQuotaWindowNum, defaultQuotaWindowSize
	if v, ok := cfg.StaticConfigs["replication.quota.window.num"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			num = n
		}
	}
	if v, ok := cfg.StaticConfigs["replication.quota.window.size.seconds"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			window = time.Duration(n) * time.Second
		}
	}
	return &replicationQuotas{brokerID: cfg.BrokerID,
		leader: newReplicationQuota(num, window), follower: newReplicationQuota(num, window),
		perBroke: map[string]string{}, defaults: map[string]string{}}
}

// setBrokerConfigs replaces this broker's (perBroker) or the cluster
// default's dynamic configs and re-applies the rates
// (BrokerConfigHandler.processConfigChanges).
func (r *replicationQuotas) setBrokerConfigs(perBroker bool, props map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clean := map[string]string{}
	for k, v := range props {
		if isDynamicBrokerKey(k) {
			clean[k] = strings.TrimSpace(v)
		}
	}
	if perBroker {
		r.perBroke = clean
	} else {
		r.defaults = clean
	}
	r.leader.updateQuota(r.rateLocked(leaderThrottledRateKey))
	r.follower.updateQuota(r.rateLocked(followerThrottledRateKey))
}

// rateLocked is the key's value from this broker's configs, else the
// default's, else unbounded.
func (r *replicationQuotas) rateLocked(key string) int64 {
	for _, m := range []map[string]string{r.perBroke, r.defaults} {
		if v, ok := m[key]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return math.MaxInt64
}

// brokerConfigs returns copies of the per-broker and default dynamic configs.
func (r *replicationQuotas) brokerConfigs() (perBroker, defaults map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	perBroker, defaults = map[string]string{}, map[string]string{}
	for k, v := range r.perBroke {
		perBroker[k] = v
	}
	for k, v := range r.defaults {
		defaults[k] = v
	}
	return perBroker, defaults
}

// setTopicConfig applies a topic's throttled-replicas configs
// (TopicConfigHandler.updateThrottledList).
func (r *replicationQuotas) setTopicConfig(topic string, overrides map[string]string) {
	for _, x := range []struct {
		key string
		q   *replicationQuota
	}{{leaderThrottledReplicasKey, r.leader}, {followerThrottledReplicasKey, r.follower}} {
		v := strings.TrimSpace(overrides[x.key])
		if v == "" {
			x.q.markThrottled(topic, throttledPartitions{})
			continue
		}
		x.q.markThrottled(topic, parseThrottledReplicas(v, r.brokerID))
	}
}
