package reassign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// command runs one action against an admin client.
type command struct {
	*env
	adm admin
}

// call bounds one admin call the way the Java client's default.api.timeout.ms does.
func (c *command) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.callTimeout)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func isUnknownTopic(err error) bool {
	var je *cli.JavaError
	return errors.As(err, &je) && je.Class == cli.ErrorClasses[kerr.UnknownTopicOrPartition.Code]
}

// ---- --generate ----

func (c *command) generate(ctx context.Context, topicsJSON, brokerList string, rackAware bool) error {
	brokers, topics, err := parseGenerateArgs(topicsJSON, brokerList)
	if err != nil {
		return err
	}
	current, err := c.assignmentForTopics(ctx, topics)
	if err != nil {
		return err
	}
	metas, err := c.brokerMetadata(ctx, brokers, rackAware)
	if err != nil {
		return err
	}
	proposed, err := c.calculateAssignment(current, metas)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Current partition replica assignment\n%s\n\n", formatReassignmentJSON(current, nil))
	fmt.Fprintf(c.stdout, "Proposed partition reassignment configuration\n%s\n", formatReassignmentJSON(proposed, nil))
	return nil
}

// javaSetText is AbstractCollection.toString of a HashSet: "[a, b]".
func javaSetText[T any](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func parseGenerateArgs(topicsJSON, brokerList string) ([]int32, []string, error) {
	parts := strings.Split(brokerList, ",")
	for len(parts) > 1 && parts[len(parts)-1] == "" { // String.split drops trailing empty strings
		parts = parts[:len(parts)-1]
	}
	var brokers []int32
	count := map[int32]int{}
	var dupBrokers []int32
	for _, p := range parts {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return nil, nil, &cli.JavaError{Class: "java.lang.NumberFormatException", Msg: fmt.Sprintf("For input string: \"%s\"", p)}
		}
		brokers = append(brokers, int32(n))
		count[int32(n)]++
		if count[int32(n)] == 2 {
			dupBrokers = append(dupBrokers, int32(n))
		}
	}
	if len(dupBrokers) > 0 {
		return nil, nil, adminCommandFailed("Broker list contains duplicate entries: " + javaSetText(javaSetOrderInts(dupBrokers)))
	}
	topics, err := parseTopicsData(topicsJSON)
	if err != nil {
		return nil, nil, err
	}
	tcount := map[string]int{}
	var dupTopics []string
	for _, t := range topics {
		tcount[t]++
		if tcount[t] == 2 {
			dupTopics = append(dupTopics, t)
		}
	}
	if len(dupTopics) > 0 {
		return nil, nil, adminCommandFailed("List of topics to reassign contains duplicate entries: " + javaSetText(javaSetOrderStrings(dupTopics)))
	}
	return brokers, topics, nil
}

