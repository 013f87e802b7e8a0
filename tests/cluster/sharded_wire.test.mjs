// The byte-level test of the sharded adapter (issue 13;
// createShardedAdapter of @socket.io/redis-adapter 8.3.0): what a node
// SPUBLISHes for each operation (emits plain, to one room, to rooms with
// excepts, binary, to a socket id, socket.broadcast, other namespace;
// fetchSockets, socketsJoin/Leave, disconnectSockets, serverSideEmit,
// broadcast with acks) and what it answers to each ClusterAdapter message
// a peer sends (JSON and msgpack), captured by a raw SSUBSCRIBE client and
// decoded with notepack.io (or JSON.parse: the format is compared too),
// equals what the Node node publishes for the same scenario, uids and
// request ids aside. The capturing client is the peer: it is one more
// node for PUBSUB SHARDNUMSUB and answers the node's requests as
// socket.io-adapter's ClusterAdapter does. Run in each subscription mode
// ($SIOC_SHARDED_MODES) for each kind of $SIOC_WIRE_KINDS (default: sioc
// and node when there is a sioc node; node against node checks the
// capture itself).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  closeCluster, closeRedisClient, connectClient, eventually, redisClient, sleep, SIOC_SERVER,
  startNode, startRedis, waitSubscribed,
} from './cluster_lib.mjs';
import { comparable, decodeMessage, rawHex } from './wire_lib.mjs';

const require = createRequire(import.meta.url);
const notepack = require('notepack.io');

const kinds = (process.env.SIOC_WIRE_KINDS ?? (SIOC_SERVER ? 'sioc,node' : 'node')).split(',');
const modes = (process.env.SIOC_SHARDED_MODES ?? 'dynamic,dynamic-private,static').split(',');

const KEY = 'socket.io';
const PEER = 'peer0000peer0000';
const ch = (nsp, tail = '') => `${KEY}#${nsp}#${tail}`;

// What the peer answers to a message of the node (a ClusterAdapter).
function peerAnswers(m) {
  const v = m.value;
  if (!v || typeof v !== 'object' || v.uid === PEER || v.data?.requestId === undefined) return [];
  const to = ch(v.nsp, `${v.uid}#`);
  const reply = (type, data) => [to, JSON.stringify({ type, data, uid: PEER, nsp: v.nsp })];
  switch (v.type) {
    case 7: // FETCH_SOCKETS
      return [reply(8, {
        requestId: v.data.requestId,
        sockets: [{
          id: 'peer-socket-000000001', handshake: { auth: {}, query: {} },
          rooms: ['peer-socket-000000001', 'peer-room'], data: { peer: true },
        }],
      })];
    case 9: // SERVER_SIDE_EMIT with ack
      return [reply(10, { requestId: v.data.requestId, packet: { node: 'peer', args: v.data.packet.slice(1) } })];
    case 3: // BROADCAST with ack: one client here
      return [
        reply(11, { requestId: v.data.requestId, clientCount: 1 }),
        [to, notepack.encode({
          type: 12,
          data: {
            requestId: v.data.requestId,
            // msgpack without binary (sioc's sio_responses_fn hands binary
            // answers on as placeholders: its API has no buffers there)
            packet: { client: 'peer-client', args: v.data.packet.data.slice(1), n: 1.5 },
          },
          uid: PEER,
          nsp: v.nsp,
        })],
      ];
    default:
      return [];
  }
}

