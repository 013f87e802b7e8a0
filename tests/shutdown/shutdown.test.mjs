// Graceful shutdown of the Socket.IO test server (tests/servers/sio_server.c,
// path in $SIOC_SIO_SERVER), by SIGTERM, SIGINT and sio_server_stop() from a
// handler ("emit-then-stop"). As the reference's io.close() (socket.io
// 4.8.4; the tests marked below also run against its twin,
// tests/servers/sio_server_ref.cjs, as the meson test "shutdown-ref"):
//  - no Socket.IO DISCONNECT is sent: socket.io-client sees "transport
//    close" over polling, websocket, after an upgrade and in the middle of
//    one, and reconnects by itself once the server is back on its port;
//    the server's disconnect callbacks say "server shutting down";
//  - what was queued right before the stop reaches the client before the
//    connection closes;
//  - the server exits 0 within shutdown_timeout plus a margin, also when a
//    client never reads (it cannot hold the shutdown past the deadline);
//  - new connections are refused once the server is stopping;
//  - application callbacks that emit, join, ask for acks, start timers and
//    call sio_server_call() from their disconnect callbacks during the
//    shutdown do no harm (run the ASan build: the exit checks fail on any
//    sanitizer report);
//  - a thread calling sio_server_call() in a loop races the stop: every
//    accepted call runs, and calls after the stop return SIO_ECLOSED.
//
// The timings are loose on purpose: CI runs this under ASan on a busy
// machine. MARGIN_MS is what the exit may take past shutdown_timeout.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io } from 'socket.io-client';
import {
  HOST, RawConn, WsClient, closeAll, sleep, within, wsFrame, wsUpgradeRequest, requestBytes,
  eioPath, decodePayload, pollingHandshake, post, poll, track,
} from '../integration/lib.mjs';
import {
  startSio, url, trackSocket, clientOptions, connected, ack, escapeRe, SIO_IS_REFERENCE,
  TRANSPORTS,
} from '../integration/sio_lib.mjs';

// What socket.io-client's disconnect says after a graceful stop: the
// reference sends no DISCONNECT, only the transport closes: "transport
// close". Over polling the reference says "transport error" instead when
// no poll was pending at the stop (the session is dropped at once, without
// its close packet); sioc waits for the poll (within shutdown_timeout) and
// sends the close packet, so it always says "transport close". Both
// reasons make the client reconnect.
function assertStopReason(reason, what = 'the client disconnect reason') {
  if (SIO_IS_REFERENCE && reason === 'transport error') return;
  assert.equal(reason, 'transport close', what);
}
// The tests that need sioc's test server (its "emit-then-stop" and
// "call-storm" handlers, --disconnect-effects, --max-queue-*).
const ONLY_SIOC = SIO_IS_REFERENCE ? 'sioc\'s test server only' : false;

after(closeAll);

const MARGIN_MS = 5000;

// Waits for the server to exit on its own (after sio_server_stop() or a
// signal sent by the caller) and asserts a clean exit: status 0, nothing
// from a sanitizer on stderr. Returns the time it took.
async function cleanExit(srv, ms, what) {
  srv.stopped = true; // srv.stop() in closeAll() has nothing left to do
  const t0 = Date.now();
  let res;
  try {
    res = await within(ms, srv.exited, what);
  } catch (e) {
    srv.proc.kill('SIGKILL');
    throw new Error(`${e.message}; stderr:\n${srv.stderr}`);
  }
  for (const bad of ['AddressSanitizer', 'LeakSanitizer', 'runtime error', 'ERROR SUMMARY: [1-9]']) {
    assert.ok(!new RegExp(bad).test(srv.stderr), `server stderr has "${bad}":\n${srv.stderr}`);
  }
  assert.deepEqual(res, { code: 0, signal: null }, `server exit status; stderr:\n${srv.stderr}`);
  return Date.now() - t0;
}

// Sends `signal` and waits for a clean exit; returns the time it took.
function signalExit(srv, signal, shutdownTimeout) {
  srv.proc.kill(signal);
  return cleanExit(srv, shutdownTimeout + MARGIN_MS, `the server exits after ${signal}`);
}