// describeTopics is the command's describeTopics: a missing topic fails the call with
// "Topic X not found.".
func (c *command) describeTopics(ctx context.Context, topics []string) (map[string]topicInfo, error) {
	uniq := map[string]bool{}
	var list []string
	for _, t := range topics {
		if !uniq[t] {
			uniq[t] = true
			list = append(list, t)
		}
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	infos, errs, err := c.adm.DescribeTopics(cctx, list)
	if err != nil {
		return nil, err
	}
	for _, t := range javaSetOrderStrings(list) {
		if e := errs[t]; e != nil {
			if isUnknownTopic(e) {
				return nil, executionError(&cli.JavaError{Class: cli.ErrorClasses[kerr.UnknownTopicOrPartition.Code], Msg: "Topic " + t + " not found."})
			}
			return nil, executionError(e)
		}
	}
	return infos, nil
}

func (c *command) assignmentForTopics(ctx context.Context, topics []string) (map[tp][]int32, error) {
	infos, err := c.describeTopics(ctx, topics)
	if err != nil {
		return nil, err
	}
	out := map[tp][]int32{}
	for t, info := range infos {
		for _, p := range info.Partitions {
			out[tp{t, p.Partition}] = p.Replicas
		}
	}
	return out, nil
}

func (c *command) assignmentForPartitions(ctx context.Context, parts map[tp][]int32) (map[tp][]int32, error) {
	var topics []string
	for p := range parts {
		topics = append(topics, p.Topic)
	}
	infos, err := c.describeTopics(ctx, topics)
	if err != nil {
		return nil, err
	}
	out := map[tp][]int32{}
	for t, info := range infos {
		for _, p := range info.Partitions {
			k := tp{t, p.Partition}
			if _, ok := parts[k]; ok {
				out[k] = p.Replicas
			}
		}
	}
	return out, nil
}

func (c *command) describeCluster(ctx context.Context) ([]node, error) {
	cctx, cancel := c.call(ctx)
	defer cancel()
	return c.adm.DescribeCluster(cctx)
}

// brokerMetadata is getBrokerMetadata: the live brokers of the list, in the cluster's order.
func (c *command) brokerMetadata(ctx context.Context, brokers []int32, rackAware bool) ([]brokerMeta, error) {
	nodes, err := c.describeCluster(ctx)
	if err != nil {
		return nil, err
	}
	want := map[int32]bool{}
	for _, b := range brokers {
		want[b] = true
	}
	var out []brokerMeta
	rackless := 0
	for _, n := range nodes {
		if !want[n.ID] {
			continue
		}
		m := brokerMeta{ID: n.ID}
		if rackAware && n.Rack != nil {
			m.Rack = *n.Rack
		} else {
			rackless++
		}
		out = append(out, m)
	}
	if rackAware && rackless != 0 && rackless != len(out) {
		return nil, adminOperationError("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.")
	}
	return out, nil
}

func (c *command) calculateAssignment(current map[tp][]int32, brokers []brokerMeta) (map[tp][]int32, error) {
	byTopic := map[string][]tp{}
	for p := range current {
		byTopic[p.Topic] = append(byTopic[p.Topic], p)
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	out := map[tp][]int32{}
	for _, t := range javaSetOrderStrings(topics) {
		parts := byTopic[t]
		sort.Slice(parts, func(i, j int) bool { return parts[i].Partition < parts[j].Partition })
		assigned, err := assignReplicas(brokers, len(parts), len(current[parts[0]]), c.rnd)
		if err != nil {
			return nil, err
		}
		for pid, replicas := range assigned {
			out[tp{t, pid}] = replicas
		}
	}
	return out, nil
}

// ---- --execute ----

func (c *command) listReassignments(ctx context.Context, parts []tp) (map[tp]ongoing, error) {
	cctx, cancel := c.call(ctx)
	defer cancel()
	return c.adm.ListReassignments(cctx, parts)
}

func (c *command) execute(ctx context.Context, additional bool, data string, throttle, logDirThrottle int64, timeout time.Duration) error {
	proposedParts, proposedReplicas, err := parseExecuteArgs(data)
	if err != nil {
		return err
	}
	currentReassignments, err := c.listReassignments(ctx, nil)
	if err != nil {
		return err
	}
	if !additional && len(currentReassignments) > 0 {
		return &terseError{cannotExecuteBecauseOfExisting}
	}
	brokerSet := map[int32]bool{}
	for _, replicas := range proposedParts {
		for _, r := range replicas {
			brokerSet[r] = true
		}
	}
	if err := c.verifyBrokerIDs(ctx, brokerSet); err != nil {
		return err
	}
	currentParts, err := c.assignmentForPartitions(ctx, proposedParts)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, currentAssignmentText(proposedParts, currentParts))

	if throttle >= 0 || logDirThrottle >= 0 {
		fmt.Fprintln(c.stdout, mustRunVerify)
		if throttle >= 0 {
			moves, err := proposedMoveMap(currentReassignments, proposedParts, currentParts)
			if err != nil {
				return err
			}
			if err := c.modifyReassignmentThrottle(ctx, moves, throttle); err != nil {
				return err
			}
		}
		if logDirThrottle >= 0 {
			moving := map[int32]bool{}
			for r := range proposedReplicas {
				moving[r.Broker] = true
			}
			if err := c.modifyLogDirThrottle(ctx, moving, logDirThrottle); err != nil {
				return err
			}
		}
	}

	cctx, cancel := c.call(ctx)
	errs, err := c.adm.AlterReassignments(cctx, proposedParts)
	cancel()
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		var lines []string
		for _, p := range sortedTPs(errs) {
			_, msg := javaClassOf(errs[p])
			lines = append(lines, p.String()+": "+msg)
		}
		return &terseError{"Error reassigning partition(s):\n" + strings.Join(lines, "\n")}
	}
	names := make([]string, 0, len(proposedParts))
	for _, p := range sortedTPs(proposedParts) {
		names = append(names, p.String())
	}
	fmt.Fprintf(c.stdout, "Successfully started partition reassignment%s for %s\n", plural(len(proposedParts)), strings.Join(names, ","))
	if len(proposedReplicas) > 0 {
		return c.executeMoves(ctx, proposedReplicas, timeout)
	}
	return nil
}

