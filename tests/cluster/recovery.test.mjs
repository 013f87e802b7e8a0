// Connection state recovery with the Redis adapter on (issue 12: "recovery
// must still work when the client comes back to the node it left"): a
// socket.io-client 4.8 on a sioc node A with recovery, in rooms and with
// JSON data, has its transport dropped (client side, engine.close()); while
// it is away, a Node node N and another sioc node B broadcast to all, to
// its rooms, to rooms it is not in and except its room, N makes the kept
// session join a room and leave another (socketsJoin / socketsLeave), and
// A emits locally (and volatile broadcasts from N and B, which are not
// kept). The client then comes back to A: socket.recovered, the
// same id, every event it should get exactly once and in the order A got
// them, its rooms as changed meanwhile, and its data in a fetchSockets
// asked from N. Away a second time, a disconnectSockets from N that
// selects it drops its session: it comes back as a new one. Classic adapter and sharded (dynamic subscriptions), over
// websocket and polling.
//
// Needs a sioc node ($SIOC_CLUSTER_SERVER): the reference's Redis adapters
// do not implement recovery, so there is no all-Node run of this file.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeCluster, connectClient, eventually, redisClient, SIOC_SERVER, startNode, startRedis,
  waitSubscribed,
} from './cluster_lib.mjs';

after(closeCluster);

const MODES = [
  { label: 'classic adapter', args: [] },
  { label: 'sharded adapter (dynamic)', args: ['--sharded', 'on'], sharded: true },
];

