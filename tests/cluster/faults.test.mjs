// Redis faults against a sioc node (issue 13), with a Node node
// (@socket.io/redis-adapter 8.3.0) as the other member of the cluster:
// - Redis unreachable when the sioc node starts: it serves its own clients,
//   retries, and joins the cluster once Redis is there;
// - redis-server killed and restarted mid-run: the node reconnects,
//   subscribes again, and broadcasts flow both ways again; what was
//   published meanwhile is counted as dropped;
// - a stalled Redis (SIGSTOP) under a flood of broadcasts: the bytes
//   waiting for Redis stay under max_queued_bytes, the overflow is dropped
//   and counted, and the node keeps answering its clients at once.
// The numbers come from the sioc node's metrics (sioc_redis_*).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import {
  closeCluster, connectClient, eventually, redisClient, RedisServer, SIOC_SERVER, sleep,
  startNode, waitSubscribed,
} from './cluster_lib.mjs';
import { freePort } from '../proxy/nginx.mjs';

const MAX_QUEUED = 1 << 20;
// $SIOC_FAULTS_SHARDED=on: the same with the sharded adapter (both nodes)
const SHARDED = process.env.SIOC_FAULTS_SHARDED === 'on';
const ADAPTER_ARGS = SHARDED ? ['--sharded', 'on'] : [];

after(closeCluster);

