// Helpers for the attack suite (tests/attack/): every attack runs against a
// server that already serves a "canary" client, and afterwards checks that
// the server's open fds and resident memory are back to their baseline and
// that the canary still gets its echo.
//
// The servers are the integration test servers (tests/servers/eio_server.c
// in $SIOC_EIO_SERVER, sio_server.c in $SIOC_SIO_SERVER). Under ASan (the
// CI build) freed memory sits in a quarantine and inflates RSS: the
// quarantine is turned off for the servers these tests start, and freed
// memory is handed back to the system quickly, so that the RSS checks mean
// something there too. Leaks proper are LeakSanitizer's job: every server
// is stopped with srv.stop(), which fails on any sanitizer report.

import fs from 'node:fs';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { Socket as EioSocket } from 'engine.io-client';
import { io } from 'socket.io-client';
import {
  HOST, PATH, RawConn, startServer, sleep, track, within, wsFrame, wsUpgradeRequest,
} from '../integration/lib.mjs';

export * from '../integration/lib.mjs';

{
  const extra = 'quarantine_size_mb=0:thread_local_quarantine_size_kb=0:' +
    'allocator_release_to_os_interval_ms=50';
  const cur = process.env.ASAN_OPTIONS;
  process.env.ASAN_OPTIONS = cur ? `${cur}:${extra}` : extra;
}

export const SIO_SERVER = process.env.SIOC_SIO_SERVER;
export const EIO_SERVER = process.env.SIOC_EIO_SERVER;

export const startEio = (args = []) => startServer(args, EIO_SERVER);
export const startSio = (args = []) => startServer(args, SIO_SERVER);

/* ------------------------------------------------------------------ */
/* The server process: fds, memory, CPU                                */
/* ------------------------------------------------------------------ */

const CLK_TCK = 100; // Linux USER_HZ

// { rss, hwm (KiB), fds, cpu (ms of user + system time) } of process pid.
export function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), fds, cpu };
}

