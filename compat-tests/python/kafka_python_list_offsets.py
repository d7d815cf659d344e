#!/usr/bin/python3
"""kafka-python ListOffsets: N messages with timestamps 1000+i in partition 0
of a new topic, then beginning/end offsets as an old client asks them
(api_version 0.10.0: ListOffsets v0, max_num_offsets 1, as Burrow does) and
as a newer one (v1), and offsets_for_times (v1). Prints "ok N".

usage: kafka_python_list_offsets.py BOOTSTRAP TOPIC N
"""
import logging
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def main():
    bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)],
                        timeout_ms=15000)
    admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=3,
                             request_timeout_ms=15000)
    for i in range(n):
        producer.send(topic, partition=0, value=b"v%d" % i, timestamp_ms=1000 + i)
    producer.flush(timeout=30)
    producer.close()

    tp = TopicPartition(topic, 0)
    for api_version in [(0, 10, 0), (0, 10, 1), (2, 0, 0)]:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version,
                                 enable_auto_commit=False, request_timeout_ms=15000)
        end = consumer.end_offsets([tp])
        begin = consumer.beginning_offsets([tp])
        if end != {tp: n} or begin != {tp: 0}:
            print("api_version %s: end %s begin %s, want %d and 0" % (api_version, end, begin, n),
                  file=sys.stderr)
            return 2
        if api_version >= (0, 10, 1):
            found = consumer.offsets_for_times({tp: 1000 + n // 2})
            got = found.get(tp)
            if got is None or got.offset != n // 2 or got.timestamp != 1000 + n // 2:
                print("api_version %s: offsets_for_times %s, want offset %d" % (api_version, found, n // 2),
                      file=sys.stderr)
                return 3
            if consumer.offsets_for_times({tp: 1000 + n}) != {tp: None}:
                print("api_version %s: a time after the last record found an offset" % (api_version,),
                      file=sys.stderr)
                return 4
        consumer.close()
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
