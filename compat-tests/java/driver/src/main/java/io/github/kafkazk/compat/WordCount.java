package io.github.kafkazk.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A Kafka Streams word count, at-least-once, for compat-tests/clients (TestStreamsWordCount):
 *
 * <pre>java -cp ... io.github.kafkazk.compat.WordCount --bootstrap B --app-id A --input I --output O --state-dir D
 *     [--replication-factor R] [--timeout S] [--guarantee at_least_once|exactly_once_v2]</pre>
 *
 * Lines of the input topic are split into lower-case words, re-keyed by word (groupBy: the repartition topic
 * A-words-repartition) and counted in the key-value store "counts" (its changelog A-counts-changelog); every
 * new count goes to the output topic (key: the word, value: the count as an 8-byte big-endian long). Stdout
 * gets one JSON line per state change, {"state":"RUNNING"}; a "stop" line (or EOF) on stdin closes the
 * application, which then prints "ok" (or "FAIL: reason") and exits. --guarantee exactly_once_v2 sets
 * processing.guarantee (KIP-447: one transactional producer per stream thread, the input offsets committed in the
 * transaction, consumers of the internal topics read_committed); TestStreamsWordCountEOS uses it.
 */
public final class WordCount {
    public static void main(String[] args) throws Exception {
        String bootstrap = null, app = null, input = null, output = null, stateDir = null;
        String rf = "3";
        String guarantee = StreamsConfig.AT_LEAST_ONCE;
        double timeout = 120;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--bootstrap": bootstrap = args[i + 1]; break;
                case "--app-id": app = args[i + 1]; break;
                case "--input": input = args[i + 1]; break;
                case "--output": output = args[i + 1]; break;
                case "--state-dir": stateDir = args[i + 1]; break;
                case "--timeout": timeout = Double.parseDouble(args[i + 1]); break;
                case "--replication-factor": rf = args[i + 1]; break;
                case "--guarantee": guarantee = args[i + 1]; break;
                default: throw new IllegalArgumentException("unknown flag " + args[i]);
            }
        }
        if (bootstrap == null || app == null || input == null || output == null || stateDir == null) {
            throw new IllegalArgumentException("usage: WordCount --bootstrap B --app-id A --input I --output O --state-dir D");
        }
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
        // committed repartition records are deleted (DeleteRecords) soon, not after the default 30 s
        p.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, "200");
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass().getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass().getName());
        // the internal topics replicated on every broker of the test cluster (--replication-factor, default 3)
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, rf);
        p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "6000");
        p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), "500");

        StreamsBuilder b = new StreamsBuilder();
        KStream<String, String> lines = b.stream(input, Consumed.with(Serdes.String(), Serdes.String()));
        lines.flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
                .filter((k, w) -> !w.isEmpty())
                .groupBy((k, w) -> w, Grouped.with("words", Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(b.build(), p);
        CountDownLatch failed = new CountDownLatch(1);
        String[] why = new String[1];
        streams.setStateListener((now, before) -> Driver.emit(Driver.obj("state", now.name())));
        streams.setUncaughtExceptionHandler(e -> {
            why[0] = String.valueOf(e);
            e.printStackTrace();
            failed.countDown();
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        CountDownLatch stop = new CountDownLatch(1);
        Thread in = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.trim().equals("stop")) break;
                }
            } catch (Exception e) {
                // EOF: stop as well
            }
            stop.countDown();
        });
        in.setDaemon(true);
        in.start();
        streams.start();
        long deadline = System.nanoTime() + (long) (timeout * 1e9);
        while (stop.getCount() > 0 && failed.getCount() > 0 && System.nanoTime() < deadline) {
            stop.await(100, TimeUnit.MILLISECONDS);
        }
        boolean closed = streams.close(Duration.ofSeconds(30));
        int code = 0;
        if (failed.getCount() == 0) {
            Driver.line("FAIL: stream thread died: " + why[0]);
            code = 1;
        } else if (stop.getCount() > 0) {
            Driver.line("FAIL: no stop line within " + timeout + "s");
            code = 1;
        } else if (!closed) {
            Driver.line("FAIL: the application did not close within 30s");
            code = 1;
        } else {
            Driver.line("ok");
        }
        Runtime.getRuntime().halt(code);
    }
}
