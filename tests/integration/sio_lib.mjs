// Helpers for the Socket.IO integration tests: start the Socket.IO test
// server (tests/servers/sio_server.c, path in $SIOC_SIO_SERVER; or its
// reference twin tests/servers/sio_server_ref.cjs) and drive real
// socket.io-client sockets against it with bounded waits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOST, startServer, track, within } from './lib.mjs';

export const SIO_SERVER = process.env.SIOC_SIO_SERVER;
export const SIO_IS_REFERENCE = /\.(c|m)?js$/.test(SIO_SERVER ?? '');

export function startSio(args = []) {
  assert.ok(SIO_SERVER, 'SIOC_SIO_SERVER must name the Socket.IO test server');
  return startServer(args, SIO_SERVER);
}

export const url = (port, nsp = '/') => `http://${HOST}:${port}${nsp === '/' ? '' : nsp}`;

// The three ways a client may reach the server: polling only, websocket
// only, and the default (polling, then upgrade to websocket).
export const TRANSPORTS = [
  ['polling', ['polling']],
  ['websocket', ['websocket']],
  ['default (upgrade)', undefined],
];

// Makes sure `socket` (and its manager) is closed by closeAll().
export function trackSocket(socket) {
  track({
    destroy() {
      socket.io.reconnection(false);
      socket.disconnect();
      socket.io.engine?.close();
    },
  });
  return socket;
}

// Client options for the tests: a new manager, no reconnection, short
// timeouts, and the transports under test.
export function clientOptions(transports, extra = {}) {
  const o = { forceNew: true, reconnection: false, timeout: 5000, ...extra };
  if (transports) o.transports = transports;
  return o;
}

// Resolves with the next `event`'s arguments (array) on `emitter`.
export function next(emitter, event, ms = 5000) {
  return within(ms, new Promise((resolve) => {
    emitter.once(event, (...args) => resolve(args));
  }), `event "${event}"`);
}

// Resolves once `socket` is connected; rejects with the connect_error.
export function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve(socket);
  return within(ms, new Promise((resolve, reject) => {
    const ok = () => {
      socket.off('connect_error', ko);
      resolve(socket);
    };
    const ko = (err) => {
      socket.off('connect', ok);
      reject(err);
    };
    socket.once('connect', ok);
    socket.once('connect_error', ko);
  }), 'socket connect');
}

// Resolves with the connect_error the socket gets (fails if it connects).
export function connectError(socket, ms = 5000) {
  return within(ms, new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected connect_error')));
    socket.once('connect_error', resolve);
  }), 'connect_error');
}

// Emits with an acknowledgement callback; resolves with all reply args.
export function ack(socket, event, ...args) {
  return within(5000, new Promise((resolve) => {
    socket.emit(event, ...args, (...reply) => resolve(reply));
  }), `ack of "${event}"`);
}

// Asks the test server (through `sender`) for an "all" packet to the
// namespace and waits until each of `sockets` has it: what was sent to them
// before it, on the same connection, has arrived too.
export async function allMarker(sockets, sender, n) {
  const waits = sockets.map((s) => next(s, 'all-msg'));
  await ack(sender, 'all', n);
  await Promise.all(waits);
}

// Records every event a socket receives: { event: [argsArray, ...] }.
export function recorder(socket) {
  const got = {};
  socket.onAny((event, ...args) => {
    (got[event] ??= []).push(args);
  });
  return got;
}

// Binary arguments come as Buffer or ArrayBuffer depending on the transport.
export const bytes = (v) => Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v);

export const CONNECT_RE = (nsp) => new RegExp(`^CONNECT ${escapeRe(nsp)} (\\S+) (.*)$`);

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Resolves with { reason } of socket `id`'s DISCONNECT line in `nsp`.
export async function waitDisconnect(srv, nsp, id, ms = 5000) {
  const m = await srv.waitFor(new RegExp(`^DISCONNECT ${escapeRe(nsp)} ${escapeRe(id)} (.*)$`), ms,
    `DISCONNECT ${nsp} ${id}`);
  return m[1];
}

// Resolves with { reason, rooms } of socket `id`'s DISCONNECTING line.
export async function waitDisconnecting(srv, nsp, id, ms = 5000) {
  const m = await srv.waitFor(
    new RegExp(`^DISCONNECTING ${escapeRe(nsp)} ${escapeRe(id)} (.*) (\\S*)$`), ms,
    `DISCONNECTING ${nsp} ${id}`);
  return { reason: m[1], rooms: m[2] ? m[2].split(',') : [] };
}

// Resolves with { err, args } of the ACK line of socket `id`.
export async function waitAck(srv, id, ms = 5000) {
  const m = await srv.waitFor(new RegExp(`^ACK ${escapeRe(id)} (\\S+) (.*)$`), ms, `ACK ${id}`);
  return { err: m[1], args: JSON.parse(m[2]) };
}

// The tests that every client generation (socket.io-client 2.x, 3.x, 4.x
// with the msgpack parser) passes the same way, registered in the
// caller's describe. ctx: srv() the server (started in before()),
// client(extra, nsp) a connected socket, close(s) (2.x: close()),
// bytesLabel the text of the second binary, and unless refusal is false,
// socket(nsp, extra) an unconnected socket for the refusal test.
export function clientGenerationTests(ctx) {
  const close = ctx.close ?? ((s) => s.disconnect());

  test('acks both ways', { timeout: 10000 }, async () => {
    const s = await ctx.client();
    assert.deepEqual(await ack(s, 'ack', { a: 1 }, 2), [{ a: 1 }, 2]);
    s.on('question', (q, cb) => cb(q.toUpperCase()));
    s.emit('ask', 3000);
    assert.deepEqual(await waitAck(ctx.srv(), s.id), { err: '0', args: ['WHAT?'] });
    close(s);
  });

  test('binary both ways, anywhere in the arguments', { timeout: 10000 }, async () => {
    const s = await ctx.client();
    const a = Buffer.from([0, 255, 1, 4, 0xc1]);
    const b = Buffer.from(ctx.bytesLabel);
    const reply = next(s, 'echo');
    s.emit('echo', { a, inner: [b] }, 'tail');
    const got = await reply;
    assert.deepEqual(bytes(got[0].a), a);
    assert.deepEqual(bytes(got[0].inner[0]), b);
    assert.equal(got[1], 'tail');
    const r = await ack(s, 'ack', b);
    assert.deepEqual(bytes(r[0]), b);
    close(s);
  });

  if (ctx.refusal !== false) {
    test('namespace and middleware refusal', { timeout: 10000 }, async () => {
      const s = await ctx.client({}, '/admin');
      assert.deepEqual(await ack(s, 'ack', 'admin'), ['admin']);
      const bad = ctx.socket('/admin', { auth: { token: 'bad' } });
      const err = await connectError(bad);
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'bad token' });
      const nope = ctx.socket('/nope');
      assert.equal((await connectError(nope)).message, 'Invalid namespace');
      s.disconnect();
      bad.disconnect();
      nope.disconnect();
    });
  }

  test('disconnects both ways', { timeout: 10000 }, async () => {
    const srv = ctx.srv();
    const s = await ctx.client();
    const id = s.id;
    const reason = next(s, 'disconnect');
    s.emit('disconnect-me', false);
    assert.equal((await reason)[0], 'io server disconnect');
    assert.equal(await waitDisconnect(srv, '/', id), 'server namespace disconnect');
    const s2 = await ctx.client();
    const id2 = s2.id;
    close(s2);
    assert.equal(await waitDisconnect(srv, '/', id2), 'client namespace disconnect');
  });
}
