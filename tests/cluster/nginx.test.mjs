// Two cluster nodes behind Debian's nginx (issue 13), with the
// configuration of README.md's "Several nodes behind nginx" as it stands
// there (only its ports replaced): polling-only clients, each from its own
// loopback address (127.0.0.2 ...), are spread over both nodes by
// `hash $remote_addr consistent`, every request of a session reaches the
// node that holds it, and they chat across the two nodes, each message
// reaching every other client once. Without the hash line (round robin),
// polling sessions break at once: the stickiness is what makes it work.
// Node kinds: the first two of $SIOC_CLUSTER_KINDS (sioc,sioc by default
// when there is a sioc node).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import {
  clientOptions, closeCluster, clusterKinds, connectClient, nodeUrl, redisClient, settle, startNode,
  startRedis, waitSubscribed, within,
} from './cluster_lib.mjs';
import { startNginx } from '../proxy/nginx.mjs';
import { track } from '../integration/lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const README = path.join(HERE, '..', '..', 'README.md');
const CLIENTS = 16;

// The ```nginx block of README.md's "Several nodes behind nginx".
function readmeBlock() {
  const text = fs.readFileSync(README, 'utf8');
  const at = text.indexOf('\n## Several nodes behind nginx\n');
  assert.ok(at >= 0, 'README.md has a "Several nodes behind nginx" section');
  const section = text.slice(at + 1, text.indexOf('\n## ', at + 1));
  const m = /```nginx\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'the section has an nginx block');
  return m[1];
}

// README's block with the test's ports, inside a complete nginx.conf of its
// own temp prefix; `sticky` false drops the hash line (round robin).
function clusterConfig(sticky) {
  return (prefix, port, [p1, p2]) => {
    let block = readmeBlock();
    const n = (re) => (block.match(re) ?? []).length;
    assert.equal(n(/server 127\.0\.0\.1:3001;/g) + n(/server 127\.0\.0\.1:3002;/g), 2,
      'two upstream servers, 3001 and 3002');
    assert.equal(n(/listen 80;/g), 1, 'one listen 80');
    assert.equal(n(/^\s*hash \$remote_addr consistent;.*$/gm), 1, 'the hash line');
    block = block.replace('server 127.0.0.1:3001;', `server 127.0.0.1:${p1};`)
      .replace('server 127.0.0.1:3002;', `server 127.0.0.1:${p2};`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    if (!sticky) block = block.replace(/^\s*hash \$remote_addr consistent;.*\n/m, '');
    const asRoot = process.getuid?.() === 0;
    return `${asRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
daemon off;
master_process off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${block}
}
`;
  };
}

// An HTTP agent whose connections come from 127.0.0.<last>.
function agentFrom(last) {
  const agent = new http.Agent({ localAddress: `127.0.0.${last}`, keepAlive: true });
  track({ destroy: () => agent.destroy() });
  return agent;
}

const kinds = clusterKinds(2);

describe(`two ${kinds.join(',')} nodes behind nginx, polling clients`, { timeout: 90000 }, () => {
  const cx = { clients: [] };
  before(async () => {
    cx.redis = await startRedis();
    cx.rc = await redisClient(cx.redis.port);
    cx.nodes = await Promise.all(kinds.map((kind, i) => startNode(kind, cx.redis.port, {
      name: `n${i}-${kind}`,
    })));
    await waitSubscribed(cx.rc, 2);
    cx.nginx = await startNginx(cx.nodes.map((n) => n.port), clusterConfig(true));
  });
  after(async () => {
    await cx.nginx?.stop();
    await closeCluster();
  });

  test(`${CLIENTS} polling clients from ${CLIENTS} addresses connect, spread over both nodes`,
    async (t) => {
      for (let i = 0; i < CLIENTS; i++) {
        cx.clients.push(await connectClient(null, 'polling', {
          port: cx.nginx.port, name: `c${i}`, extra: { agent: agentFrom(2 + i) },
        }));
      }
      // who is where: a local emit reaches the clients of its node only
      for (const c of cx.clients) {
        assert.deepEqual(await c.ctl({ op: 'emit', event: 'where', args: [c.name], local: true }), {});
      }
      for (const c of cx.clients) await settle(c, cx.clients);
      const groups = new Map();
      for (const c of cx.clients) {
        const with_ = cx.clients.filter((o) => o.got('where', c.name).length === 1).map((o) => o.name);
        assert.ok(with_.includes(c.name), `${c.name} got its own local emit`);
        groups.set(with_.join(','), with_);
      }
      const parts = [...groups.values()];
      assert.equal(parts.length, 2, `two groups of clients, one a node: ${JSON.stringify(parts)}`);
      assert.equal(parts[0].length + parts[1].length, CLIENTS, 'each client in one group');
      t.diagnostic(`clients a node: ${parts.map((g) => g.length).join(' and ')}`);
      cx.groups = parts.map((g) => g.map((name) => cx.clients.find((c) => c.name === name)));
      for (const c of cx.clients) {
        assert.equal(c.socket.io.engine.transport.name, 'polling', `${c.name} polls`);
      }
    });

  test('they chat across the two nodes: every message reaches every other client once',
    async () => {
      assert.ok(cx.groups, 'the clients are connected');
      for (let round = 0; round < 3; round++) {
        await Promise.all(cx.clients.map((c) => c.ctl({
          op: 'emit', event: 'chat', args: [`${c.name}:${round}`], broadcast: true,
        }).then((r) => assert.deepEqual(r, {}))));
        // one mark from each node: all that either sent before has arrived
        for (const g of cx.groups) await settle(g[0], cx.clients);
        const wrong = [];
        for (const to of cx.clients) {
          for (const from of cx.clients) {
            const n = to.got('chat', `${from.name}:${round}`).length;
            const want = to === from ? 0 : 1;
            if (n !== want) wrong.push(`${to.name} got ${from.name}'s message ${n} times, not ${want}`);
          }
        }
        assert.deepEqual(wrong, [], `round ${round}`);
      }
      const [f] = [await cx.clients[0].ctl({ op: 'fetch' })];
      assert.deepEqual(f.sockets.map((s) => s.id).sort(), cx.clients.map((c) => c.id).sort(),
        'fetchSockets through one node sees the clients of both');
      for (const c of cx.clients) {
        assert.equal(c.socket.connected, true, `${c.name} is still connected`);
        assert.deepEqual(c.disconnects, [], `${c.name} never disconnected`);
      }
      assert.doesNotMatch(cx.nginx.log(), /upstream.*(refused|prematurely)/, 'nginx log');
    });

  test('the nodes exit cleanly on SIGTERM', async () => {
    for (const c of cx.clients) c.close();
    await Promise.all(cx.nodes.map((n) => n.stop()));
  });
});

