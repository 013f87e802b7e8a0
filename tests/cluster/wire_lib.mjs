// The byte-level capture of wire.test.mjs: one node alone on a fresh
// redis-server, a raw subscriber with PSUBSCRIBE * recording everything
// published, and a fake second node ("peer") that is subscribed to the
// request channels (so the node counts two servers and publishes its
// requests) and answers them the way @socket.io/redis-adapter 8.3.0 does.
// The same scenario runs against a Node node and the node under test; the
// captures, decoded with notepack.io and normalized (uids, request ids,
// socket ids, handshake values), must be equal.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  ODD, closeRedisClient, connectClient, eventually, redisClient, sleep, startNode, startRedis,
  waitSubscribed, within,
} from './cluster_lib.mjs';

const require = createRequire(import.meta.url);
const notepack = require('notepack.io');

export const PEER_UID = 'peer00';
const KEY = 'socket.io';
const reqCh = (nsp) => `${KEY}-request#${nsp}#`;
const resCh = (nsp) => `${KEY}-response#${nsp}#`;

// A captured publish: channel, format ("json" or "msgpack"), the decoded
// value and the raw bytes.
export function decodeMessage(channel, raw) {
  if (raw.length > 0 && raw[0] === 0x7b) {
    return { channel, format: 'json', value: JSON.parse(raw.toString('utf8')), raw };
  }
  let value;
  try {
    value = notepack.decode(raw);
  } catch (e) {
    value = `undecodable: ${e.message}`;
  }
  return { channel, format: 'msgpack', value, raw };
}

// The handshake of a fetched socket, reduced to what must match between two
// servers seeing the same client: field names, header names, the fixed
// values; time and issued only by type, query without its random t.
function normalizeHandshake(h) {
  if (!h || typeof h !== 'object') return h;
  const out = { fields: Object.keys(h).sort() };
  if ('headers' in h) out.headers = h.headers && typeof h.headers === 'object' ? Object.keys(h.headers).sort() : h.headers;
  if ('time' in h) out.time = typeof h.time === 'string' && !Number.isNaN(Date.parse(h.time)) ? '<date string>' : h.time;
  if ('issued' in h) out.issued = Number.isInteger(h.issued) && h.issued > 1.6e12 ? '<ms timestamp>' : h.issued;
  for (const k of ['address', 'xdomain', 'secure', 'auth']) if (k in h) out[k] = h[k];
  if ('query' in h) {
    const q = { ...h.query };
    if ('t' in q) q.t = '<t>';
    out.query = q;
  }
  if ('url' in h) out.url = typeof h.url === 'string' ? h.url.replace(/([?&]t=)[^&]*/, '$1<t>') : h.url;
  return out;
}

// Replaces, anywhere in `v` (strings, keys excluded), the values of `names`
// (a Map of string -> placeholder); fetched sockets' handshakes are
// normalized; arrays under "rooms" (of ALL_ROOMS answers) are sorted.
export function normalize(v, names, key) {
  if (typeof v === 'string') {
    let s = v;
    if (names.has(s)) return names.get(s);
    for (const [from, to] of names) if (from.length >= 6 && s.includes(from)) s = s.split(from).join(to);
    return s;
  }
  if (Buffer.isBuffer(v)) return { bin: [...v] };
  if (Array.isArray(v)) {
    const a = v.map((x) => normalize(x, names));
    if (key === 'rooms' && a.every((x) => typeof x === 'string')) a.sort();
    return a;
  }
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      o[k] = k === 'handshake' ? normalize(normalizeHandshake(x), names) : normalize(x, names, k);
    }
    return o;
  }
  return v;
}

// What the peer would answer to a request the node under test published.
function peerAnswers(msg, specific) {
  const r = msg.value;
  const nsp = msg.channel.slice(`${KEY}-request#`.length, -1);
  const to = specific ? `${resCh(nsp)}${r.uid}#` : resCh(nsp);
  switch (r.type) {
    case 5: // REMOTE_FETCH
      return [[to, JSON.stringify({
        requestId: r.requestId,
        sockets: [{
          id: 'peer-socket-000000001',
          handshake: { auth: {}, query: {} },
          rooms: ['peer-socket-000000001', 'peer-room'],
          data: { peer: true },
        }],
      })]];
    case 6: // SERVER_SIDE_EMIT
      if (r.requestId === undefined) return [];
      return [[to, JSON.stringify({
        type: 6, requestId: r.requestId, data: { node: 'peer', args: r.data.slice(1) },
      })]];
    case 7: // BROADCAST with ack: one client here
      return [
        [to, JSON.stringify({ type: 8, requestId: r.requestId, clientCount: 1 })],
        [to, notepack.encode({
          type: 9, requestId: r.requestId, packet: { client: 'peer-client', args: r.packet.data.slice(1) },
        })],
      ];
    default:
      return [];
  }
}

