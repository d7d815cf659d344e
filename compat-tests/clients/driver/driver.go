// Package driver is the Go side of the client compatibility matrix: one
// command-line contract that every client driver (Go, Python, Node, kcat)
// implements, and the Go implementations of it for franz-go, sarama,
// segmentio/kafka-go, confluent-kafka-go and kcat.
//
// The contract, shared with compat-tests/python/matrix_*.py,
// compat-tests/kafkajs/driver.js and the Java client's driver
// (compat-tests/java/driver, Driver.java):
//
//	driver OP --bootstrap host:port[,host:port] [--topic T] [flags]
//
// Every operation also takes the security flags (--security-protocol, --ca,
// --truststore, --cert/--key-file, --keystore, --sasl-mechanism,
// --sasl-user, --sasl-password; see Security in security.go).
//
// exit 0 = pass, exit 3 with a last stdout line "skip: <reason>" = the client
// lacks the feature, anything else = fail (the reason on stdout or stderr).
// Results the runner checks are JSON objects, one per stdout line; other
// lines are logs. The operations and their output:
//
//	metadata  bootstrap through each listed broker alone; one line per broker:
//	          {"addr":A,"brokers":[ids],"leaders":{"p":leader}}
//	topics    create T (3 partitions, RF 2), describe it, delete it:
//	          {"partitions":3,"rf":2}
//	list-topics
//	          list every topic of the cluster the way the client's API does it
//	          (an all-topics Metadata request): {"topics":[names]}
//	produce   --n N --partitions P [--acks 0|1|all] [--codec C] [--headers]
//	          [--expect-denied: pass only on an authorization error, printed
//	          as {"denied":message}]
//	          [--ts MS] [--idempotent]: record i goes to partition i%P with key
//	          "k<i>", value "v<i>", headers h1=a, h2="b c" when --headers, and
//	          timestamp MS+i when --ts, value padded with --pad dots (a client that cannot set timestamps
//	          prints {"ts_unsupported":true}); waits for every acknowledgement
//	consume   --partitions P --from earliest|latest|ts:MS --count N [--live]:
//	          prints the first N records, one Rec per line; with --live (from
//	          latest) it also produces "live<j>" to partition j%P every 100 ms
//	          until N records arrived
//	group     --partitions P --group G --expect N [--balancer range|coop]:
//	          members A and B join, then C, then A leaves; after each step
//	          {"phase":n,"assign":{"A":[..],...}} once every partition is owned
//	          exactly once; the driver produces 5 records per partition
//	          ("g<phase>-<i>") after each phase, every consumed record is
//	          printed as a Rec with "m" set, and B and C commit and leave once
//	          N plus the driver's own records were consumed
//	resume    --partitions P --group G --count N: one new member of G prints
//	          the first N records it gets (it must start at the committed
//	          offsets), commits and leaves
//	configs   --key K --value V: {"before":v0} (DescribeConfigs), alter K to V,
//	          {"after":v1}
//	roundtrip --n N --partitions P: produce as produce does, then consume
//	          the N records from the earliest offset as consume does (one
//	          process for both: the security columns)
//	failover  --partitions P: produce "f<i>" with acks=all, one every few ms,
//	          while a consumer reads from the earliest offset; {"acked":n}
//	          progress lines; on a "stop" line (or EOF) on stdin it flushes,
//	          waits until the consumer saw every acknowledged record and prints
//	          {"acked_list":[i...],"consumed":n}
//
// The transaction operations (issue 17; a client without transactions
// exits with the skip code):
//
//	consume   ... --isolation read_committed|read_uncommitted: the
//	          consumer's isolation level (default: the client's own)
//	txn-produce --n N --partitions P --txn-id X [--abort-first]
//	          a transactional producer (transactional.id X): with
//	          --abort-first one transaction of "a<i>" (i < N, partition
//	          i%P, key k<i>) flushed and aborted, then one of "v<i>"
//	          committed; {"committed":N}; then it consumes N records from the
//	          earliest offset with read_committed, one Rec per line
//	txn-offsets --topic IN --output OUT --group G --count N --txn-id X [--abort]
//	          consume-transform-produce: a member of G (read_committed, no
//	          auto-commit, reset to earliest) consumes N records of IN (one
//	          Rec line each), and in one transaction produces "t"+value with
//	          the record's key to OUT, same partition, and sends the consumed
//	          offsets (next offset per partition) for G with the group's
//	          metadata; commits, or aborts with --abort; {"txn":"committed"}
//	          or {"txn":"aborted"}
package driver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Exit codes of the contract.
const (
	ExitPass = 0
	ExitFail = 1
	ExitSkip = 3
)

