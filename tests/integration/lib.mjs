// Helpers for the Engine.IO integration tests: start the test server
// (tests/servers/eio_server.c, path in $SIOC_EIO_SERVER), read its event
// lines, and speak raw HTTP / WebSocket over node:net.
//
// $SIOC_EIO_SERVER may also name tests/servers/eio_server_ref.cjs (the same
// server on the reference engine.io) to check the tests themselves. The
// Socket.IO tests pass their own server ($SIOC_SIO_SERVER) to startServer().

import { spawn } from 'node:child_process';
import net from 'node:net';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';

export const SERVER = process.env.SIOC_EIO_SERVER;
const isScript = (file) => /\.(c|m)?js$/.test(file ?? '');
export const IS_REFERENCE = isScript(SERVER);
export const HOST = '127.0.0.1';
export const PATH = '/socket.io/';

// Rejects with `what` unless `promise` settles within `ms`.
export function within(ms, promise, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything opened by the helpers, so that closeAll() (run it in a
// top-level after()) leaves no handle that would keep the process alive
// when a test failed half-way.
const openHandles = new Set();
const servers = new Set();

export async function closeAll() {
  for (const o of openHandles) {
    try {
      o.destroy();
    } catch {
      // already gone
    }
  }
  openHandles.clear();
  for (const srv of servers) {
    if (srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
  }
}

// Registers something with a destroy() method for closeAll().
export function track(o) {
  openHandles.add(o);
  return o;
}

process.on('exit', () => {
  for (const srv of servers) {
    if (srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
  }
});

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A running test server. Use `await startServer([...flags])` and
// `await srv.stop()` (asserts a clean exit) in a finally block or t.after().
export class TestServer {
  constructor(args, server = SERVER) {
    this.args = args;
    this.server = server;
    this.lines = [];
    this.stderr = '';
    this.waiters = [];
    this.exited = null;
  }

  async start() {
    assert.ok(this.server, 'the test server must be named ($SIOC_EIO_SERVER or $SIOC_SIO_SERVER)');
    const [cmd, argv] = isScript(this.server)
      ? [process.execPath, [this.server, ...this.args]]
      : [this.server, this.args];
    this.proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    let partial = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        this.lines.push(line);
        this._wake();
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.proc.on('exit', () => this._wake());
    const m = await this.waitFor(/^PORT (\d+)$/, 10000, 'the server prints PORT');
    this.port = Number(m[1]);
    return this;
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  // Resolves with the match of the first line (from the start) matching
  // `re`; rejects after `ms` or when the server exits.
  waitFor(re, ms = 5000, what = String(re)) {
    return within(ms, new Promise((resolve, reject) => {
      const check = () => {
        for (const l of this.lines) {
          const m = re.exec(l);
          if (m) {
            this.waiters = this.waiters.filter((w) => w !== check);
            resolve(m);
            return;
          }
        }
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`server exited while waiting for ${what}; stderr:\n${this.stderr}`));
        }
      };
      this.waiters.push(check);
      check();
    }), `${what} (lines so far: ${JSON.stringify(this.lines)})`);
  }

  // Resolves with the close reason of session `sid`.
  async waitClose(sid, ms = 5000) {
    const m = await this.waitFor(new RegExp(`^CLOSE ${escapeRe(sid)} (.*)$`), ms,
      `CLOSE ${sid}`);
    return m[1];
  }

  has(re) {
    return this.lines.some((l) => re.test(l));
  }

  hasClosed(sid) {
    return this.has(new RegExp(`^CLOSE ${escapeRe(sid)} `));
  }

  // SIGTERM, then asserts exit code 0 and a stderr free of sanitizer reports.
  async stop() {
    if (!this.proc || this.stopped) return;
    this.stopped = true;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
    }
    let res;
    try {
      res = await within(10000, this.exited, 'the server exits after SIGTERM');
    } catch (e) {
      this.proc.kill('SIGKILL');
      throw e;
    }
    for (const bad of ['AddressSanitizer', 'LeakSanitizer', 'runtime error']) {
      assert.ok(!this.stderr.includes(bad), `server stderr has "${bad}":\n${this.stderr}`);
    }
    assert.deepEqual(res, { code: 0, signal: null },
      `server exit status after SIGTERM; stderr:\n${this.stderr}`);
  }
}

// `server` is the program to run (a .cjs/.mjs/.js file runs under node).
export async function startServer(args = [], server = SERVER) {
  const srv = new TestServer(args, server);
  await srv.start();
  return srv;
}

// The last test of a suite sharing one server: stopping it is a test case of
// its own, so an unclean exit counts as a failed test (the suite's after()
// hook stops it too, as a no-op then, when this test was filtered out).
export const STOP_TEST = 'the server exits cleanly on SIGTERM';

// Runs `fn(srv)` with a fresh server, always stopping it afterwards.
export async function withServer(args, fn) {
  const srv = await startServer(args);
  let failed = null;
  try {
    await fn(srv);
  } catch (e) {
    failed = e;
  }
  try {
    await srv.stop();
  } catch (e) {
    if (!failed) failed = e;
  }
  if (failed) throw failed;
}

/* ------------------------------------------------------------------ */
/* Raw HTTP over a TCP connection                                      */
/* ------------------------------------------------------------------ */

// One TCP connection; write exact bytes, read HTTP responses and frames.
export class RawConn {
  constructor(port) {
    this.port = port;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.waiters = [];
  }

  connect() {
    track(this);
    return within(5000, new Promise((resolve, reject) => {
      this.sock = net.connect({ host: HOST, port: this.port }, () => resolve(this));
      this.sock.on('error', (e) => {
        this.error = e;
        this._wake();
        reject(e);
      });
      this.sock.on('data', (d) => {
        this.buf = Buffer.concat([this.buf, d]);
        this._wake();
      });
      this.sock.on('end', () => {
        this.ended = true;
        this._wake();
      });
      this.sock.on('close', () => {
        this.ended = true;
        this._wake();
      });
    }), 'TCP connect');
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  write(data) {
    this.sock.write(data);
  }

  destroy() {
    this.sock?.destroy();
    openHandles.delete(this);
  }

  // Waits until `parse(buf)` returns non-undefined; `parse` may consume
  // bytes by returning { value, used }.
  _until(parse, ms, what) {
    return within(ms, new Promise((resolve, reject) => {
      const check = () => {
        let r;
        try {
          r = parse(this.buf, this.ended);
        } catch (e) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(e);
          return;
        }
        if (r !== undefined) {
          this.waiters = this.waiters.filter((w) => w !== check);
          this.buf = this.buf.subarray(r.used);
          resolve(r.value);
        } else if (this.ended) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`connection closed while waiting for ${what}` +
            ` (unread: ${JSON.stringify(this.buf.toString('latin1'))})`));
        }
      };
      this.waiters.push(check);
      check();
    }), what);
  }

  // Reads one HTTP response: { status, headers (lower-case names; repeated
  // ones joined with ", "), rawHead, body (Buffer), text }.
  readResponse(ms = 5000, { head = false } = {}) {
    return this._until((buf, ended) => parseResponse(buf, ended, head), ms, 'an HTTP response');
  }

  // Resolves true once the peer has closed the connection (within `ms`),
  // false otherwise.
  async waitEnd(ms = 3000) {
    try {
      await this._until((buf, ended) => (ended ? { value: true, used: 0 } : undefined), ms,
        'connection close');
      return true;
    } catch {
      return false;
    }
  }

  // Reads one WebSocket frame sent by the server.
  readFrame(ms = 5000) {
    return this._until((buf) => parseFrame(buf), ms, 'a WebSocket frame');
  }
}

