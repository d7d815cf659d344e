"""The client-matrix driver contract (see compat-tests/clients/driver/driver.go)
for Python clients: argument parsing, result lines, and the operations, written
once over a small adapter that each client module implements:

    metadata(addr, topic) -> (broker_ids, {partition: leader})
    create_topic(topic, partitions, rf); describe_topic(topic) -> (partitions, rf)
    delete_topic(topic)
    list_topics() -> [names]  (one all-topics Metadata request)
    topic_config(topic, key) -> str; set_topic_config(topic, key, value)
    producer(acks, codec, idempotent, retry) -> object with
        send(rec, done)  done(err_or_None) is called once per record
        flush(timeout_s) close()
    consume(partitions, start, emit, stop)  start: "earliest" | "latest" | ("ts", ms);
        calls emit(rec) until it returns False or stop (threading.Event) is set
    member(name, group, balancer, on_record) -> object with
        assigned() -> list of partitions, close()
    consume reads the isolation level from a.isolation ("" = the client's
    default; a client without read_committed raises Skip)
  with transactions (else the txn operations skip):
    txn_producer(txn_id) -> producer object (initialised) with begin(), end(commit)
    txn_transform(input, output, group, txn_id, count, commit, emit): the
        txn-offsets operation (driver.go), emit(rec) per consumed record

A record is a dict: p, o, k (str or None), v, h ([[k, v], ...]), ts, tt.
Exit 0 = pass, 3 with "skip: reason" = the client lacks the feature.
"""
import argparse
import faulthandler
import json
import sys
import threading
import time
import traceback


class Skip(Exception):
    """The client does not have this feature."""


class Failed(Exception):
    """The operation failed."""


_out_lock = threading.Lock()


