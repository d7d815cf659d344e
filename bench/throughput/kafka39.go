package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/bench/internal/kafkaref"
)

// startKafka39 starts n Apache Kafka 3.9 brokers (ids 0..n-1) in ZooKeeper mode on the bench's ZooKeeper
// zkAddr, in their own chroot, with Kafka's defaults and default JVM flags (kafkaref.DefaultJVMArgs). One
// broker is the "kafka39" target (RF 1, like ours); n > 1 is "kafka39-rfN": topics and the internal topics
// with replication factor n, min.insync.replicas=2, like ours-rfN.
// With secAddrs set (n == 1) the broker also has the SSL, SASL_SSL and SASL_PLAINTEXT listeners of
// kafka39Security, their addresses put into secAddrs.
func startKafka39(ctx context.Context, in kafkaref.Install, dir, zkAddr string, n int, secAddrs map[string]string) (*target, error) {
	name, chroot := "kafka39", "/kafka39"
	overrides := map[string]string{}
	if n > 1 {
		name, chroot = fmt.Sprintf("kafka39-rf%d", n), fmt.Sprintf("/kafka39-rf%d", n)
		overrides = map[string]string{
			"offsets.topic.replication.factor":         strconv.Itoa(n),
			"transaction.state.log.replication.factor": strconv.Itoa(n),
			"transaction.state.log.min.isr":            "1",
			"min.insync.replicas":                      "2",
		}
	}
	var brokers []*kafkaref.Broker
	stop := func() {
		if n == 1 && len(brokers) == 1 {
			brokers[0].Stop(30 * time.Second)
			return
		}
		// A cluster's last brokers retry their controlled shutdown while their partitions have nowhere to go.
		kafkaref.StopAll(brokers, 15*time.Second)
	}
	addrs := make([]string, n)
	for id := range n {
		addr, err := freeAddr()
		if err != nil {
			stop()
			return nil, err
		}
		addrs[id] = addr
		if secAddrs != nil && n == 1 {
			sec, la, err := kafka39Security(filepath.Join(dir, name, "security"), addr)
			if err != nil {
				stop()
				return nil, err
			}
			maps.Copy(overrides, sec)
			maps.Copy(secAddrs, la)
		}
		slog.Info("starting Kafka 3.9 broker", "target", name, "id", id, "addr", addr)
		b, err := kafkaref.Start(in, kafkaref.Options{
			ID: id, Addr: addr, Connect: zkAddr + chroot,
			Dir:       filepath.Join(dir, name, strconv.Itoa(id)),
			Overrides: overrides,
		})
		if err != nil {
			stop()
			return nil, err
		}
		brokers = append(brokers, b)
	}
	t := &target{
		name: name, bootstrap: addrs[0], rf: int16(n), stop: stop,
		logTail: func() string {
			var sb strings.Builder
			for _, b := range brokers {
				fmt.Fprintf(&sb, "Kafka 3.9 broker %d (%s):\n%s\n", b.ID, b.LogFile, b.LogTail(15))
			}
			return sb.String()
		},
		serverCPU: func() (time.Duration, error) {
			var sum time.Duration
			for _, b := range brokers {
				d, err := procCPU(b.Pid())
				if err != nil {
					return 0, err
				}
				sum += d
			}
			return sum, nil
		},
	}
	for _, b := range brokers {
		if err := b.WaitReady(ctx, n); err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if n == 1 {
		t.rf = 0
	}
	return t, nil
}

// kafka39Targets starts the kafka39 target, and kafka39-rfN when replicated > 1, on ZooKeeper zkAddr; with
// secure also kafka39-tls and kafka39-sasl-ssl on the kafka39 broker's own SSL and SASL_SSL listeners. When
// Kafka 3.9 or java is missing it writes why (naming `make deps`) to note and returns no targets: the bench
// runs without the Kafka column.
func kafka39Targets(ctx context.Context, dir, zkAddr string, replicated int, secure bool, note func(string)) ([]*target, error) {
	in, err := kafkaref.Find()
	if err != nil {
		note(fmt.Sprintf("kafka39 column skipped: %v", err))
		return nil, nil
	}
	var ts []*target
	var secAddrs map[string]string
	if secure {
		secAddrs = map[string]string{}
	}
	one, err := startKafka39(ctx, in, dir, zkAddr, 1, secAddrs)
	if err != nil {
		return nil, err
	}
	ts = append(ts, one)
	if secure {
		if err := createBenchUser(ctx, one.bootstrap, secAddrs["SASL_PLAINTEXT"]); err != nil {
			one.stop()
			return nil, fmt.Errorf("kafka39: %w", err)
		}
		ts = append(ts, kafka39Secured(one, secAddrs)...)
	}
	if replicated > 1 {
		rep, err := startKafka39(ctx, in, dir, zkAddr, replicated, nil)
		if err != nil {
			one.stop()
			return nil, err
		}
		ts = append(ts, rep)
	}
	return ts, nil
}
