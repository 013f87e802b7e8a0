// Soak: hundreds of socket.io-client sockets (polling, websocket and the
// default upgrade, in turn) against the Socket.IO test server
// (tests/servers/sio_server.c, path in $SIOC_SIO_SERVER). Each joins a room
// and chats (emits with acks, messages to its room, now and then a
// broadcast); in waves, a quarter of them leave (client disconnect, server
// disconnect, connection closed by the server or by the client) and come
// back at once. At the end everyone sends a last emit, waits for its ack and
// leaves. Checked:
//  - no client saw an unexpected error (connect_error, ack timeout, wrong
//    ack, disconnect it did not ask for) and every last emit was acked;
//  - the server's open fds (/proc/PID/fd) are back to the baseline and its
//    resident memory (VmRSS) grew by at most SOAK_RSS_SLACK_MIB. The
//    baseline is taken after a warm-up round (everyone connected, chatted
//    and left), so the allocator's working set is already there;
//  - the server exits cleanly (and, under ASan, without a report).
//
// Length: SOAK_SECONDS of waves (default 30: about 40 s in all, the CI run);
// SOAK_CLIENTS clients (default 240). A long run, by hand, for example an
// hour with 300 clients on a plain build:
//   meson setup build && meson compile -C build
//   SOAK_SECONDS=3600 SOAK_CLIENTS=300 meson test -C build --suite soak \
//     --timeout-multiplier 0 --print-errorlogs -v
// (a multiplier of 0 lifts meson's time limit). It prints the server's RSS
// and fd count every SOAK_SAMPLE_SECONDS (default 5) as test diagnostics.
//
// Under ASan (the CI build) freed memory waits in a quarantine: it is turned
// off for this server (ASAN_OPTIONS quarantine_size_mb=0 ...) so that RSS
// means something there too.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { io } from 'socket.io-client';
import { closeAll, sleep, within } from '../integration/lib.mjs';
import { startSio, url, trackSocket } from '../integration/sio_lib.mjs';

{
  const extra = 'quarantine_size_mb=0:thread_local_quarantine_size_kb=0:' +
    'allocator_release_to_os_interval_ms=50';
  const cur = process.env.ASAN_OPTIONS;
  process.env.ASAN_OPTIONS = cur ? `${cur}:${extra}` : extra;
}

const num = (name, dflt) => {
  const v = Number(process.env[name] ?? dflt);
  assert.ok(Number.isFinite(v) && v >= 0, `${name} must be a number`);
  return v;
};
const SECONDS = num('SOAK_SECONDS', 30);
const CLIENTS = num('SOAK_CLIENTS', 240);
const RSS_SLACK_KIB = num('SOAK_RSS_SLACK_MIB', 8) * 1024;
const SAMPLE_MS = num('SOAK_SAMPLE_SECONDS', 5) * 1000;
const ROOMS = 10;
const COHORTS = 4;        // a wave moves one cohort out and back in
const WAVE_MS = 2500;     // a wave every WAVE_MS
const ACK_MS = 30000;     // generous: ASan on a busy machine
const CONNECT_MS = 30000;

after(closeAll);

// { rss (KiB), fds } of process pid.
function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  return { rss, fds };
}

const rand = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo));
const TRANSPORTS = [['polling'], ['websocket'], undefined];

// How a client leaves, and the disconnect reasons its socket may then
// report. When the server closes the connection, a polling client that has
// a request of its own in flight (a pong, say) may see that request fail
// before it reads the close packet: "transport error" is as good there.
const LEAVES = [
  ['client', ['io client disconnect']],                    // socket.disconnect()
  ['server', ['io server disconnect']],                    // "disconnect-me"
  ['close-conn', ['transport close', 'transport error']],  // the server closes it
  ['engine-close', ['forced close']],                      // the client closes it
];

class Chatter {
  constructor(srv, i, errors) {
    this.srv = srv;
    this.i = i;
    this.transports = TRANSPORTS[i % TRANSPORTS.length];
    this.room = `room-${i % ROOMS}`;
    this.errors = errors;
    this.seq = 0;
    this.lastSent = -1;
    this.lastAcked = -1;
    this.connects = 0;
    this.waves = 0; // times it left and came back in a wave
    this.received = 0;
    this.socket = null;
    this.leaving = null; // the disconnect reasons expected while leaving
    this.dead = false;   // failed to connect: out of the game
  }