// verifyBrokerIDs fails on the first broker (in HashSet order) the cluster does not know.
func (c *command) verifyBrokerIDs(ctx context.Context, brokers map[int32]bool) error {
	nodes, err := c.describeCluster(ctx)
	if err != nil {
		return err
	}
	known := map[int32]bool{}
	for _, n := range nodes {
		known[n.ID] = true
	}
	ids := make([]int32, 0, len(brokers))
	for b := range brokers {
		ids = append(ids, b)
	}
	for _, b := range javaSetOrderInts(ids) {
		if !known[b] {
			return adminCommandFailed(fmt.Sprintf("Unknown broker id %d", b))
		}
	}
	return nil
}

// currentAssignmentText is currentPartitionReplicaAssignmentToString.
func currentAssignmentText(proposed, current map[tp][]int32) string {
	toMove := map[tp][]int32{}
	for p, r := range current {
		if _, ok := proposed[p]; ok {
			toMove[p] = r
		}
	}
	return fmt.Sprintf("Current partition replica assignment\n\n%s\n\nSave this to use as the %s",
		formatReassignmentJSON(toMove, nil), "--reassignment-json-file option during rollback")
}

// partitionMove is a PartitionMove: the brokers a partition is copied from and to.
type partitionMove struct {
	Sources, Destinations map[int32]bool
}

func setOf(v []int32) map[int32]bool {
	m := make(map[int32]bool, len(v))
	for _, x := range v {
		m[x] = true
	}
	return m
}

// proposedMoveMap is calculateProposedMoveMap: ongoing moves, overridden by the proposed ones.
func proposedMoveMap(current map[tp]ongoing, proposed, currentParts map[tp][]int32) (map[string]map[int32]partitionMove, error) {
	moves := map[string]map[int32]partitionMove{}
	add := func(p tp, m partitionMove) {
		if moves[p.Topic] == nil {
			moves[p.Topic] = map[int32]partitionMove{}
		}
		moves[p.Topic][p.Partition] = m
	}
	for p, o := range current {
		sources := setOf(o.Replicas)
		for _, a := range o.Adding {
			delete(sources, a)
		}
		add(p, partitionMove{Sources: sources, Destinations: setOf(o.Adding)})
	}
	for _, p := range sortedTPs(proposed) {
		var sources map[int32]bool
		if m, ok := moves[p.Topic][p.Partition]; ok {
			sources = m.Sources
		} else if r, ok := currentParts[p]; ok {
			sources = setOf(r)
		} else {
			return nil, &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "Trying to reassign a topic partition " + p.String() + " with 0 replicas"}
		}
		dest := setOf(proposed[p])
		for s := range sources {
			delete(dest, s)
		}
		add(p, partitionMove{Sources: sources, Destinations: dest})
	}
	return moves, nil
}

