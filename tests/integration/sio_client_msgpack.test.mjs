// Socket.IO with the msgpack parser: socket.io-client 4.8 given
// socket.io-msgpack-parser 3.x against the server with parser msgpack, over
// every transport mode. Each expectation holds against the reference
// (socket.io 4.8.4 with the same parser, tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import parser from 'socket.io-msgpack-parser';
import { closeAll, STOP_TEST } from './lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, next, connected, ack, escapeRe, TRANSPORTS,
  clientGenerationTests,
} from './sio_lib.mjs';

after(closeAll);

for (const [label, transports] of TRANSPORTS) {
  describe(`msgpack parser over ${label}`, { timeout: 60000 }, () => {
    let srv;
    before(async () => {
      srv = await startSio(['--parser', 'msgpack', '--namespace', '/admin']);
    });
    after(() => srv.stop());

    async function client(extra = {}, nsp = '/') {
      const s = trackSocket(io(url(srv.port, nsp), clientOptions(transports, { parser, ...extra })));
      await connected(s);
      return s;
    }

    test('connect with auth', { timeout: 10000 }, async () => {
      const s = await client({ auth: { v: 'mp', n: [1, 2.5] } });
      const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
      assert.deepEqual(JSON.parse(m[1]), { v: 'mp', n: [1, 2.5] });
      s.disconnect();
    });

    test('events both ways, numbers and nesting kept', { timeout: 10000 }, async () => {
      const s = await client();
      const args = [{ nested: { list: [1, -2, 3.25, 'two', null, true] } }, 'x', 2 ** 40];
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
      bytesLabel: 'msgpack bytes',
      socket: (nsp, extra) => trackSocket(io(url(srv.port, nsp),
        clientOptions(transports, { parser, ...extra }))),
    });

    test('broadcasts reach every socket', { timeout: 10000 }, async () => {
      const a = await client();
      const b = await client();
      const got = [next(a, 'all-msg'), next(b, 'all-msg')];
      await ack(a, 'all', 7);
      for (const g of await Promise.all(got)) assert.ok(g.length >= 1, 'each got the broadcast');
      a.disconnect();
      b.disconnect();
    });

    test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
  });
}

describe('a JSON client against the msgpack server', { timeout: 30000 }, () => {
  test('cannot connect (its text packets are not msgpack)', { timeout: 10000 }, async () => {
    const srv = await startSio(['--parser', 'msgpack']);
    try {
      const s = trackSocket(io(url(srv.port), clientOptions(['websocket'], { timeout: 2000 })));
      await assert.rejects(connected(s, 4000));
      s.disconnect();
    } finally {
      await srv.stop();
    }
  });
});
