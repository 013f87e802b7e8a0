// The checks of a three-node cluster, shared by cluster.test.mjs (the
// classic adapter, any mix of sioc and Node nodes) and sharded.test.mjs
// (the sharded adapter, each subscription mode). Each node has four
// clients: a websocket connection carrying "/" and "/other", and a polling
// socket in each namespace. Every operation is asked from each node in
// turn, and every delivery is counted: exactly once where it belongs,
// never elsewhere.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  broadcastChannel, closeCluster, ODD, connectClient, connectPair, eventually, redisClient, settle,
  sleep, startNode, startRedis, waitSubscribed, within,
} from './cluster_lib.mjs';

const require = createRequire(import.meta.url);

// Who is in which room of "/" (by client name, node index then transport).
const ROOMS = {
  red: ['n0-ws', 'n1-poll', 'n2-ws'],
  blue: ['n0-poll', 'n1-ws', 'n1-poll'],
  green: ['n2-poll', 'n0-ws'],
  42: ['n1-ws', 'n2-poll'],
  'salle é☃ #1': ['n0-poll', 'n2-ws', 'n2-poll'],
};


const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const sortBy = (arr, key) => [...arr].sort((a, b) => byName(key(a), key(b)));

// The binary argument the nodes append with `bin` (CONTROL.md).
const BIN = [1, 2, 3];
const asBytes = (v) => {
  if (Buffer.isBuffer(v)) return [...v];
  if (v instanceof ArrayBuffer) return [...new Uint8Array(v)];
  if (ArrayBuffer.isView(v)) return [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];
  return v;
};