// throttleValue is a sorted set of "partition:broker" strings joined with commas.
func throttleValue(parts map[int32]partitionMove, pick func(partitionMove) []int32) string {
	set := map[string]bool{}
	for pid, m := range parts {
		for _, b := range pick(m) {
			set[fmt.Sprintf("%d:%d", pid, b)] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out) // TreeSet<String>: lexicographic
	return strings.Join(out, ",")
}

func keys(m map[int32]bool) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// leaderThrottles is calculateLeaderThrottles.
func leaderThrottles(moves map[string]map[int32]partitionMove) map[string]string {
	out := map[string]string{}
	for t, parts := range moves {
		out[t] = throttleValue(parts, func(m partitionMove) []int32 { return keys(m.Sources) })
	}
	return out
}

// followerThrottles is calculateFollowerThrottles.
func followerThrottles(moves map[string]map[int32]partitionMove) map[string]string {
	out := map[string]string{}
	for t, parts := range moves {
		out[t] = throttleValue(parts, func(m partitionMove) []int32 {
			var d []int32
			for b := range m.Destinations {
				if !m.Sources[b] {
					d = append(d, b)
				}
			}
			return d
		})
	}
	return out
}

func reassigningBrokers(moves map[string]map[int32]partitionMove) map[int32]bool {
	out := map[int32]bool{}
	for _, parts := range moves {
		for _, m := range parts {
			for b := range m.Sources {
				out[b] = true
			}
			for b := range m.Destinations {
				out[b] = true
			}
		}
	}
	return out
}

func (c *command) alterConfigs(ctx context.Context, ops map[configResource][]configOp) error {
	cctx, cancel := c.call(ctx)
	defer cancel()
	return c.adm.IncrementalAlterConfigs(cctx, ops)
}

func (c *command) modifyReassignmentThrottle(ctx context.Context, moves map[string]map[int32]partitionMove, throttle int64) error {
	leader, follower := leaderThrottles(moves), followerThrottles(moves)
	ops := map[configResource][]configOp{}
	for t := range moves {
		l, f := leader[t], follower[t]
		ops[configResource{Name: t}] = []configOp{{Name: topicLeaderThrottle, Value: &l}, {Name: topicFollowerThrottle, Value: &f}}
	}
	if err := c.alterConfigs(ctx, ops); err != nil {
		return err
	}
	rate := strconv.FormatInt(throttle, 10)
	ops = map[configResource][]configOp{}
	for b := range reassigningBrokers(moves) {
		ops[configResource{Broker: true, Name: strconv.Itoa(int(b))}] = []configOp{
			{Name: brokerLeaderThrottle, Value: &rate}, {Name: brokerFollowerThrottle, Value: &rate}}
	}
	if err := c.alterConfigs(ctx, ops); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "The inter-broker throttle limit was set to %d B/s\n", throttle)
	return nil
}

func (c *command) modifyLogDirThrottle(ctx context.Context, brokers map[int32]bool, throttle int64) error {
	rate := strconv.FormatInt(throttle, 10)
	ops := map[configResource][]configOp{}
	for b := range brokers {
		ops[configResource{Broker: true, Name: strconv.Itoa(int(b))}] = []configOp{{Name: brokerLogDirThrottle, Value: &rate}}
	}
	if err := c.alterConfigs(ctx, ops); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "The replica-alter-dir throttle limit was set to %d B/s\n", throttle)
	return nil
}

func sortedTPRs[V any](m map[tpr]V) []tpr {
	out := make([]tpr, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return tprLess(out[i], out[j]) })
	return out
}

