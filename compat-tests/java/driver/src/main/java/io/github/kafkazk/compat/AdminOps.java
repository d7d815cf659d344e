package io.github.kafkazk.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;

import static io.github.kafkazk.compat.Driver.emit;
import static io.github.kafkazk.compat.Driver.get;
import static io.github.kafkazk.compat.Driver.obj;

/**
 * The "admin" operation of the Java driver (Java only, TestJavaAdmin): the Admin API and static membership on
 * topic T (2 partitions with 10 records each, written by the runner) and group G:
 *
 * <pre>
 * {"partitions_after":4}                          createPartitions to 4, described
 * {"low_watermark":5,"earliest":5}                deleteRecords of 0 before offset 5; ListOffsets earliest
 * {"max_ts_offset":o,"max_ts":ts}                 ListOffsets of partition 1 by OffsetSpec.maxTimestamp
 * {"static":{"gen1":g,"gen2":g,...}}              a static member (group.instance.id) consumes 15 records and
 *                                                 commits, closes (no LeaveGroup), a new one with the same
 *                                                 instance id rejoins: its generation
 * {"described":{...}}                             describeConsumerGroups while it is in the group
 * {"committed":{"p":offset}}                      listConsumerGroupOffsets
 * {"removed_state":"Empty"}                       removeMembersFromConsumerGroup (LeaveGroup by instance id)
 * {"altered":7}                                   alterConsumerGroupOffsets of partition 0 to 7, listed again
 * {"listed":true,"deleted":true}                  listConsumerGroups had G; deleteConsumerGroups, G gone
 * </pre>
 */
final class AdminOps {
    private AdminOps() {}

    static void run(Driver.Spec s) throws Exception {
        TopicPartition p0 = new TopicPartition(s.topic, 0), p1 = new TopicPartition(s.topic, 1);
        try (Admin a = Driver.admin(s.bootstrapString())) {
            get(a.createPartitions(Map.of(s.topic, NewPartitions.increaseTo(4))).all());
            int[] n = new int[1];
            Driver.retry(10, () -> {
                n[0] = get(a.describeTopics(List.of(s.topic)).allTopicNames()).get(s.topic).partitions().size();
                if (n[0] != 4) throw new Driver.Fail("described " + n[0] + " partitions after createPartitions to 4");
            });
            emit(obj("partitions_after", n[0]));

            long low = get(a.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(5))).lowWatermarks().get(p0)).lowWatermark();
            long earliest = get(a.listOffsets(Map.of(p0, OffsetSpec.earliest())).partitionResult(p0)).offset();
            emit(obj("low_watermark", low, "earliest", earliest));

            ListOffsetsResult.ListOffsetsResultInfo mx = get(a.listOffsets(Map.of(p1, OffsetSpec.maxTimestamp())).partitionResult(p1));
            emit(obj("max_ts_offset", mx.offset(), "max_ts", mx.timestamp()));

            Properties p = Driver.consumerProps(s.bootstrapString());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, s.group);
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "s1");
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
            Map<String, Object> st = new TreeMap<>();
            String memberId1;
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
                c.subscribe(List.of(s.topic));
                int got = 0;
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (got < 15 && System.nanoTime() < deadline) got += c.poll(Duration.ofMillis(200)).count();
                if (got < 15) throw new Driver.Fail("the static member consumed " + got + " of 15 records");
                c.commitSync(Duration.ofSeconds(15));
                st.put("gen1", c.groupMetadata().generationId());
                st.put("assigned1", partitions(c.assignment()));
                memberId1 = c.groupMetadata().memberId();
            }
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
                c.subscribe(List.of(s.topic));
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (c.assignment().isEmpty() && System.nanoTime() < deadline) c.poll(Duration.ofMillis(200));
                st.put("gen2", c.groupMetadata().generationId());
                st.put("assigned2", partitions(c.assignment()));
                st.put("new_member_id", !c.groupMetadata().memberId().equals(memberId1));
                emit(obj("static", st));

                ConsumerGroupDescription d = get(a.describeConsumerGroups(List.of(s.group)).all()).get(s.group);
                List<Object> members = new ArrayList<>();
                for (MemberDescription m : d.members()) {
                    members.add(obj("instance", m.groupInstanceId().orElse(""), "assigned", partitions(m.assignment().topicPartitions())));
                }
                emit(obj("described", obj("state", d.state().toString(), "protocol", d.partitionAssignor(), "members", members,
                        "simple", d.isSimpleConsumerGroup())));
            } // closed without leaving: the member stays until removed or its session ends

            Map<String, Object> committed = new TreeMap<>();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : get(a.listConsumerGroupOffsets(s.group).partitionsToOffsetAndMetadata()).entrySet()) {
                committed.put(String.valueOf(e.getKey().partition()), e.getValue().offset());
            }
            emit(obj("committed", committed));

            get(a.removeMembersFromConsumerGroup(s.group,
                    new RemoveMembersFromConsumerGroupOptions(List.of(new MemberToRemove("s1")))).all());
            emit(obj("removed_state", get(a.describeConsumerGroups(List.of(s.group)).all()).get(s.group).state().toString()));

            get(a.alterConsumerGroupOffsets(s.group, Map.of(p0, new OffsetAndMetadata(7))).all());
            OffsetAndMetadata o = get(a.listConsumerGroupOffsets(s.group).partitionsToOffsetAndMetadata()).get(p0);
            emit(obj("altered", o == null ? -1 : o.offset()));

            boolean listed = false;
            for (ConsumerGroupListing l : get(a.listConsumerGroups().all())) listed |= l.groupId().equals(s.group);
            get(a.deleteConsumerGroups(List.of(s.group)).all());
            boolean gone = true;
            for (ConsumerGroupListing l : get(a.listConsumerGroups().all())) gone &= !l.groupId().equals(s.group);
            emit(obj("listed", listed, "deleted", gone));
        }
    }

    static List<Integer> partitions(Set<TopicPartition> tps) {
        Set<Integer> out = new TreeSet<>();
        for (TopicPartition tp : tps) out.add(tp.partition());
        return new ArrayList<>(out);
    }
}
