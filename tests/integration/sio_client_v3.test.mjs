// Socket.IO with socket.io-client 3.x (the npm alias socket.io-client-v3):
// protocol v5 over Engine.IO v4 as well, from the older client code. Each
// expectation was checked against the reference server (socket.io 4.8.4,
// tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client-v3';
import { closeAll, within, STOP_TEST } from './lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, next, connected, connectError, ack, bytes,
  escapeRe, waitDisconnect, waitAck,
} from './sio_lib.mjs';

after(closeAll);

for (const [label, transports] of [['default (upgrade)', undefined], ['websocket', ['websocket']]]) {
  describe(`socket.io-client 3.x over ${label}`, { timeout: 60000 }, () => {
    let srv;
    before(async () => {
      srv = await startSio(['--namespace', '/admin']);
    });
    after(() => srv.stop());

    async function client(extra = {}, nsp = '/') {
      const s = trackSocket(io(url(srv.port, nsp), clientOptions(transports, extra)));
      await connected(s);
      return s;
    }

    test('connect with auth', { timeout: 10000 }, async () => {
      const s = await client({ auth: { v: 3 } });
      const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
      assert.deepEqual(JSON.parse(m[1]), { v: 3 });
      s.disconnect();
    });

    test('events both ways', { timeout: 10000 }, async () => {
      const s = await client();
      const args = [{ nested: { list: [1, 'two', null] } }, 'x'];
      const reply = next(s, 'echo');
      s.emit('echo', ...args);
      assert.deepEqual(await reply, args);
      const unknown = next(s, 'unknown');
      s.emit('nobody');
      assert.deepEqual(await unknown, ['nobody']);
      s.disconnect();
    });

    test('acks both ways', { timeout: 10000 }, async () => {
      const s = await client();
      assert.deepEqual(await ack(s, 'ack', { a: 1 }, 2), [{ a: 1 }, 2]);
      s.on('question', (q, cb) => cb(q.toUpperCase()));
      s.emit('ask', 3000);
      assert.deepEqual(await waitAck(srv, s.id), { err: '0', args: ['WHAT?'] });
      s.disconnect();
    });

    test('binary both ways', { timeout: 10000 }, async () => {
      const s = await client();
      const a = Buffer.from([0, 255, 1]);
      const b = Buffer.from('v3 bytes');
      const reply = next(s, 'echo');
      s.emit('echo', { a, inner: [b] }, 'tail');
      const got = await reply;
      assert.deepEqual(bytes(got[0].a), a);
      assert.deepEqual(bytes(got[0].inner[0]), b);
      assert.equal(got[1], 'tail');
      const r = await ack(s, 'ack', b);
      assert.deepEqual(bytes(r[0]), b);
      s.disconnect();
    });

    test('namespace and middleware refusal', { timeout: 10000 }, async () => {
      const s = await client({}, '/admin');
      assert.deepEqual(await ack(s, 'ack', 'admin'), ['admin']);
      const bad = trackSocket(io(url(srv.port, '/admin'), clientOptions(transports,
        { auth: { token: 'bad' } })));
      const err = await connectError(bad);
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'bad token' });
      const nope = trackSocket(io(url(srv.port, '/nope'), clientOptions(transports)));
      assert.equal((await connectError(nope)).message, 'Invalid namespace');
      s.disconnect();
      bad.disconnect();
      nope.disconnect();
    });

    test('disconnects both ways', { timeout: 10000 }, async () => {
      const s = await client();
      const id = s.id;
      const reason = next(s, 'disconnect');
      s.emit('disconnect-me', false);
      assert.equal((await reason)[0], 'io server disconnect');
      assert.equal(await waitDisconnect(srv, '/', id), 'server namespace disconnect');
      const s2 = await client();
      const id2 = s2.id;
      s2.disconnect();
      assert.equal(await waitDisconnect(srv, '/', id2), 'client namespace disconnect');
    });

    test('the upgrade completes', { timeout: 10000 }, async () => {
      const s = await client();
      const engine = s.io.engine;
      if (engine.transport.name !== 'websocket') {
        await within(5000, new Promise((r) => engine.once('upgrade', r)), 'upgrade');
      }
      assert.deepEqual(await ack(s, 'ack', 'over ws'), ['over ws']);
      s.disconnect();
    });

    test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
  });
}