for (const mode of MODES) {
  for (const transport of ['websocket', 'polling']) {
    describe(`recovery on a sioc node, ${mode.label}, ${transport}`,
      { skip: !SIOC_SERVER && 'needs a sioc node', timeout: 60000 }, () => {
        test('broadcasts from a Node node and a sioc node reach the recovered socket once, in order',
          async () => {
            const redis = await startRedis();
            const rc = await redisClient(redis.port);
            const A = await startNode('sioc', redis.port,
              { name: 'A', args: [...mode.args, '--recovery', 'on'] });
            const B = await startNode('sioc', redis.port,
              { name: 'B', args: [...mode.args, '--recovery', 'on'] });
            const N = await startNode('node', redis.port, { name: 'N', args: mode.args });
            await waitSubscribed(rc, 3, { sharded: !!mode.sharded });

            // X: the client that drops; W: a witness on A that shares its
            // rooms, so that each broadcast is seen to have reached A before
            // the next one is sent (which fixes the order A got them in)
            const x = await connectClient(A, transport, { name: 'x' });
            const w = await connectClient(A, 'websocket', { name: 'w' });
            const cb = await connectClient(B, 'websocket', { name: 'cb' });
            const cn = await connectClient(N, 'websocket', { name: 'cn' });
            for (const room of ['r', 'q']) {
              assert.equal(await x.join(room), true);
              assert.equal(await w.join(room), true);
            }
            assert.equal(await x.join('solo'), true); // a room only x is in
            assert.equal(await x.setData({ user: 'ann', n: [1, 2] }), true);
            const id = x.id;

            let seq = 0;
            // `from` emits ev(tag) to the selection; returns once w has a
            // later mark to the whole namespace from the same node (a node
            // publishes in order, A delivers in the order Redis gives)
            const send = async (from, sel, tag) => {
              assert.deepEqual(await from.ctl({ op: 'emit', event: 'ev', args: [tag], ...sel }), {});
              const mark = `mark-${++seq}`;
              assert.deepEqual(await from.ctl({ op: 'emit', event: 'mark', args: [mark] }), {});
              await w.waitEvent('mark', mark);
            };

            await send(cb, {}, 'pre'); // x holds an offset
            await x.waitEvent('mark', 'mark-1');

            const gone = x.waitDisconnect();
            x.socket.io.engine.close();
            assert.equal(await gone, 'forced close'); // the client's view of engine.close()

            await send(cn, {}, 'n-all');
            await send(cn, { rooms: ['r'] }, 'n-r');
            await send(cn, { rooms: ['zz'] }, 'n-zz (not x)');
            await send(cn, { except: ['r'] }, 'n-except-r (not x)');
            // volatile broadcasts (flags.volatile from a Node node and from a
            // sioc node): delivered to w with no offset, never kept for x
            await send(cn, { volatile: true }, 'n-vol (volatile: not kept)');
            await send(cb, { volatile: true, rooms: ['r'] }, 'b-vol (volatile: not kept)');
            for (const tag of ['n-vol (volatile: not kept)', 'b-vol (volatile: not kept)']) {
              assert.deepEqual(w.got('ev', tag), [[tag]], `${tag}: w got it once, without an offset`);
            }
            assert.equal(w.got('ev', 'n-all')[0].length, 2, 'a broadcast that is not volatile has one');
            await send(cb, {}, 'b-all');
            await send(cb, { rooms: ['r'] }, 'b-r');
            await send(cb, { rooms: ['solo'] }, 'b-solo');
            await send(cb, { rooms: ['q'], except: ['solo'] }, 'b-q-except-solo (not x)');
            // the kept session joins "j" and leaves "q", asked from N
            assert.deepEqual(await cn.ctl({ op: 'sockets-join', rooms: ['r'], room: 'j' }), {});
            assert.deepEqual(await cn.ctl({ op: 'sockets-leave', rooms: ['r'], room: 'q' }), {});
            await eventually(async () => {
              const f = await cn.ctl({ op: 'fetch', rooms: [w.id] });
              assert.deepEqual(f.sockets?.[0]?.rooms, ['j', 'r', w.id].sort());
            });
            await send(cb, { rooms: ['j'] }, 'b-j');
            await send(cn, { rooms: ['q'] }, 'n-q (left)');
            await send(w, {}, 'a-all'); // A itself
            await send(cn, { rooms: [id] }, 'n-to-x');

            const back = new Promise((resolve) => x.socket.once('connect', resolve));
            x.socket.connect();
            await back;
            assert.equal(x.socket.recovered, true, 'socket.recovered');
            assert.equal(x.id, id, 'the same id');
            await send(cn, { rooms: ['j'] }, 'n-j-after');
            await x.waitEvent('mark', `mark-${seq}`);
            const tags = x.got('ev').map((a) => a[0]);
            assert.deepEqual(tags, ['pre', 'n-all', 'n-r', 'b-all', 'b-r', 'b-solo', 'b-j', 'a-all',
              'n-to-x', 'n-j-after'], 'every event once, in order');
            for (const args of x.got('ev')) {
              assert.equal(args.length, 2, `${args[0]}: [tag, offset]`);
              assert.equal(typeof args[1], 'string', `${args[0]}: an offset`);
            }

            // its rooms and data, as N fetches them
            await eventually(async () => {
              const f = await cn.ctl({ op: 'fetch', rooms: [id] });
              assert.deepEqual(f, {
                sockets: [{ id, rooms: ['j', 'r', 'solo', id].sort(), data: { user: 'ann', n: [1, 2] } }],
              });
            });

            // away again: a disconnectSockets from N that selects it drops
            // the kept session (a deliberate disconnect keeps nothing), so it
            // comes back as a new session
            x.disconnects.length = 0;
            const gone2 = x.waitDisconnect();
            x.socket.io.engine.close();
            await gone2;
            await send(cn, { rooms: ['r'] }, 'n-r-2');
            assert.deepEqual(await cn.ctl({ op: 'disconnect', rooms: ['solo'], close: false }), {});
            await send(cn, { rooms: ['r'] }, 'n-r-3');
            const back2 = new Promise((resolve) => x.socket.once('connect', resolve));
            x.socket.connect();
            await back2;
            assert.equal(x.socket.recovered, false, 'the session was dropped: a new one');
            assert.notEqual(x.id, id);

            for (const c of [x, w, cb, cn]) c.close();
            for (const n of [A, B, N]) await n.stop();
          });
      });
  }
}