async function captureScenario(kind, mode) {
  const redis = await startRedis();
  const rc = await redisClient(redis.port);
  const node = await startNode(kind, redis.port, {
    name: 'swire',
    args: ['--sharded', 'on', '--subscription-mode', mode, '--requests-timeout', '1500'],
  });
  const names = new Map();
  const ours = [];
  const captured = [];
  let peer;
  try {
    await waitSubscribed(rc, 1, { sharded: true });
    peer = await redisClient(redis.port);
    const publish = async (channel, payload) => {
      ours.push([channel, Buffer.from(payload)]);
      await rc.sPublish(channel, payload);
    };
    const onMessage = (message, channel) => {
      const m = decodeMessage(channel.toString('latin1'), message);
      captured.push(m);
      for (const [c, p] of peerAnswers(m)) publish(c, p);
    };
    const subscribed = new Set();
    const sub = async (c) => {
      if (subscribed.has(c)) return;
      subscribed.add(c);
      await peer.sSubscribe(c, onMessage, true);
    };
    for (const c of [ch('/'), ch('/other'), ch('/', `${PEER}#`), ch('/', 'r1#'), ch('/', 'r2#'),
      ch('/', '42#'), ch('/', 'cut#'), ch('/other', 'cut#')]) await sub(c);
    await waitSubscribed(rc, 2, { sharded: true });

    const A = await connectClient(node, 'websocket', { name: 'A' });
    const B = await connectClient(node, 'polling', { name: 'B' });
    const C = await connectClient(node, 'websocket', { name: 'C', nsp: '/other' });
    for (const [c, p] of [[A, '<sid A>'], [B, '<sid B>'], [C, '<sid C>']]) names.set(c.id, p);
    await sub(ch('/', `${A.id}#`));
    assert.equal(await A.setData({ who: 'A', list: [1, 2.5, 'x'] }), true);
    assert.equal(await B.setData({ who: 'B', nested: { ok: true, nil: null } }), true);
    for (const [c, room] of [[A, 'r1'], [B, 'r2'], [B, 'r3'], [A, 'cut']]) {
      assert.equal(await c.join(room), true);
    }
    // the node subscribes to its rooms' channels in the dynamic modes
    if (mode !== 'static') {
      await eventually(async () => {
        const r = await rc.sendCommand(['PUBSUB', 'SHARDNUMSUB', ch('/', 'cut#'), ch('/', 'r1#')]);
        assert.deepEqual([Number(r[1]), Number(r[3])], [2, 2]);
      }, 5000);
    }

    const answers = {};
    const ops = [
      ['emit all', A, { op: 'emit', event: 'w', args: ['all', 1, { a: [true, null, -1, 1.5] }] }],
      ['emit one room', A, { op: 'emit', event: 'w', args: ['r1'], rooms: ['r1'] }],
      ['emit rooms + except', B, { op: 'emit', event: 'w', args: ['rx'], rooms: ['r1', 'r2'], except: ['r3'] }],
      ['emit binary', A, { op: 'emit', event: 'w', args: ['bin'], rooms: ['r2'], bin: true }],
      ['emit numeric room', A, { op: 'emit', event: 'w', args: ['42'], rooms: ['42'] }],
      ['emit to a socket id', B, { op: 'emit', event: 'w', args: ['sid'], rooms: [A.id] }],
      ['emit except only', A, { op: 'emit', event: 'w', args: ['ex'], except: ['r2'] }],
      // rooms and excepts are Sets: one room here (its channel in the dynamic modes)
      ['emit duplicate rooms', A, { op: 'emit', event: 'w', args: ['dup'], rooms: ['r1', 'r1'], except: ['r3', 'r3'] }],
      // 20 UTF-16 units (what looksLikeASocketId() counts), 40 bytes: not a room channel in dynamic
      ['emit to a 20-unit room', A, { op: 'emit', event: 'w', args: ['u'], rooms: ['\u00e9'.repeat(20)] }],
      ['emit to an astral room', A, { op: 'emit', event: 'w', args: ['a'], rooms: ['\u{1F600}'.repeat(10)] }],
      ['socket.broadcast', A, { op: 'emit', event: 'w', args: ['bc'], broadcast: true }],
      ['socket.broadcast to a room', B, { op: 'emit', event: 'w', args: ['bc'], broadcast: true, rooms: ['r1'] }],
      ['socket.broadcast with an except', B, {
        op: 'emit', event: 'w', args: ['bce'], broadcast: true, rooms: ['r1', 'r2'], except: ['r3'],
      }],
      ['volatile emit', A, { op: 'emit', event: 'w', args: ['vol'], rooms: ['r1'], volatile: true }],
      ['local emit (nothing published)', A, { op: 'emit', event: 'w', args: ['loc'], local: true }],
      ['emit in /other', C, { op: 'emit', event: 'w', args: ['other'] }],
      ['fetchSockets', A, { op: 'fetch', rooms: ['r2', 'r1'], except: ['r3'] }],
      ['fetchSockets all', B, { op: 'fetch' }],
      ['socketsJoin', A, { op: 'sockets-join', rooms: ['r1'], room: 'j1' }],
      ['socketsLeave', A, { op: 'sockets-leave', rooms: ['r1'], except: ['r2'], room: 'j1' }],
      ['disconnectSockets close', A, { op: 'disconnect', rooms: ['nobody'], close: true }],
      ['disconnectSockets', A, { op: 'disconnect', rooms: ['nobody'], except: ['r1'], close: false }],
      ['serverSideEmit', A, { op: 'sse', event: 'hello', args: ['w', 1, { x: [null] }] }],
      ['serverSideEmit with ack', A, { op: 'sse', event: 'q', args: [2, 'z'], ack: true }],
      ['broadcast with acks', A, { op: 'emit-ack', event: 'ask', args: ['k', 3], rooms: ['r1'], timeout: 3000 }],
      ['serverCount (nothing published)', A, { op: 'count' }],
    ];
    const isCut = (m) => m.value?.type === 3 && m.value?.data?.packet?.data?.[0] === 'cut';
    for (const [name, who, c] of ops) {
      answers[name] = await who.ctl(c);
      assert.deepEqual(await A.ctl({ op: 'emit', event: 'cut', args: [name], rooms: ['cut'] }), {});
      await A.waitEvent('cut', name);
      await eventually(() => assert.ok(captured.some((m) => isCut(m) &&
        m.value.data.packet.data[1] === name)), 5000);
    }

    // Part 2: the peer's messages, as a ClusterAdapter writes them
    const D = await connectClient(node, 'polling', { name: 'D' });
    const E = await connectClient(node, 'websocket', { name: 'E' });
    names.set(D.id, '<sid D>');
    names.set(E.id, '<sid E>');
    assert.equal(await E.join('victims'), true);
    const msg = (type, data) => ({ type, data, uid: PEER, nsp: '/' });
    const opts = (rooms = [], except = [], flags = {}) => ({ rooms, except, flags });
    const requests = [
      ['FETCH_SOCKETS', msg(7, { opts: opts(['r1']), requestId: 'rq-fetch' })],
      ['FETCH_SOCKETS msgpack', msg(7, { opts: opts(['r2'], ['r1']), requestId: 'rq-fetch-mp' }), 'msgpack'],
      ['SOCKETS_JOIN', msg(4, { opts: opts(['r2']), rooms: ['viaopts', 'two'] })],
      ['SOCKETS_LEAVE', msg(5, { opts: opts(), rooms: ['two'] })],
      ['DISCONNECT_SOCKETS', msg(6, { opts: opts([D.id]), close: false })],
      ['DISCONNECT_SOCKETS close', msg(6, { opts: opts(['victims']), close: true })],
      ['SERVER_SIDE_EMIT', msg(9, { packet: ['from-peer', 1, { y: 'z' }] })],
      ['SERVER_SIDE_EMIT with ack', msg(9, { requestId: 'rq-sse-ack', packet: ['peer-q', 'arg'] })],
      ['BROADCAST with ack', msg(3, {
        packet: { type: 2, data: ['ask', 'from-peer'] }, requestId: 'rq-bcast',
        opts: opts(['r1', 'r2'], ['r3'], { timeout: 3000 }),
      })],
      ['BROADCAST binary', msg(3, {
        packet: { type: 2, data: ['w', 'peer-bin', Buffer.from([4, 5])] }, opts: opts(['r1']),
      }), 'msgpack'],
      ['another namespace', { ...msg(9, { requestId: 'rq-other-nsp', packet: ['x'] }), nsp: '/nope' }],
      ['malformed', null, 'garbage'],
      ['unknown type', msg(99, { requestId: 'rq-unknown' })],
      ['heartbeat', { type: 2, uid: PEER, nsp: '/' }],
    ];
    const dDisconnect = D.waitDisconnect(5000);
    const eDisconnect = E.waitDisconnect(5000);
    const part2From = captured.length;
    for (const [, r, format] of requests) {
      let payload;
      if (format === 'garbage') payload = Buffer.from([0xc1, 0x00, 0x7b]);
      else if (format === 'msgpack') payload = notepack.encode(r);
      else payload = JSON.stringify(r);
      await publish(ch('/'), payload);
      // one at a time: the reference answers FETCH_SOCKETS a microtask
      // later, after whatever else came in the same read
      await sleep(50);
    }
    await publish(ch('/'), JSON.stringify(msg(9, { requestId: 'rq-end', packet: ['end'] })));
    await eventually(() => assert.ok(captured.some((m) => m.value?.data?.requestId === 'rq-end')), 5000);
    await sleep(300);
    answers['disconnect by id'] = await dDisconnect;
    answers['disconnect by room'] = await eDisconnect;
    answers['server-side events'] = await A.ctl({ op: 'sse-log' });
    answers['rooms after'] = await B.ctl({ op: 'fetch' });
    const bytes = (x) => (Buffer.isBuffer(x) ? { bin: [...x] }
      : x instanceof ArrayBuffer ? { bin: [...new Uint8Array(x)] } : x);
    answers['A got'] = A.got('w').map((args) => args.map(bytes));

    const isOurs = (m) => {
      const i = ours.findIndex(([c, p]) => c === m.channel && p.equals(m.raw));
      if (i < 0) return false;
      ours.splice(i, 1);
      return true;
    };
    const fromNode = captured.map((m, i) => ({ ...m, i })).filter((m) => !isOurs(m));
    for (const m of fromNode) {
      const uid = m.value?.uid;
      if (typeof uid === 'string' && uid !== PEER && !names.has(uid)) names.set(uid, '<uid>');
    }
    const nodeUids = new Set([...names].filter(([, p]) => p === '<uid>').map(([u]) => u));
    let n = 0;
    for (const m of fromNode) {
      const rid = m.value?.data?.requestId;
      if (nodeUids.has(m.value?.uid) && typeof rid === 'string' && !names.has(rid) &&
        !rid.startsWith('rq-')) names.set(rid, `<request id ${n++}>`);
    }
    const opSegments = new Map();
    let cur = [];
    for (const m of fromNode.filter((x) => x.i < part2From)) {
      if (isCut(m)) {
        opSegments.set(m.value.data.packet.data[1], cur);
        cur = [];
      } else {
        cur.push(m);
      }
    }
    const reqSegments = new Map(requests.map(([name]) => [name, []]));
    reqSegments.set('(anything else)', []);
    for (const m of fromNode.filter((x) => x.i >= part2From)) {
      const rid = m.value?.data?.requestId;
      if (rid === 'rq-end') continue;
      const entry = requests.find(([, r]) => r?.data?.requestId === rid);
      reqSegments.get(entry ? entry[0] : '(anything else)').push(m);
    }
    // the node's uid has no fixed length in JSON: normalize it in the channel too
    return { ops: opSegments, requests: reqSegments, answers, names, node, redis };
  } finally {
    if (peer) await closeRedisClient(peer);
    await closeRedisClient(rc);
  }
}

