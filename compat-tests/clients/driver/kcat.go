package driver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kcat drives the kcat binary (librdkafka from the OS): it produces and
// consumes, lists metadata and joins groups (-G), but has no admin API.
type Kcat struct{ x []string }

func errKcatAdmin() error {
	return Skip("kcat has no admin API (it lists metadata with -L and queries offsets with -Q only)")
}

// NoTimestamps implements NoTimestamps: kcat -P cannot set a record's timestamp.
func (Kcat) NoTimestamps() {}

func kcatBin() string { return Env("KCAT", "kcat") }

// Metadata implements Client.
func (k Kcat) Metadata(ctx context.Context, addr, topic string) (Meta, error) {
	out, err := exec.CommandContext(ctx, kcatBin(), append(slices.Clone(k.x), "-L", "-b", addr, "-t", topic, "-J")...).Output()
	if err != nil {
		return Meta{}, fmt.Errorf("kcat -L: %w", err)
	}
	var md struct {
		Brokers []struct {
			ID int32 `json:"id"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Error      string `json:"error"`
			Partitions []struct {
				Partition int32 `json:"partition"`
				Leader    int32 `json:"leader"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		return Meta{}, fmt.Errorf("kcat -L -J output %q: %w", out, err)
	}
	m := Meta{Leaders: map[int32]int32{}}
	for _, b := range md.Brokers {
		m.Brokers = append(m.Brokers, b.ID)
	}
	for _, t := range md.Topics {
		if t.Topic != topic {
			continue
		}
		if t.Error != "" {
			return m, errors.New(t.Error)
		}
		for _, p := range t.Partitions {
			m.Leaders[p.Partition] = p.Leader
		}
		return m, nil
	}
	return m, fmt.Errorf("topic %s not in metadata", topic)
}

// ListTopics implements Client: kcat -L without -t asks librdkafka for every
// topic.
func (k Kcat) ListTopics(ctx context.Context, bootstrap []string) ([]string, error) {
	out, err := exec.CommandContext(ctx, kcatBin(), append(slices.Clone(k.x), "-L", "-b", strings.Join(bootstrap, ","), "-J")...).Output()
	if err != nil {
		return nil, fmt.Errorf("kcat -L: %w", err)
	}
	var md struct {
		Topics []struct {
			Topic string `json:"topic"`
			Error string `json:"error"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		return nil, fmt.Errorf("kcat -L -J output %q: %w", out, err)
	}
	var names []string
	for _, t := range md.Topics {
		if t.Error != "" {
			return nil, fmt.Errorf("topic %s: %s", t.Topic, t.Error)
		}
		names = append(names, t.Topic)
	}
	return names, nil
}

// CreateTopic implements Client.
func (Kcat) CreateTopic(context.Context, []string, string, int, int) error { return errKcatAdmin() }

// DescribeTopic implements Client.
func (Kcat) DescribeTopic(context.Context, []string, string) (int, int, error) {
	return 0, 0, errKcatAdmin()
}

// DeleteTopic implements Client.
func (Kcat) DeleteTopic(context.Context, []string, string) error { return errKcatAdmin() }

// TopicConfig implements Client.
func (Kcat) TopicConfig(context.Context, []string, string, string) (string, error) {
	return "", errKcatAdmin()
}

// SetTopicConfig implements Client.
func (Kcat) SetTopicConfig(context.Context, []string, string, string, string) error {
	return errKcatAdmin()
}

// kcatProducer runs one `kcat -P -p N` per partition, writes "key|value"
// lines to its stdin and matches the delivery reports kcat prints at -v -v
// ("Message delivered to partition ..." / "Delivery failed ...") in order to
// the records sent to that partition. kcat serves delivery reports only
// between input lines and at EOF, so Flush closes stdin and waits for the
// processes to exit; the next Send starts new ones.
type kcatProducer struct {
	args  func(partition int32) []string
	mu    sync.Mutex
	procs map[int32]*kcatProc
	wg    sync.WaitGroup
}

type kcatProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	pending []func(error)
	exited  chan struct{}
	tail    []string
}

// NewProducer implements Client.
func (k Kcat) NewProducer(_ context.Context, o ProducerOpts) (Producer, error) {
	p := &kcatProducer{procs: map[int32]*kcatProc{}}
	p.args = func(part int32) []string {
		args := []string{"-P", "-b", strings.Join(o.Bootstrap, ","), "-t", o.Topic, "-p", strconv.Itoa(int(part)),
			"-K", "|", "-v", "-v", "-X", "acks=" + o.Acks, "-X", "linger.ms=5"}
		if o.Codec != "" && o.Codec != "none" {
			args = append(args, "-z", o.Codec)
		}
		if o.Idempotent || o.Retry {
			args = append(args, "-X", "enable.idempotence=true")
		}
		if o.Retry {
			args = append(args, "-X", "message.timeout.ms=90000")
		}
		return append(append(args, k.x...), "-H", "h1=a", "-H", "h2=b c")
	}
	return p, nil
}

func (p *kcatProducer) proc(part int32) (*kcatProc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if kp := p.procs[part]; kp != nil {
		return kp, nil
	}
	cmd := exec.Command(kcatBin(), p.args(part)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting kcat: %w", err)
	}
	kp := &kcatProc{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	p.procs[part] = kp
	go kp.readReports(stderr, &p.wg)
	return kp, nil
}

func (kp *kcatProc) readReports(r io.Reader, wg *sync.WaitGroup) {
	defer close(kp.exited)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		var res error
		switch {
		case strings.Contains(line, "Message delivered to partition"):
		case strings.Contains(line, "Delivery failed for message"):
			res = errors.New(strings.TrimSpace(line))
		default:
			kp.mu.Lock()
			kp.tail = append(kp.tail, line)
			if len(kp.tail) > 20 {
				kp.tail = kp.tail[1:]
			}
			kp.mu.Unlock()
			continue
		}
		kp.mu.Lock()
		var done func(error)
		if len(kp.pending) > 0 {
			done, kp.pending = kp.pending[0], kp.pending[1:]
		}
		kp.mu.Unlock()
		if done != nil {
			done(res)
			wg.Done()
		}
	}
	// kcat is gone: whatever was not reported failed.
	kp.mu.Lock()
	rest := kp.pending
	kp.pending = nil
	tail := strings.Join(kp.tail, "\n")
	kp.mu.Unlock()
	for _, done := range rest {
		done(fmt.Errorf("kcat exited without a delivery report: %s", tail))
		wg.Done()
	}
}

func (p *kcatProducer) Send(_ context.Context, r Rec, done func(error)) {
	kp, err := p.proc(r.P)
	if err != nil {
		done(err)
		return
	}
	key := ""
	if r.K != nil {
		key = *r.K
	}
	p.wg.Add(1)
	kp.mu.Lock()
	kp.pending = append(kp.pending, done)
	kp.mu.Unlock()
	if _, err := io.WriteString(kp.stdin, key+"|"+r.V+"\n"); err != nil {
		kp.mu.Lock()
		if n := len(kp.pending); n > 0 {
			kp.pending = kp.pending[:n-1]
		}
		kp.mu.Unlock()
		done(fmt.Errorf("writing to kcat: %w", err))
		p.wg.Done()
	}
}

// Flush ends the running kcat processes: at EOF kcat waits for every
// delivery report and exits.
func (p *kcatProducer) Flush(ctx context.Context) error {
	p.mu.Lock()
	procs := p.procs
	p.procs = map[int32]*kcatProc{}
	p.mu.Unlock()
	for _, kp := range procs {
		_ = kp.stdin.Close()
	}
	for _, kp := range procs {
		select {
		case <-kp.exited:
			_ = kp.cmd.Wait()
		case <-ctx.Done():
			_ = kp.cmd.Process.Kill()
			<-kp.exited
			_ = kp.cmd.Wait()
			return ctx.Err()
		}
	}
	ch := make(chan struct{})
	go func() { p.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *kcatProducer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = p.Flush(ctx)
}

// kcatJSON is one message as kcat -J prints it.
type kcatJSON struct {
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	TSType    string   `json:"tstype"`
	TS        int64    `json:"ts"`
	Headers   []string `json:"headers"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
}

func (k kcatJSON) rec() Rec {
	r := Rec{P: k.Partition, O: k.Offset, K: k.Key, TS: k.TS}
	if k.Payload != nil {
		r.V = *k.Payload
	}
	switch k.TSType {
	case "create":
		r.TT = "create"
	case "logappend":
		r.TT = "append"
	}
	for i := 0; i+1 < len(k.Headers); i += 2 {
		r.H = append(r.H, Header{k.Headers[i], k.Headers[i+1]})
	}
	return r
}

// kcatLines runs kcat and hands each JSON stdout line to f until f returns
// false or kcat exits; stderr lines go to onErr.
func kcatLines(ctx context.Context, args []string, f func(kcatJSON) bool, onErr func(string)) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, kcatBin(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kcat: %w", err)
	}
	var tail []string
	var mu sync.Mutex
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if onErr != nil {
				onErr(sc.Text())
			}
			mu.Lock()
			tail = append(tail, sc.Text())
			if len(tail) > 10 {
				tail = tail[1:]
			}
			mu.Unlock()
		}
	}()
	sc := bufio.NewScanner(stdout)
	stopped := false
	for sc.Scan() {
		var k kcatJSON
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			continue
		}
		if !f(k) {
			stopped = true
			break
		}
	}
	cancel()
	_, _ = io.Copy(io.Discard, stdout)
	<-errDone
	werr := cmd.Wait()
	if stopped || ctx.Err() != nil {
		return ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return fmt.Errorf("kcat exited (%v): %s", werr, strings.Join(tail, " | "))
}