def emit_json(obj):
    with _out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def emit_line(text):
    with _out_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def parse(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--codec", default="none")
    ap.add_argument("--headers", action="store_true")
    ap.add_argument("--ts", type=int, default=0)
    ap.add_argument("--idempotent", action="store_true")
    ap.add_argument("--from", dest="start", default="earliest")
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--group", default="")
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--balancer", default="range")
    ap.add_argument("--key", default="retention.ms")
    ap.add_argument("--value", default="3600000")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    # The security flags (driver.go's Security) and produce --expect-denied.
    ap.add_argument("--security-protocol", default="PLAINTEXT",
                    choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
    ap.add_argument("--ca", default="")
    ap.add_argument("--truststore", default="")
    ap.add_argument("--truststore-password", default="")
    ap.add_argument("--cert", default="")
    ap.add_argument("--key-file", default="")
    ap.add_argument("--keystore", default="")
    ap.add_argument("--keystore-password", default="")
    ap.add_argument("--sasl-mechanism", default="")
    ap.add_argument("--sasl-user", default="")
    ap.add_argument("--sasl-password", default="")
    ap.add_argument("--expect-denied", action="store_true")
    # The transaction operations (driver.go).
    ap.add_argument("--isolation", default="", choices=["", "read_committed", "read_uncommitted"])
    ap.add_argument("--txn-id", default="")
    ap.add_argument("--abort-first", action="store_true")
    ap.add_argument("--abort", action="store_true")
    ap.add_argument("--output", default="")
    return ap.parse_args(argv)


def librdkafka_security(a):
    """The security flags as librdkafka's settings (confluent-kafka-python);
    librdkafka 2.x verifies the broker's hostname by default."""
    conf = {}
    if a.security_protocol == "PLAINTEXT":
        return conf
    conf["security.protocol"] = a.security_protocol.lower()
    if a.security_protocol.endswith("SSL"):
        if a.ca:
            conf["ssl.ca.location"] = a.ca
        if a.cert:
            conf["ssl.certificate.location"] = a.cert
            conf["ssl.key.location"] = a.key_file
    if a.security_protocol.startswith("SASL_"):
        conf["sasl.mechanisms"] = a.sasl_mechanism
        conf["sasl.username"] = a.sasl_user
        conf["sasl.password"] = a.sasl_password
    return conf


def is_denied(e):
    """An authorization error as the clients name it (TopicAuthorizationFailedError,
    TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed")."""
    return "authoriz" in ("%s %r" % (e, e)).lower()


def start_of(s):
    if s.startswith("ts:"):
        return ("ts", int(s[3:]))
    return s


def test_record(a, i):
    r = {"p": i % max(a.partitions, 1), "k": "k%d" % i, "v": "v%d" % i + "." * a.pad, "h": [], "ts": 0}
    if a.headers:
        r["h"] = [["h1", "a"], ["h2", "b c"]]
    if a.ts:
        r["ts"] = a.ts + i
    return r


def wait_until(cond, timeout, what):
    deadline = time.time() + timeout
    while True:
        ok, detail = cond()
        if ok:
            return
        if time.time() > deadline:
            raise Failed("%s within %ds: %s" % (what, timeout, detail))
        time.sleep(0.2)


def produce_all(prod, recs, timeout):
    lock = threading.Lock()
    errs = []
    acked = [0]

    def done(err):
        with lock:
            if err is not None:
                errs.append(err)
            else:
                acked[0] += 1
    for r in recs:
        prod.send(r, done)
    prod.flush(timeout)
    with lock:
        if errs:
            raise Failed("%d of %d records failed, first: %s" % (len(errs), len(recs), errs[0]))
        if acked[0] != len(recs):
            raise Failed("%d of %d records acknowledged after flush" % (acked[0], len(recs)))


def op_metadata(c, a):
    for addr in a.bootstrap.split(","):
        brokers, leaders = c.metadata(addr, a.topic)
        emit_json({"addr": addr, "brokers": sorted(brokers),
                   "leaders": {str(p): l for p, l in leaders.items()}})


def op_topics(c, a):
    c.create_topic(a.topic, 3, 2)
    last = [None]

    def described():
        try:
            last[0] = c.describe_topic(a.topic)
        except Exception as e:  # the topic may not be visible everywhere yet
            return False, repr(e)
        return last[0] == (3, 2), last[0]
    wait_until(described, 10, "describe 3 partitions RF 2")
    emit_json({"partitions": last[0][0], "rf": last[0][1]})
    c.delete_topic(a.topic)


def op_list_topics(c, a):
    emit_json({"topics": sorted(c.list_topics())})


def op_produce(c, a):
    """produce --expect-denied passes only when the client reports an
    authorization error: {"denied": message}."""
    if not a.expect_denied:
        return produce_records(c, a)
    if getattr(c, "hides_denial", ""):
        raise Skip(c.hides_denial)
    try:
        produce_records(c, a)
    except Skip:
        raise
    except Exception as e:  # the client's own error class, whatever it is
        if is_denied(e):
            emit_json({"denied": "%s: %s" % (type(e).__name__, e)})
            return
        raise Failed("not an authorization error: %r" % (e,))
    raise Failed("%d records acknowledged, an authorization error expected" % a.n)


def produce_records(c, a):
    if a.ts and getattr(c, "no_timestamps", False):
        emit_json({"ts_unsupported": True})
    prod = c.producer(a.acks, a.codec, a.idempotent, False)
    try:
        produce_all(prod, [test_record(a, i) for i in range(a.n)], a.timeout)
    finally:
        prod.close()


def op_consume(c, a):
    if a.count <= 0:
        raise Failed("--count is required")
    stop = threading.Event()
    got = []
    lock = threading.Lock()

    def emit(r):
        with lock:
            if len(got) >= a.count:
                return False
            got.append(r)
            emit_json(r)
            if len(got) >= a.count:
                stop.set()
                return False
            return True
    live = None
    if a.live:
        prod = c.producer("1", "none", False, False)

        def run_live():
            j = 0
            while not stop.is_set():
                done = []
                prod.send({"p": j % a.partitions, "k": "lk%d" % j, "v": "live%d" % j, "h": [], "ts": 0},
                          done.append)
                prod.flush(10)
                j += 1
                stop.wait(0.1)
        live = threading.Thread(target=run_live, daemon=True)
        live.start()
    errs = []

    def run():
        try:
            c.consume(a.partitions, start_of(a.start), emit, stop)
        except Exception as e:
            errs.append(e)
            traceback.print_exc()
        stop.set()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    stop.wait(a.timeout)
    stop.set()
    t.join(15)
    if live:
        live.join(15)
        prod.close()
    with lock:
        if len(got) < a.count:
            if errs and isinstance(errs[0], Skip):
                raise errs[0]
            raise Failed("consumed %d of %d records: %s" % (len(got), a.count, errs[:1]))


def op_configs(c, a):
    before = c.topic_config(a.topic, a.key)
    emit_json({"before": before})
    c.set_topic_config(a.topic, a.key, a.value)
    last = [None]

    def changed():
        last[0] = c.topic_config(a.topic, a.key)
        return last[0] == a.value, last[0]
    wait_until(changed, 10, "%s=%s after the change" % (a.key, a.value))
    emit_json({"after": last[0]})


def stable_ownership(members, partitions, timeout, phase):
    """Waits until each partition is owned by exactly one member and each member owns one."""
    state = {"last": None, "stable": 0}

    def check():
        cur = {name: sorted(m.assigned()) for name, m in members.items()}
        owners = {}
        for ps in cur.values():
            for p in ps:
                owners[p] = owners.get(p, 0) + 1
        ok = (all(cur.values()) and sorted(owners) == list(range(partitions))
              and all(n == 1 for n in owners.values()))
        if ok and cur == state["last"]:
            state["stable"] += 1
        else:
            state["stable"] = 1 if ok else 0
        state["last"] = cur
        return state["stable"] >= 2, cur
    wait_until(check, timeout, "phase %d: no stable ownership of %d partitions" % (phase, partitions))
    return state["last"]


def op_group(c, a):
    seen = set()
    lock = threading.Lock()

    def on_record(name):
        def f(r):
            r = dict(r, m=name)
            emit_json(r)
            with lock:
                seen.add((r["p"], r["o"]))
        return f
    prod = c.producer("all", "none", False, False)
    members = {}
    produced = [0]

    def join(name):
        members[name] = c.member(name, a.group, a.balancer, on_record(name))

    def phase(n):
        assign = stable_ownership(members, a.partitions, 45, n)
        emit_json({"phase": n, "assign": assign})
        recs = [{"p": i % a.partitions, "k": "g%d-%d" % (n, i), "v": "g%d-%d" % (n, i), "h": [], "ts": 0}
                for i in range(5 * a.partitions)]
        produced[0] += len(recs)
        produce_all(prod, recs, 30)
    try:
        join("A")
        join("B")
        phase(1)
        join("C")
        phase(2)
        members.pop("A").close()
        phase(3)
        want = a.expect + produced[0]

        def consumed():
            with lock:
                return len(seen) >= want, "consumed %d of %d records" % (len(seen), want)
        wait_until(consumed, 45, "consume everything")
        for name in ("B", "C"):
            members.pop(name).close()
    finally:
        for m in members.values():
            try:
                m.close()
            except Exception:
                traceback.print_exc()
        prod.close()


def op_resume(c, a):
    got = [0]
    lock = threading.Lock()
    done = threading.Event()

    def on_record(r):
        with lock:
            emit_json(dict(r, m="D"))
            got[0] += 1
            if got[0] >= a.count:
                done.set()
    m = c.member("D", a.group, a.balancer, on_record)
    try:
        if not done.wait(a.timeout):
            raise Failed("resumed member consumed %d of %d records" % (got[0], a.count))
    finally:
        m.close()


def op_failover(c, a):
    prod = c.producer("all", "none", False, True)
    stop = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()
    threading.Thread(target=read_stdin, daemon=True).start()
    lock = threading.Lock()
    acked = set()
    seen = set()
    errors = [0]
    cons_stop = threading.Event()

    def emit(r):
        with lock:
            seen.add(r["v"])
        return not cons_stop.is_set()
    cons_err = []

    def run_consumer():
        try:
            c.consume(a.partitions, "earliest", emit, cons_stop)
        except Exception as e:
            cons_err.append(e)
            traceback.print_exc()
    ct = threading.Thread(target=run_consumer, daemon=True)
    ct.start()
    sent = 0
    i = 0
    while not stop.is_set():
        v = "f%d" % i

        def done(err, v=v):
            with lock:
                if err is not None:
                    errors[0] += 1
                    return
                acked.add(v)
                if len(acked) % 50 == 0:
                    emit_json({"acked": len(acked)})
        prod.send({"p": i % a.partitions, "k": v, "v": v, "h": [], "ts": 0}, done)
        sent += 1
        i += 1
        time.sleep(0.005)
    prod.flush(90)

    def all_seen():
        with lock:
            missing = [v for v in acked if v not in seen]
            return not missing, "consumer has not seen %d of %d acknowledged records" % (len(missing), len(acked))
    try:
        wait_until(all_seen, 60, "consume every acknowledged record")
    finally:
        cons_stop.set()
        ct.join(15)
        prod.close()
        with lock:
            emit_json({"acked_list": sorted(int(v[1:]) for v in acked), "consumed": len(seen),
                       "sent": sent, "send_errors": errors[0]})


def op_roundtrip(c, a):
    """produce, then consume the same records from the earliest offset."""
    produce_records(c, a)
    a.count, a.start, a.live = a.n, "earliest", False
    op_consume(c, a)


def op_txn_produce(c, a):
    """an aborted transaction of a<i> (--abort-first), a committed one of
    v<i>, then a read_committed consume of N records from the earliest offset."""
    if not hasattr(c, "txn_producer"):
        raise Skip("the client has no transactional producer")
    prod = c.txn_producer(a.txn_id)
    try:
        def txn(prefix, commit):
            prod.begin()
            recs = []
            for i in range(a.n):
                r = test_record(a, i)
                r["v"] = prefix + r["v"][1:]
                recs.append(r)
            produce_all(prod, recs, a.timeout)
            prod.end(commit)
        if a.abort_first:
            txn("a", False)
        txn("v", True)
    finally:
        prod.close()
    emit_json({"committed": a.n})
    a.count, a.start, a.live, a.isolation = a.n, "earliest", False, "read_committed"
    op_consume(c, a)


def op_txn_offsets(c, a):
    """consume-transform-produce with the offsets in the transaction (driver.go)."""
    if not hasattr(c, "txn_transform"):
        raise Skip("the client has no transactional producer")
    if not (a.txn_id and a.group and a.output and a.count > 0):
        raise Failed("--txn-id, --group, --output and --count are required")
    c.txn_transform(a.topic, a.output, a.group, a.txn_id, a.count, not a.abort, emit_json)
    emit_json({"txn": "aborted" if a.abort else "committed"})


def offsets_after(recs):
    """the next offset per partition after the records."""
    nxt = {}
    for r in recs:
        nxt[r["p"]] = max(nxt.get(r["p"], 0), r["o"] + 1)
    return nxt


OPS = {"txn-produce": op_txn_produce, "txn-offsets": op_txn_offsets, "roundtrip": op_roundtrip, "metadata": op_metadata, "topics": op_topics, "list-topics": op_list_topics, "produce": op_produce,
       "consume": op_consume, "configs": op_configs, "group": op_group, "resume": op_resume, "failover": op_failover}


def main(make_client, argv=None):
    a = parse(sys.argv[1:] if argv is None else argv)
    if a.op not in OPS:
        emit_line("unknown operation %s" % a.op)
        return 2
    # A driver stuck past its bound prints every thread's stack and exits
    # (the runner kills it 30 s later, with nothing to show).
    faulthandler.dump_traceback_later(a.timeout + 10, exit=True)
    try:
        c = make_client(a)
        OPS[a.op](c, a)
    except Skip as e:
        emit_line("skip: %s" % e)
        return 3
    except Exception as e:
        traceback.print_exc()
        emit_line("FAIL: %r" % (e,))
        return 1
    emit_line("ok")
    return 0