// SkipError marks a feature the client does not have.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skip: " + e.Reason }

// Skip returns a SkipError.
func Skip(format string, args ...any) error { return &SkipError{Reason: fmt.Sprintf(format, args...)} }

// Header is one record header.
type Header struct{ Key, Value string }

// Rec is a record as produced or consumed. K is nil for a null key.
type Rec struct {
	P  int32    `json:"p"`
	O  int64    `json:"o"`
	K  *string  `json:"k"`
	V  string   `json:"v"`
	H  []Header `json:"-"`
	TS int64    `json:"ts"`
	TT string   `json:"tt"` // "create", "append" or "" when the client does not say
	M  string   `json:"m,omitempty"`
}

// MarshalJSON writes headers as [[k,v],...] so every language can emit them.
func (r Rec) MarshalJSON() ([]byte, error) {
	type plain Rec
	h := make([][2]string, len(r.H))
	for i, x := range r.H {
		h[i] = [2]string{x.Key, x.Value}
	}
	return json.Marshal(struct {
		plain
		H [][2]string `json:"h"`
	}{plain(r), h})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Rec) UnmarshalJSON(b []byte) error {
	type plain Rec
	var v struct {
		plain
		H [][2]string `json:"h"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Rec(v.plain)
	r.H = nil
	for _, x := range v.H {
		r.H = append(r.H, Header{x[0], x[1]})
	}
	return nil
}

// Str returns a pointer to s (for keys).
func Str(s string) *string { return &s }

// ProducerOpts configures a producer.
type ProducerOpts struct {
	Bootstrap  []string
	Topic      string
	Partitions int
	Acks       string // "0", "1", "all"
	Codec      string // "none", "gzip", "snappy", "lz4", "zstd"
	Idempotent bool
	// Retry makes the producer retry for a long time (the failover run).
	Retry bool
}

// ConsumeOpts configures a consumer without a group.
type ConsumeOpts struct {
	Bootstrap  []string
	Topic      string
	Partitions int
	From       string // "earliest", "latest", "ts:<ms>"
	// Isolation is "read_committed", "read_uncommitted" or "" (the
	// client's default).
	Isolation string
}

// TxnProducer is a transactional producer (transactional.id set,
// initialised): Begin, Send, Flush, End.
type TxnProducer interface {
	Producer
	Begin() error
	// End commits or aborts the open transaction (after Flush).
	End(ctx context.Context, commit bool) error
}

// TxnTransformOpts configures the txn-offsets operation.
type TxnTransformOpts struct {
	Bootstrap     []string
	Input, Output string
	Group, TxnID  string
	Count         int
	Commit        bool
}

// Transactional is implemented by clients with transactions.
type Transactional interface {
	NewTxnProducer(ctx context.Context, o ProducerOpts, txnID string) (TxnProducer, error)
	// TxnTransform is the txn-offsets operation: emit is called for each
	// consumed record.
	TxnTransform(ctx context.Context, o TxnTransformOpts, emit func(Rec)) error
}

// MemberOpts configures one group member.
type MemberOpts struct {
	Bootstrap  []string
	Topic      string
	Group      string
	Name       string
	Balancer   string // "range" or "coop"
	Partitions int
	// OnRecord is called for each record consumed, before it is committed.
	OnRecord func(Rec)
}

// Meta is what a client learned from one broker's metadata.
type Meta struct {
	Brokers []int32
	Leaders map[int32]int32
}

// Producer sends records asynchronously; done is called once per record.
type Producer interface {
	Send(ctx context.Context, r Rec, done func(error))
	Flush(ctx context.Context) error
	Close()
}

// Member is one consumer group member, consuming in the background.
type Member interface {
	// Assigned returns the partitions of the topic this member owns now.
	Assigned(ctx context.Context) ([]int32, error)
	// Close commits what was consumed and leaves the group.
	Close() error
}

// Client is one client library.
type Client interface {
	Metadata(ctx context.Context, addr, topic string) (Meta, error)
	CreateTopic(ctx context.Context, bootstrap []string, topic string, partitions, rf int) error
	DescribeTopic(ctx context.Context, bootstrap []string, topic string) (partitions, rf int, err error)
	DeleteTopic(ctx context.Context, bootstrap []string, topic string) error
	// ListTopics lists every topic with one all-topics Metadata request.
	ListTopics(ctx context.Context, bootstrap []string) ([]string, error)
	NewProducer(ctx context.Context, o ProducerOpts) (Producer, error)
	// Consume delivers records to emit until emit returns false or ctx ends.
	Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error
	TopicConfig(ctx context.Context, bootstrap []string, topic, key string) (string, error)
	SetTopicConfig(ctx context.Context, bootstrap []string, topic, key, value string) error
	NewMember(ctx context.Context, o MemberOpts) (Member, error)
}

// NoTimestamps is implemented by clients that cannot set a record's timestamp.
type NoTimestamps interface{ NoTimestamps() }

// Spec is the parsed command line.
type Spec struct {
	Op         string
	Bootstrap  []string
	Topic      string
	N          int
	Count      int
	Partitions int
	Acks       string
	Codec      string
	Headers    bool
	TS         int64
	Idempotent bool
	From       string
	Live       bool
	Group      string
	Expect     int
	Balancer   string
	Key, Value string
	Pad        int
	Timeout    time.Duration
	// Sec is how to connect (the security flags, see Security).
	Sec Security
	// ExpectDenied (produce): pass only when the client reports an
	// authorization error: {"denied":message}.
	ExpectDenied bool
	// The transaction operations.
	Isolation  string
	TxnID      string
	AbortFirst bool
	Abort      bool
	Output     string
}

// ParseSpec parses "OP --flag value ...".
func ParseSpec(args []string) (Spec, error) {
	var s Spec
	if len(args) == 0 {
		return s, errors.New("usage: driver OP --bootstrap host:port [flags]")
	}
	s.Op = args[0]
	fs := flag.NewFlagSet(s.Op, flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "brokers, comma separated")
	fs.StringVar(&s.Topic, "topic", "", "topic")
	fs.IntVar(&s.N, "n", 100, "records to produce")
	fs.IntVar(&s.Count, "count", 0, "records to consume")
	fs.IntVar(&s.Partitions, "partitions", 1, "partitions of the topic")
	fs.StringVar(&s.Acks, "acks", "all", "0, 1 or all")
	fs.StringVar(&s.Codec, "codec", "none", "none, gzip, snappy, lz4, zstd")
	fs.BoolVar(&s.Headers, "headers", false, "add headers")
	fs.Int64Var(&s.TS, "ts", 0, "record timestamps start (ms)")
	fs.BoolVar(&s.Idempotent, "idempotent", false, "idempotent producer")
	fs.StringVar(&s.From, "from", "earliest", "earliest, latest or ts:<ms>")
	fs.BoolVar(&s.Live, "live", false, "produce while consuming from latest")
	fs.StringVar(&s.Group, "group", "", "consumer group")
	fs.IntVar(&s.Expect, "expect", 0, "records in the topic before the group run")
	fs.StringVar(&s.Balancer, "balancer", "range", "range or coop")
	fs.StringVar(&s.Key, "key", "retention.ms", "config key")
	fs.StringVar(&s.Value, "value", "3600000", "config value")
	fs.IntVar(&s.Pad, "pad", 0, "dots appended to each value (compressible records)")
	timeout := fs.Float64("timeout", 60, "bound of the whole operation, seconds")
	s.Sec.flags(fs)
	fs.BoolVar(&s.ExpectDenied, "expect-denied", false, "produce: pass only on an authorization error")
	fs.StringVar(&s.Isolation, "isolation", "", "consume: read_committed or read_uncommitted")
	fs.StringVar(&s.TxnID, "txn-id", "", "transactional.id")
	fs.BoolVar(&s.AbortFirst, "abort-first", false, "txn-produce: an aborted transaction first")
	fs.BoolVar(&s.Abort, "abort", false, "txn-offsets: abort instead of commit")
	fs.StringVar(&s.Output, "output", "", "txn-offsets: the output topic")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		return s, fmt.Errorf("%s: %w", s.Op, err)
	}
	if *bootstrap == "" {
		return s, errors.New("--bootstrap is required")
	}
	if err := s.Sec.check(); err != nil {
		return s, err
	}
	s.Bootstrap = strings.Split(*bootstrap, ",")
	s.Timeout = time.Duration(*timeout * float64(time.Second))
	return s, nil
}

// Out writes result lines; it is safe for concurrent use.
type Out struct {
	mu sync.Mutex
	w  io.Writer
}

// NewOut writes to w.
func NewOut(w io.Writer) *Out { return &Out{w: w} }

// JSON writes v as one line.
func (o *Out) JSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"marshal_error":%q}`, err.Error()))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(append(b, '\n'))
}

