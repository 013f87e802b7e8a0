// sioc behind Debian's nginx (tests/proxy/nginx.mjs, README.md's
// configuration): with every option at its default, 2,000 socket.io-client
// connections through one nginx on the same host all connect (the
// per-address cap does not count the proxy); with trust_proxy the
// middleware sees the client's address from X-Forwarded-For, and a trusted
// proxy's X-Forwarded-Proto https makes the handshake secure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { closeAll, sleep, within } from '../integration/lib.mjs';
import {
  ack, clientOptions, connected, startSio, trackSocket, url,
} from '../integration/sio_lib.mjs';
import { startNginx } from './nginx.mjs';

const CLIENTS = Number(process.env.PROXY_CLIENTS ?? 2000);
const POLLING = Math.round(CLIENTS / 10); // the rest are websocket-only
const BATCH = 50;

describe(`${CLIENTS} clients through nginx, every option at its default`, { timeout: 240000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio([]);
      ctx.nginx = await startNginx(ctx.srv.port);
    });
    after(async () => {
      await ctx.nginx?.stop();
      await ctx.srv?.stop();
      await closeAll();
    });

    test('all connect and are counted once', { timeout: 200000 }, async () => {
      const sockets = [];
      const t0 = Date.now();
      for (let i = 0; i < CLIENTS; i += BATCH) {
        const batch = [];
        for (let k = i; k < Math.min(CLIENTS, i + BATCH); k++) {
          const transports = k < POLLING ? ['polling'] : ['websocket'];
          const s = trackSocket(io(url(ctx.nginx.port),
            clientOptions(transports, { timeout: 20000 })));
          sockets.push(s);
          batch.push(connected(s, 30000));
        }
        await Promise.all(batch);
      }
      const connectMs = Date.now() - t0;
      assert.equal(sockets.filter((s) => s.connected).length, CLIENTS, 'all connected');
      const [st] = await ack(sockets[CLIENTS - 1], 'stats');
      assert.equal(st.clients, CLIENTS, `sessions (connected in ${connectMs} ms)`);
      assert.equal(st.sockets, CLIENTS, 'sockets');
      assert.equal(st.clients_polling, POLLING, 'polling sessions');
      assert.equal(st.clients_websocket, CLIENTS - POLLING, 'websocket sessions');
      // every one of them still talks through the proxy
      const acks = await within(60000, Promise.all(sockets.map((s, i) => ack(s, 'ack', i))),
        'an ack from each client');
      acks.forEach((a, i) => assert.deepEqual(a, [i]));
      assert.doesNotMatch(ctx.nginx.log(), /prematurely closed|upstream.*refused/,
        'nginx saw no refused or cut upstream connection');
      for (const s of sockets) s.disconnect();
    });

    test('the server exits cleanly on SIGTERM', async () => {
      await sleep(200);
      await ctx.srv.stop();
    });
  });

describe('trust_proxy: the client as nginx saw it', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--trust-proxy', 'on', '--trusted-proxies', '127.0.0.1',
      '--print-middleware', 'on']);
    ctx.nginx = await startNginx(ctx.srv.port);
  });
  after(async () => {
    await ctx.nginx?.stop();
    await ctx.srv?.stop();
    await closeAll();
  });

  test('middleware and handshake see the client address from X-Forwarded-For', async () => {
    // the test client connects from 127.0.0.2 (not a trusted proxy); nginx
    // from 127.0.0.1 (trusted)
    const s = trackSocket(io(url(ctx.nginx.port), clientOptions(['websocket'], {
      localAddress: '127.0.0.2',
      extraHeaders: { 'X-Forwarded-For': '198.51.100.66' }, // forged: nginx appends
    })));
    await connected(s);
    const m = await ctx.srv.waitFor(/^MIDDLEWARE \/ (\S+) (\S+) (\S+)$/);
    assert.deepEqual(m.slice(1), ['127.0.0.2', '127.0.0.1', 'http'],
      'client address, peer (nginx), scheme');
    const [hs] = await ack(s, 'handshake', { headers: ['x-forwarded-for'] });
    assert.equal(hs.address, '127.0.0.2');
    assert.equal(hs.peer, '127.0.0.1');
    assert.equal(hs.secure, false);
    assert.equal(hs.headers['x-forwarded-for'], '198.51.100.66, 127.0.0.2');
    s.disconnect();
  });

  test("a trusted proxy's X-Forwarded-Proto https makes the handshake secure", async () => {
    for (const transports of [['polling'], ['websocket']]) {
      // straight to sioc from 127.0.0.1, which is the trusted proxy here
      const s = trackSocket(io(url(ctx.srv.port), clientOptions(transports, {
        extraHeaders: { 'X-Forwarded-For': '203.0.113.5', 'X-Forwarded-Proto': 'https' },
      })));
      await connected(s);
      const [hs] = await ack(s, 'handshake', {});
      assert.equal(hs.address, '203.0.113.5', transports[0]);
      assert.equal(hs.peer, '127.0.0.1', transports[0]);
      assert.equal(hs.secure, true, transports[0]);
      s.disconnect();
    }
  });

  test('the server exits cleanly on SIGTERM', async () => {
    await ctx.srv.stop();
  });
});