func joinTPRs(rs []tpr) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// executeMoves is executeMoves: retry AlterReplicaLogDirs every 100 ms until every replica's move
// has started or the timeout passes.
func (c *command) executeMoves(ctx context.Context, replicas map[tpr]string, timeout time.Duration) error {
	start := c.now()
	pending := make(map[tpr]string, len(replicas))
	for k, v := range replicas {
		pending[k] = v
	}
	for {
		cctx, cancel := c.call(ctx)
		errs, err := c.adm.AlterReplicaLogDirs(cctx, pending)
		cancel()
		if err != nil {
			first := sortedTPRs(pending)[0]
			return adminCommandFailed("Failed to alter dir for " + first.String())
		}
		completed := map[tpr]bool{}
		for _, r := range sortedTPRs(pending) {
			e, failed := errs[r]
			if !failed {
				completed[r] = true
				continue
			}
			var je *cli.JavaError
			if errors.As(e, &je) && je.Class == "org.apache.kafka.common.errors.ReplicaNotAvailableException" {
				continue
			}
			return adminCommandFailed("Failed to alter dir for " + r.String())
		}
		if len(completed) > 0 {
			done := sortedTPRs(completed)
			fmt.Fprintf(c.stdout, "Successfully started log directory move%s for: %s\n", plural(len(done)), joinTPRs(done))
		}
		for r := range completed {
			delete(pending, r)
		}
		if len(pending) == 0 {
			return nil
		}
		if !c.now().Before(start.Add(timeout)) {
			return &terseError{fmt.Sprintf("Timed out before log directory move%s could be started for: %s", plural(len(pending)), joinTPRs(sortedTPRs(pending)))}
		}
		if err := c.sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting to retry log directory moves: %w", err)
		}
	}
}

// ---- --verify ----

// reassignmentState is a PartitionReassignmentState.
type reassignmentState struct {
	Current, Target []int32
	Done            bool
}

func equalInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// statesText is partitionReassignmentStatesToString.
func statesText(states map[tp]reassignmentState) string {
	lines := []string{"Status of partition reassignment:"}
	for _, p := range sortedTPs(states) {
		s := states[p]
		switch {
		case !s.Done:
			lines = append(lines, fmt.Sprintf("Reassignment of partition %s is still in progress.", p))
		case equalInts(s.Current, s.Target):
			lines = append(lines, fmt.Sprintf("Reassignment of partition %s is completed.", p))
		default:
			lines = append(lines, fmt.Sprintf("There is no active reassignment of partition %s, but replica set is %s rather than %s.",
				p, joinInts(s.Current, ","), joinInts(s.Target, ",")))
		}
	}
	return strings.Join(lines, "\n")
}