for (const mode of modes) {
  describe(`sharded wire, ${mode} subscriptions: each kind publishes what the Node node does`, { timeout: 120000 }, () => {
    const runs = {};
    after(async () => {
      for (const r of Object.values(runs)) {
        await r.node.stop();
        await r.redis.stop();
      }
      await closeCluster();
    });

    test('the reference capture (Node node)', async () => {
      runs.node = await captureScenario('node', mode);
      const r = runs.node;
      // pinned facts of @socket.io/redis-adapter 8.3.0's sharded adapter
      const all = comparable(r.ops.get('emit all'), r.names);
      assert.deepEqual(all, [{
        channel: ch('/'),
        format: 'json',
        value: {
          type: 3,
          data: {
            packet: { type: 2, data: ['w', 'all', 1, { a: [true, null, -1, 1.5] }] },
            opts: { rooms: [], except: [], flags: {} },
          },
          uid: '<uid>',
          nsp: '/',
        },
      }]);
      const one = comparable(r.ops.get('emit one room'), r.names);
      assert.equal(one[0].channel, mode === 'static' ? ch('/') : ch('/', 'r1#'));
      assert.equal(comparable(r.ops.get('emit binary'), r.names)[0].format, 'msgpack');
      assert.deepEqual(r.ops.get('local emit (nothing published)'), []);
      assert.deepEqual(comparable(r.ops.get('volatile emit'), r.names)[0].value.data.opts.flags,
        { volatile: true }, 'the reference carries flags.volatile');
      assert.deepEqual(r.answers['serverCount (nothing published)'], { count: 2 });
    });

    for (const kind of kinds.filter((k) => k !== 'node')) {
      test(`${kind}: the same messages, answers and effects`, async () => {
        runs[kind] = await captureScenario(kind, mode);
        const ref = runs.node;
        const got = runs[kind];
        assert.ok(ref, 'the reference capture ran');
        for (const [name, seg] of ref.ops) {
          const want = comparable(seg, ref.names);
          const have = comparable(got.ops.get(name) ?? [], got.names);
          assert.deepEqual(have, want, `${name}\n${rawHex(got.ops.get(name) ?? []).join('\n')}\n` +
            `reference:\n${rawHex(seg).join('\n')}`);
          // byte for byte, once the node's ids are the reference's
          const swap = (s, names) => {
            let out = s;
            for (const [from, to] of names) out = out.split(from).join(to);
            return out;
          };
          const fix = (m) => `${swap(m.channel, got.names)} ${swap(m.raw.toString('latin1'), got.names)}`;
          const fixRef = (m) => `${swap(m.channel, ref.names)} ${swap(m.raw.toString('latin1'), ref.names)}`;
          // (ids have the same lengths on both: msgpack's length prefixes match)
          assert.deepEqual((got.ops.get(name) ?? []).map(fix).sort(), seg.map(fixRef).sort(),
            `${name}: the bytes`);
        }
        for (const [name, seg] of ref.requests) {
          assert.deepEqual(comparable(got.requests.get(name) ?? [], got.names),
            comparable(seg, ref.names), `answer to ${name}`);
        }
        // ids replaced, rooms sorted after that (each node sorts its own ids)
        const normWith = (names) => (v) => JSON.parse(JSON.stringify(v, (k, x) => {
          if (typeof x === 'string' && names.has(x)) return names.get(x);
          if (k === 'rooms' && Array.isArray(x)) {
            return x.map((y) => (names.has(y) ? names.get(y) : y)).sort();
          }
          return x;
        }));
        const bySocketId = (v) => {
          if (Array.isArray(v)) return v.map(bySocketId);
          if (v && typeof v === 'object') {
            const o = {};
            for (const [k, x] of Object.entries(v)) {
              o[k] = k === 'sockets' && Array.isArray(x)
                ? bySocketId(x).sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0))
                : bySocketId(x);
            }
            return o;
          }
          return v;
        };
        const norm = (v) => bySocketId(normWith(got.names)(v));
        const normRef = (v) => bySocketId(normWith(ref.names)(v));
        for (const [name, a] of Object.entries(ref.answers)) {
          assert.deepEqual(norm(got.answers[name]), normRef(a), `the answer of ${name}`);
        }
      });
    }
  });
}
