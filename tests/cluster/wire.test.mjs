// The byte-level test (issue 13): what a node publishes on Redis for each
// operation (emits plain, to rooms with excepts, binary, socket.broadcast, volatile,
// other namespace; fetchSockets, socketsJoin/Leave, disconnectSockets,
// serverSideEmit, broadcast with acks) and what it answers to each request
// type a peer sends (0-7, JSON and msgpack, by socket id and by options),
// captured with a raw PSUBSCRIBE * subscriber and decoded with notepack.io,
// equals what the Node node (@socket.io/redis-adapter 8.3.0) publishes for
// the same scenario, uids and request ids aside (wire_lib.mjs). Run for
// each kind of $SIOC_WIRE_KINDS (default: sioc and node when there is a
// sioc node, node otherwise; node against node checks the capture itself),
// with publishOnSpecificResponseChannel off and on.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeCluster, SIOC_SERVER } from './cluster_lib.mjs';
import {
  captureScenario, comparable, normalize, rawHex, stopScenarioNodes,
} from './wire_lib.mjs';

const kinds = (process.env.SIOC_WIRE_KINDS ?? (SIOC_SERVER ? 'sioc,node' : 'node')).split(',');
// $SIOC_WIRE_NODE_ARGS: extra flags for the node under test (to prove the
// test fails, e.g. "--key other").
const extraArgs = (process.env.SIOC_WIRE_NODE_ARGS ?? '').split(' ').filter(Boolean);

// What @socket.io/redis-adapter 8.3.0 publishes, written out: the
// reference capture must show it, or the capture itself is wrong.
const PINNED = {
  'emit all': [{
    channel: 'socket.io#/#',
    format: 'msgpack',
    value: ['<uid>', { type: 2, data: ['w', 'all', 1, { a: [true, null, -1, 1.5] }], nsp: '/' },
      { rooms: [], except: [], flags: {} }],
  }],
  'emit binary': [{
    channel: 'socket.io#/#r2#',
    format: 'msgpack',
    value: ['<uid>', { type: 2, data: ['w', 'bin', { bin: [1, 2, 3] }], nsp: '/' },
      { rooms: ['r2'], except: [], flags: {} }],
  }],
  'socket.broadcast': [{
    channel: 'socket.io#/#',
    format: 'msgpack',
    value: ['<uid>', { type: 2, data: ['w', 'bc'], nsp: '/' },
      { rooms: [], except: ['<sid A>'], flags: {} }],
  }],
  'socket.broadcast with an except': [{
    channel: 'socket.io#/#',
    format: 'msgpack',
    value: ['<uid>', { type: 2, data: ['w', 'bce'], nsp: '/' },
      { rooms: ['r1', 'r2'], except: ['<sid B>', 'r3', 'r4'], flags: {} }],
  }],
  fetchSockets: [{
    channel: 'socket.io-request#/#',
    format: 'json',
    value: {
      uid: '<uid>', requestId: '<request id 0>', type: 5, opts: { rooms: ['r1', 'r2'], except: ['r3'] },
    },
  }],
  'broadcast with acks': [{
    channel: 'socket.io-request#/#',
    format: 'msgpack',
    value: {
      uid: '<uid>',
      requestId: '<request id 3>',
      type: 7,
      packet: { type: 2, data: ['ask', 'k', 3], nsp: '/' },
      opts: { rooms: ['r1'], except: [], flags: { timeout: 3000 } },
    },
  }],
  'volatile emit': [{
    channel: 'socket.io#/#r1#',
    format: 'msgpack',
    value: ['<uid>', { type: 2, data: ['w', 'vol'], nsp: '/' },
      { rooms: ['r1'], except: [], flags: { volatile: true } }],
  }],
  'local emit (nothing published)': [],
};

// A segment's raw messages as latin1 strings, the run's ids replaced, in
// a stable order.
function rawNormalized(segment, names) {
  return segment.map((m) => {
    let b = `${m.channel} ${m.raw.toString('latin1')}`;
    for (const [from, to] of names) b = b.split(from).join(to);
    return b;
  }).sort();
}

// Where two byte strings part: the offset and 16 bytes of each from a
// little before it, hex.
function firstDifference(a, b, kind) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 4);
  const hex = (s) => Buffer.from(s.slice(from, from + 16), 'latin1').toString('hex');
  return `at byte ${i} of ${a.length} (node) / ${b.length} (${kind}): node ${hex(a)}, ${kind} ${hex(b)}`;
}

const refs = new Map(); // specific -> reference capture (a promise)
const reference = (specific) => {
  if (!refs.has(specific)) refs.set(specific, captureScenario('node', { specific }));
  return refs.get(specific);
};

after(async () => {
  await stopScenarioNodes().catch(() => {});
  await closeCluster();
});

