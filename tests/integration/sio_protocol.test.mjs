// Socket.IO namespaces, connect middleware and protocol errors: the real
// socket.io-client 4.x for namespaces and middleware, raw Engine.IO
// sessions (websocket and polling) for the packets a client would not
// send. Each expectation was checked against the reference server
// (socket.io 4.8.4, tests/servers/sio_server_ref.cjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io, Manager } from 'socket.io-client';
import {
  closeAll, sleep, wsSession, pollingHandshake, poll, post, decodePayload, WsClient, STOP_TEST,
} from './lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, next, connected, connectError, ack, recorder, bytes,
  escapeRe, waitDisconnect, waitAck, SIO_IS_REFERENCE,
} from './sio_lib.mjs';

after(closeAll);

const ID_RE = /^[A-Za-z0-9_-]{20}$/;
const NSP_ARGS = ['--namespace', '/admin', '--namespace', '/second',
  '--dynamic-pattern', '/dyn-[0-9]*', '--dynamic-prefix', '/p/'];

// A manager shared by several namespace sockets (one Engine.IO session).
function manager(port, extra = {}) {
  const m = new Manager(url(port), { reconnection: false, timeout: 5000, ...extra });
  return m;
}

function socketOf(m, nsp, opts = {}) {
  return trackSocket(m.socket(nsp, opts));
}

describe('namespaces and middleware (socket.io-client 4.x)', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startSio(NSP_ARGS);
  });
  after(() => srv.stop());

  test('a static namespace: connect with auth, events, acks', { timeout: 10000 }, async () => {
    const s = trackSocket(io(url(srv.port, '/admin'), clientOptions(undefined,
      { auth: { role: 'admin' } })));
    await connected(s);
    const m = await srv.waitFor(new RegExp(`^CONNECT /admin ${escapeRe(s.id)} (.*)$`));
    assert.deepEqual(JSON.parse(m[1]), { role: 'admin' });
    const echo = next(s, 'echo');
    s.emit('echo', { in: 'admin' }, Buffer.from([1, 2]));
    const got = await echo;
    assert.deepEqual(got[0], { in: 'admin' });
    assert.deepEqual(bytes(got[1]), Buffer.from([1, 2]));
    assert.deepEqual(await ack(s, 'ack', 'admin ack'), ['admin ack']);
    const unknown = next(s, 'unknown');
    s.emit('nothing here');
    assert.deepEqual(await unknown, ['nothing here']);
    const id = s.id;
    s.disconnect();
    assert.equal(await waitDisconnect(srv, '/admin', id), 'client namespace disconnect');
  });

  // sioc's C API: the emit calls' and sio_ack_send()'s argument checks,
  // in their documented order (invalid, then reserved, then too big)
  test('emit and ack calls refuse bad attachments and reserved names, in order',
    { timeout: 10000, skip: SIO_IS_REFERENCE ? 'sioc\'s C API' : false }, async () => {
      const s = trackSocket(io(url(srv.port), clientOptions()));
      await connected(s);
      const [codes] = await ack(s, 'api-errors');
      const invalid = 'invalid argument';
      assert.deepEqual(codes, {
        'socket: no event': invalid,
        'socket: count without array': invalid,
        'socket: reserved, count without array': invalid,
        'socket: reserved, too many': 'reserved event name',
        'socket: too many': 'message too large',
        'namespace: count without array': invalid,
        'namespace: reserved, too many': 'reserved event name',
        'namespace: too many': 'message too large',
      });
      for (const [n, want] of [[1, invalid], [0, 'message too large']]) {
        const got = next(s, 'ack-error');
        s.emit('ack-error', n, () => assert.fail('no ack is sent'));
        assert.deepEqual(await got, [want]);
      }
      s.disconnect();
    });

  test('several namespaces over one connection keep apart', { timeout: 10000 }, async () => {
    const mgr = manager(srv.port);
    const root = socketOf(mgr, '/');
    const admin = socketOf(mgr, '/admin', { auth: { a: 1 } });
    await Promise.all([connected(root), connected(admin)]);
    assert.notEqual(root.id, admin.id, 'one socket id per namespace');
    assert.match(admin.id, ID_RE);
    const rootGot = recorder(root);
    const adminGot = recorder(admin);
    await ack(root, 'join', 'shared');
    await ack(admin, 'join', 'shared');
    await ack(root, 'to-room', 'shared', 'for / only');
    await ack(admin, 'to-room', 'shared', 'for /admin only');
    await ack(root, 'all', 'root all');
    await ack(admin, 'all', 'admin all');
    await sleep(50);
    assert.deepEqual(rootGot['room-msg'], [['for / only']]);
    assert.deepEqual(adminGot['room-msg'], [['for /admin only']]);
    assert.deepEqual(rootGot['all-msg'], [['root all']]);
    assert.deepEqual(adminGot['all-msg'], [['admin all']]);
    const fetched = (await ack(admin, 'fetch', 'shared'))[0];
    assert.deepEqual(fetched, [{ id: admin.id, rooms: [admin.id, 'shared'] }]);

    // Leaving one namespace keeps the other and the connection.
    const engineId = mgr.engine.id;
    const adminId = admin.id;
    admin.disconnect();
    assert.equal(await waitDisconnect(srv, '/admin', adminId), 'client namespace disconnect');
    assert.deepEqual(await ack(root, 'ack', 'root stays'), ['root stays']);
    assert.equal(mgr.engine.id, engineId, 'same Engine.IO session');

    // And joining again gets a new socket.
    const admin2 = socketOf(mgr, '/admin');
    await connected(admin2);
    assert.notEqual(admin2.id, adminId);
    assert.equal(mgr.engine.id, engineId);
    root.disconnect();
    admin2.disconnect();
  });

  test('the server disconnects one namespace: the others stay', { timeout: 10000 }, async () => {
    const mgr = manager(srv.port);
    const root = socketOf(mgr, '/');
    const admin = socketOf(mgr, '/admin');
    await Promise.all([connected(root), connected(admin)]);
    const adminId = admin.id;
    const reason = next(admin, 'disconnect');
    admin.emit('disconnect-me', false);
    assert.equal((await reason)[0], 'io server disconnect');
    assert.equal(await waitDisconnect(srv, '/admin', adminId), 'server namespace disconnect');
    assert.deepEqual(await ack(root, 'ack', 'still'), ['still']);
    root.disconnect();
  });

  test('the server disconnects with close: every namespace of the connection goes',
    { timeout: 10000 }, async () => {
      const mgr = manager(srv.port);
      const root = socketOf(mgr, '/');
      const admin = socketOf(mgr, '/admin');
      await Promise.all([connected(root), connected(admin)]);
      const [rootId, adminId] = [root.id, admin.id];
      const r1 = next(root, 'disconnect');
      const r2 = next(admin, 'disconnect');
      admin.emit('disconnect-me', true);
      assert.equal((await r1)[0], 'io server disconnect');
      assert.equal((await r2)[0], 'io server disconnect');
      assert.equal(await waitDisconnect(srv, '/', rootId), 'server namespace disconnect');
      assert.equal(await waitDisconnect(srv, '/admin', adminId), 'server namespace disconnect');
    });

  test('unknown namespace: connect_error "Invalid namespace", the connection stays',
    { timeout: 10000 }, async () => {
      const mgr = manager(srv.port);
      const root = socketOf(mgr, '/');
      await connected(root);
      const engineId = mgr.engine.id;
      const nope = socketOf(mgr, '/nope');
      const err = await connectError(nope);
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(err.data, undefined);
      assert.deepEqual(await ack(root, 'ack', 'alive'), ['alive']);
      assert.equal(mgr.engine.id, engineId, 'same Engine.IO session');
      assert.ok(!srv.has(/^CONNECT \/nope /));
      root.disconnect();
    });

  test('unknown namespace alone: connect_error', { timeout: 10000 }, async () => {
    const s = trackSocket(io(url(srv.port, '/not/here'), clientOptions(undefined)));
    const err = await connectError(s);
    assert.equal(err.message, 'Invalid namespace');
    s.disconnect();
  });

  test('middleware refusal: connect_error with message and data', { timeout: 10000 },
    async () => {
      const s = trackSocket(io(url(srv.port), clientOptions(undefined,
        { auth: { token: 'bad', marker: 'refused-root' } })));
      const err = await connectError(s);
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'bad token' });
      assert.ok(!s.connected);
      assert.ok(!srv.has(/refused-root/), 'no CONNECT line for a refused socket');
      s.disconnect();
    });

  test('middleware refusal in one namespace, the other stays', { timeout: 10000 }, async () => {
    const mgr = manager(srv.port);
    const root = socketOf(mgr, '/', { auth: { token: 'good' } });
    await connected(root);
    const admin = socketOf(mgr, '/admin', { auth: { token: 'bad' } });
    const err = await connectError(admin);
    assert.equal(err.message, 'not authorized');
    assert.deepEqual(err.data, { reason: 'bad token' });
    assert.deepEqual(await ack(root, 'ack', 'fine'), ['fine']);
    root.disconnect();
  });

  test('dynamic namespaces by pattern', { timeout: 10000 }, async () => {
    const a = trackSocket(io(url(srv.port, '/dyn-42'), clientOptions(undefined,
      { auth: { n: 42 } })));
    const b = trackSocket(io(url(srv.port, '/dyn-7'), clientOptions(undefined)));
    await Promise.all([connected(a), connected(b)]);
    const m = await srv.waitFor(new RegExp(`^CONNECT /dyn-42 ${escapeRe(a.id)} (.*)$`));
    assert.deepEqual(JSON.parse(m[1]), { n: 42 });
    await srv.waitFor(new RegExp(`^CONNECT /dyn-7 ${escapeRe(b.id)} `));
    // The handlers of the parent apply, each child is its own namespace.
    const bGot = recorder(b);
    assert.deepEqual(await ack(a, 'ack', 'dyn'), ['dyn']);
    const all = next(a, 'all-msg');
    await ack(a, 'all', 'only dyn-42');
    assert.deepEqual(await all, ['only dyn-42']);
    const fetched = (await ack(a, 'fetch', null))[0];
    assert.deepEqual(fetched.map((x) => x.id), [a.id]);
    await ack(b, 'ack', 'sync');
    assert.equal(bGot['all-msg'], undefined);
    // A second client in the same child namespace shares it.
    const a2 = trackSocket(io(url(srv.port, '/dyn-42'), clientOptions(undefined)));
    await connected(a2);
    const fetched2 = (await ack(a2, 'fetch', null))[0];
    assert.deepEqual(fetched2.map((x) => x.id).sort(), [a.id, a2.id].sort());
    // The parent's middleware applies.
    const bad = trackSocket(io(url(srv.port, '/dyn-5'), clientOptions(undefined,
      { auth: { token: 'bad' } })));
    const err = await connectError(bad);
    assert.equal(err.message, 'not authorized');
    assert.deepEqual(err.data, { reason: 'bad token' });
    // Names that do not match.
    for (const name of ['/dyn-', '/dyn-x', '/dyn']) {
      const no = trackSocket(io(url(srv.port, name), clientOptions(undefined)));
      assert.equal((await connectError(no)).message, 'Invalid namespace', name);
      no.disconnect();
    }
    const bId = b.id;
    for (const s of [a, a2, b, bad]) s.disconnect();
    assert.equal(await waitDisconnect(srv, '/dyn-7', bId), 'client namespace disconnect');
  });

  test('dynamic namespaces by a function (prefix)', { timeout: 10000 }, async () => {
    const s = trackSocket(io(url(srv.port, '/p/anything/deep'), clientOptions(undefined)));
    await connected(s);
    const id = s.id;
    await srv.waitFor(new RegExp(`^CONNECT /p/anything/deep ${escapeRe(id)} `));
    const unknown = next(s, 'unknown');
    s.emit('whatever');
    assert.deepEqual(await unknown, ['whatever']);
    const reason = next(s, 'disconnect');
    s.emit('disconnect-me', false);
    assert.equal((await reason)[0], 'io server disconnect');
    assert.equal(await waitDisconnect(srv, '/p/anything/deep', id), 'server namespace disconnect');
    const no = trackSocket(io(url(srv.port, '/q/x'), clientOptions(undefined)));
    assert.equal((await connectError(no)).message, 'Invalid namespace');
    no.disconnect();
  });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