  error(what) {
    this.errors.push(`client ${this.i} (${this.transports ?? 'default'}): ${what}`);
  }

  // Connects (a new manager each time), joins the room.
  async connect() {
    const s = trackSocket(io(url(this.srv.port), {
      forceNew: true, reconnection: false, timeout: CONNECT_MS,
      ...(this.transports ? { transports: this.transports } : {}),
    }));
    this.socket = s;
    s.on('connect_error', (e) => {
      const d = e.description;
      this.error(`connect_error ${e.message} ${d?.message ?? d?.error?.message ?? ''} ` +
        `${e.context?.statusCode ?? ''}`);
    });
    s.on('disconnect', (reason) => {
      if (this.socket !== s) return;
      if (this.leaving === null) this.error(`unexpected disconnect: ${reason}`);
      else if (!this.leaving.includes(reason)) {
        this.error(`disconnect "${reason}", expected "${this.leaving.join('" or "')}"`);
      }
      this.leaving = null;
    });
    s.onAny(() => {
      this.received++;
    });
    const ok = await within(CONNECT_MS + 5000, new Promise((resolve) => {
      s.once('connect', () => resolve(true));
      s.once('connect_error', () => resolve(false));
    }), 'connect');
    if (!ok) {
      // recorded by the connect_error handler; this client stops here
      this.dead = true;
      return false;
    }
    this.connects++;
    const [rooms] = await this.emitAck('join', this.room);
    if (!Array.isArray(rooms) || !rooms.includes(this.room)) this.error(`join: ${JSON.stringify(rooms)}`);
    return true;
  }

  // Emits with an ack; resolves with the reply's arguments.
  emitAck(event, ...args) {
    const s = this.socket;
    const seq = this.seq++;
    this.lastSent = seq;
    return new Promise((resolve) => {
      s.timeout(ACK_MS).emit(event, ...args, (err, ...reply) => {
        if (err) {
          this.error(`no ack for "${event}" #${seq}: ${err.message}`);
        } else {
          this.lastAcked = Math.max(this.lastAcked, seq);
        }
        resolve(reply);
      });
    });
  }

  async chatOnce() {
    const r = Math.random();
    if (r < 0.7) {
      const payload = { c: this.i, n: this.seq, s: crypto.randomBytes(rand(1, 200)).toString('base64') };
      const reply = await this.emitAck('ack', payload);
      try {
        assert.deepEqual(reply, [payload]);
      } catch {
        this.error(`wrong ack: ${JSON.stringify(reply)} for ${JSON.stringify(payload)}`);
      }
    } else if (r < 0.98) {
      await this.emitAck('to-room', this.room, { from: this.i, n: this.seq });
    } else {
      await this.emitAck('broadcast', { from: this.i, n: this.seq });
    }
  }

  async chatUntil(t) {
    while (Date.now() < t) {
      await this.chatOnce();
      await sleep(Math.max(0, Math.min(rand(500, 1500), t - Date.now())));
    }
  }

  // Leaves in one of the LEAVES ways (every pending ack is settled first:
  // chatOnce() awaits its own), and waits for the disconnect.
  async leave(k) {
    const [how, reasons] = LEAVES[k % LEAVES.length];
    const s = this.socket;
    const gone = within(ACK_MS, new Promise((resolve) => s.once('disconnect', resolve)),
      `disconnect (${how})`);
    this.leaving = reasons;
    if (how === 'client') s.disconnect();
    else if (how === 'server') s.emit('disconnect-me', false);
    else if (how === 'close-conn') s.emit('close-conn');
    else s.io.engine.close();
    try {
      await gone;
    } catch (e) {
      this.error(e.message);
    }
    s.io.reconnection(false);
    s.disconnect();
  }
}

