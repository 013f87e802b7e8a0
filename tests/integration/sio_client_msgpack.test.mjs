// Socket.IO with the msgpack parser: socket.io-client 4.8 given
// socket.io-msgpack-parser 3.x against the server with parser msgpack, over
// every transport mode. Each expectation holds against the reference
// (socket.io 4.8.4 with the same parser, tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import parser from 'socket.io-msgpack-parser';
import { closeAll, within, STOP_TEST } from './lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, next, connected, connectError, ack, bytes,
  escapeRe, waitDisconnect, waitAck, TRANSPORTS,
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

    test('acks both ways', { timeout: 10000 }, async () => {
      const s = await client();
      assert.deepEqual(await ack(s, 'ack', { a: 1 }, 2), [{ a: 1 }, 2]);
      s.on('question', (q, cb) => cb(q.toUpperCase()));
      s.emit('ask', 3000);
      assert.deepEqual(await waitAck(srv, s.id), { err: '0', args: ['WHAT?'] });
      s.disconnect();
    });

    test('binary both ways, anywhere in the arguments', { timeout: 10000 }, async () => {
      const s = await client();
      const a = Buffer.from([0, 255, 1, 0xc1]);
      const b = Buffer.from('msgpack bytes');
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
        { parser, auth: { token: 'bad' } })));
      const err = await connectError(bad);
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'bad token' });
      const nope = trackSocket(io(url(srv.port, '/nope'), clientOptions(transports, { parser })));
      assert.equal((await connectError(nope)).message, 'Invalid namespace');
      s.disconnect();
      bad.disconnect();
      nope.disconnect();
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