/* ------------------------------------------------------------------ */
/* Raw sessions                                                        */
/* ------------------------------------------------------------------ */

// Decodes a text Socket.IO packet (without the Engine.IO "4").
function parsePacket(text) {
  const m = /^(\d)(?:(\d+)-)?(?:(\/[^,]*),)?(\d+)?(.*)$/s.exec(text);
  assert.ok(m, `a Socket.IO packet: ${text}`);
  return {
    type: Number(m[1]),
    attachments: m[2] === undefined ? 0 : Number(m[2]),
    nsp: m[3] ?? '/',
    id: m[4] === undefined ? undefined : Number(m[4]),
    data: m[5] ? JSON.parse(m[5]) : undefined,
  };
}

// Replaces placeholders by their buffers.
function resolve(v, bins) {
  if (Array.isArray(v)) return v.map((x) => resolve(x, bins));
  if (v && typeof v === 'object') {
    if (v._placeholder === true && Number.isInteger(v.num)) return bins[v.num];
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, bins)]));
  }
  return v;
}

// An Engine.IO websocket session joined to `/` (unless connect is null).
async function rawWs(port, connect = '40') {
  const s = await wsSession(port);
  if (connect !== null) {
    s.ws.send(connect);
    const [reply] = await s.ws.recv();
    s.connectReply = reply;
    const p = parsePacket(reply.slice(1));
    s.socketId = p.data?.sid;
  }
  return s;
}