async function metrics(node) {
  const res = await fetch(`http://127.0.0.1:${node.port}/metrics`);
  assert.equal(res.status, 200);
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^(sioc_redis_[a-z_]+) (\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Under AddressSanitizer freed memory waits in a quarantine (256 MB): RSS
// says nothing about what is kept.
const sanitized = (pid) => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');

test('Redis faults: unreachable at start, killed and restarted, stalled under a flood',
  { skip: !SIOC_SERVER && 'needs $SIOC_CLUSTER_SERVER', timeout: 120000 }, async (t) => {
    const port = await freePort();
    const redis = new RedisServer(port); // not started yet
    const sioc = await startNode('sioc', port, {
      name: 's1', args: ['--metrics', 'on', '--max-queued-bytes', String(MAX_QUEUED), ...ADAPTER_ARGS],
    });
    const sc = await connectClient(sioc, 'websocket', { name: 's1-ws' });

    await t.test('unreachable at start: serves its own clients, then joins', async () => {
      assert.deepEqual(await sc.ctl({ op: 'emit', event: 'ev', args: ['alone'] }), {});
      await sc.waitEvent('ev', 'alone');
      const m = await metrics(sioc);
      assert.equal(m.sioc_redis_connected, 0);
      assert.ok(m.sioc_redis_dropped_total >= 1, `the broadcast was dropped: ${JSON.stringify(m)}`);
      // a request answers with this node alone
      assert.deepEqual(await sc.ctl({ op: 'count' }), { count: 0 });
      const f = await sc.ctl({ op: 'fetch' });
      assert.deepEqual(f.sockets.map((s) => s.id), [sc.id]);
      await sleep(400); // a few failed attempts
      await redis.start();
      const rc = await redisClient(port);
      await waitSubscribed(rc, 1, { ms: 10000, sharded: SHARDED }); // the backoff is 5 s at most
      const node = await startNode('node', port, { name: 'n1', args: ADAPTER_ARGS });
      await waitSubscribed(rc, 2, { sharded: SHARDED });
      t.node = node;
      t.rc = rc;
      const nc = await connectClient(node, 'websocket', { name: 'n1-ws' });
      t.nc = nc;
      assert.deepEqual(await sc.ctl({ op: 'count' }), { count: 2 });
      await sc.ctl({ op: 'emit', event: 'ev', args: ['from-sioc-1'] });
      await nc.waitEvent('ev', 'from-sioc-1');
      await nc.ctl({ op: 'emit', event: 'ev', args: ['from-node-1'] });
      await sc.waitEvent('ev', 'from-node-1');
      assert.equal((await metrics(sioc)).sioc_redis_connected, 1);
    });

    await t.test('redis-server killed and restarted: reconnects, subscribes again', async () => {
      const { nc, rc } = t;
      const before = await metrics(sioc);
      await redis.kill();
      await eventually(async () => assert.equal((await metrics(sioc)).sioc_redis_connected, 0));
      // its own clients are still served; the message for the others is lost
      await sc.ctl({ op: 'emit', event: 'ev', args: ['during-outage'] });
      await sc.waitEvent('ev', 'during-outage');
      const down = await metrics(sioc);
      assert.ok(down.sioc_redis_dropped_total > before.sioc_redis_dropped_total,
        `dropped while down: ${JSON.stringify(down)}`);
      await redis.start();
      await waitSubscribed(rc, 2, { ms: 15000, sharded: SHARDED });
      await eventually(async () => assert.equal((await metrics(sioc)).sioc_redis_connected, 1),
        10000);
      const up = await metrics(sioc);
      assert.ok(up.sioc_redis_reconnects_total >= 1, JSON.stringify(up));
      // both ways again (the Node node's client reconnects by itself)
      await eventually(async () => {
        const tag = `after-restart-${Date.now()}`;
        await sc.ctl({ op: 'emit', event: 'ev', args: [tag] });
        await nc.waitEvent('ev', tag, 1000);
      }, 10000);
      await eventually(async () => {
        const tag = `node-after-restart-${Date.now()}`;
        await nc.ctl({ op: 'emit', event: 'ev', args: [tag] });
        await sc.waitEvent('ev', tag, 1000);
      }, 10000);
      assert.equal(nc.got('ev', 'during-outage').length, 0, 'nothing replayed');
    });

    await t.test('stalled Redis: bounded queue, drops counted, the loop keeps serving', async (st) => {
      const { nc } = t;
      const before = await metrics(sioc);
      const rssBefore = rss(sioc.proc.pid);
      redis.proc.kill('SIGSTOP');
      try {
        // 20 MB of broadcasts in one loop turn, for a 1 MiB queue
        for (let i = 0; i < 4; i++) {
          const t0 = Date.now();
          assert.deepEqual(await sc.ctl({ op: 'flood', count: 5000, size: 1000, room: 'nobody' }), {});
          assert.ok(Date.now() - t0 < 5000, 'a flood of 5000 emits is served');
        }
        const m = await metrics(sioc);
        assert.ok(m.sioc_redis_queued_bytes <= MAX_QUEUED, `queued ${m.sioc_redis_queued_bytes}`);
        assert.ok(m.sioc_redis_queued_bytes > 0, 'something waits for Redis');
        const dropped = m.sioc_redis_dropped_total - before.sioc_redis_dropped_total;
        const published = m.sioc_redis_published_total - before.sioc_redis_published_total;
        assert.ok(dropped >= 20000 - (MAX_QUEUED / 1000) - 100,
          `dropped ${dropped}, published ${published}`);
        assert.equal(dropped + published, 20000, 'every broadcast counted once');
        // the loop answers its clients at once meanwhile
        for (let i = 0; i < 5; i++) {
          const t0 = Date.now();
          assert.equal(await sc.join(`r${i}`), true);
          assert.ok(Date.now() - t0 < 500, `join answered in ${Date.now() - t0} ms`);
        }
        await sc.ctl({ op: 'emit', event: 'ev', args: ['local-during-stall'], local: true });
        await sc.waitEvent('ev', 'local-during-stall');
        const grown = rss(sioc.proc.pid) - rssBefore;
        st.diagnostic(`stall: published ${published}, dropped ${dropped}, queued ` +
          `${m.sioc_redis_queued_bytes} B, RSS +${(grown / 1048576).toFixed(1)} MiB`);
        if (!sanitized(sioc.proc.pid)) assert.ok(grown < 16 * MAX_QUEUED, `RSS grew by ${grown} bytes`);
      } finally {
        redis.proc.kill('SIGCONT');
      }
      // Redis drains; broadcasts flow again (the messages queued before
      // the stall reach the Node node first)
      await eventually(async () => assert.equal((await metrics(sioc)).sioc_redis_queued_bytes, 0),
        10000);
      await eventually(async () => {
        const tag = `after-stall-${Date.now()}`;
        await sc.ctl({ op: 'emit', event: 'ev', args: [tag] });
        await nc.waitEvent('ev', tag, 1000);
      }, 10000);
    });

    await sioc.stop();
    await t.node.stop();
  });

// The same cluster-wide calls on a node without Redis: answered, on a
// later loop turn, with this node's result (sio_namespace_*_async and
// friends over the in-memory adapter).
test('without Redis: fetch, count, server-side emit and broadcast with acks answer locally',
  { skip: !SIOC_SERVER && 'needs $SIOC_CLUSTER_SERVER', timeout: 60000 }, async () => {
    const node = await startNode('sioc', 0, { name: 'alone' });
    const a = await connectClient(node, 'websocket', { name: 'A' });
    const b = await connectClient(node, 'polling', { name: 'B' });
    assert.equal(await a.join('r'), true);
    assert.equal(await b.setData({ n: 2 }), true);
    assert.deepEqual(await a.ctl({ op: 'count' }), { count: 1 });
    const byId = (x, y) => (x.id < y.id ? -1 : 1);
    assert.deepEqual(await b.ctl({ op: 'fetch' }), {
      sockets: [
        { id: a.id, rooms: ['r', a.id].sort(), data: {} },
        { id: b.id, rooms: [b.id], data: { n: 2 } },
      ].sort(byId),
    });
    assert.deepEqual(await b.ctl({ op: 'fetch', rooms: ['r'] }),
      { sockets: [{ id: a.id, rooms: ['r', a.id].sort(), data: {} }] });
    assert.deepEqual(await a.ctl({ op: 'sse', event: 'x', args: [1] }), {});
    assert.deepEqual(await a.ctl({ op: 'sse', event: 'x', args: [1], ack: true }),
      { err: null, responses: [] });
    assert.deepEqual(await a.ctl({ op: 'emit-ack', event: 'ask', args: [7], timeout: 3000 }), {
      err: null,
      responses: [{ client: 'A', args: [7] }, { client: 'B', args: [7] }],
    });
    // binary answers: each client's bytes, numbered across the answers
    assert.deepEqual(await a.ctl({ op: 'emit-ack', event: 'ask-bin', args: [6], timeout: 3000 }), {
      err: null,
      responses: [{ client: 'A', args: [6], bin: { $bin: [...Buffer.from('A')] } },
        { client: 'B', args: [6], bin: { $bin: [...Buffer.from('B')] } }],
    });
    assert.deepEqual(await a.ctl({ op: 'sse', event: 'x', args: [1], bin: true, ack: true }),
      { err: null, responses: [] });
    assert.deepEqual(await a.ctl({ op: 'emit-ack', event: 'ask', rooms: ['nobody'], timeout: 3000 }),
      { err: null, responses: [] });
    // a client that does not answer: the others' answers, after the timeout
    const { io } = await import('socket.io-client');
    const mute = io(`http://127.0.0.1:${node.port}`, { forceNew: true, reconnection: false, transports: ['websocket'] });
    await new Promise((resolve) => mute.once('connect', resolve));
    const t0 = Date.now();
    assert.deepEqual(await a.ctl({ op: 'emit-ack', event: 'ask', args: [8], timeout: 800 }), {
      err: 'timeout',
      responses: [{ client: 'A', args: [8] }, { client: 'B', args: [8] }],
    });
    assert.ok(Date.now() - t0 >= 700, 'waited for the mute client');
    // its late answer is ignored; the acks of a socket's own emits still work
    mute.disconnect();
    await eventually(async () => assert.equal((await a.ctl({ op: 'fetch' })).sockets.length, 2));
    assert.deepEqual(await a.ctl({ op: 'emit-ack', event: 'ask', args: [9], timeout: 3000 }), {
      err: null,
      responses: [{ client: 'A', args: [9] }, { client: 'B', args: [9] }],
    });
    await node.stop();
  });

// A Redis with a password (requirepass): AUTH goes first on both
// connections; a wrong password is a failed connection, logged and
// retried, and the node stays out of the cluster.
test('AUTH: the right password joins, a wrong one is refused and retried',
  { skip: !SIOC_SERVER && 'needs $SIOC_CLUSTER_SERVER', timeout: 60000 }, async () => {
    const { spawn } = await import('node:child_process');
    const port = await freePort();
    const proc = spawn(process.env.REDIS_SERVER ?? '/usr/bin/redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--requirepass', 'sekret', '--daemonize', 'no',
    ], { stdio: 'ignore' });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      const good = await startNode('sioc', port, {
        name: 'good', args: ['--redis-password', 'sekret', '--metrics', 'on'],
      });
      const bad = await startNode('sioc', port, {
        name: 'bad', args: ['--redis-password', 'wrong', '--metrics', 'on'],
      });
      await eventually(async () => assert.equal((await metrics(good)).sioc_redis_connected, 1), 10000);
      const g = await connectClient(good, 'websocket', { name: 'g' });
      await eventually(async () => assert.deepEqual(await g.ctl({ op: 'count' }), { count: 1 }), 5000);
      await sleep(500);
      assert.equal((await metrics(bad)).sioc_redis_connected, 0);
      assert.match(bad.stderr, /redis\.down: .*AUTH refused: WRONGPASS/);
      await good.stop();
      await bad.stop();
    } finally {
      proc.kill('SIGKILL');
      await exited;
    }
  });

