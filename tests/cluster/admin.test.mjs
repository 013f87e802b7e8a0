// The Admin UI across a cluster (issue 15, "with the Redis adapter, stats
// and commands cover the cluster as the reference's do"): a sioc node and
// a Node node (socket.io 4.8.4, @socket.io/redis-adapter 8.3.0,
// @socket.io/admin-ui's instrument()) on one redis-server, both started
// with --admin (no auth) in development then in production mode. One
// dashboard (socket.io-client 4.8 on /admin, as the UI connects) on each
// node in turn:
// - server_stats of both servers reach it (two serverIds, each node's pid),
//   each node's adminNamespace.emit() going through the adapter;
// - in development mode its all_sockets lists the other node's client too
//   (fetchSockets across the cluster), with the clientId and transport the
//   other node keeps in socket.data._admin, and the other node's live
//   events (socket_connected, socket_disconnected, room_joined) reach it;
// - its join, emit and _disconnect commands act on a client of the other
//   node (socketsJoin / emit / disconnectSockets across the cluster).
// And a sioc node whose all_sockets waits for a "node" that never answers
// (a bare subscriber to the request channel): all_sockets comes after the
// requests timeout with what came, and a node stopped while one waits
// exits cleanly (its fetches closed, everything freed).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import {
  closeCluster, connectClient, eventually, redisClient, requestChannel, SIOC_SERVER, startNode,
  startRedis, waitSubscribed,
} from './cluster_lib.mjs';
import { track, within } from '../integration/lib.mjs';

after(closeCluster);

// The two nodes' kinds: sioc and Node; SIOC_ADMIN_KINDS=node,node runs the
// same checks on the reference alone (a check of the test).
const [kindA, kindB] = (process.env.SIOC_ADMIN_KINDS ?? 'sioc,node').split(',');
const needsSioc = [kindA, kindB].includes('sioc') && !SIOC_SERVER && 'no sioc node built';

// A dashboard: the UI's connection options (no auth configured on the
// nodes), every event recorded from the start.
function dashboard(port) {
  const s = io(`http://127.0.0.1:${port}/admin`, {
    forceNew: true,
    reconnection: false,
    withCredentials: true,
    transports: ['websocket'],
    path: '/socket.io',
    auth: {},
    timeout: 5000,
  });
  track({ destroy: () => s.disconnect() });
  s.events = [];
  s.waiters = [];
  s.onAny((event, ...args) => {
    s.events.push([event, args]);
    for (const w of s.waiters.slice()) w();
  });
  return s;
}

// Resolves with the args of the first `event` for which pred(args) holds.
function seen(s, event, pred = () => true, ms = 8000) {
  return within(ms, new Promise((resolve) => {
    const check = () => {
      for (const [e, args] of s.events) {
        if (e === event && pred(args)) {
          s.waiters = s.waiters.filter((w) => w !== check);
          resolve(args);
          return;
        }
      }
    };
    s.waiters.push(check);
    check();
  }), `dashboard event "${event}"`);
}

const connected = (s) => within(5000, new Promise((resolve, reject) => {
  s.once('connect', resolve);
  s.once('connect_error', (e) => reject(new Error(`dashboard: connect_error ${e.message}`)));
}), 'the dashboard connects');

// The ids of the sockets in `room` of "/", asked of `client`'s node (a
// cluster-wide fetchSockets).
async function idsIn(client, room) {
  const r = await client.ctl({ op: 'fetch', rooms: [room] });
  assert.ok(Array.isArray(r.sockets), JSON.stringify(r));
  return r.sockets.map((s) => s.id);
}

