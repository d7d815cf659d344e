#!/usr/bin/python3
"""kafka-python driver of the client compatibility matrix (the contract is in
matrix_common.py and compat-tests/clients/driver/driver.go).

usage: matrix_kafka_python.py OP --bootstrap host:port[,...] [flags]
"""
import logging
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka.coordinator.assignors.range import RangePartitionAssignor  # noqa: E402
from kafka.errors import for_code  # noqa: E402

import matrix_common as mc  # noqa: E402


def _raise_code(code, what):
    if code:
        raise mc.Failed("%s: %s" % (what, for_code(code).__name__))


def _rec(m):
    return {"p": m.partition, "o": m.offset,
            "k": None if m.key is None else m.key.decode(),
            "v": "" if m.value is None else m.value.decode(),
            "h": [[k, (v or b"").decode()] for k, v in (m.headers or [])],
            "ts": m.timestamp, "tt": "append" if m.timestamp_type == 1 else "create"}


def security(a):
    """The security flags as kafka-python's arguments: security_protocol,
    ssl_cafile (ssl_check_hostname is on by default), ssl_certfile and
    ssl_keyfile, sasl_mechanism with sasl_plain_username/password (kafka-python
    2.0 uses them for SCRAM too)."""
    kw = {}
    if a.security_protocol == "PLAINTEXT":
        return kw
    kw["security_protocol"] = a.security_protocol
    if a.security_protocol.endswith("SSL"):
        kw["ssl_cafile"] = a.ca or None
        if a.cert:
            kw["ssl_certfile"] = a.cert
            kw["ssl_keyfile"] = a.key_file
    if a.security_protocol.startswith("SASL_"):
        kw["sasl_mechanism"] = a.sasl_mechanism
        kw["sasl_plain_username"] = a.sasl_user
        kw["sasl_plain_password"] = a.sasl_password
    return kw