// Consume implements Client.
func (k Kcat) Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error {
	off := "beginning"
	switch {
	case o.From == "latest":
		off = "end"
	case strings.HasPrefix(o.From, "ts:"):
		off = "s@" + strings.TrimPrefix(o.From, "ts:")
	}
	args := []string{"-C", "-b", strings.Join(o.Bootstrap, ","), "-t", o.Topic, "-o", off, "-J", "-u",
		"-X", "fetch.wait.max.ms=500"}
	if o.Isolation != "" {
		args = append(args, "-X", "isolation.level="+o.Isolation)
	}
	args = append(args, k.x...)
	return kcatLines(ctx, args, func(k kcatJSON) bool { return emit(k.rec()) }, nil)
}

// kcatMember is `kcat -G`: its assignment comes from the rebalance lines
// kcat prints on stderr, its records from -J on stdout. librdkafka commits
// automatically (every 100 ms here) and on the clean close SIGTERM starts.
type kcatMember struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu       sync.Mutex
	assigned map[int32]bool
	closed   bool
}

// NewMember implements Client.
func (Kcat) NewMember(ctx context.Context, o MemberOpts) (Member, error) {
	strategy := "range"
	if o.Balancer == "coop" {
		strategy = "cooperative-sticky"
	}
	args := []string{"-b", strings.Join(o.Bootstrap, ","), "-G", o.Group, "-J", "-u",
		"-X", "client.id=" + o.Name, "-X", "partition.assignment.strategy=" + strategy,
		"-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", "-X", "auto.offset.reset=earliest",
		"-X", "auto.commit.interval.ms=100", "-X", "fetch.wait.max.ms=500", o.Topic}
	cmd := exec.Command(kcatBin(), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting kcat -G: %w", err)
	}
	m := &kcatMember{cmd: cmd, done: make(chan struct{}), assigned: map[int32]bool{}}
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			m.onStderr(sc.Text())
		}
	}()
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var k kcatJSON
			if err := json.Unmarshal(sc.Bytes(), &k); err == nil {
				o.OnRecord(k.rec())
			}
		}
		<-errDone
		_ = cmd.Wait()
	}()
	return m, nil
}