// A socket.io-client socket that records what it gets: `events` ([name,
// ...args] in order), `reason` of its disconnect and how many events came
// before it, and any connect_error.
function sioClient(port, transports, extra = {}) {
  const s = trackSocket(io(url(port), clientOptions(transports, extra)));
  const rec = { events: [], reason: null, before: -1, errors: [], at: 0 };
  s.onAny((ev, ...args) => rec.events.push([ev, ...args]));
  rec.disconnected = new Promise((resolve) => {
    s.on('disconnect', (reason) => {
      rec.reason = reason;
      rec.before = rec.events.length;
      rec.at = Date.now();
      resolve(reason);
    });
  });
  s.on('connect_error', (e) => rec.errors.push(e.message));
  return { s, rec };
}

async function upgraded(s) {
  const engine = s.io.engine;
  if (engine.transport.name === 'websocket') return;
  await within(10000, new Promise((resolve) => engine.once('upgrade', resolve)), 'upgrade');
}

// A raw Engine.IO session joined to "/", caught in the middle of an upgrade:
// the websocket probe is answered but the client never sends the upgrade
// packet ("5"); it keeps long-polling, as a client does until it pauses.
// `packets` collects what arrives on either transport.
async function midUpgrade(port) {
  const { sid } = await pollingHandshake(port);
  let r = await post(port, sid, '40');
  assert.equal(r.status, 200, 'POST 40');
  const packets = [];
  r = await poll(port, sid);
  packets.push(...decodePayload(r.text));
  assert.ok(packets.some((p) => p.startsWith('40{')), `CONNECT reply: ${packets}`);
  const id = JSON.parse(packets.find((p) => p.startsWith('40{')).slice(2)).sid;
  const ws = new WsClient(port, `EIO=4&transport=websocket&sid=${sid}`);
  await ws.open();
  ws.send('2probe');
  assert.deepEqual(await ws.recv(), ['3probe'], 'probe answer');
  ws.ws.on('message', (d) => packets.push(d.toString()));
  ws.messages.length = 0;
  // Long-polls until the session ends (close packet, error or refusal).
  const polling = (async () => {
    for (;;) {
      let res;
      try {
        res = await poll(port, sid, 15000);
      } catch {
        return;
      }
      if (res.status !== 200) return;
      const got = decodePayload(res.text);
      packets.push(...got);
      if (got.includes('1')) return;
    }
  })();
  return { sid, id, ws, packets, polling };
}

// The socket ids the server saw connect to "/".
const connectedIds = (srv) =>
  srv.lines.map((l) => /^CONNECT \/ (\S+) /.exec(l)?.[1]).filter(Boolean);

function disconnectReason(srv, id) {
  const re = new RegExp(`^DISCONNECT / ${escapeRe(id)} (.*)$`);
  for (const l of srv.lines) {
    const m = re.exec(l);
    if (m) return m[1];
  }
  return null;
}

// Every socket that connected was told, with reason "server shutting down"
// (except those in `others`, id -> expected reason), after its DISCONNECTING.
function assertAllShutDown(srv, others = {}) {
  const ids = connectedIds(srv);
  assert.ok(ids.length > 0, 'sockets connected');
  for (const id of ids) {
    assert.equal(disconnectReason(srv, id), others[id] ?? 'server shutting down',
      `DISCONNECT reason of ${id}; lines:\n${srv.lines.join('\n')}`);
    const i = srv.lines.findIndex((l) => l.startsWith(`DISCONNECTING / ${id} `));
    const j = srv.lines.findIndex((l) => l.startsWith(`DISCONNECT / ${id} `));
    assert.ok(i >= 0 && i < j, `DISCONNECTING before DISCONNECT for ${id}`);
  }
}

// Sends one request on a fresh TCP connection while the server is stopping:
// the connection must be refused, closed without an answer, or answered
// with 503, never with a session. Resolves with what happened.
async function freshRequest(port, bytes) {
  return within(10000, new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    track(sock);
    let data = Buffer.alloc(0);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      data = Buffer.concat([data, d]);
    });
    sock.on('error', (e) => resolve({ error: e.code, data: data.toString('latin1') }));
    sock.on('close', () => resolve({ closed: true, data: data.toString('latin1') }));
  }), 'a refused connection');
}

