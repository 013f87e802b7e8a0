// Socket.IO with the real socket.io-client 4.x, once per transport: polling
// only, websocket only, and the default (polling, then upgrade). Each
// expectation was checked against the reference server (socket.io 4.8.4,
// tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { closeAll, sleep, within, STOP_TEST } from './lib.mjs';
import {
  startSio, url, TRANSPORTS, trackSocket, clientOptions, next, connected, ack, recorder, bytes,
  allMarker,
  CONNECT_RE, escapeRe, waitDisconnect, waitDisconnecting, waitAck, SIO_IS_REFERENCE,
} from './sio_lib.mjs';

after(closeAll);

const ID_RE = /^[A-Za-z0-9_-]{20}$/;

for (const [label, transports] of TRANSPORTS) {
  describe(`socket.io-client 4.x over ${label}`, { timeout: 120000 }, () => {
    let srv;
    before(async () => {
      srv = await startSio(['--ping-interval', '2000', '--ping-timeout', '2000']);
    });
    after(() => srv.stop());

    // A connected client socket on namespace nsp.
    async function client(extra = {}, nsp = '/') {
      const s = trackSocket(io(url(srv.port, nsp), clientOptions(transports, extra)));
      await connected(s);
      return s;
    }

    // On the default transports, waits until the upgrade is done, so that
    // the test runs over the websocket after starting on polling.
    async function upgraded(s) {
      if (transports) return;
      const engine = s.io.engine;
      if (engine.transport.name === 'websocket') return;
      await within(5000, new Promise((resolve) => engine.once('upgrade', resolve)), 'upgrade');
    }

    test('connect with auth: CONNECT line with the id and the auth object', { timeout: 10000 },
      async () => {
        const auth = { token: 'abc', list: [1, 2, { x: null }], 'é': 'ü' };
        const s = await client({ auth });
        assert.match(s.id, ID_RE, 'socket id');
        const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
        assert.deepEqual(JSON.parse(m[1]), auth, 'auth as the server got it');
        await upgraded(s);
        assert.equal(s.io.engine.transport.name, transports ? transports[0] : 'websocket',
          'the transport in use');
        s.disconnect();
      });

    test('no auth: the server sees {}', { timeout: 10000 }, async () => {
      const s = await client();
      const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
      assert.deepEqual(JSON.parse(m[1]), {});
      s.disconnect();
    });

    test('events both ways with nested JSON', { timeout: 10000 }, async () => {
      const s = await client();
      const args = [
        { a: [1, { b: null, c: 'é☃\u{1F600}', d: [true, false] }], e: -1.5, f: '' },
        'two',
        42,
        [[], {}],
        null,
      ];
      const reply = next(s, 'echo');
      s.emit('echo', ...args);
      assert.deepEqual(await reply, args);
      await upgraded(s);
      const reply2 = next(s, 'echo');
      s.emit('echo', 'after upgrade', { n: 2 });
      assert.deepEqual(await reply2, ['after upgrade', { n: 2 }]);
      s.disconnect();
    });

    test('an event with no arguments', { timeout: 10000 }, async () => {
      const s = await client();
      const reply = next(s, 'echo');
      s.emit('echo');
      assert.deepEqual(await reply, []);
      s.disconnect();
    });

    test('client-initiated acks: the reply args come back', { timeout: 10000 }, async () => {
      const s = await client();
      assert.deepEqual(await ack(s, 'ack', { x: [1, 2] }, 'y', 3), [{ x: [1, 2] }, 'y', 3]);
      assert.deepEqual(await ack(s, 'ack'), [], 'ack with no arguments');
      assert.equal(await s.emitWithAck('ack', 'first'), 'first', 'emitWithAck');
      // Several outstanding acks are answered each with its own reply.
      const many = await Promise.all([1, 2, 3, 4, 5].map((i) => ack(s, 'ack', i)));
      assert.deepEqual(many, [[1], [2], [3], [4], [5]]);
      await upgraded(s);
      assert.deepEqual(await ack(s, 'ack', 'upgraded'), ['upgraded']);
      s.disconnect();
    });

    test('server-initiated ack: the client callback reply reaches the server',
      { timeout: 10000 }, async () => {
        const s = await client();
        const question = new Promise((resolve) => {
          s.on('question', (q, cb) => {
            cb({ answer: 42 }, 'x');
            resolve(q);
          });
        });
        s.emit('ask', 3000);
        assert.equal(await within(5000, question, 'question'), 'what?');
        const { err, args } = await waitAck(srv, s.id);
        assert.equal(err, '0');
        assert.deepEqual(args, [{ answer: 42 }, 'x']);
        s.disconnect();
      });

    test('server-initiated ack answered with binary', { timeout: 10000 }, async () => {
      const s = await client();
      s.on('question', (q, cb) => cb({ file: Buffer.from([1, 2, 0xff]) }, Buffer.from('hi')));
      s.emit('ask', 3000);
      const { err, args } = await waitAck(srv, s.id);
      assert.equal(err, '0');
      assert.deepEqual(args, [{ file: { _bin: '0102ff' } }, { _bin: '6869' }]);
      s.disconnect();
    });

    test('server-initiated ack without timeout', { timeout: 10000 }, async () => {
      const s = await client();
      s.on('question', (q, cb) => cb());
      s.emit('ask', 0);
      const { err, args } = await waitAck(srv, s.id);
      assert.equal(err, '0');
      assert.deepEqual(args, []);
      s.disconnect();
    });

    test('server-initiated ack times out when the client does not answer', { timeout: 10000 },
      async () => {
        const s = await client();
        const question = next(s, 'question');
        const t0 = Date.now();
        s.emit('ask', 200);
        const q = await question;
        assert.equal(q[0], 'what?');
        assert.equal(typeof q[1], 'function', 'the client is asked for an ack');
        const { err, args } = await waitAck(srv, s.id, 3000);
        const elapsed = Date.now() - t0;
        assert.equal(err, 'timeout');
        assert.equal(args, null);
        assert.ok(elapsed >= 150, `timed out after ${elapsed} ms, expected about 200`);
        // Answering late is ignored: no second ACK line, the connection stays.
        q[1]('late');
        assert.deepEqual(await ack(s, 'ack', 'still here'), ['still here']);
        assert.equal(srv.lines.filter((l) => l.startsWith(`ACK ${s.id} `)).length, 1);
        s.disconnect();
      });

    test('a pending server-initiated ack is settled when the client leaves', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        const question = next(s, 'question');
        s.emit('ask', 0);
        await question;
        s.disconnect();
        const { err, args } = await waitAck(srv, id, 3000);
        assert.equal(err, 'closed');
        assert.equal(args, null);
      });

    test('binary both ways: several attachments nested in objects', { timeout: 10000 },
      async () => {
        const s = await client();
        const a = Buffer.from([0, 1, 2, 3, 255]);
        const b = Buffer.from('second buffer, text bytes é', 'utf8');
        const c = Buffer.alloc(70000, 7); // bigger than a 16-bit websocket length
        c[69999] = 9;
        const d = Buffer.alloc(0);
        const reply = next(s, 'echo');
        s.emit('echo', { files: [a, { deep: b }], n: 1 }, c, 'text', [d]);
        const got = await reply;
        assert.equal(got.length, 4);
        assert.deepEqual(bytes(got[0].files[0]), a);
        assert.deepEqual(bytes(got[0].files[1].deep), b);
        assert.equal(got[0].n, 1);
        assert.deepEqual(bytes(got[1]), c);
        assert.equal(got[2], 'text');
        assert.deepEqual(bytes(got[3][0]), d);
        await upgraded(s);
        const reply2 = next(s, 'echo');
        s.emit('echo', Buffer.from('upgraded'));
        assert.deepEqual(bytes((await reply2)[0]), Buffer.from('upgraded'));
        s.disconnect();
      });

    test('binary in acks both ways', { timeout: 10000 }, async () => {
      const s = await client();
      const a = Buffer.from([9, 8, 7]);
      const b = Buffer.from([1]);
      const reply = await ack(s, 'ack', { x: a }, [b, 'y']);
      assert.equal(reply.length, 2);
      assert.deepEqual(bytes(reply[0].x), a);
      assert.deepEqual(bytes(reply[1][0]), b);
      assert.equal(reply[1][1], 'y');
      s.disconnect();
    });

    test('a binary event between text events keeps the order', { timeout: 10000 }, async () => {
      const s = await client();
      const got = [];
      const done = new Promise((resolve) => {
        s.on('echo', (...args) => {
          got.push(args);
          if (got.length === 3) resolve();
        });
      });
      s.emit('echo', 1);
      s.emit('echo', Buffer.from([2]));
      s.emit('echo', 3);
      await within(5000, done, 'three echoes');
      assert.deepEqual(got[0], [1]);
      assert.deepEqual(bytes(got[1][0]), Buffer.from([2]));
      assert.deepEqual(got[2], [3]);
      s.disconnect();
    });

    test('events without a handler reach the catch-all', { timeout: 10000 }, async () => {
      const s = await client();
      const reply = next(s, 'unknown');
      s.emit('no such event', 1, 2);
      assert.deepEqual(await reply, ['no such event']);
      s.disconnect();
    });

    test('a handler removed: its event reaches the catch-all, the others stay',
      { timeout: 10000 }, async () => {
        const s = await client();
        // removed from the middle of the handler list, then twice
        assert.deepEqual(await ack(s, 'off', 'to-room'), [true]);
        assert.deepEqual(await ack(s, 'off', 'to-room'), [false]);
        assert.deepEqual(await ack(s, 'off', 'echo'), [true]);
        let reply = next(s, 'unknown');
        s.emit('to-room', 'r', 'x');
        assert.deepEqual(await reply, ['to-room']);
        reply = next(s, 'unknown');
        s.emit('echo', 1);
        assert.deepEqual(await reply, ['echo']);
        // the handlers left still find their names
        assert.deepEqual(await ack(s, 'join', 'r9'), [[s.id, 'r9']]);
        assert.deepEqual(await ack(s, 'ack', 'a', 2), ['a', 2]);
        assert.deepEqual(await ack(s, 'off', 'never registered'), [false]);
        s.disconnect();
      });

    test('handshake details', { timeout: 10000 }, async () => {
      const before = Date.now();
      const s = await client({
        auth: { who: 'me' },
        query: { foo: 'bar baz', n: '1' },
        extraHeaders: { 'x-test': 'yes' },
      });
      const [hs] = await ack(s, 'handshake',
        { query: ['foo', 'n', 'EIO', 'transport', 'missing'], headers: ['x-test', 'absent'] });
      assert.deepEqual(hs.query, {
        foo: 'bar baz', n: '1', EIO: '4', transport: transports ? transports[0] : 'polling',
        missing: null,
      });
      assert.deepEqual(hs.headers, { 'x-test': 'yes', absent: null });
      assert.equal(hs.address, '127.0.0.1');
      assert.deepEqual(hs.auth, { who: 'me' });
      assert.equal(hs.secure, false);
      assert.equal(hs.xdomain, false);
      assert.ok(hs.issued >= before - 1000 && hs.issued <= Date.now() + 1000,
        `issued ${hs.issued} is about now`);
      assert.match(hs.url, /^\/socket\.io\/\?/);
      s.disconnect();
    });

    test('rooms: join/leave, to, broadcast, except, fetch, server-side join/leave',
      { timeout: 20000 }, async () => {
        const a = await client();
        const b = await client();
        const c = await client();
        const got = [a, b, c].map(recorder);
        assert.deepEqual(await ack(a, 'join', 'r1'), [[a.id, 'r1']]);
        assert.deepEqual(await ack(b, 'join', 'r1'), [[b.id, 'r1']]);
        assert.deepEqual(await ack(b, 'join', 'r2'), [[b.id, 'r1', 'r2']]);
        assert.deepEqual(await ack(c, 'join', 'r2'), [[c.id, 'r2']]);
        assert.deepEqual(await ack(c, 'join', 'r2'), [[c.id, 'r2']], 'joining twice is a no-op');

        // Every client waits for the "all" marker; what came before it on
        // the same connection is all it will get.
        const marker = (n) => allMarker([a, b, c], a, n);
        await ack(a, 'to-room', 'r1', 'hello r1');
        await ack(c, 'broadcast', 'from c');
        await ack(b, 'to-except', 'r1', 'r2', 'r1 but not r2');
        await ack(c, 'to-except', 'r2', c.id, 'r2 but not c');
        await marker(1);
        assert.deepEqual(got[0]['room-msg'], [['hello r1']], 'a: to(r1) includes the sender');
        assert.deepEqual(got[1]['room-msg'], [['hello r1']], 'b');
        assert.equal(got[2]['room-msg'], undefined, 'c is not in r1');
        assert.deepEqual(got[0]['broadcast-msg'], [['from c']]);
        assert.deepEqual(got[1]['broadcast-msg'], [['from c']]);
        assert.equal(got[2]['broadcast-msg'], undefined, 'the sender does not get its broadcast');
        assert.deepEqual(got[0]['except-msg'], [['r1 but not r2']]);
        assert.deepEqual(got[1]['except-msg'], [['r2 but not c']]);
        assert.equal(got[2]['except-msg'], undefined);
        assert.deepEqual(got[0]['all-msg'], [[1]]);

        // A socket's own room.
        await ack(a, 'to-room', b.id, 'just b');
        await marker(2);
        assert.deepEqual(got[1]['room-msg'], [['hello r1'], ['just b']]);
        assert.deepEqual(got[0]['room-msg'], [['hello r1']]);

        const byId = (list) => Object.fromEntries(list.map((x) => [x.id, x.rooms]));
        assert.deepEqual(byId((await ack(a, 'fetch', 'r1'))[0]),
          { [a.id]: [a.id, 'r1'], [b.id]: [b.id, 'r1', 'r2'] });
        assert.deepEqual(byId((await ack(a, 'fetch', 'nobody'))[0]), {});
        const all = byId((await ack(a, 'fetch', null))[0]);
        for (const s of [a, b, c]) assert.ok(all[s.id], `fetch(all) has ${s.id}`);

        assert.deepEqual(await ack(a, 'sockets-join', 'r2', 'r3'), [true]);
        assert.deepEqual(byId((await ack(a, 'fetch', 'r3'))[0]),
          { [b.id]: [b.id, 'r1', 'r2', 'r3'], [c.id]: [c.id, 'r2', 'r3'] });
        assert.deepEqual(await ack(a, 'sockets-leave', null, 'r1'), [true]);
        assert.deepEqual(byId((await ack(a, 'fetch', 'r1'))[0]), {});
        assert.deepEqual(await ack(b, 'leave', 'r2'), [[b.id, 'r3']]);
        assert.deepEqual(await ack(b, 'leave', 'never joined'), [[b.id, 'r3']]);

        // The rooms at disconnecting time.
        const bid = b.id;
        b.disconnect();
        const ing = await waitDisconnecting(srv, '/', bid);
        assert.equal(ing.reason, 'client namespace disconnect');
        assert.deepEqual(ing.rooms, [bid, 'r3']);
        a.disconnect();
        c.disconnect();
      });

    test('rooms: a socket\'s own room is joined, left and shared like any other',
      { timeout: 20000 }, async () => {
        const a = await client();
        const b = await client();
        const c = await client();
        const got = [a, b, c].map(recorder);
        const marker = (n) => allMarker([a, b, c], c, n);
        // b joins the room named by a's id: a room with a and b in it.
        assert.deepEqual(await ack(b, 'join', a.id), [[b.id, a.id]]);
        await ack(c, 'to-room', a.id, 'to a and b');
        await ack(c, 'to-except', a.id, a.id, 'nobody');
        await ack(c, 'to-except', b.id, a.id, 'not b: b is in a\'s room too');
        await marker(1);
        assert.deepEqual(got[0]['room-msg'], [['to a and b']]);
        assert.deepEqual(got[1]['room-msg'], [['to a and b']]);
        assert.equal(got[2]['room-msg'], undefined);
        for (const g of got) assert.equal(g['except-msg'], undefined);

        // a leaves its own room: b is still in it, a gets nothing sent there.
        assert.deepEqual(await ack(a, 'leave', a.id), [[]]);
        await ack(c, 'to-room', a.id, 'only b');
        await marker(2);
        assert.deepEqual(got[0]['room-msg'], [['to a and b']]);
        assert.deepEqual(got[1]['room-msg'], [['to a and b'], ['only b']]);

        // Joined again, it comes last in a's rooms.
        assert.deepEqual(await ack(a, 'join', 'r1'), [['r1']]);
        assert.deepEqual(await ack(a, 'join', a.id), [['r1', a.id]]);
        await ack(c, 'to-room', a.id, 'both again');
        await marker(3);
        assert.deepEqual(got[0]['room-msg'], [['to a and b'], ['both again']]);
        assert.deepEqual(got[1]['room-msg'], [['to a and b'], ['only b'], ['both again']]);

        // b leaves a's room; a disconnects: nothing is left of the room.
        assert.deepEqual(await ack(b, 'leave', a.id), [[b.id]]);
        const aid = a.id;
        a.disconnect();
        await waitDisconnecting(srv, '/', aid);
        assert.deepEqual((await ack(c, 'fetch', aid))[0], []);
        b.disconnect();
        c.disconnect();
      });

    test('rooms: an emit or fetch over several rooms takes each socket once',
      { timeout: 20000 }, async () => {
        const a = await client();
        const b = await client();
        const c = await client();
        const d = await client();
        const got = [a, b, c, d].map(recorder);
        const marker = (n) => allMarker([a, b, c, d], a, n);
        // a in two target rooms, b and c in one target room and one
        // except-room each (c in the second one), d in both except-rooms.
        await ack(a, 'join', 'r1');
        await ack(a, 'join', 'r2');
        await ack(b, 'join', 'r2');
        await ack(b, 'join', 'x1');
        await ack(c, 'join', 'r1');
        await ack(c, 'join', 'x2');
        await ack(d, 'join', 'x1');
        await ack(d, 'join', 'x2');

        await ack(a, 'to-rooms', ['r1', 'r2'], [], 'r1 or r2');
        await ack(a, 'to-rooms', ['r1', 'r2'], ['x1', 'x2'], 'r1 or r2, not x1 nor x2');
        // own rooms among the targets (first and in the middle) and the
        // except-rooms
        await ack(a, 'to-rooms', [d.id, 'x1', 'x2'], [], 'd\'s own room, x1 or x2');
        await ack(a, 'to-rooms', ['r2', a.id, 'r1'], [b.id, 'x2'], 'a\'s own room, r1 or r2');
        await marker(1);
        assert.deepEqual(got[0]['rooms-msg'],
          [['r1 or r2'], ['r1 or r2, not x1 nor x2'], ['a\'s own room, r1 or r2']], 'a: once each');
        assert.deepEqual(got[1]['rooms-msg'], [['r1 or r2'], ['d\'s own room, x1 or x2']], 'b');
        assert.deepEqual(got[2]['rooms-msg'], [['r1 or r2'], ['d\'s own room, x1 or x2']], 'c');
        assert.deepEqual(got[3]['rooms-msg'], [['d\'s own room, x1 or x2']], 'd: once');

        const ids = async (rooms, except) =>
          (await ack(a, 'fetch-rooms', rooms, except))[0].map((x) => x.id).sort();
        const sorted = (...sockets) => sockets.map((s) => s.id).sort();
        assert.deepEqual(await ids(['r1', 'r2'], []), sorted(a, b, c), 'fetch r1, r2');
        assert.deepEqual(await ids(['r1', 'r2', 'x1', 'x2'], []), sorted(a, b, c, d),
          'fetch r1, r2, x1, x2');
        assert.deepEqual(await ids(['r1', 'r2'], ['x1', 'x2']), sorted(a),
          'fetch r1, r2 except x1, x2');
        assert.deepEqual(await ids([d.id, 'x2', 'x1'], []), sorted(b, c, d),
          'fetch d\'s own room, x1, x2');
        for (const s of [a, b, c, d]) s.disconnect();
      });

    test('volatile emit: the connection goes on either way', { timeout: 10000 }, async () => {
      const s = await client();
      const got = recorder(s);
      s.emit('volatile', 'v1');
      assert.deepEqual(await ack(s, 'ack', 'after'), ['after']);
      await sleep(50);
      for (const args of got.v ?? []) assert.deepEqual(args, ['v1']);
      s.disconnect();
    });

    test('a timer on the loop emits to the socket', { timeout: 10000 }, async () => {
      const s = await client();
      const t0 = Date.now();
      const done = next(s, 'timer-done');
      s.emit('timer', 100);
      assert.deepEqual(await done, [100]);
      assert.ok(Date.now() - t0 >= 80, 'not before its delay');
      s.disconnect();
    });

    test('another thread emits through sio_server_call', { timeout: 10000 }, async () => {
      const s = await client();
      const done = next(s, 'from-thread');
      s.emit('thread', { hello: 'thread' });
      assert.deepEqual(await done, [{ hello: 'thread' }]);
      s.disconnect();
    });

    test('a timer or thread call for a socket that left does nothing', { timeout: 10000 },
      async () => {
        const s = await client();
        s.emit('timer', 30);
        s.emit('thread', 'gone');
        await ack(s, 'ack', 'sync');
        s.disconnect();
        await sleep(150);
        const other = await client();
        assert.deepEqual(await ack(other, 'ack', 'fine'), ['fine']);
        // This one is still pending when the server stops (the last test).
        other.emit('timer', 60000);
        assert.deepEqual(await ack(other, 'ack', 'armed'), ['armed']);
        other.disconnect();
      });

    test('client disconnect: "client namespace disconnect" on the server', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        const reason = next(s, 'disconnect');
        s.disconnect();
        assert.equal((await reason)[0], 'io client disconnect');
        assert.equal(await waitDisconnect(srv, '/', id), 'client namespace disconnect');
      });

    test('server disconnect: "io server disconnect" on the client', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        await ack(s, 'join', 'leaving');
        await upgraded(s);
        const reason = next(s, 'disconnect');
        s.emit('disconnect-me', false);
        assert.equal((await reason)[0], 'io server disconnect');
        const ing = await waitDisconnecting(srv, '/', id);
        assert.equal(ing.reason, 'server namespace disconnect');
        assert.deepEqual(ing.rooms, [id, 'leaving']);
        assert.equal(await waitDisconnect(srv, '/', id), 'server namespace disconnect');
      });

    test('server disconnect with close: the connection is closed too', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        const reason = next(s, 'disconnect');
        const closed = next(s.io, 'close');
        s.emit('disconnect-me', true);
        assert.equal((await reason)[0], 'io server disconnect');
        await closed;
        assert.equal(await waitDisconnect(srv, '/', id), 'server namespace disconnect');
      });

    test('the client closes the transport: "transport close" on the server', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        await upgraded(s);
        s.io.engine.close();
        assert.equal(await waitDisconnect(srv, '/', id), 'transport close');
      });

    test('the server closes the Engine.IO connection: "forced close"', { timeout: 10000 },
      async () => {
        const s = await client();
        const id = s.id;
        const reason = next(s, 'disconnect');
        s.emit('close-conn');
        assert.equal((await reason)[0], 'transport close');
        assert.equal(await waitDisconnect(srv, '/', id), 'forced close');
      });

    test('reconnection after the transport is cut: a new socket id', { timeout: 15000 },
      async () => {
        const s = await client({ reconnection: true, reconnectionDelay: 50,
          reconnectionDelayMax: 100, auth: { again: true } });
        const first = s.id;
        const reconnected = next(s.io, 'reconnect', 8000);
        s.emit('close-conn');
        await reconnected;
        await connected(s);
        assert.notEqual(s.id, first, 'a new id after reconnecting');
        assert.equal(await waitDisconnect(srv, '/', first), 'forced close');
        const m = await srv.waitFor(new RegExp(`^CONNECT / ${escapeRe(s.id)} (.*)$`));
        assert.deepEqual(JSON.parse(m[1]), { again: true }, 'the auth is sent again');
        assert.deepEqual(await ack(s, 'ack', 'back'), ['back']);
        s.io.reconnection(false);
        s.disconnect();
      });

    test('disconnect all the sockets of a room', { timeout: 10000 }, async () => {
      const a = await client();
      const b = await client();
      const c = await client();
      await ack(a, 'join', 'doomed');
      await ack(b, 'join', 'doomed');
      const ra = next(a, 'disconnect');
      const rb = next(b, 'disconnect');
      c.emit('disconnect-room', 'doomed');
      assert.equal((await ra)[0], 'io server disconnect');
      assert.equal((await rb)[0], 'io server disconnect');
      assert.deepEqual(await ack(c, 'ack', 'c stays'), ['c stays']);
      assert.ok(c.connected);
      c.disconnect();
    });

    test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
  });
}

describe('server shutdown', { timeout: 30000 }, () => {
  test('SIGTERM disconnects the clients: "server shutting down"', { timeout: 15000 }, async () => {
    const srv = await startSio();
    const s = trackSocket(io(url(srv.port), clientOptions(undefined)));
    await connected(s);
    const id = s.id;
    const reason = next(s, 'disconnect');
    await srv.stop();
    assert.equal(await waitDisconnect(srv, '/', id, 100), 'server shutting down');
    // No DISCONNECT packet from either (io.close() sends none): the client
    // sees its transport close, and would reconnect (tests/shutdown/).
    if (SIO_IS_REFERENCE) {
      // "transport error" when no poll was pending at the stop
      assert.ok(['transport close', 'transport error'].includes((await reason)[0]),
        `client side reason ${(await reason)[0]}`);
    } else {
      // sioc sends the close packet on the next poll
      assert.equal((await reason)[0], 'transport close', 'client side reason');
    }
  });
});
