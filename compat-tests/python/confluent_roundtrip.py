#!/usr/bin/python3
"""confluent-kafka-python round trip: create a topic with the AdminClient,
produce N messages (idempotent, lz4), consume them back, exit non-zero on
mismatch. MODE "assign" reads every partition from the beginning without the
group coordinator; "group" subscribes in a consumer group and commits.

usage: confluent_roundtrip.py BOOTSTRAP TOPIC N [assign|group]
"""
import os
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "assign"

    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                             request_timeout=15)
    for t, f in fs.items():
        f.result(timeout=30)  # raises on error
    md = admin.list_topics(topic=topic, timeout=15)
    tm = md.topics.get(topic)
    if tm is None or tm.error is not None or len(tm.partitions) != 3:
        print("metadata after create: %r" % (tm and (tm.error, tm.partitions)), file=sys.stderr)
        return 2

    errors = []
    delivered = {}

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[msg.key()] = (msg.partition(), msg.offset())

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "linger.ms": 5, "compression.type": "lz4"})
    for i in range(n):
        while True:
            try:
                producer.produce(topic, key=b"k%d" % i, value=b"v-%d-" % i + b"z" * (i % 64),
                                 headers=[("i", str(i).encode())], on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(30)
    if left or errors or len(delivered) != n:
        print("produce: %d undelivered, errors %r, delivered %d" % (left, errors[:5], len(delivered)),
              file=sys.stderr)
        return 3

    conf = {"bootstrap.servers": bootstrap, "group.id": "compat-" + topic,
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    if os.environ.get("RDKAFKA_DEBUG"):
        conf["debug"] = os.environ["RDKAFKA_DEBUG"]  # e.g. cgrp,protocol
    consumer = Consumer(conf)
    if mode == "group":
        consumer.subscribe([topic])
    else:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    got = {}
    idle = 0
    while len(got) < n and idle < 20:
        msgs = consumer.consume(num_messages=1000, timeout=1.0)
        if not msgs:
            idle += 1
            continue
        idle = 0
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            i = int(m.key()[1:])
            want = b"v-%d-" % i + b"z" * (i % 64)
            if m.value() != want or m.headers() != [("i", str(i).encode())]:
                print("message %d mismatch: %r %r" % (i, m.value(), m.headers()), file=sys.stderr)
                return 4
            if (m.partition(), m.offset()) != delivered[m.key()]:
                print("message %d at %r, delivered at %r" % (i, (m.partition(), m.offset()),
                                                             delivered[m.key()]), file=sys.stderr)
                return 5
            if i in got:
                print("duplicate message %d" % i, file=sys.stderr)
                return 6
            got[i] = True
    if len(got) != n:
        print("consumed %d of %d messages (mode %s)" % (len(got), n, mode), file=sys.stderr)
        return 7
    if mode == "group":
        committed = consumer.commit(asynchronous=False)
        if sum(tp.offset for tp in committed) != n:
            print("committed offsets %r do not add up to %d" % (committed, n), file=sys.stderr)
            return 8
    consumer.close()
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