// Line writes one text line.
func (o *Out) Line(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = fmt.Fprintf(o.w, format+"\n", args...)
}

// Main runs one operation of the contract with client c and returns the
// process exit code.
func Main(c Client, args []string, stdin io.Reader, stdout io.Writer) int {
	out := NewOut(stdout)
	s, err := ParseSpec(args)
	if err != nil {
		out.Line("%v", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()
	if !s.Sec.Plain() {
		if sc, ok := c.(Secured); ok {
			c, err = sc.WithSecurity(s.Sec)
		} else {
			err = Skip("the driver does not implement --security-protocol %s", s.Sec.Protocol)
		}
	}
	if err == nil {
		err = Run(ctx, c, s, stdin, out)
	}
	var skip *SkipError
	switch {
	case err == nil:
		out.Line("ok")
		return ExitPass
	case errors.As(err, &skip):
		out.Line("skip: %s", skip.Reason)
		return ExitSkip
	default:
		out.Line("FAIL: %v", err)
		return ExitFail
	}
}

// Run performs one operation.
func Run(ctx context.Context, c Client, s Spec, stdin io.Reader, out *Out) error {
	switch s.Op {
	case "metadata":
		return opMetadata(ctx, c, s, out)
	case "topics":
		return opTopics(ctx, c, s, out)
	case "list-topics":
		return opListTopics(ctx, c, s, out)
	case "produce":
		return opProduce(ctx, c, s, out)
	case "consume":
		return opConsume(ctx, c, s, out)
	case "group":
		return opGroup(ctx, c, s, out)
	case "resume":
		return opResume(ctx, c, s, out)
	case "configs":
		return opConfigs(ctx, c, s, out)
	case "failover":
		return opFailover(ctx, c, s, stdin, out)
	case "txn-produce":
		return opTxnProduce(ctx, c, s, out)
	case "txn-offsets":
		return opTxnOffsets(ctx, c, s, out)
	case "roundtrip":
		if err := produceRecords(ctx, c, s, out); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		s.Count, s.From, s.Live = s.N, "earliest", false
		return opConsume(ctx, c, s, out)
	}
	return fmt.Errorf("unknown operation %q", s.Op)
}

func opMetadata(ctx context.Context, c Client, s Spec, out *Out) error {
	for _, addr := range s.Bootstrap {
		m, err := c.Metadata(ctx, addr, s.Topic)
		if err != nil {
			return fmt.Errorf("metadata through %s: %w", addr, err)
		}
		leaders := map[string]int32{}
		for p, l := range m.Leaders {
			leaders[strconv.Itoa(int(p))] = l
		}
		slices.Sort(m.Brokers)
		out.JSON(map[string]any{"addr": addr, "brokers": m.Brokers, "leaders": leaders})
	}
	return nil
}

func opTopics(ctx context.Context, c Client, s Spec, out *Out) error {
	if err := c.CreateTopic(ctx, s.Bootstrap, s.Topic, 3, 2); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var parts, rf int
	err := retry(ctx, 10*time.Second, func() error {
		var err error
		parts, rf, err = c.DescribeTopic(ctx, s.Bootstrap, s.Topic)
		if err == nil && (parts != 3 || rf != 2) {
			err = fmt.Errorf("described %d partitions, RF %d", parts, rf)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	out.JSON(map[string]int{"partitions": parts, "rf": rf})
	if err := c.DeleteTopic(ctx, s.Bootstrap, s.Topic); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func opListTopics(ctx context.Context, c Client, s Spec, out *Out) error {
	names, err := c.ListTopics(ctx, s.Bootstrap)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	slices.Sort(names)
	out.JSON(map[string][]string{"topics": names})
	return nil
}

// ProduceRecord is record i of the produce operation.
func ProduceRecord(s Spec, i int) Rec {
	r := Rec{P: int32(i % max(s.Partitions, 1)), K: Str("k" + strconv.Itoa(i)), V: "v" + strconv.Itoa(i) + strings.Repeat(".", s.Pad)}
	if s.Headers {
		r.H = []Header{{"h1", "a"}, {"h2", "b c"}}
	}
	if s.TS != 0 {
		r.TS = s.TS + int64(i)
	}
	return r
}

func opProduce(ctx context.Context, c Client, s Spec, out *Out) error {
	if s.ExpectDenied {
		err := produceRecords(ctx, c, s, out)
		switch {
		case err == nil:
			return fmt.Errorf("%d records acknowledged, an authorization error expected", s.N)
		case IsDenied(err):
			out.JSON(map[string]string{"denied": err.Error()})
			return nil
		}
		if h, ok := c.(HidesDenial); ok {
			if reason := h.HidesDenial(err); reason != "" {
				return Skip("%s (it said: %v)", reason, err)
			}
		}
		return fmt.Errorf("not an authorization error: %w", err)
	}
	return produceRecords(ctx, c, s, out)
}

func produceRecords(ctx context.Context, c Client, s Spec, out *Out) error {
	if _, ok := c.(NoTimestamps); ok && s.TS != 0 {
		out.JSON(map[string]bool{"ts_unsupported": true})
	}
	p, err := c.NewProducer(ctx, ProducerOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions,
		Acks: s.Acks, Codec: s.Codec, Idempotent: s.Idempotent})
	if err != nil {
		return err
	}
	defer p.Close()
	var mu sync.Mutex
	var errs []error
	acked := 0
	for i := range s.N {
		p.Send(ctx, ProduceRecord(s, i), func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				acked++
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d records failed, first: %w", len(errs), s.N, errs[0])
	}
	if acked != s.N {
		return fmt.Errorf("%d of %d records acknowledged after flush", acked, s.N)
	}
	return nil
}

func opConsume(ctx context.Context, c Client, s Spec, out *Out) error {
	if s.Count <= 0 {
		return errors.New("--count is required")
	}
	if s.Isolation != "" && s.Isolation != "read_committed" && s.Isolation != "read_uncommitted" {
		return fmt.Errorf("--isolation %q", s.Isolation)
	}
	o := ConsumeOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions, From: s.From, Isolation: s.Isolation}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := 0
	var mu sync.Mutex
	errc := make(chan error, 2) // the consumer and the live producer
	if s.Live {
		p, err := c.NewProducer(ctx, ProducerOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions, Acks: "1"})
		if err != nil {
			return err
		}
		defer p.Close()
		go func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for j := 0; ; j++ {
				p.Send(cctx, Rec{P: int32(j % s.Partitions), K: Str("lk" + strconv.Itoa(j)), V: "live" + strconv.Itoa(j)}, func(error) {})
				if err := p.Flush(cctx); err != nil && cctx.Err() == nil {
					errc <- fmt.Errorf("live produce: %w", err)
					return
				}
				select {
				case <-cctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	go func() {
		errc <- c.Consume(cctx, o, func(r Rec) bool {
			mu.Lock()
			defer mu.Unlock()
			if got >= s.Count {
				return false
			}
			got++
			out.JSON(r)
			return got < s.Count
		})
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	if got >= s.Count {
		return nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return fmt.Errorf("consumed %d of %d records: %v", got, s.Count, err)
}

func opConfigs(ctx context.Context, c Client, s Spec, out *Out) error {
	before, err := c.TopicConfig(ctx, s.Bootstrap, s.Topic, s.Key)
	if err != nil {
		return fmt.Errorf("describe configs: %w", err)
	}
	out.JSON(map[string]string{"before": before})
	if err := c.SetTopicConfig(ctx, s.Bootstrap, s.Topic, s.Key, s.Value); err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	var after string
	err = retry(ctx, 10*time.Second, func() error {
		var err error
		after, err = c.TopicConfig(ctx, s.Bootstrap, s.Topic, s.Key)
		if err == nil && after != s.Value {
			err = fmt.Errorf("%s is %q after the change", s.Key, after)
		}
		return err
	})
	if err != nil {
		return err
	}
	out.JSON(map[string]string{"after": after})
	return nil
}

// retry calls f until it succeeds or d passed.
func retry(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// produceSync sends recs and waits for all acknowledgements.
func produceSync(ctx context.Context, p Producer, recs []Rec) error {
	var mu sync.Mutex
	var first error
	for _, r := range recs {
		p.Send(ctx, r, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}

// groupRun tracks the records consumed by all members of a group run.
type groupRun struct {
	out  *Out
	mu   sync.Mutex
	seen map[[2]int64]bool
}

func (g *groupRun) onRecord(name string) func(Rec) {
	return func(r Rec) {
		r.M = name
		g.out.JSON(r)
		g.mu.Lock()
		g.seen[[2]int64{int64(r.P), r.O}] = true
		g.mu.Unlock()
	}
}

func (g *groupRun) distinct() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

// waitOwnership polls the members' assignments until every partition is
// owned by exactly one member and each member owns at least one, twice in a
// row 300 ms apart.
func waitOwnership(ctx context.Context, members map[string]Member, partitions int, d time.Duration) (map[string][]int32, error) {
	deadline := time.Now().Add(d)
	var last map[string][]int32
	var lastErr error
	stable := 0
	for {
		cur := map[string][]int32{}
		owners := map[int32]int{}
		ok := true
		for name, m := range members {
			a, err := m.Assigned(ctx)
			if err != nil {
				lastErr = err
				ok = false
				break
			}
			a = slices.Clone(a)
			slices.Sort(a)
			cur[name] = a
			if len(a) == 0 {
				ok = false
			}
			for _, p := range a {
				owners[p]++
			}
		}
		for p := range int32(partitions) {
			if owners[p] != 1 {
				ok = false
			}
		}
		if len(owners) != partitions {
			ok = false
		}
		if ok && last != nil && equalAssign(cur, last) {
			stable++
		} else if ok {
			stable = 1
		} else {
			stable = 0
		}
		last = cur
		if stable >= 2 {
			return cur, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return cur, fmt.Errorf("no stable ownership of %d partitions within %v: %v (last error %v)", partitions, d, cur, lastErr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func equalAssign(a, b map[string][]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func opGroup(ctx context.Context, c Client, s Spec, out *Out) error {
	g := &groupRun{out: out, seen: map[[2]int64]bool{}}
	p, err := c.NewProducer(ctx, ProducerOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions, Acks: "all"})
	if err != nil {
		return err
	}
	defer p.Close()
	members := map[string]Member{}
	defer func() {
		for _, m := range members {
			_ = m.Close()
		}
	}()
	join := func(name string) error {
		m, err := c.NewMember(ctx, MemberOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Group: s.Group, Name: name,
			Balancer: s.Balancer, Partitions: s.Partitions, OnRecord: g.onRecord(name)})
		if err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		members[name] = m
		return nil
	}
	produced := 0
	phase := func(n int) error {
		a, err := waitOwnership(ctx, members, s.Partitions, 45*time.Second)
		if err != nil {
			return fmt.Errorf("phase %d: %w", n, err)
		}
		out.JSON(map[string]any{"phase": n, "assign": a})
		var recs []Rec
		for i := range 5 * s.Partitions {
			recs = append(recs, Rec{P: int32(i % s.Partitions), K: Str(fmt.Sprintf("g%d-%d", n, i)), V: fmt.Sprintf("g%d-%d", n, i)})
		}
		produced += len(recs)
		if err := produceSync(ctx, p, recs); err != nil {
			return fmt.Errorf("phase %d produce: %w", n, err)
		}
		return nil
	}
	if err := join("A"); err != nil {
		return err
	}
	if err := join("B"); err != nil {
		return err
	}
	if err := phase(1); err != nil {
		return err
	}
	if err := join("C"); err != nil {
		return err
	}
	if err := phase(2); err != nil {
		return err
	}
	if err := members["A"].Close(); err != nil {
		return fmt.Errorf("closing A: %w", err)
	}
	delete(members, "A")
	if err := phase(3); err != nil {
		return err
	}
	want := s.Expect + produced
	err = retry(ctx, 45*time.Second, func() error {
		if n := g.distinct(); n < want {
			return fmt.Errorf("consumed %d of %d records", n, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range []string{"B", "C"} {
		if err := members[name].Close(); err != nil {
			return fmt.Errorf("closing %s: %w", name, err)
		}
		delete(members, name)
	}
	return nil
}

func opResume(ctx context.Context, c Client, s Spec, out *Out) error {
	var mu sync.Mutex
	got := 0
	done := make(chan struct{})
	m, err := c.NewMember(ctx, MemberOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Group: s.Group, Name: "D",
		Balancer: s.Balancer, Partitions: s.Partitions, OnRecord: func(r Rec) {
			mu.Lock()
			defer mu.Unlock()
			r.M = "D"
			out.JSON(r)
			got++
			if got == s.Count {
				close(done)
			}
		}})
	if err != nil {
		return err
	}
	select {
	case <-done:
	case <-ctx.Done():
		_ = m.Close()
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("resumed member consumed %d of %d records", got, s.Count)
	}
	return m.Close()
}

func opFailover(ctx context.Context, c Client, s Spec, stdin io.Reader, out *Out) error {
	p, err := c.NewProducer(ctx, ProducerOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions,
		Acks: "all", Retry: true})
	if err != nil {
		return err
	}
	defer p.Close()
	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stop" {
				break
			}
		}
		close(stop)
	}()

	var mu sync.Mutex
	acked := map[string]bool{}
	seen := map[string]bool{}
	var sendErrs int
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consErr := make(chan error, 1)
	go func() {
		consErr <- c.Consume(cctx, ConsumeOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions, From: "earliest"},
			func(r Rec) bool {
				mu.Lock()
				seen[r.V] = true
				mu.Unlock()
				return true
			})
	}()

	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	n := 0
produce:
	for i := 0; ; i++ {
		select {
		case <-stop:
			break produce
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		v := "f" + strconv.Itoa(i)
		p.Send(ctx, Rec{P: int32(i % s.Partitions), K: Str(v), V: v}, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				sendErrs++
				return
			}
			acked[v] = true
			if len(acked)%50 == 0 {
				out.JSON(map[string]int{"acked": len(acked)})
			}
		})
		n++
	}
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush after %d sends: %w", n, err)
	}
	err = retry(ctx, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for v := range acked {
			if !seen[v] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("consumer has not seen %d of %d acknowledged records", missing, len(acked))
		}
		return nil
	})
	cancel()
	select {
	case cerr := <-consErr:
		if err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = fmt.Errorf("consumer: %w", cerr)
		}
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	list := make([]int, 0, len(acked))
	for v := range acked {
		i, _ := strconv.Atoi(strings.TrimPrefix(v, "f"))
		list = append(list, i)
	}
	slices.Sort(list)
	out.JSON(map[string]any{"acked_list": list, "consumed": len(seen), "sent": n, "send_errors": sendErrs})
	return err
}

// Env returns the environment variable or a default.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func stderr() io.Writer { return os.Stderr }

// opTxnProduce: see txn-produce in the package comment.
func opTxnProduce(ctx context.Context, c Client, s Spec, out *Out) error {
	tc, ok := c.(Transactional)
	if !ok {
		return Skip("the client has no transactional producer")
	}
	if s.TxnID == "" {
		return errors.New("--txn-id is required")
	}
	p, err := tc.NewTxnProducer(ctx, ProducerOpts{Bootstrap: s.Bootstrap, Topic: s.Topic, Partitions: s.Partitions, Acks: "all", Idempotent: true}, s.TxnID)
	if err != nil {
		return fmt.Errorf("transactional producer: %w", err)
	}
	defer p.Close()
	txn := func(prefix string, commit bool) error {
		if err := p.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		var recs []Rec
		for i := range s.N {
			r := ProduceRecord(s, i)
			r.V = prefix + strings.TrimPrefix(r.V, "v")
			recs = append(recs, r)
		}
		if err := produceSync(ctx, p, recs); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		if err := p.End(ctx, commit); err != nil {
			return fmt.Errorf("end (commit %v): %w", commit, err)
		}
		return nil
	}
	if s.AbortFirst {
		if err := txn("a", false); err != nil {
			return fmt.Errorf("the aborted transaction: %w", err)
		}
	}
	if err := txn("v", true); err != nil {
		return fmt.Errorf("the committed transaction: %w", err)
	}
	out.JSON(map[string]int{"committed": s.N})
	s.Count, s.From, s.Live, s.Isolation = s.N, "earliest", false, "read_committed"
	return opConsume(ctx, c, s, out)
}

// opTxnOffsets: see txn-offsets in the package comment.
func opTxnOffsets(ctx context.Context, c Client, s Spec, out *Out) error {
	tc, ok := c.(Transactional)
	if !ok {
		return Skip("the client has no transactional producer")
	}
	if s.TxnID == "" || s.Group == "" || s.Output == "" || s.Count <= 0 {
		return errors.New("--txn-id, --group, --output and --count are required")
	}
	o := TxnTransformOpts{Bootstrap: s.Bootstrap, Input: s.Topic, Output: s.Output, Group: s.Group, TxnID: s.TxnID,
		Count: s.Count, Commit: !s.Abort}
	if err := tc.TxnTransform(ctx, o, func(r Rec) { out.JSON(r) }); err != nil {
		return err
	}
	if s.Abort {
		out.JSON(map[string]string{"txn": "aborted"})
	} else {
		out.JSON(map[string]string{"txn": "committed"})
	}
	return nil
}

// OffsetsAfter is the next offset per partition after the records.
func OffsetsAfter(recs []Rec) map[int32]int64 {
	next := map[int32]int64{}
	for _, r := range recs {
		if r.O+1 > next[r.P] {
			next[r.P] = r.O + 1
		}
	}
	return next
}