// Runs the scenario against one node of `kind`; resolves with
// { ops: Map(name -> [messages]), requests: Map(name -> [messages]),
//   answers: {name: ctl answer}, names: Map(value -> placeholder) }.
export async function captureScenario(kind, { specific = false, nodeArgs = [] } = {}) {
  const redis = await startRedis();
  const rc = await redisClient(redis.port);
  const nodeFlags = ['--requests-timeout', '1500', '--specific-response', specific ? 'on' : 'off',
    ...nodeArgs];
  const node = await startNode(kind, redis.port, { name: 'wire', args: nodeFlags });
  const names = new Map(); // value -> placeholder
  const ours = []; // [channel, payload] published by the test
  const captured = [];
  let cap;
  let peer;
  try {
    await waitSubscribed(rc, 1);
    cap = await redisClient(redis.port);
    await cap.pSubscribe('*', (message, channel) => {
      captured.push(decodeMessage(channel.toString('latin1'), message));
    }, true);
    const publish = async (ch, payload) => {
      ours.push([ch, Buffer.from(payload)]);
      await rc.publish(ch, payload);
    };
    // the peer: a second "server" for PUBSUB NUMSUB, answering requests
    peer = await redisClient(redis.port);
    const onRequest = (message, channel) => {
      const m = decodeMessage(channel.toString('latin1'), message);
      if (m.value?.uid === PEER_UID || m.value?.uid === 'emitter') return;
      for (const [ch, payload] of peerAnswers(m, specific)) publish(ch, payload);
    };
    await peer.subscribe([reqCh('/'), reqCh('/other')], onRequest, true);
    await waitSubscribed(rc, 2, { psub: 3 }); // the node's two, the capture's

    const A = await connectClient(node, 'websocket', { name: 'A' });
    const B = await connectClient(node, 'polling', { name: 'B' });
    const C = await connectClient(node, 'websocket', { name: 'C', nsp: '/other' });
    for (const [c, p] of [[A, '<sid A>'], [B, '<sid B>'], [C, '<sid C>']]) names.set(c.id, p);
    assert.equal(await A.setData({ who: 'A', list: [1, 2.5, 'x'] }), true);
    assert.equal(await B.setData({ who: 'B', nested: { ok: true, nil: null } }), true);
    for (const [c, room] of [[A, 'r1'], [B, 'r2'], [B, 'r3'], [A, 'cut']]) {
      assert.equal(await c.join(room), true);
    }

    // Part 1: what the node publishes for each operation; a "cut" emit to
    // room "cut" after each one ends its segment.
    const answers = {};
    const ops = [
      ['emit all', A, { op: 'emit', event: 'w', args: ['all', 1, { a: [true, null, -1, 1.5] }] }],
      ['emit one room', A, { op: 'emit', event: 'w', args: ['r1'], rooms: ['r1'] }],
      ['emit rooms + except', B, {
        op: 'emit', event: 'w', args: ['rx'], rooms: ['r1', 'r2'], except: ['r3'],
      }],
      ['emit binary', A, { op: 'emit', event: 'w', args: ['bin'], rooms: ['r2'], bin: true }],
      ['emit odd values', A, { op: 'emit', event: 'w', args: ['odd', ODD] }],
      ['emit numeric room', A, { op: 'emit', event: 'w', args: ['42'], rooms: ['42'] }],
      ['emit to a socket id', B, { op: 'emit', event: 'w', args: ['sid'], rooms: [A.id] }],
      ['socket.broadcast', A, { op: 'emit', event: 'w', args: ['bc'], broadcast: true }],
      ['socket.broadcast to a room', B, {
        op: 'emit', event: 'w', args: ['bc'], broadcast: true, rooms: ['r1'],
      }],
      // socket.io's except set starts with the socket's own id
      ['socket.broadcast with an except', B, {
        op: 'emit', event: 'w', args: ['bce'], broadcast: true, rooms: ['r1', 'r2'],
        except: ['r3', 'r4'],
      }],
      ['volatile emit', A, { op: 'emit', event: 'w', args: ['vol'], rooms: ['r1'], volatile: true }],
      ['volatile socket.broadcast', B, {
        op: 'emit', event: 'w', args: ['vbc'], broadcast: true, volatile: true,
      }],
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
      ['serverSideEmit binary', A, { op: 'sse', event: 'hb', args: ['w'], bin: true }],
      ['broadcast with acks', A, {
        op: 'emit-ack', event: 'ask', args: ['k', 3], rooms: ['r1'], timeout: 3000,
      }],
      ['serverCount (nothing published)', A, { op: 'count' }],
    ];
    for (const [name, who, c] of ops) {
      answers[name] = await who.ctl(c);
      assert.deepEqual(await A.ctl({ op: 'emit', event: 'cut', args: [name], rooms: ['cut'] }), {});
      await A.waitEvent('cut', name);
    }
    // the cut emits themselves must have reached Redis too
    await eventually(() => assert.ok(captured.some((m) => m.channel === `${KEY}#/#cut#` &&
      Array.isArray(m.value) && m.value[1]?.data?.[1] === ops[ops.length - 1][0])), 5000);

    // Part 2: requests of the peer, as the reference would send them; the
    // node's answers are grouped by request id.
    const D = await connectClient(node, 'polling', { name: 'D' });
    const E = await connectClient(node, 'websocket', { name: 'E' });
    names.set(D.id, '<sid D>');
    names.set(E.id, '<sid E>');
    assert.equal(await E.join('victims'), true);
    const requests = [
      ['SOCKETS', { uid: PEER_UID, requestId: 'rq-sockets', type: 0, rooms: ['r2'] }],
      ['ALL_ROOMS', { uid: PEER_UID, requestId: 'rq-allrooms', type: 1 }],
      ['REMOTE_FETCH', {
        uid: PEER_UID, requestId: 'rq-fetch', type: 5, opts: { rooms: ['r1'], except: [] },
      }],
      ['REMOTE_FETCH msgpack', {
        uid: PEER_UID, requestId: 'rq-fetch-mp', type: 5, opts: { rooms: ['r2'], except: ['r1'] },
      }, 'msgpack'],
      ['REMOTE_JOIN sid', { uid: PEER_UID, requestId: 'rq-join-sid', type: 2, sid: A.id, room: 'viasid' }],
      ['REMOTE_JOIN opts', {
        uid: PEER_UID, requestId: 'rq-join-opts', type: 2, opts: { rooms: ['r2'], except: [] }, rooms: ['viaopts'],
      }],
      ['REMOTE_LEAVE sid', { uid: PEER_UID, requestId: 'rq-leave-sid', type: 3, sid: A.id, room: 'viasid' }],
      ['REMOTE_LEAVE opts', {
        uid: PEER_UID, requestId: 'rq-leave-opts', type: 3, opts: { rooms: [], except: [] }, rooms: ['viaopts'],
      }],
      ['REMOTE_DISCONNECT sid', {
        uid: PEER_UID, requestId: 'rq-disc-sid', type: 4, sid: D.id, close: false,
      }],
      ['REMOTE_DISCONNECT opts', {
        uid: PEER_UID, requestId: 'rq-disc-opts', type: 4, opts: { rooms: ['victims'], except: [] }, close: true,
      }],
      ['SERVER_SIDE_EMIT', { uid: PEER_UID, type: 6, data: ['from-peer', 1, { y: 'z' }] }],
      ['SERVER_SIDE_EMIT with ack', {
        uid: PEER_UID, requestId: 'rq-sse-ack', type: 6, data: ['peer-q', 'arg'],
      }],
      ['BROADCAST with ack', {
        uid: PEER_UID,
        requestId: 'rq-bcast',
        type: 7,
        packet: { type: 2, data: ['ask', 'from-peer'], nsp: '/' },
        opts: { rooms: ['r1', 'r2'], except: ['r3'], flags: { timeout: 3000 } },
      }, 'msgpack'],
      ['malformed', null, 'garbage'],
      ['unknown type', { uid: PEER_UID, requestId: 'rq-unknown', type: 99 }],
    ];
    const dDisconnect = D.waitDisconnect(5000);
    const eDisconnect = E.waitDisconnect(5000);
    const part2From = captured.length;
    // one request at a time: each is followed by a server-side emit with
    // ack, and the next goes out once that is answered (the reference
    // answers some requests a microtask later, and their effects must not
    // overlap)
    let seq = 0;
    const isEnd = (rid) => typeof rid === 'string' && rid.startsWith('rq-end-');
    for (const [name, r, format] of requests) {
      let payload;
      if (format === 'garbage') payload = Buffer.from([0xc1, 0x00, 0x7b]);
      else if (format === 'msgpack') payload = notepack.encode(r);
      else payload = JSON.stringify(r);
      await publish(reqCh('/'), payload);
      const end = `rq-end-${++seq}`;
      await publish(reqCh('/'), JSON.stringify({
        uid: PEER_UID, requestId: end, type: 6, data: ['end', seq],
      }));
      // (the request itself is captured too: wait for the answer)
      await eventually(() => assert.ok(captured.some((m) => m.value?.requestId === end &&
        m.channel.startsWith(`${KEY}-response#`)),
        `the node answers a server-side emit after the request ${name}`), 5000);
    }
    // the answers of the broadcast with ack come from the clients
    await eventually(() => assert.ok(captured.some((m) => m.value?.requestId === 'rq-bcast' &&
      m.value?.type === 9)), 3000).catch(() => {});
    await sleep(300);
    answers['disconnect by sid'] = await dDisconnect;
    answers['disconnect by opts'] = await eDisconnect;
    answers['server-side events'] = await A.ctl({ op: 'sse-log' });
    answers['rooms after'] = await B.ctl({ op: 'fetch' });

    // the test's own publishes are not the node's
    const isOurs = (m) => {
      const i = ours.findIndex(([ch, p]) => ch === m.channel && p.equals(m.raw));
      if (i < 0) return false;
      ours.splice(i, 1);
      return true;
    };
    const fromNode = captured.map((m, i) => ({ ...m, i })).filter((m) => !isOurs(m));

    // the node's uid and request ids
    for (const m of fromNode) {
      const v = m.value;
      const uid = Array.isArray(v) ? v[0] : v?.uid;
      if (typeof uid === 'string' && uid !== PEER_UID && !names.has(uid)) names.set(uid, '<uid>');
    }
    const nodeUid = [...names].find(([, p]) => p === '<uid>')?.[0];
    for (const m of fromNode) {
      const rid = m.value?.requestId;
      if (m.value?.uid === nodeUid && typeof rid === 'string' && !names.has(rid)) {
        names.set(rid, `<request id ${[...names.values()].filter((x) => x.startsWith('<request')).length}>`);
      }
    }

    const opSegments = new Map();
    let cur = [];
    for (const m of fromNode.filter((x) => x.i < part2From)) {
      if (m.channel === `${KEY}#/#cut#`) {
        opSegments.set(m.value?.[1]?.data?.[1] ?? '?', cur);
        cur = [];
      } else {
        cur.push(m);
      }
    }
    const reqSegments = new Map(requests.map(([name]) => [name, []]));
    reqSegments.set('(anything else)', []);
    for (const m of fromNode.filter((x) => x.i >= part2From)) {
      const rid = m.value?.requestId;
      if (isEnd(rid)) continue;
      // the node's own requests (the last fetch below) are not answers
      if (nodeUid !== undefined && m.value?.uid === nodeUid) continue;
      const entry = requests.find(([, r]) => r?.requestId === rid);
      reqSegments.get(entry ? entry[0] : '(anything else)').push(m);
    }
    return { ops: opSegments, requests: reqSegments, answers, names, node };
  } finally {
    if (cap) await closeRedisClient(cap);
    if (peer) await closeRedisClient(peer);
    await closeRedisClient(rc);
    // the node is stopped by the caller (stopNode) to check its exit
    scenarioNodes.push({ node, redis });
  }
}

const scenarioNodes = [];

// Stops every node the scenarios started (asserting a clean exit) and
// their redis-servers.
export async function stopScenarioNodes() {
  const errors = [];
  for (const { node, redis } of scenarioNodes.splice(0)) {
    await node.stop().catch((e) => errors.push(e));
    await redis.stop();
  }
  if (errors.length) throw errors[0];
}

// A segment as compared: format, channel and value, normalized, sorted
// (the order of the answers of several clients is not fixed).
export function comparable(segment, names) {
  return segment
    .map((m) => ({ channel: normalize(m.channel, names), format: m.format, value: normalize(m.value, names) }))
    .sort((a, b) => {
      const x = JSON.stringify(a);
      const y = JSON.stringify(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

// For a failure message: the raw bytes, hex.
export const rawHex = (segment) => segment.map((m) => `${m.channel} ${m.format} ${m.raw.toString('hex')}`);

export { within };
