// Socket.IO with socket.io-client 3.x (the npm alias socket.io-client-v3):
// protocol v5 over Engine.IO v4 as well, from the older client code. Each
// expectation was checked against the reference server (socket.io 4.8.4,
// tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client-v3';
import { closeAll, within, STOP_TEST } from './lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, next, connected, ack, escapeRe,
  clientGenerationTests,
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

    clientGenerationTests({
      srv: () => srv,
      client,
      bytesLabel: 'v3 bytes',
      socket: (nsp, extra) => trackSocket(io(url(srv.port, nsp), clientOptions(transports, extra))),
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