async function recvText(ws, ms = 3000) {
  const [m] = await ws.recv(1, ms);
  assert.equal(typeof m, 'string', 'a text message');
  assert.equal(m[0], '4', `an Engine.IO message packet: ${m}`);
  return m.slice(1);
}

// The reasons a socket may see when the server closes the connection
// because of a bad packet (see the invalid packet tests).
function assertForcedClose(reason) {
  assert.ok(['forced close', 'forced server close'].includes(reason),
    `disconnect reason "${reason}", expected "forced close" (or "forced server close")`);
}

// Resolves true when the websocket is closed within ms.
async function wsClosedWithin(ws, ms) {
  const r = await Promise.race([ws.closed.then(() => true), sleep(ms).then(() => false)]);
  return r;
}

describe('Socket.IO protocol on raw websocket sessions', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startSio(['--namespace', '/admin']);
  });
  after(() => srv.stop());

  test('CONNECT replies: 40{"sid"} and 40/admin,{"sid"}', { timeout: 10000 }, async () => {
    const { ws, sid, connectReply, socketId } = await rawWs(srv.port);
    assert.match(connectReply, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.match(socketId, ID_RE);
    assert.notEqual(socketId, sid, 'the socket id is not the Engine.IO session id');
    ws.send('40/admin,{"x":[1]}');
    const r = await recvText(ws);
    const p = parsePacket(r);
    assert.deepEqual([p.type, p.nsp, Object.keys(p.data)], [0, '/admin', ['sid']]);
    assert.match(r, /^0\/admin,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    const m = await srv.waitFor(new RegExp(`^CONNECT /admin ${escapeRe(p.data.sid)} (.*)$`));
    assert.deepEqual(JSON.parse(m[1]), { x: [1] });
    ws.close();
  });

  test('events and acks on the wire', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    ws.send('42["echo",{"a":[1,"2"]},null]');
    assert.deepEqual(parsePacket(await recvText(ws)),
      { type: 2, attachments: 0, nsp: '/', id: undefined, data: ['echo', { a: [1, '2'] }, null] });
    ws.send('4212["ack","x",{"y":true}]');
    assert.equal(await recvText(ws), '312["x",{"y":true}]');
    ws.send('42/,["echo","explicit root"]');
    assert.equal(parsePacket(await recvText(ws)).data[1], 'explicit root');
    ws.close();
  });

  test('server-initiated ack on the wire, text and binary replies', { timeout: 10000 },
    async () => {
      const { ws, socketId } = await rawWs(srv.port);
      ws.send('42["ask",0]');
      const q = parsePacket(await recvText(ws));
      assert.equal(q.type, 2);
      assert.ok(Number.isInteger(q.id), 'the question asks for an ack');
      assert.deepEqual(q.data, ['question', 'what?']);
      ws.send(`43${q.id}["yes",1]`);
      let a = await waitAck(srv, socketId);
      assert.deepEqual(a, { err: '0', args: ['yes', 1] });
      // An ack for an id never sent is ignored.
      ws.send('43999["stray"]');
      ws.send('42["ask",0]');
      const q2 = parsePacket(await recvText(ws));
      assert.notEqual(q2.id, q.id, 'a new ack id');
      ws.send(`461-${q2.id}[{"f":{"_placeholder":true,"num":0}}]`);
      ws.send(Buffer.from([0xca, 0xfe]));
      await srv.waitFor(new RegExp(`^ACK ${escapeRe(socketId)} 0 \\[\\{"f"`));
      a = srv.lines.filter((l) => l.startsWith(`ACK ${socketId} `));
      assert.equal(a.length, 2);
      assert.deepEqual(JSON.parse(a[1].split(' ').slice(3).join(' ')), [{ f: { _bin: 'cafe' } }]);
      ws.close();
    });

  test('binary events on the wire: attachments follow in order', { timeout: 10000 },
    async () => {
      const { ws } = await rawWs(srv.port);
      // Placeholders in any order; each num names its attachment.
      ws.send('452-["echo",{"b":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]');
      ws.send(Buffer.from([1]));
      ws.send(Buffer.from([2, 2]));
      const [text, b0, b1] = await ws.recv(3);
      assert.equal(text[0], '4');
      const p = parsePacket(text.slice(1));
      assert.equal(p.type, 5);
      assert.equal(p.attachments, 2);
      const args = resolve(p.data, [b0, b1]);
      assert.deepEqual(args, ['echo', { b: Buffer.from([2, 2]) }, Buffer.from([1])]);
      // Binary in an ack reply: BINARY_ACK.
      ws.send('451-7["ack",{"_placeholder":true,"num":0}]');
      ws.send(Buffer.from([9]));
      const [t2, c0] = await ws.recv(2);
      const p2 = parsePacket(t2.slice(1));
      assert.deepEqual([p2.type, p2.attachments, p2.id], [6, 1, 7]);
      assert.deepEqual(resolve(p2.data, [c0]), [Buffer.from([9])]);
      ws.close();
    });

  test('a placeholder in a text event is plain JSON', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    ws.send('42["echo",{"_placeholder":true,"num":0}]');
    const p = parsePacket(await recvText(ws));
    assert.equal(p.type, 2);
    assert.deepEqual(p.data, ['echo', { _placeholder: true, num: 0 }]);
    ws.close();
  });

  test('a numeric event name is accepted', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    ws.send('42[7,"x"]');
    const p = parsePacket(await recvText(ws));
    assert.equal(p.data[0], 'unknown');
    assert.ok(p.data[1] === 7 || p.data[1] === '7', `event name ${p.data[1]}`);
    ws.send('42["echo","still open"]');
    assert.equal(parsePacket(await recvText(ws)).data[1], 'still open');
    ws.close();
  });

  test('unknown namespace: 44 "Invalid namespace", the connection stays', { timeout: 10000 },
    async () => {
      const { ws } = await rawWs(srv.port);
      ws.send('40/nope,');
      assert.equal(await recvText(ws), '4/nope,{"message":"Invalid namespace"}');
      ws.send('42["echo",2]');
      assert.equal(parsePacket(await recvText(ws)).data[1], 2);
      ws.close();
    });

  test('middleware refusal: 44 with message and data', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    ws.send('40/admin,{"token":"bad"}');
    const p = parsePacket(await recvText(ws));
    assert.deepEqual(p, { type: 4, attachments: 0, nsp: '/admin', id: undefined,
      data: { message: 'not authorized', data: { reason: 'bad token' } } });
    ws.send('42["echo",3]');
    assert.equal(parsePacket(await recvText(ws)).data[1], 3);
    ws.close();
  });

  test('DISCONNECT leaves the namespace; CONNECT again gets a new socket', { timeout: 10000 },
    async () => {
      const { ws, socketId } = await rawWs(srv.port);
      ws.send('41');
      assert.equal(await waitDisconnect(srv, '/', socketId), 'client namespace disconnect');
      ws.send('40');
      const p = parsePacket(await recvText(ws));
      assert.equal(p.type, 0);
      assert.notEqual(p.data.sid, socketId);
      ws.send('42["echo",4]');
      assert.equal(parsePacket(await recvText(ws)).data[1], 4);
      ws.close();
    });

  // A volatile event goes out when the transport can take it: here the
  // websocket is idle (the reply to the previous request has arrived), so
  // each one is sent, once, before the reply to the request that follows.
  test('volatile emit to an idle websocket: delivered, once', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    for (let i = 1; i <= 3; i++) {
      ws.send(`42["volatile","v${i}"]`);
      ws.send(`42${i}["ack","after ${i}"]`);
      assert.equal(await recvText(ws), `2["v","v${i}"]`, `volatile event ${i}`);
      assert.equal(await recvText(ws), `3${i}["after ${i}"]`, `nothing more before ack ${i}`);
    }
    ws.close();
  });

  // Each of these closes the whole connection. The reason the sockets see
  // is the reference's: a decoding error closes the Engine.IO connection
  // ("forced close"); a packet in the wrong state (namespace not joined,
  // CONNECT twice, CONNECT_ERROR from the client) closes it too, but the
  // reference then also reports "forced server close" when the transport
  // does not close at once (polling), so both are accepted.
  const invalid = [
    ['bad JSON', ['42["echo"']],
    ['not JSON at all', ['42abc']],
    ['unknown packet type', ['47[]']],
    ['an event payload that is not an array', ['42{}']],
    ['an empty event array', ['42[]']],
    ['an event name that is an object', ['42[{}]']],
    ['a reserved event name', ['42["disconnect"]']],
    ['an event for a namespace not joined', ['42/admin,["echo"]']],
    ['a namespace without its comma', ['42/admin["echo"]']],
    ['CONNECT to a namespace already joined', ['40']],
    ['CONNECT with auth that is not an object', ['40/admin,"x"']],
    ['CONNECT_ERROR from the client', ['44{}']],
    ['an ACK payload that is not an array', ['431{}']],
    ['a bad ack id', ['43abc[]']],
    ['DISCONNECT with a payload', ['41{}']],
    ['a binary event with 0 attachments', ['450-["echo"]']],
    ['a binary event without the dash', ['451["echo"]']],
    ['more attachments than allowed (10)', ['4511-["echo"]']],
    ['a text packet while attachments are pending',
      ['451-["echo",{"_placeholder":true,"num":0}]', '42["echo"]']],
    ['a binary message nobody waits for', [Buffer.from([1, 2])]],
    ['a placeholder num out of range',
      ['451-["echo",{"_placeholder":true,"num":5}]', Buffer.from([1])]],
  ];
  for (const [what, msgs] of invalid) {
    test(`invalid packet closes the connection: ${what}`, { timeout: 10000 }, async () => {
      const { ws, socketId } = await rawWs(srv.port);
      for (const m of msgs) ws.send(m);
      assert.ok(await wsClosedWithin(ws, 3000), 'the websocket is closed');
      // Engine.IO control packets (a ping, or the close packet sioc sends
      // before closing) may come; no Socket.IO packet may.
      const replies = ws.messages.filter((m) => typeof m !== 'string' || m[0] === '4');
      assert.deepEqual(replies, [], 'nothing answered');
      assertForcedClose(await waitDisconnect(srv, '/', socketId));
    });
  }

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('Socket.IO protocol on raw polling sessions', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startSio(['--namespace', '/admin']);
  });
  after(() => srv.stop());

  // A polling session joined to `nsp`; returns { sid, socketId }.
  async function rawPolling(connect = '40') {
    const { sid } = await pollingHandshake(srv.port);
    assert.equal((await post(srv.port, sid, connect)).text, 'ok');
    const res = await poll(srv.port, sid);
    const p = parsePacket(decodePayload(res.text)[0].slice(1));
    assert.equal(p.type, 0, `CONNECT reply ${res.text}`);
    return { sid, socketId: p.data.sid };
  }

  // Resolves once the session is gone: a poll gets the close packet or 400.
  async function sessionEnds(sid, ms = 3000) {
    const t0 = Date.now();
    for (;;) {
      const res = await poll(srv.port, sid, ms);
      if (res.status === 400) return;
      assert.equal(res.status, 200);
      const packets = decodePayload(res.text);
      if (packets.includes('1')) return;
      assert.ok(Date.now() - t0 < ms, `session ${sid} still open: ${res.text}`);
    }
  }

  test('events, acks and binary in polling payloads', { timeout: 10000 }, async () => {
    const { sid } = await rawPolling();
    assert.equal((await post(srv.port, sid,
      '42["echo","a"]\x1e4213["ack","b"]\x1e451-["echo",{"_placeholder":true,"num":0}]\x1ebAQID'))
      .text, 'ok');
    const packets = [];
    while (packets.length < 4) {
      const res = await poll(srv.port, sid);
      packets.push(...decodePayload(res.text));
    }
    assert.equal(packets[0], '42["echo","a"]');
    assert.equal(packets[1], '4313["b"]');
    const p = parsePacket(packets[2].slice(1));
    assert.equal(p.type, 5);
    assert.deepEqual(resolve(p.data, [packets[3]]), ['echo', Buffer.from([1, 2, 3])]);
    assert.ok(Buffer.isBuffer(packets[3]), 'the attachment is a binary packet');
    await post(srv.port, sid, '1');
  });

  // No GET held: the transport cannot take a volatile event now, so it is
  // dropped, not queued for the next poll.
  test('volatile emit with no GET held: dropped, not queued', { timeout: 10000 }, async () => {
    const { sid } = await rawPolling();
    assert.equal((await post(srv.port, sid, '42["volatile","dropped"]')).text, 'ok');
    assert.equal((await post(srv.port, sid, '42["echo","after"]')).text, 'ok');
    const res = await poll(srv.port, sid);
    assert.deepEqual(decodePayload(res.text), ['42["echo","after"]'], 'the next poll');
    await post(srv.port, sid, '1');
  });

  test('CONNECT to a namespace in a polling payload', { timeout: 10000 }, async () => {
    const { sid } = await rawPolling('40/admin,{"via":"polling"}');
    const m = await srv.waitFor(/^CONNECT \/admin (\S+) \{"via":"polling"\}$/);
    assert.match(m[1], ID_RE);
    await post(srv.port, sid, '1');
  });

  test('invalid packet over polling closes the session', { timeout: 10000 }, async () => {
    const { sid, socketId } = await rawPolling();
    await post(srv.port, sid, '42abc');
    await sessionEnds(sid);
    assertForcedClose(await waitDisconnect(srv, '/', socketId));
  });

  test('an event for a namespace not joined closes the session', { timeout: 10000 },
    async () => {
      const { sid, socketId } = await rawPolling();
      await post(srv.port, sid, '42/admin,["echo",1]');
      await sessionEnds(sid);
      assertForcedClose(await waitDisconnect(srv, '/', socketId));
    });

  // What socket.io-client does when the server closes the connection while
  // it upgrades: the probe is answered, the pending poll got its noop, the
  // server closes (no poll pending to carry the close packet), then the
  // client sends the upgrade packet. The session must end at once, not at
  // the next ping timeout.
  test('closing the connection in the middle of an upgrade ends the session at once',
    { timeout: 10000 }, async () => {
      const { sid, socketId } = await rawPolling();
      const pending = poll(srv.port, sid);
      await sleep(20);
      const ws = new WsClient(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      ws.send('2probe');
      assert.deepEqual(await ws.recv(), ['3probe']);
      assert.equal((await pending).text, '6', 'the pending poll is answered with a noop');
      assert.equal((await post(srv.port, sid, '42["close-conn"]')).text, 'ok');
      await sleep(20);
      ws.send('5');
      assert.ok(await wsClosedWithin(ws, 2000), 'the websocket is closed');
      assert.equal(await waitDisconnect(srv, '/', socketId, 2000), 'forced close');
    });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('connect timeout', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startSio(['--connect-timeout', '300']);
  });
  after(() => srv.stop());

  test('a websocket session that joins no namespace is closed', { timeout: 10000 }, async () => {
    const t0 = Date.now();
    const { ws } = await rawWs(srv.port, null);
    assert.ok(await wsClosedWithin(ws, 3000), 'closed');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms, not before the 300 ms timeout`);
  });

  test('a polling session that joins no namespace is closed', { timeout: 10000 }, async () => {
    const t0 = Date.now();
    const { sid } = await pollingHandshake(srv.port);
    for (;;) {
      const res = await poll(srv.port, sid, 3000);
      if (res.status === 400 || decodePayload(res.text).includes('1')) break;
      assert.ok(Date.now() - t0 < 3000, 'closed within 3 s');
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms, not before the 300 ms timeout`);
  });

  test('joining a namespace in time keeps the connection', { timeout: 10000 }, async () => {
    const { ws } = await rawWs(srv.port);
    await sleep(600);
    ws.send('42["echo","late"]');
    assert.equal(parsePacket(await recvText(ws)).data[1], 'late');
    ws.close();
  });

  test('a client that is refused by the middleware is still closed in time',
    { timeout: 10000 }, async () => {
      const { ws } = await rawWs(srv.port, null);
      ws.send('40{"token":"bad"}');
      assert.equal(parsePacket(await recvText(ws)).type, 4);
      assert.ok(await wsClosedWithin(ws, 3000), 'closed');
    });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});
