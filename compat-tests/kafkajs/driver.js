#!/usr/bin/env node
// kafkajs driver of the kafkazk client compatibility matrix. The contract
// (operations, flags, output lines, exit codes) is documented in
// compat-tests/clients/driver/driver.go; this file mirrors
// compat-tests/python/matrix_common.py.
//
//   node driver.js OP --bootstrap host:port[,...] [flags]
//
// kafkajs consumers always belong to a group: the consume operations use a
// fresh group per run (fromBeginning for earliest, seek for a timestamp).
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const {
  Kafka,
  CompressionTypes,
  CompressionCodecs,
  ConfigResourceTypes,
  logLevel,
} = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')
const zstd = require('@bokuweb/zstd-wasm')

// Codecs kafkajs leaves to the application (it ships gzip only).
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) {
    return Buffer.from(lz4.compress(encoder.buffer))
  },
  async decompress(buffer) {
    return Buffer.from(lz4.decompress(buffer))
  },
})
let zstdReady = null
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  async compress(encoder) {
    await (zstdReady = zstdReady || zstd.init())
    return Buffer.from(zstd.compress(encoder.buffer, 3))
  },
  async decompress(buffer) {
    await (zstdReady = zstdReady || zstd.init())
    return Buffer.from(zstd.decompress(buffer))
  },
})

class Skip extends Error {}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// kafkajs logs to stdout by default; the contract reserves stdout for results.
const logCreator = () => ({ namespace, level, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`kafkajs ${namespace} ${level}: ${message} ${JSON.stringify(extra)}\n`)
}

function parse(argv) {
  const a = {
    op: argv[0], bootstrap: '', topic: '', n: 100, count: 0, partitions: 1, acks: 'all', codec: 'none',
    headers: false, ts: 0, idempotent: false, from: 'earliest', live: false, group: '', expect: 0,
    balancer: 'range', key: 'retention.ms', value: '3600000', pad: 0, timeout: 60,
    // The security flags (driver.go's Security) and produce --expect-denied.
    'security-protocol': 'PLAINTEXT', ca: '', truststore: '', 'truststore-password': '', cert: '', 'key-file': '',
    keystore: '', 'keystore-password': '', 'sasl-mechanism': '', 'sasl-user': '', 'sasl-password': '',
    'expect-denied': false,
    // The transaction operations (driver.go).
    isolation: '', 'txn-id': '', 'abort-first': false, abort: false, output: '',
  }
  const bools = new Set(['headers', 'idempotent', 'live', 'expect-denied', 'abort-first', 'abort'])
  const ints = new Set(['n', 'count', 'partitions', 'ts', 'expect', 'pad'])
  for (let i = 1; i < argv.length; i++) {
    const name = argv[i].replace(/^--?/, '')
    if (!(name in a)) throw new Error(`unknown flag ${argv[i]}`)
    if (bools.has(name)) {
      a[name] = true
      continue
    }
    const v = argv[++i]
    if (ints.has(name)) a[name] = Number(v)
    else if (name === 'timeout') a.timeout = parseFloat(v)
    else a[name] = v
  }
  if (!a.bootstrap) throw new Error('--bootstrap is required')
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(a['security-protocol'])) {
    throw new Error(`unknown --security-protocol ${a['security-protocol']}`)
  }
  return a
}

// securityOf maps the security flags onto kafkajs's ssl and sasl options:
// ssl.ca (Node verifies the broker's certificate and hostname), ssl.cert and
// ssl.key for mTLS, sasl { mechanism: plain | scram-sha-256 | scram-sha-512 }.
function securityOf(a) {
  const proto = a['security-protocol']
  const sec = {}
  if (proto.endsWith('SSL')) {
    sec.ssl = {}
    if (a.ca) sec.ssl.ca = [fs.readFileSync(a.ca)]
    if (a.cert) {
      sec.ssl.cert = fs.readFileSync(a.cert)
      sec.ssl.key = fs.readFileSync(a['key-file'])
    }
  }
  if (proto.startsWith('SASL_')) {
    sec.sasl = { mechanism: a['sasl-mechanism'].toLowerCase(), username: a['sasl-user'], password: a['sasl-password'] }
  }
  return sec
}

