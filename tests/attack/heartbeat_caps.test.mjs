// Attack suite: peers that stop (half-open TCP), pong floods, clients that
// never read during a broadcast, and the resource caps (connections per
// address, pending handshakes, namespaces per client, rooms per socket,
// pending acks, events per second), plus a shutdown that a non-reading
// client must not hold up. Each attack runs against a server serving a
// canary client; afterwards the server's fds and RSS must be back to their
// baseline and the canary must still work.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import {
  startEio, startSio, EioCanary, SioCanary, guarded, procStats, resetPeak, closeAll, sleep,
  within, RawConn, requestBytes, eioPath, pollingHandshake, post, poll, decodePayload, wsFrame,
  wsUpgradeRequest, rawWebSocket, wsSession, httpRequest, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

/* ------------------------------------------------------------------ */
/* Heartbeat                                                            */
/* ------------------------------------------------------------------ */

describe(`half-open peers (--ping-interval ${PING_INTERVAL} --ping-timeout ${PING_TIMEOUT})`,
  { timeout: 120000 }, () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startEio(['--ping-interval', String(PING_INTERVAL), '--ping-timeout',
        String(PING_TIMEOUT), '--keep-alive-timeout', '1000']);
      // engine.io-client answers the pings: it must stay.
      ctx.canary = await EioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    const DEADLINE = PING_INTERVAL + PING_TIMEOUT;

    // Waits for the ping timeout of sid, checking it is not early.
    async function pingTimeout(sid, t0) {
      assert.equal(await ctx.srv.waitClose(sid, DEADLINE + 3000), 'ping timeout');
      const ms = Date.now() - t0;
      assert.ok(ms >= DEADLINE - 100, `closed after ${ms} ms, before pingInterval + pingTimeout`);
      assert.ok(ms <= DEADLINE + 1500, `closed after ${ms} ms`);
    }

    test('websocket peer that stops reading and writing: closed and freed', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const conn = await rawWebSocket(ctx.srv.port);
        const t0 = Date.now();
        conn.sock.pause();
        try {
          await pingTimeout(conn.open.sid, t0);
          conn.sock.resume();
          assert.ok(await conn.waitEnd(7000), 'the server closes the TCP connection');
        } finally {
          conn.destroy();
        }
      }, { settleMs: 8000 }));

    test('websocket peer that stops, never reading again: the fd is freed anyway',
      { timeout: 20000 }, () => guarded(ctx, async () => {
        const conn = await rawWebSocket(ctx.srv.port);
        const t0 = Date.now();
        conn.sock.pause();
        await pingTimeout(conn.open.sid, t0);
        // fds are checked by guarded() with the peer still paused
        ctx.paused = conn;
      }, { settleMs: 8000 }).finally(() => ctx.paused?.destroy()));

    test('polling peer that never polls again: closed and freed', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        await pingTimeout(sid, Date.now());
      }));

    test('polling peer with a held GET that stops reading: closed and freed',
      { timeout: 20000 }, () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const conn = await new RawConn(ctx.srv.port).connect();
        const t0 = Date.now();
        conn.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        conn.sock.pause();
        try {
          await pingTimeout(sid, t0);
          conn.sock.resume();
          assert.ok(await conn.waitEnd(3000), 'the idle connection is closed');
        } finally {
          conn.destroy();
        }
      }));

    test('upgraded session whose peer stops: closed and freed', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const conn = await rawWebSocket(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`,
          { open: false });
        conn.write(wsFrame(1, '2probe'));
        assert.equal((await conn.readFrame()).text, '3probe');
        conn.write(wsFrame(1, '5'));
        await ctx.srv.waitFor(new RegExp(`^UPGRADE ${sid}$`));
        const t0 = Date.now();
        conn.sock.pause();
        try {
          await pingTimeout(sid, t0);
          conn.sock.resume();
          assert.ok(await conn.waitEnd(7000), 'the server closes the TCP connection');
        } finally {
          conn.destroy();
        }
      }, { settleMs: 8000 }));

    test('50 half-open websocket peers at once: all closed and freed', { timeout: 30000 },
      () => guarded(ctx, async () => {
        const conns = [];
        for (let i = 0; i < 50; i++) {
          const c = await rawWebSocket(ctx.srv.port);
          c.sock.pause();
          conns.push(c);
        }
        try {
          for (const c of conns) await ctx.srv.waitClose(c.open.sid, DEADLINE + 3000);
          await ctx.canary.check();
        } finally {
          for (const c of conns) c.destroy();
        }
      }, { settleMs: 8000 }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });

describe('pong flood (--ping-interval 1000 --ping-timeout 1000)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--ping-interval', '1000', '--ping-timeout', '1000']);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('100k pongs: no new timers, flat CPU and memory, the session stays usable',
    { timeout: 30000 }, () => guarded(ctx, async (base) => {
      const conn = await rawWebSocket(ctx.srv.port);
      const sid = conn.open.sid;
      try {
        resetPeak(ctx.srv.proc.pid);
        const pong = wsFrame(1, '3');
        for (let i = 0; i < 10; i++) conn.write(Buffer.concat(Array(10000).fill(pong)));
        await sleep(500);
        assert.ok(!ctx.srv.hasClosed(sid), 'the session survives unsolicited pongs');
        const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
        assert.ok(peak < 4096, `peak RSS growth ${peak} KiB`);
        // Idle afterwards: no timer per pong left running.
        const cpu0 = procStats(ctx.srv.proc.pid).cpu;
        await sleep(1000);
        const idle = procStats(ctx.srv.proc.pid).cpu - cpu0;
        assert.ok(idle < 150, `server CPU while idle after the flood: ${idle} ms in 1 s`);
        conn.buf = Buffer.alloc(0);
        conn.write(wsFrame(1, '4after'));
        let f;
        do f = await conn.readFrame(3000); while (f.text === '2');
        assert.equal(f.text, '4after', 'echo after the flood');
        conn.write(wsFrame(8, Buffer.from([3, 0xe8])));
        assert.ok(await conn.waitEnd(3000));
      } finally {
        conn.destroy();
      }
    }));

  test('a peer that only sends pongs, never answering on time, still times out',
    { timeout: 30000 }, () => guarded(ctx, async () => {
      // Pongs sent before any ping was asked for do not count as answers
      // to a ping sent later.
      const conn = await rawWebSocket(ctx.srv.port);
      const sid = conn.open.sid;
      try {
        const pong = wsFrame(1, '3');
        const t0 = Date.now();
        conn.write(Buffer.concat(Array(1000).fill(pong)));
        conn.sock.pause();
        assert.equal(await ctx.srv.waitClose(sid, 6000), 'ping timeout');
        assert.ok(Date.now() - t0 <= 4000, `closed after ${Date.now() - t0} ms`);
      } finally {
        conn.destroy();
      }
    }, { settleMs: 8000 }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

/* ------------------------------------------------------------------ */
/* Slow consumers                                                      */
/* ------------------------------------------------------------------ */

// A raw websocket joined to '/' whose reading then stops. Resolves with
// { conn, socketId }.
async function slowConsumer(port) {
  const conn = await rawWebSocket(port);
  conn.write(wsFrame(1, '40'));
  const f = await conn.readFrame();
  const m = /^40\{"sid":"([^"]+)"\}$/.exec(f.text);
  assert.ok(m, `CONNECT reply ${f.text}`);
  conn.sock.pause();
  return { conn, socketId: m[1] };
}

const CHUNK = 'x'.repeat(100000);

// The canary emits `event` n times (each acked); resolves when all are.
async function broadcast(canary, event, n) {
  for (let i = 0; i < n; i++) {
    await within(10000, new Promise((resolve) => {
      canary.socket.emit(event, `${i}:${CHUNK}`, resolve);
    }), `${event} ${i}`);
  }
}

// Records the "all-msg" the canary gets.
function collect(canary) {
  const got = [];
  canary.socket.on('all-msg', (m) => got.push(Number(m.slice(0, m.indexOf(':')))));
  return got;
}

describe('slow consumer (--max-queue-bytes 1000000, queue full: close)', { timeout: 120000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--max-queue-bytes', '1000000']);
      ctx.canary = await SioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    test('volatile broadcasts are dropped for it, then a real one disconnects it; others get all',
      { timeout: 60000 }, () => guarded(ctx, async (base) => {
        const { conn, socketId } = await slowConsumer(ctx.srv.port);
        const got = collect(ctx.canary);
        resetPeak(ctx.srv.proc.pid);
        try {
          await broadcast(ctx.canary, 'all-volatile', 300);
          assert.ok(!ctx.srv.has(new RegExp(`^DISCONNECT / ${socketId} `)),
            'volatile packets do not disconnect the slow consumer');
          let peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
          assert.ok(peak < 16384, `peak RSS growth ${peak} KiB during the volatile broadcast`);

          got.length = 0;
          await broadcast(ctx.canary, 'all', 300);
          const m = await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} (.*)$`), 5000);
          assert.ok(m[1].length > 0, 'a reason');
          await sleep(200);
          assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => i),
            'the canary got every broadcast, in order');
          peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
          assert.ok(peak < 16384, `peak RSS growth ${peak} KiB`);
        } finally {
          conn.destroy();
          ctx.canary.socket.off('all-msg');
        }
      }, { settleMs: 8000 }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });

describe('slow consumer (--max-queue-bytes 1000000, queue full: reject)', { timeout: 120000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--max-queue-bytes', '1000000', '--queue-full', 'reject']);
      ctx.canary = await SioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    test('its queue stays bounded and it stays connected; others get all', { timeout: 60000 },
      () => guarded(ctx, async (base) => {
        const { conn, socketId } = await slowConsumer(ctx.srv.port);
        const got = collect(ctx.canary);
        resetPeak(ctx.srv.proc.pid);
        try {
          await broadcast(ctx.canary, 'all', 300);
          await sleep(200);
          assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => i),
            'the canary got every broadcast, in order');
          assert.ok(!ctx.srv.has(new RegExp(`^DISCONNECT / ${socketId} `)),
            'the slow consumer is not disconnected');
          const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
          assert.ok(peak < 16384, `peak RSS growth ${peak} KiB`);
        } finally {
          conn.destroy();
          ctx.canary.socket.off('all-msg');
        }
        await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} `), 5000);
      }, { settleMs: 8000 }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });

describe('shutdown with a client that never reads (--shutdown-timeout 500)', { timeout: 60000 },
  () => {
    test('the server exits within shutdown_timeout', { timeout: 30000 }, async () => {
      const srv = await startSio(['--shutdown-timeout', '500', '--max-queue-bytes', '50000000']);
      const canary = await SioCanary.connect(srv.port);
      const { conn } = await slowConsumer(srv.port);
      try {
        await broadcast(canary, 'all', 100);
        const t0 = Date.now();
        await srv.stop();
        const ms = Date.now() - t0;
        assert.ok(ms <= 3000, `exited after ${ms} ms`);
      } finally {
        conn.destroy();
      }
    });
  });

/* ------------------------------------------------------------------ */
/* Resource caps                                                       */
/* ------------------------------------------------------------------ */

// Loopback is a trusted proxy by default (never capped as one address): the
// list here names a proxy that is not us, so 127.0.0.1 is an ordinary client.
describe('cap: connections per address (--max-connections-per-ip 4)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--max-connections-per-ip', '4', '--trusted-proxies', '192.0.2.1']);
    ctx.canary = await SioCanary.connect(ctx.srv.port); // one connection
  });
  after(() => ctx.srv.stop());

  test('past the cap a connection is closed at once, with no response', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const idle = [];
      try {
        for (let i = 0; i < 3; i++) idle.push(await new RawConn(ctx.srv.port).connect());
        await sleep(100);
        for (let i = 0; i < 3; i++) {
          const extra = await new RawConn(ctx.srv.port).connect();
          try {
            extra.write(requestBytes('GET', eioPath('EIO=4&transport=polling')));
            assert.ok(await extra.waitEnd(2000), 'closed at once');
            assert.equal(extra.buf.length, 0, `no response: ${extra.buf.toString('latin1')}`);
          } finally {
            extra.destroy();
          }
        }
        await ctx.canary.check();
      } finally {
        for (const c of idle) c.destroy();
      }
      await sleep(200);
      const { sid } = await pollingHandshake(ctx.srv.port);
      assert.equal((await post(ctx.srv.port, sid, '1')).text, 'ok', 'room again once they left');
    }));

  test('websockets count too', { timeout: 20000 }, () => guarded(ctx, async () => {
    const list = [];
    try {
      for (let i = 0; i < 3; i++) list.push((await wsSession(ctx.srv.port)).ws);
      const extra = await new RawConn(ctx.srv.port).connect();
      try {
        extra.write(requestBytes('GET', eioPath('EIO=4&transport=polling')));
        assert.ok(await extra.waitEnd(2000), 'closed at once');
        assert.equal(extra.buf.length, 0, 'no response');
      } finally {
        extra.destroy();
      }
    } finally {
      for (const ws of list) ws.terminate();
    }
  }));

  test('a burst of 200 connections: all but the allowed ones closed, nothing leaked',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const conns = [];
      try {
        for (let i = 0; i < 200; i++) conns.push(await new RawConn(ctx.srv.port).connect());
        await sleep(500);
        const open = conns.filter((c) => !c.ended).length;
        assert.ok(open <= 3, `${open} left open`);
      } finally {
        for (const c of conns) c.destroy();
      }
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('cap: pending handshakes (--max-pending-handshakes 3)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--max-pending-handshakes', '3']);
    ctx.canary = await SioCanary.connect(ctx.srv.port); // joined: not pending
  });
  after(() => ctx.srv.stop());

  test('past the cap a handshake gets 503; joining a namespace makes room', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const sids = [];
      for (let i = 0; i < 3; i++) sids.push((await pollingHandshake(ctx.srv.port)).sid);
      const res = await httpRequest(ctx.srv.port, 'GET', eioPath('EIO=4&transport=polling'));
      assert.equal(res.status, 503, 'polling handshake past the cap');
      const conn = await new RawConn(ctx.srv.port).connect();
      try {
        conn.write(wsUpgradeRequest('EIO=4&transport=websocket'));
        const r = await conn.readResponse(3000, { head: true });
        assert.equal(r.status, 503, 'websocket handshake past the cap');
      } finally {
        conn.destroy();
      }
      assert.equal((await post(ctx.srv.port, sids[0], '40')).text, 'ok');
      const p = await poll(ctx.srv.port, sids[0]);
      assert.match(decodePayload(p.text)[0], /^40\{"sid"/, 'joined');
      const { sid } = await pollingHandshake(ctx.srv.port);
      sids.push(sid);
      for (const s of sids) await post(ctx.srv.port, s, '1');
    }));

  test('abandoned handshakes are freed by the connect timeout and make room', { timeout: 20000 },
    async () => {
      const srv = await startSio(['--max-pending-handshakes', '2', '--connect-timeout', '500']);
      try {
        await pollingHandshake(srv.port);
        await pollingHandshake(srv.port);
        assert.equal((await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling')))
          .status, 503);
        await sleep(1500);
        const { sid } = await pollingHandshake(srv.port);
        await post(srv.port, sid, '1');
      } finally {
        await srv.stop();
      }
    });

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('cap: namespaces per client (--max-namespaces 3)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--max-namespaces', '3', '--namespace', '/a', '--namespace', '/b',
      '--namespace', '/c']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('past the cap: connect_error "Too many namespaces", the connection stays',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { ws } = await wsSession(ctx.srv.port);
      for (const n of ['', '/a,', '/b,']) {
        ws.send(`40${n}`);
        const [r] = await ws.recv();
        assert.match(r, /^40(\/[ab],)?\{"sid"/, `joined ${n || '/'}`);
      }
      ws.send('40/c,');
      assert.deepEqual(await ws.recv(), ['44/c,{"message":"Too many namespaces"}']);
      ws.send('42["echo","still"]');
      assert.deepEqual(await ws.recv(), ['42["echo","still"]'], 'the connection stays');
      ws.send('41/a,');
      ws.send('40/c,');
      const [r] = await ws.recv();
      assert.match(r, /^40\/c,\{"sid"/, 'room again after leaving one');
      ws.close();
    }));

  test('with socket.io-client: the fourth namespace gets connect_error', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const m = new Manager(`http://127.0.0.1:${ctx.srv.port}`,
        { reconnection: false, timeout: 5000, transports: ['websocket'] });
      const sockets = ['/', '/a', '/b'].map((n) => m.socket(n));
      try {
        await Promise.all(sockets.map((s) => within(5000, new Promise((resolve, reject) => {
          s.once('connect', resolve);
          s.once('connect_error', reject);
        }), 'connect')));
        const extra = m.socket('/c');
        sockets.push(extra);
        const err = await within(5000, new Promise((resolve, reject) => {
          extra.once('connect', () => reject(new Error('connected past the cap')));
          extra.once('connect_error', resolve);
        }), 'connect_error');
        assert.equal(err.message, 'Too many namespaces');
      } finally {
        for (const s of sockets) s.disconnect();
        m.engine?.close();
      }
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('cap: rooms per socket (--max-rooms 3)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--max-rooms', '3']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('sio_socket_join() fails past the cap; leaving makes room', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const s = new SioCanary(ctx.srv.port);
      try {
        await within(5000, new Promise((r) => s.socket.once('connect', r)), 'connect');
        const join = (room, ev = 'join') => within(3000, new Promise((resolve) => {
          s.socket.emit(ev, room, (...a) => resolve(a));
        }), `${ev} ${room}`);
        let failed = null;
        let before = null;
        for (let i = 0; i < 10 && !failed; i++) {
          const r = await join(`r${i}`);
          if (r.length > 1) failed = { i, rooms: r[0], error: r[1], before };
          before = r[0];
        }
        assert.ok(failed, 'a join failed');
        assert.ok(failed.rooms.length <= 4, `rooms at the cap: ${failed.rooms}`);
        assert.deepEqual(failed.rooms, failed.before, 'the failed join added nothing');
        assert.equal(typeof failed.error, 'string', 'the error is reported');
        const again = await join('r0');
        assert.equal(again.length, 1, 'joining a room it is in still works');
        await join('r0', 'leave');
        const after1 = await join(`r${failed.i}`);
        assert.equal(after1.length, 1, `room again after leaving one: ${after1}`);
      } finally {
        s.destroy();
      }
    }));

  test('10k joins past the cap: memory flat', { timeout: 30000 }, () => guarded(ctx, async () => {
    const { ws } = await wsSession(ctx.srv.port);
    ws.send('40');
    await ws.recv();
    for (let i = 0; i < 10000; i += 500) {
      for (let j = i; j < i + 500; j++) ws.send(`42${j}["join","room-${j}-${'z'.repeat(100)}"]`);
      await ws.recv(500, 10000);
    }
    ws.close();
  }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('cap: pending acks per socket (--max-pending-acks 5)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--max-pending-acks', '5']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // A raw session joined to '/'; resolves with { ws, socketId }.
  async function joined() {
    const s = await wsSession(ctx.srv.port);
    s.ws.send('40');
    const [r] = await s.ws.recv();
    s.socketId = JSON.parse(r.slice(2)).sid;
    return s;
  }

  test('past the cap the connection is closed', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { ws, socketId } = await joined();
      // "hold" has no handler: the server never answers these acks.
      for (let i = 1; i <= 5; i++) ws.send(`42${i}["hold"]`);
      const got = await ws.recv(5);
      assert.equal(got.length, 5);
      ws.send('42["echo","five pending"]');
      assert.deepEqual(await ws.recv(), ['42["echo","five pending"]'], 'still open at the cap');
      ws.send('426["hold"]');
      await within(3000, ws.closed, 'closed past the cap');
      await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} `), 3000);
    }));

  test('answered acks do not count', { timeout: 20000 }, () => guarded(ctx, async () => {
    const { ws } = await joined();
    for (let i = 1; i <= 50; i++) {
      ws.send(`42${i}["ack",${i}]`);
      assert.deepEqual(await ws.recv(), [`43${i}[${i}]`]);
    }
    ws.close();
  }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('cap: events per second per socket (--max-events-per-second 20)', { timeout: 60000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--max-events-per-second', '20']);
      ctx.canary = await SioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    async function joined() {
      const s = await wsSession(ctx.srv.port);
      s.ws.send('40');
      const [r] = await s.ws.recv();
      s.socketId = JSON.parse(r.slice(2)).sid;
      return s;
    }

    test('a steady 10 events per second is fine', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { ws } = await joined();
        for (let i = 0; i < 25; i++) {
          ws.send(`42["echo",${i}]`);
          assert.deepEqual(await ws.recv(), [`42["echo",${i}]`]);
          await sleep(100);
        }
        ws.close();
      }));

    test('a burst of 200 events: the connection is closed', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { ws, socketId } = await joined();
        for (let i = 0; i < 200; i++) ws.send(`42["echo",${i}]`);
        await within(3000, ws.closed, 'closed');
        assert.ok(ws.messages.length <= 21, `${ws.messages.length} events answered`);
        await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} `), 3000);
      }));

    test('a burst of 100 events in one polling payload: the connection is closed',
      { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        await post(ctx.srv.port, sid, '40');
        await poll(ctx.srv.port, sid);
        const burst = Array.from({ length: 100 }, (_, i) => `42["echo",${i}]`).join('\x1e');
        await post(ctx.srv.port, sid, burst);
        for (let t = Date.now(); Date.now() - t < 3000;) {
          const r = await poll(ctx.srv.port, sid);
          if (r.status !== 200 || decodePayload(r.text).includes('1')) break;
        }
        assert.ok(ctx.srv.has(/^DISCONNECT \/ /), 'disconnected');
      }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });
