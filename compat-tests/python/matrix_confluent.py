#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) driver of the client compatibility
matrix (the contract is in matrix_common.py and
compat-tests/clients/driver/driver.go).

usage: matrix_confluent.py OP --bootstrap host:port[,...] [flags]
"""
import os
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME,  # noqa: E402
                             TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaError, KafkaException,
                             Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

import matrix_common as mc  # noqa: E402


def _rec(m):
    tt, ts = m.timestamp()
    return {"p": m.partition(), "o": m.offset(),
            "k": None if m.key() is None else m.key().decode(),
            "v": "" if m.value() is None else m.value().decode(),
            "h": [[k, (v or b"").decode()] for k, v in (m.headers() or [])],
            "ts": ts, "tt": {TIMESTAMP_CREATE_TIME: "create", TIMESTAMP_LOG_APPEND_TIME: "append"}.get(tt, "")}


def _wait(futures):
    for f in futures.values():
        f.result(timeout=30)


class Client:
    def __init__(self, a):
        self.a = a
        self.topic = a.topic
        self.bootstrap = a.bootstrap
        self.sec = mc.librdkafka_security(a)

    def _admin(self, bootstrap=None):
        return AdminClient({"bootstrap.servers": bootstrap or self.bootstrap, **self.sec})

    def metadata(self, addr, topic):
        md = self._admin(addr).list_topics(topic=topic, timeout=15)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise mc.Failed("metadata of %s: %r" % (topic, t and t.error))
        return list(md.brokers), {p: pm.leader for p, pm in t.partitions.items()}

    def create_topic(self, topic, partitions, rf):
        adm = self._admin()  # kept alive until the futures resolve
        _wait(adm.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf)],
                                request_timeout=15))

    def describe_topic(self, topic):
        md = self._admin().list_topics(topic=topic, timeout=15)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise mc.Failed("describe %s: %r" % (topic, t and t.error))
        ps = t.partitions
        return len(ps), len(ps[0].replicas) if 0 in ps else 0

    def list_topics(self):
        # librdkafka's all-topics metadata request (list_topics without a topic).
        md = self._admin().list_topics(timeout=15)
        for name, t in md.topics.items():
            if t.error is not None:
                raise mc.Failed("topic %s: %r" % (name, t.error))
        return list(md.topics)

    def delete_topic(self, topic):
        adm = self._admin()
        _wait(adm.delete_topics([topic], request_timeout=15))

    def _configs(self, topic):
        res = ConfigResource("topic", topic)
        adm = self._admin()
        fs = adm.describe_configs([res], request_timeout=15)
        return list(fs.values())[0].result(timeout=30)

    def topic_config(self, topic, key):
        entries = self._configs(topic)
        if key not in entries:
            raise mc.Failed("%s not described" % key)
        return entries[key].value

    def set_topic_config(self, topic, key, value):
        # confluent-kafka-python 1.7 has only the legacy AlterConfigs, which
        # replaces the topic's whole config: carry over the non-default entries.
        keep = {k: e.value for k, e in self._configs(topic).items() if not e.is_default and e.value is not None}
        keep[key] = value
        adm = self._admin()
        fs = adm.alter_configs([ConfigResource("topic", topic, set_config=keep)], request_timeout=15)
        _wait(fs)

    def producer(self, acks, codec, idempotent, retry):
        conf = {"bootstrap.servers": self.bootstrap, "acks": acks, "compression.type": codec,
                "enable.idempotence": idempotent, "linger.ms": 5, **self.sec}
        if retry:
            conf["message.timeout.ms"] = 90000
        p = Producer(conf)
        topic = self.topic
        lock = threading.Lock()

        class Prod:
            def send(self, r, done):
                kw = {"partition": r["p"], "key": None if r["k"] is None else r["k"].encode(),
                      "headers": [(k, v.encode()) for k, v in r["h"]] or None,
                      "on_delivery": lambda err, _m: done(err)}
                if r["ts"]:
                    kw["timestamp"] = r["ts"]
                with lock:
                    while True:
                        try:
                            p.produce(topic, r["v"].encode(), **kw)
                            break
                        except BufferError:
                            p.poll(0.05)
                    p.poll(0)

            def flush(self, timeout):
                with lock:
                    p.flush(timeout)

            def close(self):
                with lock:
                    p.flush(10)
        return Prod()

    def consume(self, partitions, start, emit, stop):
        conf = {"bootstrap.servers": self.bootstrap, "group.id": "matrix-assign-" + uuid.uuid4().hex,
                "enable.auto.commit": False, "fetch.wait.max.ms": 500, **self.sec}
        if self.a.isolation:
            conf["isolation.level"] = self.a.isolation
        c = Consumer(conf)
        try:
            if start == "earliest":
                tps = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(partitions)]
            elif start == "latest":
                tps = [TopicPartition(self.topic, p, OFFSET_END) for p in range(partitions)]
            else:
                tps = c.offsets_for_times([TopicPartition(self.topic, p, start[1]) for p in range(partitions)],
                                          timeout=15)
                for tp in tps:
                    if tp.error is not None:
                        raise KafkaException(tp.error)
            c.assign(tps)
            while not stop.is_set():
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error() is not None:
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    continue
                if not emit(_rec(m)):
                    return
        finally:
            c.close()

    def txn_producer(self, txn_id, topic=None):
        """a Producer with transactional.id, init_transactions done."""
        p = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": txn_id,
                      "transaction.timeout.ms": 60000, "linger.ms": 5, **self.sec})
        p.init_transactions(30)
        topic = topic or self.topic
        lock = threading.Lock()

        class Prod:
            def send(self, r, done):
                with lock:
                    p.produce(topic, r["v"].encode(), partition=r["p"],
                              key=None if r["k"] is None else r["k"].encode(),
                              on_delivery=lambda err, _m: done(err))
                    p.poll(0)

            def flush(self, timeout):
                with lock:
                    p.flush(timeout)

            def begin(self):
                p.begin_transaction()

            def end(self, commit):
                if commit:
                    p.commit_transaction(30)
                else:
                    p.abort_transaction(30)

            def send_offsets(self, offsets, group_metadata):
                p.send_offsets_to_transaction(offsets, group_metadata, 30)

            def close(self):
                with lock:
                    p.flush(10)
        return Prod()

    def txn_transform(self, input_topic, output, group, txn_id, count, commit, emit):
        """a subscribed Consumer (read_committed) and a transactional
        Producer: send_offsets_to_transaction with consumer_group_metadata()."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                      "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 500,
                      **self.sec})
        c.subscribe([input_topic])
        prod = self.txn_producer(txn_id, output)
        try:
            prod.begin()
            consumed = []
            deadline = mc.time.time() + self.a.timeout
            while len(consumed) < count:
                if mc.time.time() > deadline:
                    raise mc.Failed("consumed %d of %d records" % (len(consumed), count))
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error() is not None:
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    continue
                r = _rec(m)
                emit(r)
                consumed.append(r)
            mc.produce_all(prod, [{"p": r["p"], "k": r["k"], "v": "t" + r["v"], "h": [], "ts": 0} for r in consumed],
                           self.a.timeout)
            offsets = [TopicPartition(input_topic, p, o) for p, o in mc.offsets_after(consumed).items()]
            prod.send_offsets(offsets, c.consumer_group_metadata())
            prod.end(commit)
        finally:
            prod.close()
            c.close()

    def member(self, name, group, balancer, on_record):
        return Member(self.bootstrap, self.topic, name, group, balancer, on_record)


class Member:
    """A subscribed Consumer polled by its own thread; every record is
    committed synchronously after it was handed over."""

    def __init__(self, bootstrap, topic, name, group, balancer, on_record):
        self._assigned = []
        self._stop = threading.Event()
        self._c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                            "partition.assignment.strategy": "cooperative-sticky" if balancer == "coop" else "range",
                            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                            "auto.offset.reset": "earliest", "enable.auto.commit": False,
                            "fetch.wait.max.ms": 500})
        self._c.subscribe([topic])
        self._topic = topic
        self._on_record = on_record
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        c = self._c
        while not self._stop.is_set():
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                self._on_record(_rec(m))
                try:
                    c.commit(message=m, asynchronous=False)
                except KafkaException as e:
                    print("confluent commit: %r" % (e,), file=sys.stderr)
            self._assigned = [tp.partition for tp in c.assignment() if tp.topic == self._topic]
        try:
            c.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != KafkaError._NO_OFFSET:
                print("confluent final commit: %r" % (e,), file=sys.stderr)
        c.close()

    def assigned(self):
        return list(self._assigned)

    def close(self):
        self._stop.set()
        self._t.join(30)


if __name__ == "__main__":
    code = mc.main(Client)
    sys.stdout.flush()
    os._exit(code)