// security is every client's ssl/sasl settings, set once by main.
let security = {}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function waitUntil(cond, seconds, what) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const [ok, detail] = await cond()
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} within ${seconds}s: ${JSON.stringify(detail)}`)
    await sleep(200)
  }
}

function kafkaFor(brokers, clientId, retry) {
  return new Kafka({
    clientId: clientId || 'matrix-kafkajs',
    brokers,
    logLevel: logLevel.ERROR,
    logCreator,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: retry ? { retries: 50, initialRetryTime: 250, maxRetryTime: 2000 } : { retries: 8, initialRetryTime: 100 },
    ...security,
  })
}

const codecs = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

function toRec(partition, m) {
  const h = []
  for (const [k, v] of Object.entries(m.headers || {})) {
    for (const x of Array.isArray(v) ? v : [v]) h.push([k, x == null ? '' : x.toString()])
  }
  return {
    p: partition,
    o: Number(m.offset),
    k: m.key == null ? null : m.key.toString(),
    v: m.value == null ? '' : m.value.toString(),
    h,
    ts: Number(m.timestamp),
    tt: '',
  }
}

class Client {
  constructor(a) {
    this.a = a
    this.brokers = a.bootstrap.split(',')
    this.kafka = kafkaFor(this.brokers)
  }

  async withAdmin(brokers, f) {
    const admin = (brokers ? kafkaFor(brokers) : this.kafka).admin()
    await admin.connect()
    try {
      return await f(admin)
    } finally {
      await admin.disconnect()
    }
  }

  metadata(addr, topic) {
    return this.withAdmin([addr], async admin => {
      const cluster = await admin.describeCluster()
      const md = await admin.fetchTopicMetadata({ topics: [topic] })
      const leaders = {}
      for (const p of md.topics[0].partitions) leaders[p.partitionId] = p.leader
      return [cluster.brokers.map(b => b.nodeId), leaders]
    })
  }

  // admin.listTopics sends a Metadata request for every topic.
  listTopics() {
    return this.withAdmin(null, admin => admin.listTopics())
  }

  createTopic(topic, partitions, rf) {
    return this.withAdmin(null, admin =>
      admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: rf }], timeout: 15000 }))
  }

  describeTopic(topic) {
    return this.withAdmin(null, async admin => {
      const md = await admin.fetchTopicMetadata({ topics: [topic] })
      const ps = md.topics[0].partitions
      return [ps.length, ps.length ? ps[0].replicas.length : 0]
    })
  }

  deleteTopic(topic) {
    return this.withAdmin(null, admin => admin.deleteTopics({ topics: [topic], timeout: 15000 }))
  }

  async configEntries(admin, topic) {
    const res = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    })
    const r = res.resources[0]
    if (r.errorCode) throw new Error(`describe configs: error ${r.errorCode} ${r.errorMessage}`)
    return r.configEntries
  }

  topicConfig(topic, key) {
    return this.withAdmin(null, async admin => {
      const e = (await this.configEntries(admin, topic)).find(e => e.configName === key)
      if (!e) throw new Error(`${key} not described`)
      return e.configValue
    })
  }

  // kafkajs has only the legacy AlterConfigs, which replaces the topic's
  // whole config: carry over the non-default entries.
  setTopicConfig(topic, key, value) {
    return this.withAdmin(null, async admin => {
      const keep = (await this.configEntries(admin, topic))
        .filter(e => !e.isDefault && e.configName !== key && e.configValue != null)
        .map(e => ({ name: e.configName, value: e.configValue }))
      keep.push({ name: key, value })
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: keep }] })
    })
  }

  // A producer with a per-record callback: records queue up and go out in
  // one send() per partition every few milliseconds, like a linger.
  async producer(acks, codec, idempotent, retry) {
    const kafka = retry ? kafkaFor(this.brokers, 'matrix-kafkajs', true) : this.kafka
    const p = kafka.producer({ idempotent, maxInFlightRequests: idempotent ? 1 : undefined, allowAutoTopicCreation: false })
    await p.connect()
    const topic = this.a.topic
    const compression = codecs[codec]
    if (compression === undefined) throw new Error(`unknown codec ${codec}`)
    const ackValue = acks === 'all' ? -1 : Number(acks)
    let queue = []
    const inflight = new Set()
    const pump = () => {
      if (!queue.length) return
      const batch = queue
      queue = []
      const messages = batch.map(([r]) => {
        const m = { partition: r.p, key: r.k, value: r.v }
        if (r.h.length) {
          m.headers = {}
          for (const [k, v] of r.h) m.headers[k] = v
        }
        if (r.ts) m.timestamp = String(r.ts)
        return m
      })
      const pr = p.send({ topic, acks: ackValue, compression, messages, timeout: 15000 })
        .then(() => batch.forEach(([, done]) => done(null)), e => batch.forEach(([, done]) => done(e)))
        .finally(() => inflight.delete(pr))
      inflight.add(pr)
    }
    const timer = setInterval(pump, 5)
    return {
      send(r, done) {
        queue.push([r, done])
        if (queue.length >= 500) pump()
      },
      async flush() {
        pump()
        while (inflight.size) await Promise.all([...inflight])
      },
      async close() {
        clearInterval(timer)
        pump()
        while (inflight.size) await Promise.all([...inflight])
        await p.disconnect()
      },
    }
  }

  // consume runs a group consumer in a fresh group; emit returns false to stop.
  async consume(partitions, from, emit, stopped) {
    const topic = this.a.topic
    // kafkajs reads committed unless readUncommitted (its default: read_committed).
    const c = this.kafka.consumer({ groupId: 'matrix-consume-' + crypto.randomUUID(), maxWaitTimeInMs: 500, sessionTimeout: 6000, heartbeatInterval: 500,
      readUncommitted: this.a.isolation === 'read_uncommitted' })
    await c.connect()
    try {
      await c.subscribe({ topics: [topic], fromBeginning: from === 'earliest' })
      let seeks = null
      if (from.startsWith('ts:')) {
        seeks = await this.withAdmin(null, admin => admin.fetchTopicOffsetsByTimestamp(topic, Number(from.slice(3))))
      }
      let done = false
      await c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (done) return
          if (!emit(toRec(partition, message))) done = true
        },
      })
      if (seeks) for (const s of seeks) c.seek({ topic, partition: s.partition, offset: s.offset })
      while (!done && !stopped()) await sleep(50)
    } finally {
      await c.disconnect()
    }
  }

  // A transactional producer (transactionalId, idempotent, one request in
  // flight); kafkajs initialises the producer id on connect.
  async txnProducer(txnId) {
    const p = this.kafka.producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1,
      transactionTimeout: 60000, allowAutoTopicCreation: false })
    await p.connect()
    return p
  }

  // txn-offsets (driver.go): a group consumer (read_committed, no
  // autoCommit) collects count records; one transaction sends the
  // transforms and sendOffsets for the group, then commits or aborts.
  async txnTransform(input, output, group, txnId, count, commit, emit) {
    const c = this.kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000,
      maxWaitTimeInMs: 500, readUncommitted: false })
    const p = await this.txnProducer(txnId)
    const consumed = []
    try {
      await c.connect()
      await c.subscribe({ topics: [input], fromBeginning: true })
      await c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (consumed.length >= count) return
          const r = toRec(partition, message)
          emit(r)
          consumed.push(r)
        },
      })
      await waitUntil(() => [consumed.length >= count, `consumed ${consumed.length} of ${count} records`], this.a.timeout, 'consume')
      const txn = await p.transaction()
      try {
        await txn.send({ topic: output, acks: -1, messages: consumed.map(r => ({ partition: r.p, key: r.k, value: 't' + r.v })) })
        const next = {}
        for (const r of consumed) next[r.p] = Math.max(next[r.p] || 0, r.o + 1)
        await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: input,
          partitions: Object.entries(next).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) })) }] })
      } catch (e) {
        await txn.abort().catch(() => {})
        throw e
      }
      if (commit) await txn.commit()
      else await txn.abort()
    } finally {
      await p.disconnect()
      await c.disconnect()
    }
  }

  async member(name, group, balancer, onRecord) {
    if (balancer === 'coop') throw new Skip('kafkajs has no cooperative rebalancing (eager assigners only)')
    // kafkajs's own (and only) assigner: round robin.
    const c = kafkaFor(this.brokers, name).consumer({
      groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000,
      maxWaitTimeInMs: 500,
    })
    let assigned = []
    const topic = this.a.topic
    c.on(c.events.GROUP_JOIN, e => { assigned = (e.payload.memberAssignment[topic] || []).slice() })
    c.on(c.events.REBALANCING, () => { assigned = [] })
    await c.connect()
    await c.subscribe({ topics: [topic], fromBeginning: true })
    // autoCommit: the offsets of each batch are committed once it was handled.
    await c.run({ eachMessage: async ({ partition, message }) => onRecord(toRec(partition, message)) })
    return {
      assigned: () => assigned,
      close: () => c.disconnect(),
    }
  }
}

function testRecord(a, i) {
  const r = { p: i % Math.max(a.partitions, 1), k: 'k' + i, v: 'v' + i + '.'.repeat(a.pad), h: [], ts: 0 }
  if (a.headers) r.h = [['h1', 'a'], ['h2', 'b c']]
  if (a.ts) r.ts = a.ts + i
  return r
}

async function produceAll(p, recs) {
  const errs = []
  let acked = 0
  for (const r of recs) p.send(r, e => (e ? errs.push(e) : acked++))
  await p.flush()
  if (errs.length) throw new Error(`${errs.length} of ${recs.length} records failed, first: ${errs[0].message}`)
  if (acked !== recs.length) throw new Error(`${acked} of ${recs.length} records acknowledged after flush`)
}

async function stableOwnership(members, partitions, seconds, phase) {
  let last = null
  let stable = 0
  await waitUntil(() => {
    const cur = {}
    const owners = {}
    let ok = true
    for (const [name, m] of Object.entries(members)) {
      cur[name] = m.assigned().slice().sort((x, y) => x - y)
      if (!cur[name].length) ok = false
      for (const p of cur[name]) owners[p] = (owners[p] || 0) + 1
    }
    for (let p = 0; p < partitions; p++) if (owners[p] !== 1) ok = false
    if (Object.keys(owners).length !== partitions) ok = false
    stable = ok && JSON.stringify(cur) === JSON.stringify(last) ? stable + 1 : ok ? 1 : 0
    last = cur
    return [stable >= 2, cur]
  }, seconds, `phase ${phase}: no stable ownership of ${partitions} partitions`)
  return last
}

const ops = {
  async metadata(c, a) {
    for (const addr of a.bootstrap.split(',')) {
      const [brokers, leaders] = await c.metadata(addr, a.topic)
      out({ addr, brokers: brokers.sort((x, y) => x - y), leaders })
    }
  },

  async topics(c, a) {
    await c.createTopic(a.topic, 3, 2)
    let last = null
    await waitUntil(async () => {
      try {
        last = await c.describeTopic(a.topic)
      } catch (e) {
        return [false, e.message]
      }
      return [last[0] === 3 && last[1] === 2, last]
    }, 10, 'describe 3 partitions RF 2')
    out({ partitions: last[0], rf: last[1] })
    await c.deleteTopic(a.topic)
  },

  async 'list-topics'(c, a) {
    out({ topics: (await c.listTopics()).sort() })
  },

  // produce --expect-denied passes only when kafkajs reports an
  // authorization error: {"denied": message}.
  async produce(c, a) {
    if (!a['expect-denied']) return produceRecords(c, a)
    try {
      await produceRecords(c, a)
    } catch (e) {
      if (e instanceof Skip) throw e
      const msg = `${e.name} ${e.type || ''}: ${e.message}`
      if (/authoriz/i.test(msg)) {
        out({ denied: msg })
        return
      }
      throw new Error(`not an authorization error: ${msg}`)
    }
    throw new Error(`${a.n} records acknowledged, an authorization error expected`)
  },

  // txn-produce (driver.go): an aborted transaction of a<i> with
  // --abort-first, a committed one of v<i>, then a read_committed consume.
  async 'txn-produce'(c, a) {
    const p = await c.txnProducer(a['txn-id'])
    try {
      const txn = async (prefix, commit) => {
        const t = await p.transaction()
        const recs = Array.from({ length: a.n }, (_, i) => testRecord(a, i))
        try {
          await t.send({ topic: a.topic, acks: -1, messages: recs.map(r => ({ partition: r.p, key: r.k, value: prefix + r.v.slice(1) })) })
        } catch (e) {
          await t.abort().catch(() => {})
          throw e
        }
        if (commit) await t.commit()
        else await t.abort()
      }
      if (a['abort-first']) await txn('a', false)
      await txn('v', true)
    } finally {
      await p.disconnect()
    }
    out({ committed: a.n })
    Object.assign(a, { count: a.n, from: 'earliest', live: false, isolation: 'read_committed' })
    await ops.consume(c, a)
  },

  async 'txn-offsets'(c, a) {
    if (!a['txn-id'] || !a.group || !a.output || a.count <= 0) throw new Error('--txn-id, --group, --output and --count are required')
    await c.txnTransform(a.topic, a.output, a.group, a['txn-id'], a.count, !a.abort, out)
    out({ txn: a.abort ? 'aborted' : 'committed' })
  },

  // roundtrip: produce, then consume the same records from the earliest offset.
  async roundtrip(c, a) {
    await produceRecords(c, a)
    Object.assign(a, { count: a.n, from: 'earliest', live: false })
    await ops.consume(c, a)
  },
  async consume(c, a) {
    if (a.count <= 0) throw new Error('--count is required')
    let got = 0
    let stop = false
    let live = null
    let prod = null
    if (a.live) {
      prod = await c.producer('1', 'none', false, false)
      live = (async () => {
        for (let j = 0; !stop; j++) {
          prod.send({ p: j % a.partitions, k: 'lk' + j, v: 'live' + j, h: [], ts: 0 }, () => {})
          await prod.flush()
          await sleep(100)
        }
      })()
    }
    const deadline = Date.now() + a.timeout * 1000
    try {
      await c.consume(a.partitions, a.from, r => {
        if (got >= a.count) return false
        got++
        out(r)
        return got < a.count
      }, () => Date.now() > deadline)
    } finally {
      stop = true
      if (live) {
        await live
        await prod.close()
      }
    }
    if (got < a.count) throw new Error(`consumed ${got} of ${a.count} records`)
  },

  async configs(c, a) {
    out({ before: await c.topicConfig(a.topic, a.key) })
    await c.setTopicConfig(a.topic, a.key, a.value)
    let last = null
    await waitUntil(async () => {
      last = await c.topicConfig(a.topic, a.key)
      return [last === a.value, last]
    }, 10, `${a.key}=${a.value} after the change`)
    out({ after: last })
  },

  async group(c, a) {
    const seen = new Set()
    const members = {}
    const prod = await c.producer('all', 'none', false, false)
    let produced = 0
    const join = async name => {
      members[name] = await c.member(name, a.group, a.balancer, r => {
        out({ ...r, m: name })
        seen.add(r.p + '/' + r.o)
      })
    }
    const phase = async n => {
      const assign = await stableOwnership(members, a.partitions, 45, n)
      out({ phase: n, assign })
      const recs = Array.from({ length: 5 * a.partitions }, (_, i) =>
        ({ p: i % a.partitions, k: `g${n}-${i}`, v: `g${n}-${i}`, h: [], ts: 0 }))
      produced += recs.length
      await produceAll(prod, recs)
    }
    try {
      await join('A')
      await join('B')
      await phase(1)
      await join('C')
      await phase(2)
      const A = members.A
      delete members.A
      await A.close()
      await phase(3)
      const want = a.expect + produced
      await waitUntil(() => [seen.size >= want, `consumed ${seen.size} of ${want} records`], 45, 'consume everything')
      for (const name of ['B', 'C']) {
        const m = members[name]
        delete members[name]
        await m.close()
      }
    } finally {
      for (const m of Object.values(members)) await m.close().catch(() => {})
      await prod.close()
    }
  },

  async resume(c, a) {
    let got = 0
    const m = await c.member('D', a.group, a.balancer, r => {
      out({ ...r, m: 'D' })
      got++
    })
    try {
      await waitUntil(() => [got >= a.count, got], a.timeout, `resumed member consumes ${a.count} records`)
    } finally {
      await m.close()
    }
  },

  async failover(c, a) {
    const p = await c.producer('all', 'none', false, true)
    let stop = false
    let buf = ''
    process.stdin.on('data', d => {
      buf += d.toString()
      if (buf.split('\n').some(l => l.trim() === 'stop')) stop = true
    })
    process.stdin.on('end', () => { stop = true })
    const acked = new Set()
    const seen = new Set()
    let sendErrors = 0
    let consDone = false
    const consumer = c.consume(a.partitions, 'earliest', r => {
      seen.add(r.v)
      return !consDone
    }, () => consDone)
    let sent = 0
    for (let i = 0; !stop; i++) {
      const v = 'f' + i
      p.send({ p: i % a.partitions, k: v, v, h: [], ts: 0 }, e => {
        if (e) {
          sendErrors++
          return
        }
        acked.add(v)
        if (acked.size % 50 === 0) out({ acked: acked.size })
      })
      sent++
      await sleep(5)
    }
    await p.flush()
    try {
      await waitUntil(() => {
        const missing = [...acked].filter(v => !seen.has(v)).length
        return [missing === 0, `consumer has not seen ${missing} of ${acked.size} acknowledged records`]
      }, 60, 'consume every acknowledged record')
    } finally {
      consDone = true
      await consumer.catch(e => process.stderr.write(`consumer: ${e.stack}\n`))
      await p.close()
      out({ acked_list: [...acked].map(v => Number(v.slice(1))).sort((x, y) => x - y), consumed: seen.size, sent, send_errors: sendErrors })
    }
  },
}

async function produceRecords(c, a) {
  const p = await c.producer(a.acks, a.codec, a.idempotent, false)
  try {
    await produceAll(p, Array.from({ length: a.n }, (_, i) => testRecord(a, i)))
  } finally {
    await p.close()
  }
}

async function main() {
  let a
  try {
    a = parse(process.argv.slice(2))
    security = securityOf(a)
  } catch (e) {
    console.log(e.message)
    return 2
  }
  if (!ops[a.op]) {
    console.log(`unknown operation ${a.op}`)
    return 2
  }
  const timer = setTimeout(() => {
    console.log(`FAIL: ${a.op} did not finish within ${a.timeout}s`)
    process.exit(1)
  }, a.timeout * 1000 + 20000)
  try {
    await ops[a.op](new Client(a), a)
  } catch (e) {
    if (e instanceof Skip) {
      console.log(`skip: ${e.message}`)
      return 3
    }
    process.stderr.write(`${e.stack}\n`)
    console.log(`FAIL: ${e.message}`)
    return 1
  } finally {
    clearTimeout(timer)
  }
  console.log('ok')
  return 0
}

main().then(code => process.exit(code))