describe('the same without the hash line (round robin): polling sessions break', { timeout: 60000 },
  () => {
    const cx = {};
    before(async () => {
      cx.redis = await startRedis();
      cx.rc = await redisClient(cx.redis.port);
      cx.nodes = await Promise.all(kinds.map((kind, i) => startNode(kind, cx.redis.port, {
        name: `rr${i}-${kind}`,
      })));
      await waitSubscribed(cx.rc, 2);
      cx.nginx = await startNginx(cx.nodes.map((n) => n.port), clusterConfig(false));
    });
    after(async () => {
      await cx.nginx?.stop();
      await closeCluster();
    });

    test('a polling client cannot hold a session across two nodes', async (t) => {
      for (let i = 0; i < 3; i++) {
        const socket = io(nodeUrl(cx.nginx.port), clientOptions(['polling'], {
          agent: agentFrom(40 + i), timeout: 3000,
        }));
        track({ destroy: () => socket.disconnect() });
        // connect_error, or connected and then dropped by the next request
        const outcome = await within(8000, new Promise((resolve) => {
          socket.once('connect_error', (e) => resolve(`connect_error: ${e.message}`));
          socket.once('connect', () => {
            socket.once('disconnect', (r) => resolve(`disconnect: ${r}`));
            socket.timeout(3000).emit('ctl', { op: 'count' }, (err) => {
              if (err) resolve('no answer');
            });
          });
        }), 'the session breaks');
        assert.match(outcome, /connect_error|disconnect|no answer/, `client ${i}: ${outcome}`);
        t.diagnostic(`client ${i}: ${outcome}`);
        socket.disconnect();
      }
    });

    test('the nodes exit cleanly on SIGTERM', async () => {
      await Promise.all(cx.nodes.map((n) => n.stop()));
    });
  });