test(`soak: ${CLIENTS} clients, ${SECONDS} s of waves; fds and RSS flat`,
  { timeout: (SECONDS + 240) * 1000 }, async (t) => {
    const srv = await startSio(['--max-connections-per-ip', '0',
      '--ping-interval', '5000', '--ping-timeout', '20000']);
    const pid = srv.proc.pid;
    const errors = [];
    const clients = Array.from({ length: CLIENTS }, (_, i) => new Chatter(srv, i, errors));
    const lineCount = (prefix) => srv.lines.reduce((n, l) => n + (l.startsWith(prefix) ? 1 : 0), 0);

    // Waits until every socket the server saw connect has left and the fd
    // count is down to `fds` (or stable when fds is undefined).
    async function settle(fds) {
      await within(60000, (async () => {
        let last = -1;
        for (;;) {
          const conn = lineCount('CONNECT ');
          const disc = lineCount('DISCONNECT ');
          const now = procStats(pid).fds;
          if (conn === disc && (fds === undefined ? now === last : now <= fds)) return;
          last = now;
          await sleep(250);
        }
      })(), `the server lets go of every client (fds ${procStats(pid).fds}, baseline ${fds})`);
    }

    // Warm-up: everyone connects (staggered over 3 s), chats, leaves.
    await Promise.all(clients.map(async (c) => {
      await sleep(rand(0, 3000));
      if (!await c.connect()) return;
      await c.chatUntil(Date.now() + 3000);
      await c.leave(0);
    }));
    await settle();
    await sleep(1000);
    const base = procStats(pid);
    t.diagnostic(`baseline after warm-up: rss ${base.rss} KiB, ${base.fds} fds`);
    assert.deepEqual(errors, [], 'no error during the warm-up');

    // Waves: cohort k leaves at the waves w with w % COHORTS == k and comes
    // straight back; everyone else goes on chatting.
    const t0 = Date.now();
    const end = t0 + SECONDS * 1000;
    const sampler = setInterval(() => {
      const st = procStats(pid);
      t.diagnostic(`t+${Math.round((Date.now() - t0) / 1000)} s: rss ${st.rss} KiB, ` +
        `${st.fds} fds, ${lineCount('CONNECT ')} connects`);
    }, SAMPLE_MS);
    let steady = null;
    try {
      await Promise.all(clients.map(async (c) => {
        await sleep(rand(0, 2000));
        if (!await c.connect()) return;
        const cohort = c.i % COHORTS;
        let w = cohort + 1;
        for (;;) {
          const at = t0 + w * WAVE_MS + rand(0, 300);
          if (at >= end) break;
          await c.chatUntil(at);
          await c.leave(Math.floor(w / COHORTS) + c.i);
          await sleep(rand(0, 500));
          if (!await c.connect()) return;
          c.waves++;
          w += COHORTS;
        }
        await c.chatUntil(end);
      }));
      steady = procStats(pid);
      // The last word: one more acked emit each, then everyone leaves.
      await Promise.all(clients.filter((c) => !c.dead).map(async (c) => {
        const payload = { last: c.i, n: c.seq };
        const reply = await c.emitAck('ack', payload);
        if (JSON.stringify(reply) !== JSON.stringify([payload])) c.error(`last ack ${JSON.stringify(reply)}`);
        await c.leave(0);
      }));
    } finally {
      clearInterval(sampler);
    }
    t.diagnostic(`with everyone in, at the end: rss ${steady.rss} KiB, ${steady.fds} fds`);

    await settle(base.fds);
    await sleep(1000);
    const fin = procStats(pid);
    const connects = clients.reduce((n, c) => n + c.connects, 0);
    const waves = clients.reduce((n, c) => n + c.waves, 0);
    const received = clients.reduce((n, c) => n + c.received, 0);
    const emits = clients.reduce((n, c) => n + c.seq, 0);
    t.diagnostic(`after everyone left: rss ${fin.rss} KiB (${fin.rss - base.rss >= 0 ? '+' : ''}` +
      `${fin.rss - base.rss}), ${fin.fds} fds; ${connects} connections (${waves} in waves), ` +
      `${emits} acked emits, ` +
      `${received} events received`);

    assert.deepEqual(errors.slice(0, 20), [], `${errors.length} client errors`);
    for (const c of clients) {
      assert.equal(c.lastAcked, c.lastSent, `client ${c.i}: its last emit was acked`);
    }
    if (SECONDS * 1000 > COHORTS * WAVE_MS + 300) {
      assert.ok(waves >= CLIENTS, `every client left and came back at least once (${waves})`);
    }
    assert.equal(fin.fds, base.fds, 'the server\'s fds are back to the baseline');
    assert.ok(fin.rss - base.rss <= RSS_SLACK_KIB,
      `RSS grew by ${fin.rss - base.rss} KiB (at most ${RSS_SLACK_KIB})`);
    assert.ok(!/^sio_server: /m.test(srv.stderr), `server reported errors:\n${srv.stderr}`);
    await srv.stop();
  });