// Resets the process's peak RSS (VmHWM) to its current RSS.
export function resetPeak(pid) {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

// The fd numbers the server has open, with what they point at (for
// messages).
function fdList(pid) {
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(`${fd}->${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    } catch {
      // closed meanwhile
    }
  }
  return out.join(' ');
}

// A snapshot of the server once its fd count has been steady for 300 ms
// (connections of an earlier test may still be draining).
export async function snapshot(srv, ms = 5000) {
  const t0 = Date.now();
  let last = procStats(srv.proc.pid);
  let since = Date.now();
  while (Date.now() - t0 < ms) {
    await sleep(50);
    const s = procStats(srv.proc.pid);
    if (s.fds !== last.fds) since = Date.now();
    last = s;
    if (Date.now() - since >= 300) break;
  }
  return last;
}

// Default slack on RSS after an attack: 4 MiB or 10 %, whichever is more
// (allocator caches, and ASan's shadow memory).
export function rssSlack(base, slackKb = 4096) {
  return Math.max(slackKb, Math.round(base.rss * 0.1));
}

// Waits (up to settleMs) for the server's fds to be back to base.fds and
// its RSS within the slack of base.rss, then asserts both.
export async function expectBaseline(srv, base, { settleMs = 3000, slackKb = 4096 } = {}) {
  const limit = base.rss + rssSlack(base, slackKb);
  const t0 = Date.now();
  let s;
  for (;;) {
    s = procStats(srv.proc.pid);
    if (s.fds <= base.fds && s.rss <= limit) break;
    if (Date.now() - t0 > settleMs) break;
    await sleep(50);
  }
  assert.ok(s.fds <= base.fds,
    `open fds back to the baseline within ${settleMs} ms: ${s.fds} now, ${base.fds} before ` +
    `(${fdList(srv.proc.pid)})`);
  assert.ok(s.rss <= limit,
    `RSS back near the baseline: ${s.rss} KiB now, ${base.rss} KiB before (limit ${limit} KiB)`);
  return s;
}

/* ------------------------------------------------------------------ */
/* Canaries: clients connected before an attack that must still work   */
/* ------------------------------------------------------------------ */

// engine.io-client over websocket, against eio_server (echoes messages).
export class EioCanary {
  constructor(port, transports = ['websocket']) {
    this.messages = [];
    this.waiters = [];
    this.closedReason = null;
    this.n = 0;
    this.socket = new EioSocket(`http://${HOST}:${port}`, { path: PATH, transports });
    track(this);
    this.socket.on('message', (d) => {
      this.messages.push(d);
      for (const w of this.waiters.slice()) w();
    });
    this.socket.on('close', (reason) => {
      this.closedReason = reason;
      for (const w of this.waiters.slice()) w();
    });
  }

  static async connect(port, transports) {
    const c = new EioCanary(port, transports);
    await within(5000, new Promise((resolve, reject) => {
      c.socket.once('open', resolve);
      c.socket.once('error', reject);
    }), 'canary open');
    await c.check();
    return c;
  }

  // Sends a message and waits for its echo.
  async check(ms = 5000) {
    assert.equal(this.closedReason, null, `canary closed: ${this.closedReason}`);
    const text = `canary ${++this.n}`;
    this.socket.send(text);
    await within(ms, new Promise((resolve, reject) => {
      const look = () => {
        const i = this.messages.indexOf(text);
        if (i >= 0) {
          this.messages.splice(0, i + 1);
          this.waiters = this.waiters.filter((w) => w !== look);
          resolve();
        } else if (this.closedReason !== null) {
          this.waiters = this.waiters.filter((w) => w !== look);
          reject(new Error(`canary closed: ${this.closedReason}`));
        }
      };
      this.waiters.push(look);
      look();
    }), 'the canary gets its echo');
  }

  destroy() {
    this.socket.close();
  }
}

// socket.io-client over websocket, against sio_server ("ack" answers).
export class SioCanary {
  constructor(port, nsp = '/', transports = ['websocket']) {
    this.n = 0;
    this.disconnected = null;
    this.socket = io(`http://${HOST}:${port}${nsp === '/' ? '' : nsp}`,
      { forceNew: true, reconnection: false, timeout: 5000, transports });
    this.socket.on('disconnect', (reason) => {
      this.disconnected = reason;
    });
    track(this);
  }

  static async connect(port, nsp, transports) {
    const c = new SioCanary(port, nsp, transports);
    await within(5000, new Promise((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.socket.once('connect_error', reject);
    }), 'canary connect');
    await c.check();
    return c;
  }

  async check(ms = 5000) {
    assert.equal(this.disconnected, null, `canary disconnected: ${this.disconnected}`);
    const text = `canary ${++this.n}`;
    const reply = await within(ms, new Promise((resolve) => {
      this.socket.emit('ack', text, (...args) => resolve(args));
    }), 'the canary gets its ack');
    assert.deepEqual(reply, [text], 'canary ack');
  }

  destroy() {
    this.socket.io.reconnection(false);
    this.socket.disconnect();
  }
}

// Runs `attack` between a baseline snapshot and the checks: fds and RSS
// back to the baseline, the canary still answering. Returns what attack
// returned. With opts.warm the attack runs once before the baseline is
// taken, for attacks whose memory the allocator keeps cached after the
// first run (what is measured then is growth from repeating it: a leak).
export async function guarded(ctx, attack, opts = {}) {
  if (opts.warm) {
    await attack(await snapshot(ctx.srv));
    await expectBaseline(ctx.srv, await snapshot(ctx.srv), { ...opts, slackKb: 1 << 30 });
  }
  const base = await snapshot(ctx.srv);
  const r = await attack(base);
  await expectBaseline(ctx.srv, base, opts);
  if (ctx.canary) await ctx.canary.check();
  return r;
}

/* ------------------------------------------------------------------ */
/* Raw bytes                                                           */
/* ------------------------------------------------------------------ */

// A client frame with explicit first byte (FIN, RSV, opcode) and an
// optional mask; len may lie about the payload (`declared`).
export function rawFrame(b0, payload = Buffer.alloc(0), { mask = true, declared } = {}) {
  const data = Buffer.from(payload);
  const len = declared ?? data.length;
  let head;
  if (len < 126) {
    head = Buffer.from([b0, (mask ? 0x80 : 0) | len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([head, data]);
  const key = crypto.randomBytes(4);
  for (let i = 0; i < data.length; i++) data[i] ^= key[i & 3];
  return Buffer.concat([head, key, data]);
}

// A raw websocket: the upgrade done by hand over node:net. Resolves with
// the RawConn once the 101 and the open packet (when `open`) are read;
// .open holds the open packet's JSON.
export async function rawWebSocket(port, query = 'EIO=4&transport=websocket', { open = true } = {}) {
  const conn = await new RawConn(port).connect();
  conn.write(wsUpgradeRequest(query));
  const res = await conn.readResponse(5000, { head: true });
  assert.equal(res.status, 101, 'switching protocols');
  if (open) {
    const f = await conn.readFrame();
    assert.equal(f.text[0], '0', `open packet: ${f.text}`);
    conn.open = JSON.parse(f.text.slice(1));
  }
  return conn;
}

// Reads frames until a close frame (returns its code, 1005 when it has
// none) or the end of the connection without one (returns 1006).
export async function closeCodeOf(conn, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const left = ms - (Date.now() - t0);
    if (left <= 0) throw new Error(`no close within ${ms} ms`);
    let f;
    try {
      f = await conn.readFrame(left);
    } catch (e) {
      if (conn.ended) return 1006;
      throw e;
    }
    if (f.opcode === 8) return f.closeCode;
  }
}

// Answers a server's close frame as a client does (echoing the code),
// then waits for the server to close the TCP connection.
export async function ackCloseAndEnd(conn, code = 1000, ms = 3000) {
  if (!conn.ended) {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code === 1005 || code === 1006 ? 1000 : code);
    try {
      conn.write(wsFrame(8, p));
    } catch {
      // already gone
    }
  }
  return conn.waitEnd(ms);
}

// Writes `data` in pieces of `size` bytes, stopping when the peer closed
// (resolves with the bytes written) or when done. Respects backpressure.
export async function pump(conn, data, size = 65536) {
  let off = 0;
  while (off < data.length && !conn.ended) {
    const piece = data.subarray(off, off + size);
    off += piece.length;
    const ok = conn.sock.write(piece);
    if (!ok) {
      await Promise.race([
        new Promise((r) => conn.sock.once('drain', r)),
        new Promise((r) => conn.sock.once('close', r)),
        sleep(2000),
      ]);
    }
  }
  return off;
}