class Client:
    # kafka-python 2.0.2's producer never reports TOPIC_AUTHORIZATION_FAILED:
    # cluster.update_metadata fails a one-topic update with the error without
    # adding the topic to unauthorized_topics, the set _wait_on_metadata
    # checks, so send() asks for metadata again and again (past max_block_ms:
    # the failed update sets the event its timeout test looks at).
    hides_denial = ("kafka-python 2.0.2's producer loops in _wait_on_metadata on a topic answered with "
                    "TOPIC_AUTHORIZATION_FAILED (update_metadata fails the update without marking the topic "
                    "unauthorized) and never reports the error")

    def __init__(self, a):
        self.a = a
        self.topic = a.topic
        self.bootstrap = a.bootstrap.split(",")
        self.sec = security(a)

    def _admin(self, bootstrap=None):
        return KafkaAdminClient(bootstrap_servers=bootstrap or self.bootstrap, client_id="matrix-admin",
                                request_timeout_ms=15000, **self.sec)

    def metadata(self, addr, topic):
        adm = self._admin([addr])
        try:
            brokers = [b["node_id"] for b in adm.describe_cluster()["brokers"]]
            leaders = {}
            for t in adm.describe_topics([topic]):
                if t["topic"] == topic:
                    _raise_code(t["error_code"], "metadata of %s" % topic)
                    for p in t["partitions"]:
                        leaders[p["partition"]] = p["leader"]
            return brokers, leaders
        finally:
            adm.close()

    def create_topic(self, topic, partitions, rf):
        adm = self._admin()
        try:
            resp = adm.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=rf)],
                                     timeout_ms=15000)
            for err in resp.topic_errors:
                _raise_code(err[1], "create %s" % topic)
        finally:
            adm.close()

    def describe_topic(self, topic):
        adm = self._admin()
        try:
            for t in adm.describe_topics([topic]):
                if t["topic"] == topic:
                    _raise_code(t["error_code"], "describe %s" % topic)
                    ps = t["partitions"]
                    return len(ps), len(ps[0]["replicas"]) if ps else 0
            raise mc.Failed("topic %s not described" % topic)
        finally:
            adm.close()

    def list_topics(self):
        adm = self._admin()
        try:
            return adm.list_topics()  # a Metadata request for every topic
        finally:
            adm.close()

    def delete_topic(self, topic):
        adm = self._admin()
        try:
            resp = adm.delete_topics([topic], timeout_ms=15000)
            for t, code in resp.topic_error_codes:
                _raise_code(code, "delete %s" % t)
        finally:
            adm.close()

    def topic_config(self, topic, key):
        adm = self._admin()
        try:
            for resp in adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]):
                for res in resp.resources:
                    _raise_code(res[0], "describe configs")
                    for entry in res[4]:
                        if entry[0] == key:
                            return entry[1]
            raise mc.Failed("%s not described" % key)
        finally:
            adm.close()

    def set_topic_config(self, topic, key, value):
        # kafka-python has only the legacy AlterConfigs, which replaces the
        # topic's whole config: carry over the other non-default entries.
        adm = self._admin()
        try:
            configs = {}
            for resp in adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]):
                for res in resp.resources:
                    for entry in res[4]:
                        if not entry[3] and entry[1] is not None:  # not is_default
                            configs[entry[0]] = entry[1]
            configs[key] = value
            resp = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
            for res in resp.resources:
                _raise_code(res[0], "alter configs")
        finally:
            adm.close()

    def producer(self, acks, codec, idempotent, retry):
        if idempotent:
            raise mc.Skip("kafka-python 2.0.2 has no idempotent producer")
        kw = {}
        if retry:
            kw = {"retries": 100, "retry_backoff_ms": 250, "max_in_flight_requests_per_connection": 1}
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all" if acks == "all" else int(acks),
                          compression_type=None if codec == "none" else codec, linger_ms=5,
                          request_timeout_ms=15000, **kw, **self.sec)
        topic = self.topic

        class Prod:
            def send(self, r, done):
                fut = p.send(topic, partition=r["p"], key=None if r["k"] is None else r["k"].encode(),
                             value=r["v"].encode(), headers=[(k, v.encode()) for k, v in r["h"]],
                             timestamp_ms=r["ts"] or None)
                fut.add_callback(lambda _md: done(None))
                fut.add_errback(lambda e: done(e))

            def flush(self, timeout):
                p.flush(timeout=timeout)

            def close(self):
                p.close(timeout=10)
        return Prod()

    def consume(self, partitions, start, emit, stop):
        if self.a.isolation == "read_committed":
            raise mc.Skip("kafka-python 2.0.2 has no isolation level (its fetcher always reads uncommitted)")
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                          fetch_max_wait_ms=500, request_timeout_ms=15000, **self.sec)
        try:
            tps = [TopicPartition(self.topic, p) for p in range(partitions)]
            c.assign(tps)
            if start == "earliest":
                c.seek_to_beginning(*tps)
            elif start == "latest":
                c.seek_to_end(*tps)
            else:
                offs = c.offsets_for_times({tp: start[1] for tp in tps})
                for tp in tps:
                    if offs.get(tp) is None:
                        c.seek_to_end(tp)
                    else:
                        c.seek(tp, offs[tp].offset)
            while not stop.is_set():
                for recs in c.poll(timeout_ms=200).values():
                    for m in recs:
                        if not emit(_rec(m)):
                            return
        finally:
            c.close()

    def member(self, name, group, balancer, on_record):
        if balancer == "coop":
            raise mc.Skip("kafka-python 2.0.2 has no cooperative rebalancing (eager assignors only)")
        return Member(self.bootstrap, self.topic, name, group, on_record)


class Member:
    """A KafkaConsumer in its own thread (it is not thread-safe): poll,
    hand records over, commit synchronously, publish the assignment."""

    def __init__(self, bootstrap, topic, name, group, on_record):
        self._assigned = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._err = None
        self._c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id=name,
                                partition_assignment_strategy=[RangePartitionAssignor],
                                session_timeout_ms=6000, heartbeat_interval_ms=500,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=500)
        self._on_record = on_record
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        c = self._c
        while not self._stop.is_set():
            try:
                batches = c.poll(timeout_ms=200)
                n = 0
                for recs in batches.values():
                    for m in recs:
                        self._on_record(_rec(m))
                        n += 1
                if n:
                    try:
                        c.commit()
                    except Exception as e:  # e.g. CommitFailedError during a rebalance
                        print("kafka-python commit: %r" % (e,), file=sys.stderr)
                self._assigned = [tp.partition for tp in c.assignment()]
            except Exception as e:
                print("kafka-python member: %r" % (e,), file=sys.stderr)
                self._err = e
                time.sleep(0.2)
        try:
            c.commit()
        except Exception as e:
            print("kafka-python final commit: %r" % (e,), file=sys.stderr)
        c.close(autocommit=False)

    def assigned(self):
        return list(self._assigned)

    def close(self):
        self._stop.set()
        self._t.join(30)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    code = mc.main(Client)
    sys.stdout.flush()
    os._exit(code)