function parseResponse(buf, ended, headOnly) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const rawHead = buf.subarray(0, end).toString('latin1');
  const [statusLine, ...hl] = rawHead.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const status = Number(m[1]);
  const headers = {};
  const headerList = [];
  for (const l of hl) {
    const c = l.indexOf(':');
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    headerList.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let pos = end + 4;
  let body;
  if (headOnly || status === 101 || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return undefined;
      const size = parseInt(buf.subarray(pos, le).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        // "0\r\n", optional trailer lines, then an empty line.
        const te = buf.indexOf('\r\n\r\n', le);
        if (te < 0) return undefined;
        pos = te + 4;
        break;
      }
      if (buf.length < le + 2 + size + 2) return undefined;
      parts.push(buf.subarray(le + 2, le + 2 + size));
      pos = le + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return undefined;
    body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    // Delimited by the close of the connection.
    if (!ended) return undefined;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  const value = {
    status, reason: m[2] ?? '', headers, headerList, rawHead, body, text: body.toString('utf8'),
  };
  return { value, used: pos };
}

// Parses a server-to-client frame: { fin, opcode, payload, text, closeCode }.
function parseFrame(buf) {
  if (buf.length < 2) return undefined;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let pos = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    pos = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    pos = 10;
  }
  let mask = null;
  if (masked) {
    if (buf.length < pos + 4) return undefined;
    mask = buf.subarray(pos, pos + 4);
    pos += 4;
  }
  if (buf.length < pos + len) return undefined;
  const payload = Buffer.from(buf.subarray(pos, pos + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  const value = { fin, opcode, payload, text: payload.toString('utf8') };
  if (opcode === 8) value.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
  return { value, used: pos + len };
}

// Encodes a masked client frame (opcode 1 text, 2 binary, 8 close, ...).
export function wsFrame(opcode, payload, { fin = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  let head;
  if (data.length < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
  } else if (data.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  const mask = crypto.randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

// The bytes of a WebSocket upgrade request for `query`.
export function wsUpgradeRequest(query, extraHeaders = '') {
  const key = crypto.randomBytes(16).toString('base64');
  return `GET ${PATH}?${query} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    `${extraHeaders}\r\n`;
}

// Sends one request on a new connection and reads the response.
export async function httpRequest(port, method, target, { headers = {}, body, ms = 5000 } = {}) {
  const conn = await new RawConn(port).connect();
  try {
    conn.write(requestBytes(method, target, headers, body));
    return await conn.readResponse(ms);
  } finally {
    conn.destroy();
  }
}

export function requestBytes(method, target, headers = {}, body) {
  const b = body === undefined ? null : (Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
  let h = `${method} ${target} HTTP/1.1\r\nHost: ${HOST}\r\n`;
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (b && !lower.includes('content-length')) h += `Content-Length: ${b.length}\r\n`;
  if (b && !lower.includes('content-type')) h += 'Content-Type: text/plain;charset=UTF-8\r\n';
  h += '\r\n';
  return b ? Buffer.concat([Buffer.from(h, 'latin1'), b]) : Buffer.from(h, 'latin1');
}

export const eioPath = (query) => `${PATH}?${query}`;

// Polling handshake; returns { sid, open, res }.
export async function pollingHandshake(port, query = '') {
  const res = await httpRequest(port, 'GET',
    eioPath(`EIO=4&transport=polling${query ? `&${query}` : ''}`));
  assert.equal(res.status, 200, `handshake status (body ${res.text})`);
  assert.equal(res.text[0], '0', `handshake body starts with the open packet: ${res.text}`);
  const open = JSON.parse(res.text.slice(1));
  return { sid: open.sid, open, res };
}

export const poll = (port, sid, ms = 5000) =>
  httpRequest(port, 'GET', eioPath(`EIO=4&transport=polling&sid=${sid}`), { ms });

export const post = (port, sid, body, headers = {}) =>
  httpRequest(port, 'POST', eioPath(`EIO=4&transport=polling&sid=${sid}`), { body, headers });

// Decodes a v4 polling payload into packets: strings like "4hello", or
// Buffers for binary ("b..." base64).
export function decodePayload(text) {
  return text.split('\x1e').map((p) => (p[0] === 'b' ? Buffer.from(p.slice(1), 'base64') : p));
}

/* ------------------------------------------------------------------ */
/* WebSocket client (the `ws` package)                                 */
/* ------------------------------------------------------------------ */

// A `ws` WebSocket with a queue of received messages (strings for text
// frames, Buffers for binary ones) and a promise of its close code.
export class WsClient {
  constructor(port, query, options = {}) {
    this.messages = [];
    this.waiters = [];
    this.closeCode = null;
    this.ws = new WebSocket(`ws://${HOST}:${port}${PATH}?${query}`, { perMessageDeflate: false, ...options });
    track(this);
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
        for (const w of this.waiters.slice()) w();
      });
    });
    this.ws.on('error', (e) => {
      this.error = e;
    });
    this.ws.on('unexpected-response', (req, res) => {
      this.unexpected = res.statusCode;
      res.resume();
      this.ws.terminate?.();
    });
    this.ws.on('message', (data, isBinary) => {
      this.messages.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
      for (const w of this.waiters.slice()) w();
    });
  }

  open(ms = 5000) {
    return within(ms, new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.closed.then((code) => reject(new Error(`websocket closed before open (${code}, ` +
        `status ${this.unexpected}, ${this.error?.message})`)));
    }), 'websocket open');
  }

  recv(n = 1, ms = 5000) {
    return within(ms, new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length >= n) {
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(this.messages.splice(0, n));
        } else if (this.closeCode !== null) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`websocket closed (${this.closeCode}) with ${this.messages.length}/${n} messages`));
        }
      };
      this.waiters.push(check);
      check();
    }), `${n} websocket message(s) (have ${JSON.stringify(this.messages)})`);
  }

  send(data, opts) {
    this.ws.send(data, opts);
  }

  close() {
    this.ws.close();
  }

  terminate() {
    this.ws.terminate();
  }

  destroy() {
    this.ws.terminate();
  }
}

// Opens a websocket-only session; returns { ws, sid, open }.
export async function wsSession(port, query = '') {
  const ws = new WsClient(port, `EIO=4&transport=websocket${query ? `&${query}` : ''}`);
  await ws.open();
  const [first] = await ws.recv();
  assert.equal(first[0], '0', `first websocket message is the open packet: ${first}`);
  const open = JSON.parse(first.slice(1));
  return { ws, sid: open.sid, open };
}

// Upgrades polling session `sid` to websocket (2probe, 3probe, 5); returns
// the websocket.
export async function upgradeSession(port, sid) {
  const ws = new WsClient(port, `EIO=4&transport=websocket&sid=${sid}`);
  await ws.open();
  ws.send('2probe');
  assert.deepEqual(await ws.recv(), ['3probe'], 'probe answer');
  ws.send('5');
  return ws;
}