for (const mode of ['development', 'production']) {
  describe(`admin across a ${kindA} node and a ${kindB} node, ${mode} mode`,
    { skip: needsSioc, timeout: 90000 }, () => {
      let redis;
      let rc;
      let nodes;

      test('both nodes up and subscribed, /admin included', async () => {
        redis = await startRedis();
        rc = await redisClient(redis.port);
        nodes = {
          a: await startNode(kindA, redis.port, { name: `${kindA}-a`, args: ['--admin', mode] }),
          b: await startNode(kindB, redis.port, { name: `${kindB}-b`, args: ['--admin', mode] }),
        };
        await waitSubscribed(rc, 2, { nsps: ['/', '/other', '/admin'] });
      });

      for (const [home, other] of [['a', 'b'], ['b', 'a']]) {
        test(`a dashboard on node ${home} sees both servers and acts on a client of node ` +
          `${other}`, { timeout: 40000 }, async () => {
          const h = nodes[home];
          const o = nodes[other];
          // the other node's client, there before the dashboard (all_sockets)
          const c = await connectClient(o, 'websocket', { name: `${other}-client` });
          const d = dashboard(h.port);
          await connected(d);

          // server_stats from both servers: two serverIds, the two pids
          const byPid = new Map();
          await within(9000, (async () => {
            for (;;) {
              for (const [e, [st]] of d.events) {
                if (e === 'server_stats') byPid.set(st.pid, st);
              }
              if (byPid.size >= 2) return;
              await new Promise((r) => setTimeout(r, 100));
            }
          })(), 'server_stats of both servers');
          assert.deepEqual([...byPid.keys()].sort(), [h.proc.pid, o.proc.pid].sort(),
            'the stats come from the two nodes');
          const ids = new Set([...byPid.values()].map((st) => st.serverId));
          assert.equal(ids.size, 2, `two serverIds: ${[...ids]}`);
          const theirs = byPid.get(o.proc.pid);
          assert.ok(theirs.serverId.endsWith(`#${o.proc.pid}`), theirs.serverId);
          // the other node counts its client in "/" (the Node node may
          // create "/other" and "/admin" too; only "/" is checked)
          await eventually(() => {
            const st = [...d.events].reverse()
              .find(([e, [s]]) => e === 'server_stats' && s.pid === o.proc.pid)[1][0];
            assert.equal(st.namespaces.find((n) => n.name === '/')?.socketsCount, 1);
            assert.ok(st.clientsCount >= 1);
          }, 7000);

          if (mode === 'development') {
            const [all] = await seen(d, 'all_sockets');
            const mine = all.find((s) => s.id === c.id);
            assert.ok(mine, `all_sockets lists the ${other} node's client: ` +
              JSON.stringify(all.map((s) => [s.id, s.nsp])));
            assert.equal(mine.nsp, '/');
            assert.equal(mine.transport, 'websocket', JSON.stringify(mine));
            assert.equal(typeof mine.clientId, 'string', JSON.stringify(mine));
            assert.equal(mine.clientId.length, 12);
            assert.deepEqual(mine.data, {}, '_admin is not shown as data');
            assert.deepEqual(mine.rooms, [c.id]);
            assert.equal(mine.handshake.url.startsWith('/socket.io/'), true);
            // the dashboard's own socket is listed too (the admin namespace)
            assert.ok(all.some((s) => s.id === d.id && s.nsp === '/admin'));
            // the other node's live events reach this dashboard too
            const c2 = await connectClient(o, 'websocket', { name: `${other}-client-2` });
            const [sc] = await seen(d, 'socket_connected', ([x]) => x.id === c2.id);
            assert.equal(sc.nsp, '/');
            const id2 = c2.id; // the client forgets it on disconnect
            c2.close();
            await seen(d, 'socket_disconnected', ([n, id]) => n === '/' && id === id2);
          } else {
            assert.ok(!d.events.some(([e]) => e === 'all_sockets'),
              'production mode sends no all_sockets');
          }

          // join: the other node's client enters "vip"
          d.emit('join', '/', 'vip', c.id);
          await eventually(async () => assert.deepEqual(await idsIn(c, 'vip'), [c.id]), 5000);
          if (mode === 'development') {
            await seen(d, 'room_joined', ([n, room, id]) => n === '/' && room === 'vip' &&
              id === c.id);
          }
          // emit, to the room it now is in
          d.emit('emit', '/', 'vip', 'from-admin', 1, { two: 2 });
          assert.deepEqual(await c.waitEvent('from-admin'), [1, { two: 2 }]);
          // leave
          d.emit('leave', '/', 'vip', c.id);
          await eventually(async () => assert.deepEqual(await idsIn(c, 'vip'), []), 5000);
          // _disconnect
          d.emit('_disconnect', '/', false, c.id);
          assert.equal(await c.waitDisconnect(), 'io server disconnect');
          d.disconnect();
        });
      }

      test('the nodes stop cleanly', async () => {
        await nodes.a.stop();
        await nodes.b.stop();
      });
    });
}

describe('all_sockets waiting for a node that does not answer (sioc)',
  { skip: (!SIOC_SERVER || kindA !== 'sioc') && 'no sioc node', timeout: 60000 }, () => {
    test('sent after the requests timeout with what came; a node stopped while one waits ' +
      'exits cleanly', async () => {
      const redis = await startRedis();
      const rc = await redisClient(redis.port);
      // counted by PUBSUB NUMSUB as a second node of "/", never answering
      const mute = await redisClient(redis.port);
      await mute.subscribe(requestChannel('socket.io', '/'), () => {});
      const sioc = await startNode('sioc', redis.port, {
        name: 'sioc', args: ['--admin', 'development', '--requests-timeout', '1500'],
      });
      // "/": sioc and the mute one; sioc's patterns: "/", "/other", "/admin"
      await waitSubscribed(rc, 2, { nsps: ['/'], psub: 3 });
      const c = await connectClient(sioc, 'websocket', { name: 'local-client' });

      const d = dashboard(sioc.port);
      await connected(d);
      const t0 = Date.now();
      await seen(d, 'config');
      const [all] = await seen(d, 'all_sockets', () => true, 8000);
      const waited = Date.now() - t0;
      assert.ok(waited >= 1200, `all_sockets waited for the requests timeout (${waited} ms)`);
      assert.ok(all.some((s) => s.id === c.id && s.nsp === '/' && s.transport === 'websocket'),
        JSON.stringify(all.map((s) => [s.id, s.nsp])));
      assert.ok(all.some((s) => s.id === d.id && s.nsp === '/admin'));

      // a second dashboard, and the node stopped while its all_sockets waits
      const d2 = dashboard(sioc.port);
      await connected(d2);
      await seen(d2, 'config');
      assert.ok(!d2.events.some(([e]) => e === 'all_sockets'), 'still waiting');
      await sioc.stop();
    });
  });