function assertRefused(r, what) {
  if (r.error) return; // ECONNREFUSED, ECONNRESET
  const status = /^HTTP\/1\.1 (\d{3})/.exec(r.data)?.[1];
  assert.ok(status === undefined || status === '503',
    `${what}: refused, closed or 503 once stopping, got ${JSON.stringify(r)}`);
}

/* ------------------------------------------------------------------ */

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal}: clients over polling, websocket, after and during an upgrade are told; ` +
    'exit 0', { timeout: 60000 }, async () => {
    const TIMEOUT = 3000;
    const srv = await startSio(['--shutdown-timeout', String(TIMEOUT)]);
    const clients = {
      polling: sioClient(srv.port, ['polling']),
      websocket: sioClient(srv.port, ['websocket']),
      upgraded: sioClient(srv.port, undefined),
    };
    for (const [name, { s }] of Object.entries(clients)) {
      await connected(s, 10000);
      const [rooms] = await ack(s, 'join', `room-${name}`);
      assert.ok(rooms.includes(`room-${name}`), 'joined');
    }
    await upgraded(clients.upgraded.s);
    const raw = await midUpgrade(srv.port);
    // One more default client, stopped as soon as it is in: most often in
    // the middle of its own upgrade.
    clients.early = sioClient(srv.port, undefined);
    await connected(clients.early.s, 10000);

    const elapsed = await signalExit(srv, signal, TIMEOUT);
    for (const [name, { s, rec }] of Object.entries(clients)) {
      await within(5000, rec.disconnected, `${name} disconnect`);
      assertStopReason(rec.reason, `${name}: client disconnect reason`);
      assert.deepEqual(rec.errors, [], `${name}: no connect_error`);
      assert.equal(s.connected, false);
    }
    await within(10000, raw.polling, 'the mid-upgrade client stops polling');
    await within(5000, raw.ws.closed, 'the mid-upgrade websocket closes');
    assert.ok(!raw.packets.some((p) => p.startsWith('41')),
      `no DISCONNECT for the mid-upgrade client: ${JSON.stringify(raw.packets)}`);
    assertAllShutDown(srv);
    assert.ok(connectedIds(srv).includes(raw.id), 'the raw client was connected');
    // Everyone reads: nothing may hold the server until the deadline.
    assert.ok(elapsed < TIMEOUT, `exit took ${elapsed} ms: a client was not drained`);
  });
}

// socket.io-client with its reconnection on, the server stopped gracefully
// and started again on the same port: no DISCONNECT reaches the client (none
// of the engine's message packets is a Socket.IO DISCONNECT), it sees
// "transport close", and it reconnects by itself as a new socket. Runs
// against the reference too (SIGTERM: its io.close()).
describe('after a graceful stop and a restart on the same port the client reconnects',
  () => {
    const stops = [['SIGTERM', 'SIGTERM']];
    if (!SIO_IS_REFERENCE) stops.push(['sio_server_stop()', 'api']);
    for (const [stopLabel, how] of stops) {
      for (const [label, transports] of TRANSPORTS) {
        test(`${stopLabel}, ${label}`, { timeout: 60000 }, async () => {
          const TIMEOUT = 3000;
          const srv = await startSio(['--shutdown-timeout', String(TIMEOUT)]);
          const port = srv.port;
          const c = sioClient(port, transports, {
            reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300,
            randomizationFactor: 0,
          });
          await connected(c.s, 10000);
          if (!transports) await upgraded(c.s);
          const sioPackets = []; // the Socket.IO packets of the first session
          c.s.io.engine.on('packet', (p) => {
            if (p.type === 'message' && typeof p.data === 'string') sioPackets.push(p.data);
          });
          const firstId = c.s.id;
          const [rooms] = await ack(c.s, 'join', 'before');
          assert.ok(rooms.includes('before'), 'joined');
          if (how === 'api') {
            c.s.emit('emit-then-stop', 2, 10);
            await cleanExit(srv, TIMEOUT + MARGIN_MS, 'exit after sio_server_stop()');
          } else {
            await signalExit(srv, how, TIMEOUT);
          }
          await within(5000, c.rec.disconnected, 'disconnect');
          assertStopReason(c.rec.reason, 'the client disconnect reason');
          assert.ok(!sioPackets.some((d) => d[0] === '1'),
            `no Socket.IO DISCONNECT on the wire: ${JSON.stringify(sioPackets)}`);
          if (how === 'api') {
            assert.deepEqual(c.rec.events.filter(([ev]) => ev === 'burst').map(([, i]) => i),
              [0, 1], 'what was emitted before the stop arrived');
          }
          assert.equal(c.s.active, true, 'the client is trying to reconnect');
          assertAllShutDown(srv);

          const back = new Promise((resolve) => c.s.once('connect', resolve));
          const srv2 = await startSio(['--port', String(port)]);
          try {
            await within(15000, back, 'the client reconnects by itself');
            assert.equal(c.s.connected, true);
            assert.notEqual(c.s.id, firstId, 'a new socket');
            await srv2.waitFor(new RegExp(`^CONNECT / ${escapeRe(c.s.id)} `), 5000,
              'the restarted server sees the socket');
            const [again] = await ack(c.s, 'join', 'after');
            assert.deepEqual(again.sort(), [c.s.id, 'after'].sort(),
              'a fresh socket: the old rooms are gone');
            c.s.disconnect();
          } finally {
            await srv2.stop();
          }
        });
      }
    }
  });

describe('sio_server_stop() right after a burst of emits', { skip: ONLY_SIOC }, () => {
  const N = 300;
  for (const [label, transports] of [['polling', ['polling']], ['websocket', ['websocket']],
    ['default (upgraded)', undefined]]) {
    test(`${label}: all ${N} events arrive, in order, before the close`,
      { timeout: 60000 }, async () => {
        const TIMEOUT = 5000;
        const srv = await startSio(['--shutdown-timeout', String(TIMEOUT)]);
        const emitter = sioClient(srv.port, transports);
        const bystanders = [sioClient(srv.port, ['polling']), sioClient(srv.port, ['websocket'])];
        for (const c of [emitter, ...bystanders]) await connected(c.s, 10000);
        if (!transports) await upgraded(emitter.s);
        emitter.s.emit('emit-then-stop', N, 100);
        const m = await srv.waitFor(/^STOPPING (\S+) (\d+) (\S+)$/, 10000, 'STOPPING');
        assert.deepEqual([m[1], m[2], m[3]], [emitter.s.id, String(N), 'none'],
          'all queued without error');
        const elapsed = await cleanExit(srv, TIMEOUT + MARGIN_MS,
          'the server exits after sio_server_stop()');
        assert.ok(elapsed < TIMEOUT, `exit took ${elapsed} ms: a client was not drained`);
        await within(5000, emitter.rec.disconnected, 'disconnect');
        assertStopReason(emitter.rec.reason);
        const bursts = emitter.rec.events.filter(([ev]) => ev === 'burst');
        assert.equal(bursts.length, N, 'every burst event arrived');
        assert.equal(emitter.rec.before, emitter.rec.events.length,
          'nothing after the disconnect');
        assert.deepEqual(bursts.map(([, i]) => i), [...Array(N).keys()], 'in order');
        assert.ok(bursts.every(([, , x]) => x === 'x'.repeat(100)), 'intact');
        for (const b of bystanders) {
          await within(5000, b.rec.disconnected, 'bystander disconnect');
          assertStopReason(b.rec.reason);
        }
        assertAllShutDown(srv);
      });
  }
});

test('clients that never read cannot hold the shutdown past shutdown_timeout; ' +
  'new connections are refused meanwhile', { timeout: 60000, skip: ONLY_SIOC }, async () => {
  const TIMEOUT = 2500;
  const srv = await startSio(['--shutdown-timeout', String(TIMEOUT),
    '--max-queue-bytes', '200000000', '--max-queue-packets', '100000']);
  const good = sioClient(srv.port, ['websocket']);
  await connected(good.s, 10000);

  // Polling, joined to "/", that never polls again: its CONNECT reply and
  // everything after it stays queued.
  const { sid: pollSid } = await pollingHandshake(srv.port);
  assert.equal((await post(srv.port, pollSid, '40')).status, 200);
  await within(10000, (async () => {
    while (connectedIds(srv).length < 2) await sleep(20);
  })(), 'the poller joins');
  const pollId = connectedIds(srv).find((id) => id !== good.s.id);

  // An idle keep-alive connection from before the stop.
  const keep = await new RawConn(srv.port).connect();
  keep.write(requestBytes('GET', eioPath('EIO=4&transport=polling')));
  assert.equal((await keep.readResponse(10000)).status, 200, 'keep-alive handshake');

  // A websocket that stops reading, then asks for 24 x 900 kB and the stop:
  // far more than the socket buffers hold.
  const ws = await new RawConn(srv.port).connect();
  ws.write(wsUpgradeRequest('EIO=4&transport=websocket'));
  assert.equal((await ws.readResponse(10000)).status, 101);
  ws.write(wsFrame(1, '40'));
  await within(10000, (async () => {
    while (connectedIds(srv).length < 3) await sleep(20);
  })(), 'the websocket client joins');
  const wsId = connectedIds(srv).find((id) => id !== pollId && id !== good.s.id);
  ws.sock.pause();
  ws.write(wsFrame(1, '42["emit-then-stop",24,900000]'));

  const m = await srv.waitFor(/^STOPPING (\S+) (\d+) (\S+)$/, 20000, 'STOPPING');
  const t0 = Date.now();
  assert.deepEqual([m[1], m[2], m[3]], [wsId, '24', 'none'], 'the burst is queued');

  // Meanwhile: a new handshake on a new connection, a websocket, and a
  // handshake on the old keep-alive connection are all turned away.
  await sleep(100);
  assertRefused(await freshRequest(srv.port,
    requestBytes('GET', eioPath('EIO=4&transport=polling'))), 'new polling handshake');
  assertRefused(await freshRequest(srv.port,
    Buffer.from(wsUpgradeRequest('EIO=4&transport=websocket'), 'latin1')), 'new websocket');
  keep.write(requestBytes('GET', eioPath('EIO=4&transport=polling')));
  let old;
  try {
    old = await keep.readResponse(5000);
  } catch {
    old = null; // closed without an answer
  }
  assert.ok(old === null || old.status === 503,
    `handshake on an old keep-alive connection: ${old?.status} ${old?.text}`);
  const late = sioClient(srv.port, ['websocket']);
  const lateErr = await within(10000, new Promise((resolve) => {
    late.s.once('connect', () => resolve('connected'));
    late.s.once('connect_error', (e) => resolve(e.message));
  }), 'late client');
  assert.notEqual(lateErr, 'connected', 'a client arriving during the shutdown is refused');

  // The reading client is told at once, not at the deadline.
  await within(TIMEOUT, good.rec.disconnected, 'the reading client is told');
  assertStopReason(good.rec.reason);
  assert.ok(good.rec.at - t0 < TIMEOUT, `told after ${good.rec.at - t0} ms`);

  const elapsed = await cleanExit(srv, TIMEOUT + MARGIN_MS, 'exit despite the stuck clients');
  const total = Date.now() - t0;
  assert.ok(total >= TIMEOUT - 200, `the stuck clients held it until the deadline (${total} ms)`);
  assert.ok(total < TIMEOUT + MARGIN_MS, `exit ${total} ms after the stop (${elapsed})`);
  assertAllShutDown(srv);
  ws.destroy();
  keep.destroy();
});

test('disconnect callbacks that emit, join, ask for acks, start timers and call ' +
  'sio_server_call() during the shutdown', { timeout: 60000, skip: ONLY_SIOC }, async () => {
  const TIMEOUT = 3000;
  const srv = await startSio(['--shutdown-timeout', String(TIMEOUT),
    '--disconnect-effects', 'on']);
  const kinds = [['polling'], ['websocket'], undefined];
  const clients = [];
  for (let i = 0; i < 12; i++) {
    const c = sioClient(srv.port, kinds[i % 3]);
    clients.push(c);
    await connected(c.s, 10000);
    await ack(c.s, 'join', `room-${i % 4}`);
    // a question the client never answers: pending until the socket goes
    c.s.emit('ask', 0);
  }
  await within(10000, (async () => {
    while (!clients.every((c) => c.rec.events.some(([ev]) => ev === 'question'))) await sleep(20);
  })(), 'every client has its question');

  // One leaves before the stop: its effects run on a live server.
  const first = clients.shift();
  const firstId = first.s.id;
  first.s.disconnect();
  const fx = await srv.waitFor(new RegExp(`^EFFECTS ${escapeRe(firstId)} (.*)$`), 10000,
    'EFFECTS of the first');
  assert.match(fx[1], /self=-3 join=-3 .*timer=1 call=0$/,
    'emitting to or joining a gone socket fails; the call is taken');
  await srv.waitFor(new RegExp(`^LATE-CALL ${escapeRe(firstId)}$`), 10000, 'the late call ran');

  await signalExit(srv, 'SIGTERM', TIMEOUT);
  for (const c of clients) {
    await within(5000, c.rec.disconnected, 'disconnect');
    assertStopReason(c.rec.reason);
  }
  assertAllShutDown(srv, { [firstId]: 'client namespace disconnect' });
  const effects = srv.lines.filter((l) => l.startsWith('EFFECTS '));
  assert.equal(effects.length, 12, `one EFFECTS line per socket:\n${effects.join('\n')}`);
  for (const l of effects.slice(1)) {
    assert.match(l, /self=-3 join=-3 .*call=-3$/,
      `the gone socket refuses; sio_server_call() is refused during the shutdown: ${l}`);
  }
  // Every question asked (the clients' and those from the effects) was
  // settled: answered never, so "closed".
  const acks = srv.lines.filter((l) => l.startsWith('ACK '));
  assert.ok(acks.length >= 12, `ACK lines: ${acks.length}`);
  for (const l of acks) assert.match(l, /^ACK \S+ closed null$/);
});

test('a thread calling sio_server_call() in a loop races the stop',
  { timeout: 120000, skip: ONLY_SIOC },
  async () => {
    const stops = ['SIGTERM', 'SIGINT', 'api', 'SIGTERM', 'api', 'SIGINT'];
    for (const [i, how] of stops.entries()) {
      const TIMEOUT = 2000;
      const srv = await startSio(['--shutdown-timeout', String(TIMEOUT)]);
      const c = sioClient(srv.port, i % 2 ? ['websocket'] : ['polling']);
      await connected(c.s, 10000);
      c.s.emit('call-storm');
      await within(10000, (async () => {
        while (!c.rec.events.some(([ev]) => ev === 'storm')) await sleep(10);
      })(), 'storm events');
      await sleep(i * 37 % 100);
      if (how === 'api') {
        c.s.emit('emit-then-stop', 3, 10);
        await cleanExit(srv, TIMEOUT + MARGIN_MS, 'exit after sio_server_stop()');
      } else {
        await signalExit(srv, how, TIMEOUT);
      }
      const m = await srv.waitFor(/^STORM (\d+) (\d+) (\d+)\/100$/, 1000, 'STORM');
      const [accepted, ran, refused] = [Number(m[1]), Number(m[2]), Number(m[3])];
      assert.ok(accepted > 0, 'calls were accepted');
      assert.equal(ran, accepted, `${how}: every accepted call ran`);
      assert.equal(refused, 100, `${how}: calls after the stop return SIO_ECLOSED`);
      await within(5000, c.rec.disconnected, 'disconnect');
      assertStopReason(c.rec.reason);
      if (how === 'api') {
        const bursts = c.rec.events.filter(([ev]) => ev === 'burst').map(([, n]) => n);
        assert.deepEqual(bursts, [0, 1, 2], 'the burst before the stop arrived');
      }
    }
  });
