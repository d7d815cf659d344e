package io.github.kafkazk.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's driver of the kafkazk client compatibility matrix. The contract (operations, flags, output
 * lines, exit codes) is documented in compat-tests/clients/driver/driver.go; this class follows it operation by
 * operation with the Java client's own APIs (KafkaProducer, KafkaConsumer, Admin):
 *
 * <pre>java -cp ... io.github.kafkazk.compat.Driver OP --bootstrap host:port[,...] [flags]</pre>
 *
 * exit 0 = pass ("ok"), 3 = skip ("skip: reason"), 1 = fail ("FAIL: reason"). Results are JSON objects, one
 * per stdout line; the clients' logs go to stderr.
 */
public final class Driver {
    static final int EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_SKIP = 3;

    // ---- arguments ----

    static final class Spec {
        String op, topic = "", acks = "all", codec = "none", from = "earliest", group = "", balancer = "range";
        String key = "retention.ms", value = "3600000";
        List<String> bootstrap = new ArrayList<>();
        int n = 100, count, partitions = 1, expect, pad;
        long ts;
        boolean headers, idempotent, live, expectDenied;
        // The transaction operations (driver.go).
        String isolation = "", txnId = "", output = "";
        boolean abortFirst, abort;
        double timeout = 60;
        // The contract's security flags (driver.go's Security).
        String securityProtocol = "PLAINTEXT", ca = "", truststore = "", truststorePassword = "", cert = "", certKey = "",
                keystore = "", keystorePassword = "", saslMechanism = "", saslUser = "", saslPassword = "";

        String bootstrapString() { return String.join(",", bootstrap); }
    }

    static Spec parse(String[] args) {
        if (args.length == 0) throw new IllegalArgumentException("usage: Driver OP --bootstrap host:port [flags]");
        Spec s = new Spec();
        s.op = args[0];
        for (int i = 1; i < args.length; i++) {
            String name = args[i].replaceFirst("^--?", "");
            switch (name) {
                case "headers": s.headers = true; continue;
                case "idempotent": s.idempotent = true; continue;
                case "live": s.live = true; continue;
                case "expect-denied": s.expectDenied = true; continue;
                case "abort-first": s.abortFirst = true; continue;
                case "abort": s.abort = true; continue;
                default: break;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("flag " + args[i] + " needs a value");
            String v = args[++i];
            switch (name) {
                case "bootstrap": s.bootstrap = List.of(v.split(",")); break;
                case "topic": s.topic = v; break;
                case "isolation": s.isolation = v; break;
                case "txn-id": s.txnId = v; break;
                case "output": s.output = v; break;
                case "n": s.n = Integer.parseInt(v); break;
                case "count": s.count = Integer.parseInt(v); break;
                case "partitions": s.partitions = Integer.parseInt(v); break;
                case "acks": s.acks = v; break;
                case "codec": s.codec = v; break;
                case "ts": s.ts = Long.parseLong(v); break;
                case "from": s.from = v; break;
                case "group": s.group = v; break;
                case "expect": s.expect = Integer.parseInt(v); break;
                case "balancer": s.balancer = v; break;
                case "key": s.key = v; break;
                case "value": s.value = v; break;
                case "pad": s.pad = Integer.parseInt(v); break;
                case "timeout": s.timeout = Double.parseDouble(v); break;
                case "security-protocol": s.securityProtocol = v; break;
                case "ca": s.ca = v; break;
                case "truststore": s.truststore = v; break;
                case "truststore-password": s.truststorePassword = v; break;
                case "cert": s.cert = v; break;
                case "key-file": s.certKey = v; break;
                case "keystore": s.keystore = v; break;
                case "keystore-password": s.keystorePassword = v; break;
                case "sasl-mechanism": s.saslMechanism = v; break;
                case "sasl-user": s.saslUser = v; break;
                case "sasl-password": s.saslPassword = v; break;
                default: throw new IllegalArgumentException("unknown flag " + args[i - 1]);
            }
        }
        if (s.bootstrap.isEmpty()) throw new IllegalArgumentException("--bootstrap is required");
        security(s, SECURITY);
        return s;
    }

    /** The security settings of every client the driver makes, from the security flags (set once, in parse). */
    static final Properties SECURITY = new Properties();

    /**
     * security maps the contract's security flags onto the Java client's settings: security.protocol, the JKS
     * truststore (or the PEM CA as ssl.truststore.type=PEM), the PKCS12 keystore for mTLS, sasl.mechanism and
     * sasl.jaas.config with PlainLoginModule or ScramLoginModule. Hostname verification stays on (the client's
     * default ssl.endpoint.identification.algorithm=https).
     */
    static void security(Spec s, Properties p) {
        switch (s.securityProtocol) {
            case "PLAINTEXT": return;
            case "SSL": case "SASL_SSL": case "SASL_PLAINTEXT": break;
            default: throw new IllegalArgumentException("unknown --security-protocol " + q(s.securityProtocol));
        }
        p.put("security.protocol", s.securityProtocol);
        if (s.securityProtocol.endsWith("SSL")) {
            if (!s.truststore.isEmpty()) {
                p.put("ssl.truststore.location", s.truststore);
                p.put("ssl.truststore.password", s.truststorePassword);
            } else if (!s.ca.isEmpty()) {
                p.put("ssl.truststore.type", "PEM");
                p.put("ssl.truststore.location", s.ca);
            }
            if (!s.keystore.isEmpty()) {
                p.put("ssl.keystore.type", "PKCS12");
                p.put("ssl.keystore.location", s.keystore);
                p.put("ssl.keystore.password", s.keystorePassword);
                p.put("ssl.key.password", s.keystorePassword);
            }
        }
        if (s.securityProtocol.startsWith("SASL_")) {
            String module;
            switch (s.saslMechanism) {
                case "PLAIN": module = "org.apache.kafka.common.security.plain.PlainLoginModule"; break;
                case "SCRAM-SHA-256": case "SCRAM-SHA-512": module = "org.apache.kafka.common.security.scram.ScramLoginModule"; break;
                default: throw new IllegalArgumentException("unknown --sasl-mechanism " + q(s.saslMechanism));
            }
            p.put("sasl.mechanism", s.saslMechanism);
            p.put("sasl.jaas.config", module + " required username=" + q(s.saslUser) + " password=" + q(s.saslPassword) + ";");
        }
    }

    // ---- output ----

    static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    static synchronized void line(String s) {
        OUT.println(s);
        OUT.flush();
    }

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    /** json renders maps, collections, strings, numbers, booleans and null. */
    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof String) return q((String) v);
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        if (v instanceof Map) {
            StringBuilder b = new StringBuilder("{");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (b.length() > 1) b.append(',');
                b.append(q(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
            }
            return b.append('}').toString();
        }
        if (v instanceof Collection) {
            StringBuilder b = new StringBuilder("[");
            for (Object o : (Collection<?>) v) {
                if (b.length() > 1) b.append(',');
                b.append(json(o));
            }
            return b.append(']').toString();
        }
        throw new IllegalArgumentException("cannot render " + v.getClass());
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    static void emit(Object v) { line(json(v)); }

    /** rec is a consumed record as the contract's Rec line (member m when not null). */
    static Map<String, Object> rec(ConsumerRecord<String, String> r, String m) {
        List<Object> h = new ArrayList<>();
        for (Header x : r.headers()) {
            h.add(List.of(x.key(), x.value() == null ? "" : new String(x.value(), StandardCharsets.UTF_8)));
        }
        String tt = r.timestampType() == TimestampType.LOG_APPEND_TIME ? "append"
                : r.timestampType() == TimestampType.CREATE_TIME ? "create" : "";
        Map<String, Object> o = obj("p", r.partition(), "o", r.offset(), "k", r.key(), "v", r.value() == null ? "" : r.value(),
                "h", h, "ts", r.timestamp(), "tt", tt);
        if (m != null) o.put("m", m);
        return o;
    }

    static final class Skip extends RuntimeException {
        Skip(String reason) { super(reason); }
    }

    static final class Fail extends RuntimeException {
        Fail(String msg) { super(msg); }
    }

    // ---- clients ----

    static Properties common(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "matrix-java");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        p.putAll(SECURITY);
        return p;
    }

    static Admin admin(String bootstrap) {
        Properties p = common(bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        return Admin.create(p);
    }

    static KafkaProducer<String, String> producer(Spec s, String acks, String codec, boolean idempotent, boolean retry) {
        Properties p = common(s.bootstrapString());
        p.put(ProducerConfig.ACKS_CONFIG, acks);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // Java's own default since 3.0 is idempotence for acks=all; the matrix asks for it explicitly
        // (the idempotent column), and the failover run keeps the default a Java user gets.
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, String.valueOf(idempotent || retry));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, retry ? "120000" : "45000");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    static Properties consumerProps(String bootstrap) {
        Properties p = common(bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "500");
        return p;
    }

    static List<TopicPartition> partitions(Spec s) {
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < s.partitions; i++) tps.add(new TopicPartition(s.topic, i));
        return tps;
    }

    static ProducerRecord<String, String> record(String topic, int p, Long ts, String k, String v, List<Header> h) {
        return new ProducerRecord<>(topic, p, ts, k, v, h);
    }

    static <T> T get(org.apache.kafka.common.KafkaFuture<T> f) throws Exception {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
        }
    }

    interface Check { void run() throws Exception; }

    /** retry calls f until it succeeds or seconds passed; the last error is thrown. */
    static void retry(double seconds, Check f) throws Exception {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        for (;;) {
            try {
                f.run();
                return;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) throw e;
            }
            Thread.sleep(200);
        }
    }

    // ---- operations ----

    static void metadata(Spec s) throws Exception {
        for (String addr : s.bootstrap) {
            try (Admin a = admin(addr)) {
                List<Integer> brokers = new ArrayList<>();
                for (Node n : get(a.describeCluster().nodes())) brokers.add(n.id());
                Collections.sort(brokers);
                TopicDescription d = get(a.describeTopics(List.of(s.topic)).allTopicNames()).get(s.topic);
                Map<String, Object> leaders = new TreeMap<>();
                for (TopicPartitionInfo p : d.partitions()) leaders.put(String.valueOf(p.partition()), p.leader() == null ? -1 : p.leader().id());
                emit(obj("addr", addr, "brokers", brokers, "leaders", leaders));
            }
        }
    }

    static void topics(Spec s) throws Exception {
        try (Admin a = admin(s.bootstrapString())) {
            get(a.createTopics(List.of(new NewTopic(s.topic, 3, (short) 2))).all());
            int[] pr = new int[2];
            retry(10, () -> {
                TopicDescription d = get(a.describeTopics(List.of(s.topic)).allTopicNames()).get(s.topic);
                pr[0] = d.partitions().size();
                pr[1] = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
                if (pr[0] != 3 || pr[1] != 2) throw new Fail("described " + pr[0] + " partitions, RF " + pr[1]);
            });
            emit(obj("partitions", pr[0], "rf", pr[1]));
            get(a.deleteTopics(List.of(s.topic)).all());
        }
    }

    static void listTopics(Spec s) throws Exception {
        try (Admin a = admin(s.bootstrapString())) {
            emit(obj("topics", new TreeSet<>(get(a.listTopics().names()))));
        }
    }

    static List<Header> headers(boolean on) {
        List<Header> h = new ArrayList<>();
        if (on) {
            h.add(new RecordHeader("h1", "a".getBytes(StandardCharsets.UTF_8)));
            h.add(new RecordHeader("h2", "b c".getBytes(StandardCharsets.UTF_8)));
        }
        return h;
    }

    /** produce --expect-denied passes only when the client reports an authorization error ({"denied":msg}). */
    static void produce(Spec s) throws Exception {
        if (!s.expectDenied) {
            produceRecords(s);
            return;
        }
        try {
            produceRecords(s);
        } catch (Exception e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            if (msg.toLowerCase(java.util.Locale.ROOT).contains("authoriz")) {
                emit(obj("denied", msg));
                return;
            }
            throw new Fail("not an authorization error: " + msg);
        }
        throw new Fail(s.n + " records acknowledged, an authorization error expected");
    }

    static void produceRecords(Spec s) throws Exception {
        AtomicInteger acked = new AtomicInteger();
        List<Exception> errs = Collections.synchronizedList(new ArrayList<>());
        try (KafkaProducer<String, String> p = producer(s, s.acks, s.codec, s.idempotent, false)) {
            for (int i = 0; i < s.n; i++) {
                Long ts = s.ts != 0 ? s.ts + i : null;
                String v = "v" + i + ".".repeat(s.pad);
                p.send(record(s.topic, i % Math.max(s.partitions, 1), ts, "k" + i, v, headers(s.headers)), (md, e) -> {
                    if (e != null) errs.add(e);
                    else acked.incrementAndGet();
                });
            }
            p.flush();
        }
        if (!errs.isEmpty()) throw new Fail(errs.size() + " of " + s.n + " records failed, first: " + errs.get(0));
        if (acked.get() != s.n) throw new Fail(acked.get() + " of " + s.n + " records acknowledged after flush");
    }

    /** txnProducer is a KafkaProducer with transactional.id, initTransactions done. */
    static KafkaProducer<String, String> txnProducer(Spec s, String txnId) {
        Properties p = common(s.bootstrapString());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        KafkaProducer<String, String> prod = new KafkaProducer<>(p);
        prod.initTransactions();
        return prod;
    }

    /** txn-produce (driver.go): an aborted transaction of a<i> (--abort-first), a committed one of v<i>,
     *  then a read_committed consume of the N records from the earliest offset. */
    static void txnProduce(Spec s, long deadline) throws Exception {
        try (KafkaProducer<String, String> p = txnProducer(s, s.txnId)) {
            for (String prefix : s.abortFirst ? List.of("a", "v") : List.of("v")) {
                p.beginTransaction();
                List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
                for (int i = 0; i < s.n; i++) {
                    fs.add(p.send(record(s.topic, i % Math.max(s.partitions, 1), null, "k" + i, prefix + i, headers(false))));
                }
                p.flush();
                for (java.util.concurrent.Future<?> f : fs) f.get(30, TimeUnit.SECONDS);
                if (prefix.equals("a")) p.abortTransaction();
                else p.commitTransaction();
            }
        }
        emit(obj("committed", s.n));
        s.count = s.n;
        s.from = "earliest";
        s.live = false;
        s.isolation = "read_committed";
        consume(s, deadline);
    }

    /** txn-offsets (driver.go): a subscribed consumer (read_committed) and a transactional producer that
     *  sends the consumed positions with sendOffsetsToTransaction(offsets, consumer.groupMetadata()). */
    static void txnOffsets(Spec s, long deadline) throws Exception {
        Properties cp = consumerProps(s.bootstrapString());
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, s.group);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp);
             KafkaProducer<String, String> p = txnProducer(s, s.txnId)) {
            c.subscribe(List.of(s.topic));
            p.beginTransaction();
            Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> next = new HashMap<>();
            int got = 0;
            while (got < s.count) {
                if (System.nanoTime() > deadline) throw new Fail("consumed " + got + " of " + s.count + " records");
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    if (got >= s.count) break;
                    got++;
                    emit(rec(r, null));
                    p.send(record(s.output, r.partition(), null, r.key(), "t" + r.value(), headers(false)));
                    next.put(new TopicPartition(r.topic(), r.partition()), new org.apache.kafka.clients.consumer.OffsetAndMetadata(r.offset() + 1));
                }
            }
            p.flush();
            p.sendOffsetsToTransaction(next, c.groupMetadata());
            if (s.abort) p.abortTransaction();
            else p.commitTransaction();
        }
        emit(obj("txn", s.abort ? "aborted" : "committed"));
    }

    /** position places an assigned consumer at --from: earliest, latest or ts:MS (offsetsForTimes). */
    static void position(KafkaConsumer<String, String> c, Spec s, List<TopicPartition> tps) {
        c.assign(tps);
        if (s.from.equals("earliest")) {
            c.seekToBeginning(tps);
        } else if (s.from.equals("latest")) {
            c.seekToEnd(tps);
        } else if (s.from.startsWith("ts:")) {
            long t = Long.parseLong(s.from.substring(3));
            Map<TopicPartition, Long> q = new HashMap<>();
            for (TopicPartition tp : tps) q.put(tp, t);
            Map<TopicPartition, OffsetAndTimestamp> found = c.offsetsForTimes(q, Duration.ofSeconds(30));
            List<TopicPartition> none = new ArrayList<>();
            for (TopicPartition tp : tps) {
                OffsetAndTimestamp o = found.get(tp);
                if (o == null) none.add(tp);
                else c.seek(tp, o.offset());
            }
            if (!none.isEmpty()) c.seekToEnd(none); // (an empty list would mean every assigned partition)
        } else {
            throw new IllegalArgumentException("--from " + s.from);
        }
        for (TopicPartition tp : tps) c.position(tp, Duration.ofSeconds(30)); // resolved now, before --live produces
    }

    static void consume(Spec s, long deadline) throws Exception {
        if (s.count <= 0) throw new IllegalArgumentException("--count is required");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Exception> liveErr = new AtomicReference<>();
        Thread live = null;
        int got = 0;
        Properties cp = consumerProps(s.bootstrapString());
        if (!s.isolation.isEmpty()) cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, s.isolation);
        KafkaConsumer<String, String> c = new KafkaConsumer<>(cp);
        try {
            List<TopicPartition> tps = partitions(s);
            position(c, s, tps);
            if (s.live) {
                live = new Thread(() -> {
                    try (KafkaProducer<String, String> p = producer(s, "1", "none", false, false)) {
                        for (int j = 0; !stop.get(); j++) {
                            p.send(record(s.topic, j % s.partitions, null, "lk" + j, "live" + j, headers(false)));
                            p.flush();
                            Thread.sleep(100);
                        }
                    } catch (Exception e) {
                        if (!stop.get()) liveErr.set(e);
                    }
                });
                live.setDaemon(true);
                live.start();
            }
            while (got < s.count && System.nanoTime() < deadline) {
                if (liveErr.get() != null) throw new Fail("live produce: " + liveErr.get());
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    if (got >= s.count) break;
                    got++;
                    emit(rec(r, null));
                }
            }
        } finally {
            stop.set(true);
            // No group to leave: not waiting for the fetch still parked in the broker (up to fetch.max.wait.ms).
            c.close(Duration.ZERO);
            if (live != null) live.join(10000);
        }
        if (got < s.count) throw new Fail("consumed " + got + " of " + s.count + " records");
    }

    static void configs(Spec s) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, s.topic);
        try (Admin a = admin(s.bootstrapString())) {
            String before = topicConfig(a, res, s.key);
            emit(obj("before", before));
            get(a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry(s.key, s.value), AlterConfigOp.OpType.SET)))).all());
            String[] after = new String[1];
            retry(10, () -> {
                after[0] = topicConfig(a, res, s.key);
                if (!s.value.equals(after[0])) throw new Fail(s.key + " is " + q(after[0]) + " after the change");
            });
            emit(obj("after", after[0]));
        }
    }

    static String topicConfig(Admin a, ConfigResource res, String key) throws Exception {
        Config c = get(a.describeConfigs(List.of(res)).all()).get(res);
        ConfigEntry e = c.get(key);
        if (e == null) throw new Fail(key + " not described");
        return e.value();
    }

    // ---- groups ----

    /** Member is one group member polling in its own thread (a KafkaConsumer is single-threaded). */
    static final class Member {
        final String name;
        final Thread thread;
        final AtomicBoolean stop = new AtomicBoolean();
        volatile Set<Integer> assigned = Set.of();
        volatile Exception err;
        final CountDownLatch closed = new CountDownLatch(1);

        Member(Spec s, String name, java.util.function.Consumer<ConsumerRecord<String, String>> onRecord) {
            this.name = name;
            Properties p = consumerProps(s.bootstrapString());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, s.group);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "matrix-java-" + name);
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "30000");
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    s.balancer.equals("coop") ? CooperativeStickyAssignor.class.getName() : RangeAssignor.class.getName());
            thread = new Thread(() -> {
                try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
                    c.subscribe(List.of(s.topic));
                    while (!stop.get()) {
                        ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(100));
                        for (ConsumerRecord<String, String> r : rs) onRecord.accept(r);
                        if (!rs.isEmpty()) c.commitSync(Duration.ofSeconds(15));
                        Set<Integer> now = new TreeSet<>();
                        for (TopicPartition tp : c.assignment()) now.add(tp.partition());
                        assigned = now;
                    }
                    c.commitSync(Duration.ofSeconds(15));
                } catch (Exception e) {
                    err = e;
                } finally {
                    assigned = Set.of();
                    closed.countDown();
                }
            }, "member-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        Set<Integer> assigned() {
            if (err != null) throw new Fail("member " + name + ": " + err);
            return assigned;
        }

        /** close commits what was consumed and leaves the group. */
        void close() throws Exception {
            stop.set(true);
            if (!closed.await(30, TimeUnit.SECONDS)) throw new Fail("member " + name + " did not close within 30s");
            if (err != null) throw new Fail("member " + name + ": " + err);
        }
    }

    /** waitOwnership: every partition owned exactly once and every member owning one, twice in a row 300 ms apart. */
    static Map<String, Object> waitOwnership(Map<String, Member> members, int partitions, int phase) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        Map<String, Object> last = null;
        int stable = 0;
        for (;;) {
            Map<String, Object> cur = new TreeMap<>();
            Map<Integer, Integer> owners = new HashMap<>();
            boolean ok = true;
            for (Map.Entry<String, Member> e : members.entrySet()) {
                Set<Integer> a = new TreeSet<>(e.getValue().assigned());
                cur.put(e.getKey(), new ArrayList<>(a));
                if (a.isEmpty()) ok = false;
                for (int p : a) owners.merge(p, 1, Integer::sum);
            }
            for (int p = 0; p < partitions; p++) if (owners.getOrDefault(p, 0) != 1) ok = false;
            if (owners.size() != partitions) ok = false;
            stable = ok && cur.equals(last) ? stable + 1 : ok ? 1 : 0;
            last = cur;
            if (stable >= 2) return cur;
            if (System.nanoTime() > deadline) {
                throw new Fail("phase " + phase + ": no stable ownership of " + partitions + " partitions within 45s: " + json(cur));
            }
            Thread.sleep(300);
        }
    }

    static void group(Spec s) throws Exception {
        Set<String> seen = Collections.synchronizedSet(new HashSet<>());
        Map<String, Member> members = new TreeMap<>();
        int produced = 0;
        try (KafkaProducer<String, String> p = producer(s, "all", "none", false, false)) {
            try {
                for (String[] step : new String[][] {{"A", "B"}, {"C"}, {"-A"}}) {
                    for (String name : step) {
                        if (name.startsWith("-")) {
                            members.remove(name.substring(1)).close();
                            continue;
                        }
                        members.put(name, new Member(s, name, r -> {
                            emit(rec(r, name));
                            seen.add(r.partition() + "/" + r.offset());
                        }));
                    }
                    int phase = step[0].equals("A") ? 1 : step[0].equals("C") ? 2 : 3;
                    emit(obj("phase", phase, "assign", waitOwnership(members, s.partitions, phase)));
                    List<Exception> errs = Collections.synchronizedList(new ArrayList<>());
                    for (int i = 0; i < 5 * s.partitions; i++) {
                        String v = "g" + phase + "-" + i;
                        p.send(record(s.topic, i % s.partitions, null, v, v, headers(false)), (md, e) -> {
                            if (e != null) errs.add(e);
                        });
                        produced++;
                    }
                    p.flush();
                    if (!errs.isEmpty()) throw new Fail("phase " + phase + " produce: " + errs.get(0));
                }
                int want = s.expect + produced;
                retry(45, () -> {
                    if (seen.size() < want) throw new Fail("consumed " + seen.size() + " of " + want + " records");
                });
                for (String name : List.of("B", "C")) members.remove(name).close();
            } finally {
                for (Member m : members.values()) {
                    try {
                        m.close();
                    } catch (Exception e) {
                        // already failing
                    }
                }
            }
        }
    }

    static void resume(Spec s, long deadline) throws Exception {
        AtomicInteger got = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        Member m = new Member(s, "D", r -> {
            if (got.get() < s.count) {
                emit(rec(r, "D"));
                if (got.incrementAndGet() == s.count) done.countDown();
            }
        });
        boolean ok = done.await(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        m.close();
        if (!ok) throw new Fail("resumed member consumed " + got.get() + " of " + s.count + " records");
    }

    // ---- failover ----

    static void failover(Spec s, long deadline) throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        Thread in = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.trim().equals("stop")) break;
                }
            } catch (Exception e) {
                // EOF or a closed stdin: stop as well
            }
            stop.countDown();
        });
        in.setDaemon(true);
        in.start();

        Set<String> acked = Collections.synchronizedSet(new HashSet<>());
        Set<String> seen = Collections.synchronizedSet(new HashSet<>());
        AtomicInteger sendErrs = new AtomicInteger();
        AtomicBoolean consStop = new AtomicBoolean();
        AtomicReference<Exception> consErr = new AtomicReference<>();
        Thread cons = new Thread(() -> {
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(s.bootstrapString()))) {
                List<TopicPartition> tps = partitions(s);
                c.assign(tps);
                c.seekToBeginning(tps);
                while (!consStop.get()) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) seen.add(r.value());
                }
            } catch (Exception e) {
                consErr.set(e);
            }
        });
        cons.setDaemon(true);
        cons.start();

        int n = 0;
        try (KafkaProducer<String, String> p = producer(s, "all", "none", false, true)) {
            for (int i = 0; stop.getCount() > 0; i++) {
                if (System.nanoTime() > deadline) throw new Fail("timed out before a stop line");
                String v = "f" + i;
                p.send(record(s.topic, i % s.partitions, null, v, v, headers(false)), (md, e) -> {
                    if (e != null) {
                        sendErrs.incrementAndGet();
                        return;
                    }
                    acked.add(v);
                    if (acked.size() % 50 == 0) emit(obj("acked", acked.size()));
                });
                n++;
                stop.await(5, TimeUnit.MILLISECONDS);
            }
            p.flush();
        }
        Exception err = null;
        try {
            retry(60, () -> {
                if (consErr.get() != null) throw new Fail("consumer: " + consErr.get());
                int missing = 0;
                synchronized (acked) {
                    for (String v : acked) if (!seen.contains(v)) missing++;
                }
                if (missing > 0) throw new Fail("consumer has not seen " + missing + " of " + acked.size() + " acknowledged records");
            });
        } catch (Exception e) {
            err = e;
        }
        consStop.set(true);
        cons.join(10000);
        List<Integer> list = new ArrayList<>();
        synchronized (acked) {
            for (String v : acked) list.add(Integer.parseInt(v.substring(1)));
        }
        Collections.sort(list);
        emit(obj("acked_list", list, "consumed", seen.size(), "sent", n, "send_errors", sendErrs.get()));
        if (err != null) throw err;
    }

    // ---- main ----

    static void run(Spec s) throws Exception {
        long deadline = System.nanoTime() + (long) (s.timeout * 1e9);
        switch (s.op) {
            case "metadata": metadata(s); break;
            case "topics": topics(s); break;
            case "list-topics": listTopics(s); break;
            case "produce": produce(s); break;
            case "consume": consume(s, deadline); break;
            case "roundtrip": // produce, then consume the same records from the earliest offset
                produceRecords(s);
                s.count = s.n;
                s.from = "earliest";
                s.live = false;
                consume(s, deadline);
                break;
            case "txn-produce": txnProduce(s, deadline); break;
            case "txn-offsets": txnOffsets(s, deadline); break;
            case "group": group(s); break;
            case "resume": resume(s, deadline); break;
            case "configs": configs(s); break;
            case "failover": failover(s, deadline); break;
            case "admin": AdminOps.run(s); break;
            default: throw new IllegalArgumentException("unknown operation " + q(s.op));
        }
    }

    public static void main(String[] args) {
        Spec s;
        try {
            s = parse(args);
        } catch (Exception e) {
            line(e.getMessage());
            System.exit(2);
            return;
        }
        // The whole operation is bounded by --timeout, like the other drivers' contexts.
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((long) (s.timeout * 1000));
                line("FAIL: " + s.op + " did not finish within " + s.timeout + "s");
                Runtime.getRuntime().halt(EXIT_FAIL);
            } catch (InterruptedException e) {
                // finished in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();
        int code;
        try {
            run(s);
            line("ok");
            code = EXIT_PASS;
        } catch (Skip e) {
            line("skip: " + e.getMessage());
            code = EXIT_SKIP;
        } catch (Fail e) {
            line("FAIL: " + e.getMessage());
            code = EXIT_FAIL;
        } catch (Throwable e) {
            line("FAIL: " + e);
            e.printStackTrace();
            code = EXIT_FAIL;
        }
        OUT.flush();
        // Client threads (heartbeats, admin) must not keep the JVM alive.
        Runtime.getRuntime().halt(code);
    }
}