// Stopped with requests pending (its own and others'): every callback is
// called once (SIO_ECLOSED) and everything freed; exits 0, sanitizers
// quiet (TestServer.stop() checks both).
test('a node stopped with cross-node requests pending exits cleanly',
  { skip: !SIOC_SERVER && 'needs $SIOC_CLUSTER_SERVER', timeout: 60000 }, async () => {
    const { io } = await import('socket.io-client');
    const redis = new RedisServer(await freePort());
    await redis.start();
    const a = await startNode('sioc', redis.port, { name: 'a' });
    const b = await startNode('sioc', redis.port, { name: 'b' });
    const n = await startNode('node', redis.port, { name: 'n' });
    const rc = await redisClient(redis.port);
    await waitSubscribed(rc, 3);
    const ca = await connectClient(a, 'websocket', { name: 'ca' });
    const cb = await connectClient(b, 'websocket', { name: 'cb' });
    const mutes = [];
    for (const node of [a, b]) {
      const m = io(`http://127.0.0.1:${node.port}`, { forceNew: true, reconnection: false, transports: ['websocket'] });
      await new Promise((resolve) => m.once('connect', resolve));
      mutes.push(m);
    }
    n.proc.kill('SIGSTOP'); // answers nothing: a's requests wait
    try {
      const pending = [
        ca.ctl({ op: 'emit-ack', event: 'ask', timeout: 20000 }, 30000),
        ca.ctl({ op: 'fetch' }, 30000),
        ca.ctl({ op: 'sse', event: 'x', args: [], ack: true }, 30000),
      ].map((p) => p.catch(() => 'no answer'));
      // b serves a's broadcast with acks: its mute client keeps it waiting
      await eventually(async () => assert.ok(cb.got('ask').length >= 1), 5000);
      await a.stop();
      await b.stop();
      const got = await Promise.all(pending);
      assert.equal(got.length, 3);
    } finally {
      n.proc.kill('SIGCONT');
      for (const m of mutes) m.disconnect();
    }
    await n.stop();
  });
