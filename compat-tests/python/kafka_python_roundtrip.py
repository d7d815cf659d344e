#!/usr/bin/python3
"""kafka-python round trip: create a topic with the admin client, produce N
messages with keys and headers, consume them back, exit non-zero on mismatch.

usage: kafka_python_roundtrip.py BOOTSTRAP TOPIC N
"""
import logging
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-admin",
                             request_timeout_ms=15000)
    admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)],
                        timeout_ms=15000)
    if topic not in admin.list_topics():
        print("topic %s not listed after create" % topic, file=sys.stderr)
        return 2
    admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                             retries=3, request_timeout_ms=15000)
    futures = []
    for i in range(n):
        futures.append(producer.send(topic, partition=i % 2, key=b"k%d" % i,
                                     value=b"value-%d-" % i + b"y" * (i % 50),
                                     headers=[("i", str(i).encode())]))
    producer.flush(timeout=30)
    offsets = {0: [], 1: []}
    for f in futures:
        md = f.get(timeout=30)
        offsets[md.partition].append(md.offset)
    producer.close()
    for p, offs in offsets.items():
        if offs != list(range(len(offs))):
            print("partition %d produce offsets not 0..n-1: %s" % (p, offs[:10]), file=sys.stderr)
            return 3

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=15000)
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    got = {}
    for msg in consumer:
        i = int(msg.key[1:])
        if i in got:
            print("duplicate message %d" % i, file=sys.stderr)
            return 4
        want = b"value-%d-" % i + b"y" * (i % 50)
        if msg.value != want or msg.partition != i % 2 or msg.headers != [("i", str(i).encode())]:
            print("message %d mismatch: %r %r %r" % (i, msg.partition, msg.value, msg.headers),
                  file=sys.stderr)
            return 5
        got[i] = msg.offset
        if len(got) == n:
            break
    consumer.close()
    if len(got) != n:
        print("consumed %d of %d messages" % (len(got), n), file=sys.stderr)
        return 6
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
