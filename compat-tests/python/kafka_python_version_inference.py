"""kafka-python 3.x (the venv scripts/deps.sh builds, var/pyenv-kafka-python)
against the broker, with api_version=None so the client infers the broker
version from ApiVersions and picks every request version from the broker's
advertised ranges (newer ones than kafka-python 2.0.2 sends).

Prints "inferred X.Y" (check_version on the bootstrap connection),
"node ID X.Y" (check_version on every broker of the metadata), then an admin
create topic, N produced records (uncompressed and gzip), a group consumer
that reads them all back and commits, the committed offsets of that group and
of an unknown one in one OffsetFetch (v8+), and "ok N".

usage: kafka_python_version_inference.py BOOTSTRAP TOPIC N
"""
import logging
import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.protocol.api_key import ApiKey


def version_str(v):
    return ".".join(str(x) for x in v) if v else "none"


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print("kafka-python %s" % kafka.__version__, file=sys.stderr)

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, api_version=None,
                             request_timeout_ms=15000)
    client = admin._client
    print("inferred %s" % version_str(client.check_version()))
    # The advertised ranges of the keys kafka-python's inference table tests,
    # for the failure message.
    advertised = client._manager.broker_version_data.api_versions
    for key in (ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.DescribeLogDirs):
        print("advertised %s %s" % (key.name, advertised.get(key.value)), file=sys.stderr)
    brokers = sorted(b.node_id for b in client.cluster.brokers())
    if not brokers:
        print("no brokers in the metadata", file=sys.stderr)
        return 2
    for node_id in brokers:
        print("node %d %s" % (node_id, version_str(client.check_version(node_id=node_id))))

    admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)],
                        timeout_ms=15000)
    admin.close()

    want = set()
    for compression in (None, "gzip"):
        producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=None, acks="all",
                                 compression_type=compression, request_timeout_ms=15000)
        half = n // 2 if compression is None else n - n // 2
        for i in range(half):
            value = b"%s-%d" % ((compression or "none").encode(), i)
            want.add(value)
            producer.send(topic, key=b"k%d" % i, value=value)
        producer.flush(timeout=30)
        producer.close()

    group = topic + "-group"
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, api_version=None,
                             group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, request_timeout_ms=30000)
    got = set()
    deadline = time.monotonic() + 60
    while len(got) < n and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            for r in records:
                got.add(r.value)
    consumer.commit()
    consumer.close()
    if got != want:
        print("consumed %d distinct records, want %d; missing %s" %
              (len(got), len(want), sorted(want - got)[:5]), file=sys.stderr)
        return 3

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, api_version=None,
                             request_timeout_ms=15000)
    # Two groups in one call: OffsetFetch v8+ (KIP-709) batches them.
    committed = admin.list_group_offsets([group, group + "-none"])
    admin.close()
    total = sum(meta.offset for tp, meta in committed.get(group, {}).items() if tp.topic == topic)
    if total != n or committed.get(group + "-none"):
        print("committed offsets %s: %d in %s, want %d and none in the other" %
              (committed, total, group, n), file=sys.stderr)
        return 4
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