for (const specific of [false, true]) {
  for (const kind of kinds) {
    describe(`wire: a ${kind} node against the Node node, specific response channel ${specific ? 'on' : 'off'}`,
      { timeout: 50000 }, () => {
        const cx = {};
        before(async () => {
          cx.ref = await reference(specific);
          cx.got = await captureScenario(kind, { specific, nodeArgs: extraArgs });
        });

        cx.bytes = { same: 0, differ: 0 };
        const segment = (which, name) => (t) => {
          const want = cx.ref[which].get(name);
          const got = cx.got[which].get(name);
          assert.ok(want, `the reference has a segment "${name}"`);
          assert.ok(got, `the ${kind} node's capture has a segment "${name}" (its cut was seen)`);
          assert.deepEqual(comparable(got, cx.got.names), comparable(want, cx.ref.names),
            `${name}: ${kind} published\n  ${rawHex(got).join('\n  ') || '(nothing)'}\n` +
            `the Node node published\n  ${rawHex(want).join('\n  ') || '(nothing)'}`);
          // the same objects; are they the same bytes too (ids aside)? Not
          // required (a decoder reads either), reported
          const a = rawNormalized(want, cx.ref.names);
          const b = rawNormalized(got, cx.got.names);
          for (let i = 0; i < a.length; i++) {
            if (a[i] === b[i]) {
              cx.bytes.same++;
            } else {
              cx.bytes.differ++;
              t.diagnostic(`same value, other bytes: ${firstDifference(a[i], b[i], kind)}`);
            }
          }
        };

        test('the reference capture is what @socket.io/redis-adapter 8.3.0 publishes', async () => {
          for (const [name, want] of Object.entries(PINNED)) {
            assert.deepEqual(comparable(cx.ref.ops.get(name) ?? [], cx.ref.names), want, name);
          }
          const sse = comparable(cx.ref.requests.get('SERVER_SIDE_EMIT with ack'), cx.ref.names);
          // the reference answers server-side emits on the common channel
          // even with publishOnSpecificResponseChannel
          assert.equal(sse[0].channel, 'socket.io-response#/#');
          const join = comparable(cx.ref.requests.get('REMOTE_JOIN sid'), cx.ref.names);
          assert.equal(join[0].channel, specific ? 'socket.io-response#/#peer00#' : 'socket.io-response#/#');
        });

        const opNames = [
          'emit all', 'emit one room', 'emit rooms + except', 'emit binary', 'emit odd values',
          'emit numeric room',
          'emit to a socket id', 'socket.broadcast', 'socket.broadcast to a room',
          'socket.broadcast with an except', 'volatile emit', 'volatile socket.broadcast',
          'local emit (nothing published)', 'emit in /other', 'fetchSockets', 'fetchSockets all',
          'socketsJoin', 'socketsLeave', 'disconnectSockets close', 'disconnectSockets',
          'serverSideEmit', 'serverSideEmit with ack', 'broadcast with acks',
          'serverCount (nothing published)',
        ];
        for (const name of opNames) test(`publishes: ${name}`, segment('ops', name));

        // the except list's order shows in the bytes: the socket's own id
        // first, as socket.io's BroadcastOperator starts its except set
        test('socket.broadcast with an except: byte for byte what the Node node publishes', () => {
          const name = 'socket.broadcast with an except';
          const want = rawNormalized(cx.ref.ops.get(name), cx.ref.names);
          const got = rawNormalized(cx.got.ops.get(name), cx.got.names);
          assert.equal(got.length, 1);
          assert.deepEqual(got, want);
        });

        // not the same bytes by design: the reference JSON.stringify()s a
        // server-side event, so its Buffer goes as {type: "Buffer", data};
        // sioc sends one holding binaries as msgpack with bin, which the
        // reference's onrequest() reads (its handler gets a Buffer)
        test('serverSideEmit with a binary: JSON from the Node node, msgpack bin from sioc', () => {
          const ref = comparable(cx.ref.ops.get('serverSideEmit binary'), cx.ref.names);
          const got = comparable(cx.got.ops.get('serverSideEmit binary') ?? [], cx.got.names);
          const msg = (format, bin) => [{
            channel: 'socket.io-request#/#',
            format,
            value: { uid: '<uid>', type: 6, data: ['hb', 'w', bin] },
          }];
          assert.deepEqual(ref, msg('json', { type: 'Buffer', data: [1, 2, 3] }), 'the reference');
          assert.deepEqual(got, kind === 'node' ? ref : msg('msgpack', { bin: [1, 2, 3] }), kind);
        });

        const requestNames = [
          'SOCKETS', 'ALL_ROOMS', 'REMOTE_FETCH', 'REMOTE_FETCH msgpack', 'REMOTE_JOIN sid',
          'REMOTE_JOIN opts', 'REMOTE_LEAVE sid', 'REMOTE_LEAVE opts', 'REMOTE_DISCONNECT sid',
          'REMOTE_DISCONNECT opts', 'SERVER_SIDE_EMIT', 'SERVER_SIDE_EMIT with ack',
          'BROADCAST with ack', 'malformed', 'unknown type', '(anything else)',
        ];
        for (const name of requestNames) test(`answers the request: ${name}`, segment('requests', name));

        test('byte-identical messages (a report, not a requirement)', (t) => {
          t.diagnostic(`byte-identical, ids aside: ${cx.bytes.same} of ${cx.bytes.same + cx.bytes.differ}`);
        });

        test('the operations end the same way (answers to the controls, effects of the requests)',
          () => {
            // fetched sockets are sorted by id, which differ between runs
            const norm = (cap) => {
              const a = normalize(cap.answers, cap.names);
              for (const v of Object.values(a)) {
                if (v && Array.isArray(v.sockets)) {
                  v.sockets.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
                }
              }
              return a;
            };
            const got = norm(cx.got);
            const want = norm(cx.ref);
            for (const k of Object.keys(want)) {
              assert.deepEqual(got[k], want[k], `${k}: the ${kind} node's answer`);
            }
          });
      });
  }
}

test('every node of the scenarios exits cleanly on SIGTERM', async () => {
  await stopScenarioNodes();
});