// findStates is findPartitionReassignmentStates; ongoing reports whether any reassignment at all
// is in progress in the cluster.
func (c *command) findStates(ctx context.Context, targets []target) (map[tp]reassignmentState, bool, error) {
	current, err := c.listReassignments(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	states := map[tp]reassignmentState{}
	var lookUp []string
	for _, t := range targets {
		if _, ok := current[t.TP]; !ok {
			lookUp = append(lookUp, t.TP.Topic)
		}
	}
	var infos map[string]topicInfo
	var topicErrs map[string]error
	if len(lookUp) > 0 {
		cctx, cancel := c.call(ctx)
		infos, topicErrs, err = c.adm.DescribeTopics(cctx, dedup(lookUp))
		cancel()
		if err != nil {
			return nil, false, err
		}
	}
	for _, t := range targets {
		if o, ok := current[t.TP]; ok {
			states[t.TP] = reassignmentState{Current: o.Replicas, Target: t.Replicas}
			continue
		}
		if e := topicErrs[t.TP.Topic]; e != nil {
			if isUnknownTopic(e) {
				states[t.TP] = reassignmentState{Current: []int32{}, Target: t.Replicas, Done: true}
				continue
			}
			return nil, false, executionError(e)
		}
		parts := infos[t.TP.Topic].Partitions
		switch n := int32(len(parts)); {
		case n < t.TP.Partition:
			states[t.TP] = reassignmentState{Current: []int32{}, Target: t.Replicas, Done: true}
			continue
		case n == t.TP.Partition || t.TP.Partition < 0:
			return nil, false, &cli.JavaError{Class: "java.lang.IndexOutOfBoundsException", Msg: fmt.Sprintf("Index %d out of bounds for length %d", t.TP.Partition, n)}
		}
		states[t.TP] = reassignmentState{Current: parts[t.TP.Partition].Replicas, Target: t.Replicas, Done: true}
	}
	return states, len(current) > 0, nil
}

func dedup(v []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// logDirMoveState is a LogDirMoveState.
type logDirMoveState struct {
	Kind                  string // "missingReplica", "missingLogDir", "active", "cancelled", "completed"
	Current, Target, Next string
}

func (s logDirMoveState) done() bool { return s.Kind != "active" }

func (c *command) findLogDirMoveStates(ctx context.Context, targets map[tpr]string) (map[tpr]logDirMoveState, error) {
	out := map[tpr]logDirMoveState{}
	if len(targets) == 0 {
		return out, nil
	}
	cctx, cancel := c.call(ctx)
	infos, err := c.adm.DescribeReplicaLogDirs(cctx, sortedTPRs(targets))
	cancel()
	if err != nil {
		return nil, err
	}
	for r, dir := range targets {
		info, ok := infos[r]
		switch {
		case !ok:
			out[r] = logDirMoveState{Kind: "missingReplica", Target: dir}
		case info.Current == "":
			out[r] = logDirMoveState{Kind: "missingLogDir", Target: dir}
		case info.Future == "" && info.Current == dir:
			out[r] = logDirMoveState{Kind: "completed", Target: dir}
		case info.Future == "":
			out[r] = logDirMoveState{Kind: "cancelled", Current: info.Current, Target: dir}
		default:
			out[r] = logDirMoveState{Kind: "active", Current: info.Current, Target: dir, Next: info.Future}
		}
	}
	return out, nil
}

// moveStatesText is replicaMoveStatesToString.
func moveStatesText(states map[tpr]logDirMoveState) string {
	var lines []string
	for _, r := range sortedTPRs(states) {
		s := states[r]
		switch s.Kind {
		case "missingLogDir":
			lines = append(lines, fmt.Sprintf("Partition %s-%d is not found in any live log dir on broker %d. There is likely an offline log directory on the broker.", r.Topic, r.Partition, r.Broker))
		case "missingReplica":
			lines = append(lines, fmt.Sprintf("Partition %s-%d cannot be found in any live log directory on broker %d.", r.Topic, r.Partition, r.Broker))
		case "active":
			if s.Target == s.Next {
				lines = append(lines, fmt.Sprintf("Reassignment of replica %s is still in progress.", r))
			} else {
				lines = append(lines, fmt.Sprintf("Partition %s-%d on broker %d is being moved to log dir %s instead of %s.", r.Topic, r.Partition, r.Broker, s.Next, s.Target))
			}
		case "cancelled":
			lines = append(lines, fmt.Sprintf("Partition %s-%d on broker %d is not being moved from log dir %s to %s.", r.Topic, r.Partition, r.Broker, s.Current, s.Target))
		case "completed":
			lines = append(lines, fmt.Sprintf("Reassignment of replica %s completed successfully.", r))
		}
	}
	return strings.Join(lines, "\n")
}

func (c *command) verify(ctx context.Context, data string, preserveThrottles bool) error {
	d, err := parseReassignmentData(data)
	if err != nil {
		return err
	}
	states, partsOngoing, err := c.findStates(ctx, d.Parts)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, statesText(states))
	moves, err := c.findLogDirMoveStates(ctx, d.LogDirs)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, moveStatesText(moves))
	movesOngoing := false
	for _, m := range moves {
		movesOngoing = movesOngoing || !m.done()
	}
	if !partsOngoing && !movesOngoing && !preserveThrottles {
		return c.clearAllThrottles(ctx, d.Parts)
	}
	return nil
}