export function clusterSuite({
  label, kinds, nodeArgs = [], sharded = false, subscriptionMode = 'dynamic',
  emitter = false, kill = false, requestsTimeout = 2000, timeout = 110000,
  specificResponse = false, requestsOnly = false,
}) {
  // requestsOnly: the broadcasts' tests are left out (a second run with
  // other request options)
  const broadcastTest = requestsOnly ? () => {} : test;
  describe(label, { timeout }, () => {
    const cx = {
      nodes: [], main: [], other: [], byNode: [], rooms: new Map(), killed: new Set(),
    };
    const client = (name) => cx.main.find((c) => c.name === name) ??
      cx.other.find((c) => c.name === name);
    const membersOf = (room) => cx.main.filter((c) => cx.rooms.get(c.name).has(room));
    const nodeIndex = (c) => cx.nodes.indexOf(c.node);

    // Sharded, dynamic modes: a node subscribes to a room's channel when
    // the room appears on it, asynchronously (the reference does not wait
    // either); before emitting to a room, wait until every node holding it
    // is subscribed.
    async function roomsSubscribed(rooms) {
      if (!sharded || subscriptionMode === 'static') return;
      for (const room of rooms) {
        const holders = new Set(membersOf(room).map(nodeIndex));
        const ch = `${broadcastChannel('socket.io', '/')}${room}#`;
        let n;
        await within(5000, (async () => {
          for (;;) {
            n = Number((await cx.rc.sendCommand(['PUBSUB', 'SHARDNUMSUB', ch]))[1]);
            if (n === holders.size) return;
            await sleep(20);
          }
        })(), `SHARDNUMSUB ${ch} = ${holders.size}`).catch((e) => {
          e.message += ` (is ${n})`;
          throw e;
        });
      }
    }

    before(async () => {
      cx.redis = await startRedis();
      cx.rc = await redisClient(cx.redis.port);
      const args = ['--requests-timeout', String(requestsTimeout), ...nodeArgs];
      if (specificResponse) args.push('--specific-response', 'on');
      if (sharded) args.push('--sharded', 'on', '--subscription-mode', subscriptionMode);
      cx.nodes = await Promise.all(kinds.map((kind, i) => startNode(kind, cx.redis.port, {
        name: `n${i}-${kind}`, args,
      })));
      await waitSubscribed(cx.rc, cx.nodes.length, { sharded });
      for (const [i, node] of cx.nodes.entries()) {
        const pair = await connectPair(node, 'websocket', { name: `n${i}-ws` });
        const poll = await connectClient(node, 'polling', { name: `n${i}-poll` });
        const pollOther = await connectClient(node, 'polling', {
          name: `n${i}-poll/other`, nsp: '/other',
        });
        cx.byNode.push({
          ws: pair.main, poll, wsOther: pair.other, pollOther,
        });
        cx.main.push(pair.main, poll);
        cx.other.push(pair.other, pollOther);
      }
      for (const c of cx.main) {
        cx.rooms.set(c.name, new Set([c.id]));
        assert.equal(await c.setData({ name: c.name, n: nodeIndex(c) }), true);
      }
      for (const [room, members] of Object.entries(ROOMS)) {
        for (const m of members) {
          assert.equal(await client(m).join(room), true);
          cx.rooms.get(m).add(room);
        }
      }
      for (const c of cx.other) cx.rooms.set(c.name, new Set([c.id]));
      await roomsSubscribed(Object.keys(ROOMS));
      if (sharded && subscriptionMode === 'dynamic-private') {
        // each socket's own room has its channel too
        for (const c of cx.main) await roomsSubscribed([c.id]);
      }
    });

    after(async () => {
      await closeCluster();
    });

    // Asks `origin`'s node for `c` (an emit), then checks that every client
    // in `expect` got (event, tag) exactly once and every other client of
    // both namespaces never. Binary: the BIN bytes come last.
    async function checkEmit(origin, c, expect, what, payload = { n: 1, s: 'é☃' }) {
      const tag = `${what}:${origin.name}`;
      const event = c.event ?? 'ev';
      const r = await origin.ctl({ op: 'emit', event, args: [tag, payload], ...c });
      assert.deepEqual(r, {}, `${tag}: the emit's answer`);
      await markAll(origin);
      const wrong = [];
      for (const cl of [...cx.main, ...cx.other]) {
        if (cl.socket.disconnected) continue;
        const got = cl.got(event, tag);
        const want = expect.includes(cl.name) ? 1 : 0;
        if (got.length !== want) wrong.push(`${cl.name} got it ${got.length} times, not ${want}`);
        for (const args of got) {
          assert.deepEqual(args.slice(0, 2), [tag, payload], `${tag}: ${cl.name}'s args`);
          if (c.bin) {
            assert.equal(args.length, 3, `${tag}: ${cl.name} got the binary argument`);
            assert.deepEqual(asBytes(args[2]), BIN, `${tag}: ${cl.name}'s binary argument`);
          } else {
            assert.equal(args.length, 2, `${tag}: ${cl.name}'s argument count`);
          }
        }
      }
      assert.deepEqual(wrong, [], `${tag} (${JSON.stringify(c)}), expected at ${JSON.stringify(expect)}`);
    }

    // Everything `origin`'s node sent before now has reached every client
    // of both namespaces.
    async function markAll(origin) {
      const i = nodeIndex(origin);
      const mainOrigin = origin.socket.nsp === '/' ? origin : cx.byNode[i].ws;
      const otherOrigin = origin.socket.nsp === '/' ? cx.byNode[i].wsOther : origin;
      const alive = (l) => l.filter((cl) => !cl.socket.disconnected);
      await settle(mainOrigin, alive(cx.main));
      await settle(otherOrigin, alive(cx.other));
    }

    // Sends with the emitter (`send(event, ...args)`), then the emitter's
    // marks in both namespaces, after it on the same connection; checks
    // every client got (em, tag) exactly once in `expect`, never elsewhere.
    async function checkEmitter(em, send, expect, tag, bin) {
      send('em', tag, { n: 1 });
      em.emit('mark', `m-${tag}`);
      em.of('/other').emit('mark', `m-${tag}`);
      await Promise.all([...cx.main, ...cx.other].map((c) => c.waitEvent('mark', `m-${tag}`)));
      const wrong = [];
      for (const cl of [...cx.main, ...cx.other]) {
        const got = cl.got('em', tag);
        const want = expect.includes(cl.name) ? 1 : 0;
        if (got.length !== want) wrong.push(`${cl.name} got it ${got.length} times, not ${want}`);
        for (const args of got) {
          assert.deepEqual(args.slice(0, 2), [tag, { n: 1 }], `${tag}: ${cl.name}'s args`);
          if (bin) assert.deepEqual(asBytes(args[2]), BIN, `${tag}: ${cl.name}'s binary`);
        }
      }
      assert.deepEqual(wrong, [], tag);
    }

    const allMain = () => cx.main.map((c) => c.name);
    const nodeClients = (i) => cx.main.filter((c) => nodeIndex(c) === i).map((c) => c.name);
    const union = (...rooms) => [...new Set(rooms.flatMap((r) => ROOMS[r]))];
    const minus = (a, b) => a.filter((x) => !b.includes(x));

    test('every node counts the cluster: serverCount is 3 in both namespaces', async () => {
      for (const n of cx.byNode) {
        assert.deepEqual(await n.ws.ctl({ op: 'count' }), { count: 3 }, `${n.ws.name} /`);
        assert.deepEqual(await n.wsOther.ctl({ op: 'count' }), { count: 3 },
          `${n.wsOther.name} /other`);
      }
    });

    test('allRooms: every room of every node, each once, in both namespaces, from each node',
      async () => {
        const want = (clients) => [...new Set(clients.flatMap((c) => [...cx.rooms.get(c.name)]))]
          .map(String).sort();
        for (const n of cx.byNode) {
          for (const [c, clients] of [[n.ws, cx.main], [n.wsOther, cx.other]]) {
            const r = await c.ctl({ op: 'all-rooms' });
            if (sharded) {
              // the reference's sharded adapter has no allRooms()
              assert.deepEqual(r, { err: 'unsupported' }, c.name);
              continue;
            }
            assert.equal(r.err, undefined, `${c.name}: ${r.err}`);
            assert.equal(new Set(r.rooms).size, r.rooms.length, `${c.name}: each room once`);
            assert.deepEqual([...r.rooms].map(String).sort(), want(clients), c.name);
          }
        }
      });

    broadcastTest('a broadcast to all reaches every client of the namespace once, from each node',
      async () => {
        for (const n of cx.byNode) {
          await checkEmit(n.ws, {}, allMain(), 'all');
          await checkEmit(n.poll, {}, allMain(), 'all-from-poll');
        }
      });

    broadcastTest('to one room, from each node', async () => {
      for (const n of cx.byNode) {
        await checkEmit(n.ws, { rooms: ['red'] }, ROOMS.red, 'red');
        await checkEmit(n.poll, { rooms: ['42'] }, ROOMS[42], 'room-42');
        await checkEmit(n.ws, { rooms: ['salle é☃ #1'] }, ROOMS['salle é☃ #1'], 'room-unicode');
      }
    });

    broadcastTest('to several rooms with excepts, from each node', async () => {
      for (const n of cx.byNode) {
        await checkEmit(n.ws, { rooms: ['red', 'blue'], except: ['green'] },
          minus(union('red', 'blue'), ROOMS.green), 'red+blue-green');
        await checkEmit(n.poll, { except: ['blue'] }, minus(allMain(), ROOMS.blue), 'all-blue');
        await checkEmit(n.ws, { rooms: ['red', 'green', '42'], except: ['blue', 'nobody'] },
          minus(union('red', 'green', '42'), ROOMS.blue), 'three-rooms-blue');
      }
    });

    // A Node node keys its rooms Map by value: to(42) names the room of the
    // number 42, not the string room "42" (nobody joined a number here)
    broadcastTest('number rooms from a Node node: to(42) selects nobody, except(42) excepts nobody',
      async () => {
        for (const [i, n] of cx.byNode.entries()) {
          if (cx.nodes[i].kind !== 'node') continue;
          await checkEmit(n.ws, { rooms: [42] }, [], 'number-42');
          await checkEmit(n.ws, { except: [42] }, allMain(), 'except-number-42');
          await checkEmit(n.poll, { rooms: [42, 'red'], except: [7] }, ROOMS.red,
            'number-42-and-red');
        }
      });

    broadcastTest("to a socket's own room, on another node, from each node", async () => {
      for (const [i, n] of cx.byNode.entries()) {
        for (const target of [cx.byNode[(i + 1) % 3].poll, cx.byNode[(i + 2) % 3].ws, n.poll]) {
          await checkEmit(n.ws, { rooms: [target.id] }, [target.name], `sid-${target.name}`);
        }
        // a socket id in except
        const ex = cx.byNode[(i + 1) % 3].ws;
        await checkEmit(n.ws, { except: [ex.id] }, minus(allMain(), [ex.name]), `except-sid-${ex.name}`);
      }
    });

    broadcastTest('socket.broadcast (the sender left out), from each node', async () => {
      for (const n of cx.byNode) {
        for (const sender of [n.ws, n.poll]) {
          await checkEmit(sender, { broadcast: true }, minus(allMain(), [sender.name]),
            'broadcast');
          await checkEmit(sender, { broadcast: true, rooms: ['blue'] },
            minus(ROOMS.blue, [sender.name]), 'broadcast-blue');
        }
      }
    });

    broadcastTest('a local emit stays on its node, from each node', async () => {
      for (const [i, n] of cx.byNode.entries()) {
        await checkEmit(n.ws, { local: true }, nodeClients(i), 'local');
        await checkEmit(n.poll, { local: true, rooms: ['red'] },
          ROOMS.red.filter((m) => nodeClients(i).includes(m)), 'local-red');
      }
    });

    broadcastTest('binary arguments cross nodes (websocket and polling clients), from each node',
      async () => {
        for (const n of cx.byNode) {
          await checkEmit(n.ws, { bin: true }, allMain(), 'bin');
          await checkEmit(n.poll, { bin: true, rooms: ['blue'], except: ['42'] },
            minus(ROOMS.blue, ROOMS[42]), 'bin-blue');
        }
      });

    broadcastTest('long strings, every integer width, floats, big maps and arrays cross nodes intact',
      async () => {
        for (const n of cx.byNode) {
          await checkEmit(n.ws, { bin: true }, allMain(), 'odd', ODD);
          await checkEmit(n.poll, { rooms: ['salle é☃ #1'] }, ROOMS['salle é☃ #1'], 'odd-room', ODD);
        }
      });

    broadcastTest('a burst from every node at once: each message once, in order per sender',
      async () => {
        const N = 100;
        await Promise.all(cx.byNode.map((n, i) => Promise.all(Array.from({ length: N }, (_, k) =>
          n.ws.ctl({
            op: 'emit',
            event: 'burst',
            args: [i, k, k % 10 === 0 ? 'z'.repeat(20000 + k) : `m${k}`],
            bin: k % 7 === 0,
          }).then((r) => assert.deepEqual(r, {}))))));
        for (const n of cx.byNode) await markAll(n.ws);
        for (const c of cx.main) {
          const got = c.got('burst');
          assert.equal(got.length, N * cx.nodes.length, `${c.name}: every burst message, once`);
          for (let i = 0; i < cx.nodes.length; i++) {
            const seq = got.filter((a) => a[0] === i).map((a) => a[1]);
            assert.deepEqual(seq, Array.from({ length: N }, (_, k) => k),
              `${c.name}: node ${i}'s messages in the order it sent them`);
          }
          for (const a of got) {
            const k = a[1];
            assert.equal(a[2], k % 10 === 0 ? 'z'.repeat(20000 + k) : `m${k}`);
            if (k % 7 === 0) assert.deepEqual(asBytes(a[3]), BIN, `${c.name}: burst ${k}'s binary`);
            else assert.equal(a.length, 3);
          }
        }
      });

    // What fetchSockets must find: id, rooms (sorted) and data.
    const expectSockets = (clients) => sortBy(clients.map((c) => ({
      id: c.id, rooms: [...cx.rooms.get(c.name)].sort(), data: { name: c.name, n: nodeIndex(c) },
    })), (s) => s.id);

    test('fetchSockets: ids, rooms and data of every node, from each node', async () => {
      for (const n of cx.byNode) {
        for (const asker of [n.ws, n.poll]) {
          const all = await asker.ctl({ op: 'fetch' });
          assert.deepEqual(all, { sockets: expectSockets(cx.main) }, `${asker.name}: all`);
          const some = await asker.ctl({ op: 'fetch', rooms: ['blue', 'red'], except: ['green'] });
          assert.deepEqual(some, {
            sockets: expectSockets(cx.main.filter((c) => union('red', 'blue').includes(c.name) &&
              !ROOMS.green.includes(c.name))),
          }, `${asker.name}: red+blue-green`);
          const one = cx.main[(cx.main.indexOf(asker) + 3) % cx.main.length];
          assert.deepEqual(await asker.ctl({ op: 'fetch', rooms: [one.id] }),
            { sockets: expectSockets([one]) }, `${asker.name}: ${one.name}'s room`);
          assert.deepEqual(await asker.ctl({ op: 'fetch', rooms: ['no-such-room'] }),
            { sockets: [] }, `${asker.name}: an empty room`);
        }
      }
    });

    test('fetchSockets of 200 more sockets with 2 KB of data each: a large answer, whole',
      async () => {
        const many = [];
        const node = 0;
        for (let b = 0; b < 4; b++) {
          many.push(...await Promise.all(Array.from({ length: 50 }, (_, k) => connectClient(
            cx.nodes[node], 'websocket', { name: `many-${b * 50 + k}` }))));
        }
        await Promise.all(many.map((c, i) => c.setData({ i, pad: 'p'.repeat(2000) })));
        await Promise.all(many.map((c) => c.join('many')));
        for (const [i, n] of cx.byNode.entries()) {
          if (i === node) continue;
          const r = await n.poll.ctl({ op: 'fetch', rooms: ['many'] }, 20000);
          assert.equal(r.err, undefined, `${n.poll.name}: ${r.err}`);
          assert.deepEqual(r.sockets, sortBy(many.map((c, k) => ({
            id: c.id, rooms: [c.id, 'many'].sort(), data: { i: k, pad: 'p'.repeat(2000) },
          })), (x) => x.id), `${n.poll.name}: the 200 sockets of node ${node}`);
        }
        for (const c of many) c.close();
        await eventually(async () => assert.deepEqual(
          await cx.byNode[1].ws.ctl({ op: 'fetch', rooms: ['many'] }), { sockets: [] }));
      });

    test('socketsJoin and socketsLeave act on every node, from each node', async () => {
      for (const [i, n] of cx.byNode.entries()) {
        const room = `joined-${i}`;
        // every red socket joins, wherever it is
        assert.deepEqual(await n.ws.ctl({ op: 'sockets-join', rooms: ['red'], room }), {});
        for (const m of ROOMS.red) cx.rooms.get(m).add(room);
        const checker = cx.byNode[(i + 1) % 3].poll;
        await eventually(async () => assert.deepEqual(
          await checker.ctl({ op: 'fetch', rooms: [room] }),
          { sockets: expectSockets(cx.main.filter((c) => ROOMS.red.includes(c.name))) },
          `after sockets-join from ${n.ws.name}, as ${checker.name} sees it`));
        // the blue ones among them leave it again, asked from a third node
        const leaver = cx.byNode[(i + 2) % 3].ws;
        assert.deepEqual(await leaver.ctl({
          op: 'sockets-leave', rooms: ['blue'], room,
        }), {});
        for (const m of ROOMS.blue) cx.rooms.get(m).delete(room);
        const stay = minus(ROOMS.red, ROOMS.blue);
        await eventually(async () => assert.deepEqual(
          await n.poll.ctl({ op: 'fetch', rooms: [room] }),
          { sockets: expectSockets(cx.main.filter((c) => stay.includes(c.name))) },
          `after sockets-leave from ${leaver.name}, as ${n.poll.name} sees it`));
        await roomsSubscribed([room]);
        await checkEmit(cx.byNode[(i + 1) % 3].ws, { rooms: [room] }, stay, `to-${room}`);
        // a join with excepts
        const room2 = `joined-except-${i}`;
        assert.deepEqual(await n.poll.ctl({
          op: 'sockets-join', rooms: [], except: ['red', '42'], room: room2,
        }), {});
        const joined = minus(allMain(), union('red', '42'));
        for (const m of joined) cx.rooms.get(m).add(room2);
        await eventually(async () => assert.deepEqual(
          await leaver.ctl({ op: 'fetch', rooms: [room2] }),
          { sockets: expectSockets(cx.main.filter((c) => joined.includes(c.name))) },
          `after sockets-join except red, 42 from ${n.poll.name}`));
      }
      // the rooms everybody sees now are the ones recorded
      assert.deepEqual(await cx.byNode[0].ws.ctl({ op: 'fetch' }), { sockets: expectSockets(cx.main) });
    });

    test('serverSideEmit without ack reaches every other node once, from each node',
      async () => {
        const log = async (c) => (await c.ctl({ op: 'sse-log' })).events;
        for (const [i, n] of cx.byNode.entries()) {
          const event = `sse-${i}`;
          const args = [i, { from: n.ws.name, s: 'é' }];
          assert.deepEqual(await n.ws.ctl({ op: 'sse', event, args }), {});
          // a second one, as a mark: what came before it has arrived
          assert.deepEqual(await n.poll.ctl({ op: 'sse', event: `sse-mark-${i}`, args: [] }), {});
          for (const [k, m] of cx.byNode.entries()) {
            if (k === i) continue;
            await eventually(async () => assert.ok(
              (await log(m.ws)).some((e) => e[0] === `sse-mark-${i}`), `${m.ws.name} got the mark`));
          }
          for (const [k, m] of cx.byNode.entries()) {
            const got = (await log(m.ws)).filter((e) => e[0] === event);
            if (k === i) assert.deepEqual(got, [], `${event}: the sender's node does not get it`);
            else assert.deepEqual(got, [[event, ...args]], `${event} at ${m.ws.name}`);
            const other = (await log(m.wsOther)).filter((e) => e[0].startsWith('sse-'));
            assert.deepEqual(other, [], `${event}: not in /other of ${m.ws.name}`);
          }
        }
      });

    test('serverSideEmit with ack collects one answer from every other node, from each node',
      async () => {
        for (const [i, n] of cx.byNode.entries()) {
          for (const asker of [n.ws, n.wsOther]) {
            const args = [`q${i}`, { k: [1, 2] }];
            const r = await asker.ctl({
              op: 'sse', event: `ssea-${i}`, args, ack: true, timeout: requestsTimeout,
            });
            assert.equal(r.err, null, `${asker.name}: no error (${JSON.stringify(r)})`);
            assert.deepEqual(sortBy(r.responses, (x) => x.node),
              sortBy(cx.nodes.filter((_, k) => k !== i).map((node) => ({ node: node.name, args })),
                (x) => x.node), `${asker.name}: the answers`);
          }
        }
      });

    // Binary in server-side events and their answers (CONTROL.md: {$bin}
    // for a binary). The sharded adapter carries binaries as msgpack bin
    // both ways, on either kind of node. The classic one: a Node node
    // JSON.stringify()s its events and answers, so a Buffer from it is
    // {type: "Buffer", data} on arrival, on a Node node as on sioc; a sioc
    // node sends binaries as msgpack bin, which a Node node reads as a
    // Buffer.
    const BINV = { $bin: BIN };
    const BUFJSON = { type: 'Buffer', data: BIN };
    const arrived = (from) => (sharded || kinds[from] === 'sioc' ? BINV : BUFJSON);
    const answered = (from, by) => (sharded || kinds[by] === 'sioc' ? arrived(from) : BUFJSON);

    test('serverSideEmit with a binary argument, echoed in every answer: the same bytes on every node',
      async () => {
        const log = async (c) => (await c.ctl({ op: 'sse-log' })).events;
        for (const [i, n] of cx.byNode.entries()) {
          const event = `sse-bin-${i}`;
          const r = await n.ws.ctl({
            op: 'sse', event, args: ['b', { k: i }], bin: true, ack: true, timeout: requestsTimeout,
          }, requestsTimeout + 5000);
          assert.equal(r.err, null, `${event}: no error (${JSON.stringify(r)})`);
          const others = cx.byNode.map((_, k) => k).filter((k) => k !== i);
          assert.deepEqual(sortBy(r.responses, (x) => x.node), sortBy(others.map((k) => ({
            node: cx.nodes[k].name, args: ['b', { k: i }, answered(i, k)],
          })), (x) => x.node), `${event}: the answers, binaries byte for byte`);
          for (const k of others) {
            const got = (await log(cx.byNode[k].ws)).filter((e) => e[0] === event);
            assert.deepEqual(got, [[event, 'b', { k: i }, arrived(i)]], `${event} at ${cx.nodes[k].name}`);
          }
          // and without an ack
          const ev2 = `sse-bin-noack-${i}`;
          assert.deepEqual(await n.poll.ctl({ op: 'sse', event: ev2, args: [], bin: true }), {});
          for (const k of others) {
            await eventually(async () => assert.deepEqual(
              (await log(cx.byNode[k].ws)).filter((e) => e[0] === ev2), [[ev2, arrived(i)]],
              `${ev2} at ${cx.nodes[k].name}`));
          }
        }
      });

    test('broadcast with acks: every client\'s binary answer, byte for byte, from each node',
      async () => {
        for (const n of cx.byNode) {
          for (const [c, who] of [[{}, allMain()], [{ rooms: ['blue'] }, ROOMS.blue]]) {
            const tag = `ask-bin:${n.ws.name}:${JSON.stringify(c)}`;
            const r = await n.ws.ctl({
              op: 'emit-ack', event: 'ask-bin', args: [tag], timeout: 5000, ...c,
            });
            assert.equal(r.err, null, `${tag}: no error (${JSON.stringify(r)})`);
            assert.deepEqual(sortBy(r.responses, (x) => x.client), sortBy(who.map((name) => ({
              client: name, args: [tag], bin: { $bin: [...Buffer.from(name)] },
            })), (x) => x.client), tag);
          }
        }
      });

    test('broadcast with acks collects the answer of every client of every node, from each node',
      async () => {
        for (const n of cx.byNode) {
          for (const [c, who] of [
            [{}, allMain()],
            [{ rooms: ['red'], except: ['blue'] }, minus(ROOMS.red, ROOMS.blue)],
            [{ rooms: ['no-such-room'] }, []],
          ]) {
            const tag = `ask:${n.poll.name}:${JSON.stringify(c)}`;
            const r = await n.poll.ctl({
              op: 'emit-ack', event: 'ask', args: [tag], timeout: 5000, ...c,
            });
            assert.equal(r.err, null, `${tag}: no error (${JSON.stringify(r)})`);
            assert.deepEqual(sortBy(r.responses, (x) => x.client),
              sortBy(who.map((name) => ({ client: name, args: [tag] })), (x) => x.client), tag);
          }
        }
      });

    broadcastTest('the other namespace is apart: emits, fetchSockets', async () => {
      const otherNames = cx.other.map((c) => c.name);
      for (const n of cx.byNode) {
        await checkEmit(n.wsOther, {}, otherNames, 'other-all');
        await checkEmit(n.pollOther, { bin: true }, otherNames, 'other-bin');
        await checkEmit(n.pollOther, { broadcast: true }, minus(otherNames, [n.pollOther.name]),
          'other-broadcast');
        const r = await n.pollOther.ctl({ op: 'fetch' });
        assert.deepEqual(sortBy(r.sockets.map((s) => ({ id: s.id, rooms: s.rooms })), (s) => s.id),
          sortBy(cx.other.map((c) => ({ id: c.id, rooms: [c.id] })), (s) => s.id),
          `${n.pollOther.name}: fetchSockets in /other`);
      }
    });

    if (emitter) {
      test('the redis-emitter reaches the clients of every node, rooms and namespaces too',
        async () => {
          const { Emitter } = require('@socket.io/redis-emitter');
          const ec = await redisClient(cx.redis.port);
          const em = new Emitter(ec);
          const cases = [
            [(e, ...a) => em.emit(e, ...a), allMain(), 'em-all'],
            [(e, ...a) => em.to('red').emit(e, ...a), ROOMS.red, 'em-red'],
            [(e, ...a) => em.to(['red', 'blue']).except('green').emit(e, ...a),
              minus(union('red', 'blue'), ROOMS.green), 'em-red+blue-green'],
            [(e, ...a) => em.to(cx.byNode[1].poll.id).emit(e, ...a), [cx.byNode[1].poll.name],
              'em-sid'],
            [(e, ...a) => em.except('blue').emit(e, ...a, Buffer.from(BIN)),
              minus(allMain(), ROOMS.blue), 'em-bin', true],
            [(e, ...a) => em.of('/other').emit(e, ...a), cx.other.map((c) => c.name), 'em-other'],
            [(e, ...a) => em.to('42').except('salle é☃ #1').emit(e, ...a),
              minus(ROOMS[42], ROOMS['salle é☃ #1']), 'em-room-42'],
            [(e, ...a) => em.to('salle é☃ #1').emit(e, ...a), ROOMS['salle é☃ #1'], 'em-unicode-room'],
          ];
          for (const [send, expect, tag, bin] of cases) await checkEmitter(em, send, expect, tag, bin);
          // server-side events and socketsJoin from the emitter
          em.serverSideEmit('em-sse', 7, { x: 'y' });
          em.in('blue').socketsJoin('em-room');
          for (const n of cx.byNode) {
            await eventually(async () => assert.deepEqual(
              (await n.ws.ctl({ op: 'sse-log' })).events.filter((e) => e[0] === 'em-sse'),
              [['em-sse', 7, { x: 'y' }]], `${n.ws.name}'s server-side events`));
          }
          // disconnectSockets from the emitter, with close, on every node
          const victims = [];
          for (const node of cx.nodes) {
            const v = await connectClient(node, 'websocket', { name: `em-victim-${node.name}` });
            assert.equal(await v.join('em-victims'), true);
            victims.push(v);
          }
          em.in('em-victims').disconnectSockets(true);
          for (const v of victims) {
            assert.equal(await v.waitDisconnect(), 'io server disconnect', `${v.name}`);
          }
          for (const m of ROOMS.blue) cx.rooms.get(m).add('em-room');
          await eventually(async () => assert.deepEqual(
            await cx.byNode[2].poll.ctl({ op: 'fetch', rooms: ['em-room'] }),
            { sockets: expectSockets(cx.main.filter((c) => ROOMS.blue.includes(c.name))) },
            'socketsJoin from the emitter'));
        });
    }

    if (emitter) {
      test('the redis-emitter with a number as room: only rooms joined as that number (none here)',
        async () => {
          const { Emitter } = require('@socket.io/redis-emitter');
          const em = new Emitter(await redisClient(cx.redis.port));
          // the reference's Map of rooms has the string "42" here; the
          // number 42 (msgpack int in `rooms`) selects nobody
          await checkEmitter(em, (e, ...a) => em.to(42).emit(e, ...a), [], 'em-number-42');
          // ...and excepting the number 42 excepts nobody, not the
          // sockets of the string room "42"
          await checkEmitter(em, (e, ...a) => em.except(42).emit(e, ...a), allMain(),
            'em-except-number-42');
          await checkEmitter(em, (e, ...a) => em.to([42, 'red']).emit(e, ...a), ROOMS.red,
            'em-number-42-and-red');
        });
    }

    test('disconnectSockets, with and without close, from each node', async () => {
      for (const [i, n] of cx.byNode.entries()) {
        for (const close of [false, true]) {
          const room = `victims-${i}-${close}`;
          const victims = [];
          for (const [k, node] of cx.nodes.entries()) {
            const v = await connectPair(node, k % 2 ? 'polling' : 'websocket', {
              name: `v${i}${close ? 'c' : ''}-n${k}`,
            });
            assert.equal(await v.main.join(room), true);
            victims.push(v);
          }
          assert.deepEqual(await n.ws.ctl({ op: 'disconnect', rooms: [room], close }), {});
          for (const v of victims) {
            assert.equal(await v.main.waitDisconnect(), 'io server disconnect',
              `${v.main.name}: the disconnect reason (close ${close}, from ${n.ws.name})`);
          }
          await markAll(n.ws);
          for (const v of victims) {
            if (close) {
              // the whole connection is closed: the other namespace too
              await v.other.waitDisconnect();
            } else {
              assert.equal(v.other.socket.connected, true,
                `${v.other.name}: still connected (close false, from ${n.ws.name})`);
              assert.deepEqual(await v.other.ctl({ op: 'count' }), { count: 3 },
                `${v.other.name} still talks`);
              v.other.close();
            }
          }
          for (const c of [...cx.main, ...cx.other]) {
            assert.equal(c.socket.connected, true, `${c.name} is still connected`);
          }
        }
      }
      // a disconnect with excepts only: nobody of the fixed clients is hit
      const spare = await connectClient(cx.nodes[2], 'polling', { name: 'spare' });
      assert.deepEqual(await cx.byNode[0].poll.ctl({
        op: 'disconnect', rooms: [], except: cx.main.map((c) => c.id),
      }), {});
      assert.equal(await spare.waitDisconnect(), 'io server disconnect', 'the spare client');
      await markAll(cx.byNode[0].poll);
      for (const c of [...cx.main, ...cx.other]) {
        assert.equal(c.socket.connected, true, `${c.name} is still connected`);
      }
    });

    if (kill) {
      test('a stalled node makes requests time out cleanly; killed, the others go on',
        { timeout: 40000 }, async () => {
          const victim = 1;
          const node = cx.nodes[victim];
          const [a, b] = [0, 2];
          const asker = cx.byNode[a].ws;
          const stalledAt = Date.now();
          node.proc.kill('SIGSTOP');
          try {
            // the stalled node is still subscribed (counted) but answers nothing
            assert.deepEqual(await asker.ctl({ op: 'count' }), { count: 3 });
            let t0 = Date.now();
            const f = await asker.ctl({ op: 'fetch' }, requestsTimeout + 8000);
            const fetchMs = Date.now() - t0;
            assert.equal(f.err, 'timeout', `fetchSockets with a stalled node: ${JSON.stringify(f)}`);
            assert.ok(fetchMs >= requestsTimeout - 200 && fetchMs < requestsTimeout + 3000,
              `fetchSockets timed out after ${fetchMs} ms (requests timeout ${requestsTimeout})`);
            t0 = Date.now();
            const r = await asker.ctl({ op: 'all-rooms' }, requestsTimeout + 8000);
            const roomsMs = Date.now() - t0;
            if (sharded) {
              assert.deepEqual(r, { err: 'unsupported' }, 'no allRooms() in the sharded adapter');
            } else {
              assert.deepEqual(r, { err: 'timeout' }, 'allRooms with a stalled node');
              assert.ok(roomsMs >= requestsTimeout - 200 && roomsMs < requestsTimeout + 3000,
                `allRooms timed out after ${roomsMs} ms`);
            }
            t0 = Date.now();
            const s = await asker.ctl({ op: 'sse', event: 'stalled', args: [1], ack: true },
              requestsTimeout + 8000);
            const sseMs = Date.now() - t0;
            assert.equal(s.err, 'timeout', `serverSideEmit with ack: ${JSON.stringify(s)}`);
            assert.deepEqual(s.responses, [{ node: cx.nodes[b].name, args: [1] }],
              'the answer it has');
            assert.ok(sseMs >= requestsTimeout - 200 && sseMs < requestsTimeout + 8000,
              `serverSideEmit timed out after ${sseMs} ms`);
            const e = await asker.ctl({
              op: 'emit-ack', event: 'ask', args: ['stalled'], timeout: 1500,
            });
            assert.equal(e.err, 'timeout', `broadcast with acks: ${JSON.stringify(e)}`);
            assert.deepEqual(sortBy(e.responses, (x) => x.client),
              sortBy([...nodeClients(a), ...nodeClients(b)].map((name) => ({
                client: name, args: ['stalled'],
              })), (x) => x.client), 'the answers of the live nodes\' clients');
            // broadcasts between the live nodes go on
            const liveNames = [...nodeClients(a), ...nodeClients(b)];
            const tag = 'during-stall';
            assert.deepEqual(await asker.ctl({ op: 'emit', event: 'ev', args: [tag] }), {});
            await settle(asker, cx.main.filter((c) => liveNames.includes(c.name)));
            await settle(cx.byNode[b].poll, cx.main.filter((c) => liveNames.includes(c.name)));
            for (const c of cx.main.filter((x) => liveNames.includes(x.name))) {
              assert.equal(c.got('ev', tag).length, 1, `${c.name} during the stall`);
            }
          } finally {
            node.proc.kill('SIGKILL');
            cx.killed.add(victim);
          }
          await within(5000, node.exited, 'the killed node is gone');
          // Redis sees the connection close: 2 nodes now
          await eventually(async () => assert.deepEqual(await asker.ctl({ op: 'count' }),
            { count: 2 }), 5000);
          const liveClients = cx.main.filter((c) => nodeIndex(c) !== victim);
          const t0 = Date.now();
          assert.deepEqual(await asker.ctl({ op: 'fetch' }),
            { sockets: expectSockets(liveClients) }, 'fetchSockets after the kill');
          assert.ok(Date.now() - t0 < requestsTimeout, 'without waiting for the dead node');
          const s = await cx.byNode[b].poll.ctl({ op: 'sse', event: 'after', args: [], ack: true });
          assert.deepEqual(s, { err: null, responses: [{ node: cx.nodes[a].name, args: [] }] });
          const e = await cx.byNode[b].ws.ctl({ op: 'emit-ack', event: 'ask', args: ['after'], timeout: 5000 });
          assert.equal(e.err, null, JSON.stringify(e));
          assert.equal(e.responses.length, liveClients.length);
          await checkEmit(cx.byNode[b].ws, {}, liveClients.map((c) => c.name), 'after-kill');
          cx.main = liveClients;
          cx.other = cx.other.filter((c) => nodeIndex(c) !== victim);
          assert.ok(Date.now() - stalledAt < 35000);
        });
    }

    test('every node exits cleanly on SIGTERM', async () => {
      await Promise.all(cx.nodes.filter((_, i) => !cx.killed.has(i)).map((nd) => nd.stop()));
    });
  });
}