// onStderr follows kcat's rebalance lines:
//
//	% Group g rebalanced (memberid m): assigned: t [0], t [1]
//	% Group g rebalanced (memberid m): revoked: t [0], t [1]
//	% Group g rebalanced: incremental assignment of 2 partition(s) (memberid m, COOPERATIVE rebalance protocol): t [0], t [1]
//	% Group g rebalanced: incremental revoke of ...
func (m *kcatMember) onStderr(line string) {
	if !strings.Contains(line, "rebalanced") {
		return
	}
	parts := func(s string) []int32 {
		var ps []int32
		for _, mm := range regexp.MustCompile(`\[(\d+)\]`).FindAllStringSubmatch(s, -1) {
			p, _ := strconv.Atoi(mm[1])
			ps = append(ps, int32(p))
		}
		return ps
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strings.Contains(line, "assigned: "):
		m.assigned = map[int32]bool{}
		for _, p := range parts(line[strings.Index(line, "assigned: "):]) {
			m.assigned[p] = true
		}
	case strings.Contains(line, "revoked: "):
		m.assigned = map[int32]bool{}
	case strings.Contains(line, "incremental assignment"):
		if i := strings.Index(line, "protocol): "); i >= 0 {
			for _, p := range parts(line[i:]) {
				m.assigned[p] = true
			}
		}
	case strings.Contains(line, "incremental revoke"):
		if i := strings.Index(line, "protocol): "); i >= 0 {
			for _, p := range parts(line[i:]) {
				delete(m.assigned, p)
			}
		}
	}
}

func (m *kcatMember) Assigned(context.Context) ([]int32, error) {
	select {
	case <-m.done:
		return nil, errors.New("kcat -G exited")
	default:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.assigned {
		ps = append(ps, p)
	}
	return ps, nil
}

// Close sends SIGTERM: kcat closes the consumer (final commit, LeaveGroup).
func (m *kcatMember) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
		return errors.New("kcat -G did not exit within 30s of SIGTERM")
	}
	if st := m.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("kcat -G exited: %v", st)
	}
	return nil
}

// WithSecurity implements Secured: librdkafka's settings as -X key=value.
func (k Kcat) WithSecurity(s Security) (Client, error) {
	props := LibrdkafkaProps(s)
	for _, key := range slices.Sorted(maps.Keys(props)) {
		k.x = append(k.x, "-X", key+"="+props[key])
	}
	return k, nil
}