// clearAllThrottles removes the broker-level throttles of every broker of the cluster and of the
// targets, and the topic-level throttles of the targets' topics.
func (c *command) clearAllThrottles(ctx context.Context, targets []target) error {
	nodes, err := c.describeCluster(ctx)
	if err != nil {
		return err
	}
	brokerSet := map[int32]bool{}
	for _, n := range nodes {
		brokerSet[n.ID] = true
	}
	topicSet := map[string]bool{}
	for _, t := range targets {
		for _, r := range t.Replicas {
			brokerSet[r] = true
		}
		topicSet[t.TP.Topic] = true
	}
	brokers := javaSetOrderInts(keys(brokerSet))
	fmt.Fprintf(c.stdout, "Clearing broker-level throttles on broker%s %s\n", plural(len(brokers)), joinInts(brokers, ","))
	ops := map[configResource][]configOp{}
	for _, b := range brokers {
		ops[configResource{Broker: true, Name: strconv.Itoa(int(b))}] = []configOp{
			{Name: brokerLeaderThrottle, Delete: true}, {Name: brokerFollowerThrottle, Delete: true}, {Name: brokerLogDirThrottle, Delete: true}}
	}
	if err := c.alterConfigs(ctx, ops); err != nil {
		return err
	}
	topicList := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topicList = append(topicList, t)
	}
	topics := javaSetOrderStrings(topicList)
	fmt.Fprintf(c.stdout, "Clearing topic-level throttles on topic%s %s\n", plural(len(topics)), strings.Join(topics, ","))
	ops = map[configResource][]configOp{}
	for _, t := range topics {
		ops[configResource{Name: t}] = []configOp{{Name: topicLeaderThrottle, Delete: true}, {Name: topicFollowerThrottle, Delete: true}}
	}
	return c.alterConfigs(ctx, ops)
}

// ---- --cancel ----

func (c *command) cancel(ctx context.Context, data string, preserveThrottles bool, timeout time.Duration) error {
	d, err := parseReassignmentData(data)
	if err != nil {
		return err
	}
	var parts []tp
	seen := map[tp]bool{}
	for _, t := range d.Parts {
		if !seen[t.TP] {
			seen[t.TP] = true
			parts = append(parts, t.TP)
		}
	}
	current, err := c.listReassignments(ctx, parts)
	if err != nil {
		return err
	}
	toCancel := map[tp][]int32{}
	for p, o := range current {
		if len(o.Adding) == 0 || len(o.Removing) > 0 {
			toCancel[p] = nil
		}
	}
	if len(toCancel) > 0 {
		cctx, cancel := c.call(ctx)
		errs, err := c.adm.AlterReassignments(cctx, toCancel)
		cancel()
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			var lines []string
			for _, p := range sortedTPs(errs) {
				_, msg := javaClassOf(errs[p])
				lines = append(lines, p.String()+": "+msg)
			}
			return &terseError{fmt.Sprintf("Error cancelling partition reassignment%s for:\n%s", plural(len(errs)), strings.Join(lines, "\n"))}
		}
		names := make([]string, 0, len(toCancel))
		for _, p := range sortedTPs(toCancel) {
			names = append(names, p.String())
		}
		fmt.Fprintf(c.stdout, "Successfully cancelled partition reassignment%s for: %s\n", plural(len(toCancel)), strings.Join(names, ","))
	} else {
		fmt.Fprintln(c.stdout, "None of the specified partition reassignments are active.")
	}
	moves, err := c.findLogDirMoveStates(ctx, d.LogDirs)
	if err != nil {
		return err
	}
	moving := map[tpr]string{}
	for r, s := range moves {
		if s.Kind == "active" {
			moving[r] = s.Current
		}
	}
	if len(moving) == 0 {
		fmt.Fprint(c.stdout, "None of the specified partition moves are active.") // no newline, as in Kafka
	} else if err := c.executeMoves(ctx, moving, timeout); err != nil {
		return err
	}
	if !preserveThrottles {
		return c.clearAllThrottles(ctx, d.Parts)
	}
	return nil
}

// ---- --list ----

func (c *command) list(ctx context.Context) error {
	current, err := c.listReassignments(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, reassignmentsText(current))
	return nil
}

// reassignmentsText is curReassignmentsToString.
func reassignmentsText(current map[tp]ongoing) string {
	if len(current) == 0 {
		return "No partition reassignments found."
	}
	var lines []string
	for _, p := range sortedTPs(current) {
		o := current[p]
		line := fmt.Sprintf("%s: replicas: %s.", p, joinInts(o.Replicas, ","))
		if len(o.Adding) > 0 {
			line += fmt.Sprintf(" adding: %s.", joinInts(o.Adding, ","))
		}
		if len(o.Removing) > 0 {
			line += fmt.Sprintf(" removing: %s.", joinInts(o.Removing, ","))
		}
		lines = append(lines, line)
	}
	return "Current partition reassignments:\n" + strings.Join(lines, "\n")
}
