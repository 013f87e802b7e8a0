// Socket.IO with socket.io-client 2.5 (the npm alias socket.io-client-v2):
// Socket.IO protocol v4 over Engine.IO v3, which the server speaks with
// allow_eio3 (the reference's allowEIO3). Each expectation holds against the
// reference server too (socket.io 4.8.4, tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import io from 'socket.io-client-v2';
import { closeAll, within, sleep, STOP_TEST, startServer } from './lib.mjs';
import {
  startSio, url, trackSocket, next, ack, escapeRe, TRANSPORTS, SIO_SERVER,
  clientGenerationTests,
} from './sio_lib.mjs';

after(closeAll);

// Client options: a new manager, no reconnection, short timeouts.
function options(transports, extra = {}) {
  const o = { forceNew: true, reconnection: false, timeout: 5000, ...extra };
  if (transports) o.transports = transports;
  return o;
}

// Resolves once a 2.x socket is connected; rejects with the error (a
// middleware refusal) or connect_error it gets instead.
function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve(socket);
  return within(ms, new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
    socket.once('connect_error', reject);
  }), 'socket connect');
}

// Resolves with the error a 2.x socket gets for a refused connect.
function refused(socket, ms = 5000) {
  return within(ms, new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected an error')));
    socket.once('error', resolve);
  }), 'error');
}

for (const [label, transports] of TRANSPORTS) {
  describe(`socket.io-client 2.x over ${label}`, { timeout: 90000 }, () => {
    let srv;
    before(async () => {
      srv = await startSio(['--allow-eio3', 'on', '--namespace', '/admin']);
    });
    after(() => srv.stop());

    async function client(extra = {}, nsp = '/') {
      const s = trackSocket(io(url(srv.port, nsp), options(transports, extra)));
      await connected(s);
      return s;
    }

    test('connect to / and a namespace with a query', { timeout: 10000 }, async () => {
      const s = await client();
      const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
      assert.deepEqual(JSON.parse(m[1]), {}, 'no auth in /');
      assert.equal(s.id, s.io.engine.id, 'the socket id in / is the session id');
      const a = await client({ query: { token: 'x y', n: '1' } }, '/admin');
      const ma = await srv.waitFor(new RegExp(`^CONNECT /admin ${escapeRe(a.id)} (.*)$`));
      assert.deepEqual(JSON.parse(ma[1]), { token: 'x y', n: '1' }, 'the query is the auth');
      assert.equal(a.id, `/admin#${a.io.engine.id}`, 'the socket id elsewhere');
      s.close();
      a.close();
    });

    test('events both ways', { timeout: 10000 }, async () => {
      const s = await client();
      const args = [{ nested: { list: [1, 'two', null] } }, 'x', 'é€😀'];
      const reply = next(s, 'echo');
      s.emit('echo', ...args);
      assert.deepEqual(await reply, args);
      s.close();
    });

    clientGenerationTests({
      srv: () => srv, client, close: (s) => s.close(), bytesLabel: 'v2 bytes', refusal: false,
    });

    test('middleware refusal and an unknown namespace', { timeout: 10000 }, async () => {
      const bad = trackSocket(io(url(srv.port, '/admin'),
        options(transports, { query: { token: 'bad' } })));
      assert.deepEqual(await refused(bad), { reason: 'bad token' }, 'err.data');
      const nope = trackSocket(io(url(srv.port, '/nope'), options(transports)));
      assert.deepEqual(await refused(nope), { message: 'Invalid namespace' });
      bad.close();
      nope.close();
    });

    test('heartbeat: the client pings, the session stays past the ping timeout',
      { timeout: 15000 }, async () => {
        const s = await client();
        await sleep(100);
        assert.deepEqual(await ack(s, 'ack', 'alive'), ['alive']);
        s.close();
      });

    test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
  });
}

describe('socket.io-client 2.x, heartbeat in the v3 direction', { timeout: 30000 }, () => {
  test('a client that keeps pinging stays; pings answered within the interval',
    { timeout: 20000 }, async () => {
      const srv = await startSio(['--allow-eio3', 'on', '--ping-interval', '300',
        '--ping-timeout', '200']);
      try {
        const s = trackSocket(io(url(srv.port), options(['websocket'])));
        await connected(s);
        const pongs = [];
        s.on('pong', (ms) => pongs.push(ms));
        await sleep(1500);
        assert.ok(pongs.length >= 3, `pongs answered: ${pongs.length}`);
        assert.ok(s.connected, 'still connected after 5 intervals');
        s.close();
      } finally {
        await srv.stop();
      }
    });
});

// The first server goes away, killed (a crash) or stopped gracefully
// (SIGTERM: sio_server_stop(), which as the reference's io.close() sends no
// DISCONNECT); the client comes back to the second one on the same port.
describe('socket.io-client 2.x reconnects after the server restarts', { timeout: 60000 }, () => {
  for (const [label, transports] of TRANSPORTS) for (const signal of ['SIGKILL', 'SIGTERM']) {
    test(`over ${label}, after ${signal}`, { timeout: 30000 }, async () => {
      const first = await startSio(['--allow-eio3', 'on']);
      const port = first.port;
      const s = trackSocket(io(url(port), {
        forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200, timeout: 2000,
        ...(transports ? { transports } : {}),
      }));
      await connected(s);
      const firstId = s.id;
      const gone = next(s, 'disconnect', 10000);
      first.stopped = true;
      first.proc.kill(signal);
      await within(10000, first.exited, 'the first server is gone');
      await gone;
      const reconnected = within(15000, new Promise((r) => s.once('reconnect', r)), 'reconnect');
      const second = await startServer(['--allow-eio3', 'on', '--port', String(port)], SIO_SERVER);
      try {
        await reconnected;
        await connected(s);
        assert.notEqual(s.id, firstId, 'a new session');
        assert.deepEqual(await ack(s, 'ack', 'again'), ['again']);
        s.io.reconnection(false);
        s.close();
      } finally {
        await second.stop();
      }
    });
  }
});

describe('allow_eio3 off (the default)', { timeout: 30000 }, () => {
  test('a 2.x client is refused', { timeout: 10000 }, async () => {
    const srv = await startSio([]);
    try {
      const s = trackSocket(io(url(srv.port), options(['polling'])));
      const err = await within(5000, new Promise((r) => s.once('connect_error', r)),
        'connect_error');
      assert.ok(err, 'the 2.x client cannot connect');
      s.close();
    } finally {
      await srv.stop();
    }
  });
});
