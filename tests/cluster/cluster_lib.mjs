// Helpers for the cluster tests (tests/cluster/CONTROL.md): a real
// redis-server on a free loopback port (no persistence, its own temp dir,
// killable and restartable), cluster nodes of either kind (sioc:
// $SIOC_CLUSTER_SERVER, tests/servers/cluster_server.c; node:
// tests/cluster/node_server.cjs), socket.io-client 4.8 clients over
// websocket or polling, and bounded waits. Every wait has a time limit and
// closeCluster() (run it in an after() hook) stops everything started here.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Manager, io } from 'socket.io-client';
import { createClient } from 'redis';
import { closeAll, sleep, TestServer, track, within } from '../integration/lib.mjs';
import { freePort } from '../proxy/nginx.mjs';

export { sleep, within };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE_SERVER = path.join(HERE, 'node_server.cjs');
export const SIOC_SERVER = process.env.SIOC_CLUSTER_SERVER || null;
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

// The node kinds of the cluster under test: $SIOC_CLUSTER_KINDS
// ("sioc,sioc,node"), by default two sioc nodes and a Node one when a sioc
// node is there to run, three Node nodes otherwise.
export function clusterKinds(n = 3) {
  const env = process.env.SIOC_CLUSTER_KINDS;
  let kinds;
  if (env) kinds = env.split(',').map((k) => k.trim()).filter(Boolean);
  else kinds = SIOC_SERVER ? ['sioc', 'sioc', 'node'] : ['node', 'node', 'node'];
  for (const k of kinds) assert.ok(k === 'sioc' || k === 'node', `node kind ${k}`);
  if (kinds.includes('sioc')) {
    assert.ok(SIOC_SERVER, 'a sioc node needs $SIOC_CLUSTER_SERVER');
  }
  while (kinds.length < n) kinds.push(kinds[kinds.length - 1]);
  return kinds.slice(0, n);
}

// The one node kind a single-node test runs against: $SIOC_CLUSTER_KIND, or
// sioc when there is one.
export const singleKind = () => process.env.SIOC_CLUSTER_KIND ?? (SIOC_SERVER ? 'sioc' : 'node');

/* ------------------------------------------------------------------ */
/* redis-server                                                        */
/* ------------------------------------------------------------------ */

const redisServers = new Set();
process.on('exit', () => {
  for (const r of redisServers) r.proc?.kill('SIGKILL');
});
// A test killed from outside (a meson timeout, ^C) still stops what it
// started: exiting runs the exit hooks (these and lib.mjs's).
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(sig, () => process.exit(128 + 15));
}

// Sends one inline command on a fresh connection; resolves with the reply's
// first line, or null when Redis does not answer.
function rawCommand(port, line, ms = 1000) {
  return new Promise((resolve) => {
    let buf = '';
    const c = net.connect({ host: '127.0.0.1', port });
    const done = (v) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), ms);
    c.on('connect', () => c.write(`${line}\r\n`));
    c.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) done(buf.slice(0, nl));
    });
    c.on('error', () => done(null));
  });
}

export class RedisServer {
  constructor(port) {
    this.port = port;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-redis-'));
    this.log = '';
    this.proc = null;
  }

  async start() {
    this.log = '';
    this.proc = spawn(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--daemonize', 'no', '--protected-mode', 'no',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    redisServers.add(this);
    for (const s of [this.proc.stdout, this.proc.stderr]) {
      s.setEncoding('utf8');
      s.on('data', (d) => {
        this.log += d;
      });
    }
    const proc = this.proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    await within(10000, (async () => {
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`redis-server exited:\n${this.log}`);
        if (await rawCommand(this.port, 'PING', 500) === '+PONG') return;
        await sleep(30);
      }
    })(), `redis-server answers PING on ${this.port}`);
    return this;
  }

  get running() {
    return this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // SIGKILL: connections drop, nothing is saved.
  async kill() {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await within(5000, this.exited, 'redis-server dies');
  }

  // Starts again on the same port (after kill() or stop()).
  async restart() {
    await this.kill();
    return this.start();
  }

  async stop() {
    if (this.running) {
      this.proc.kill('SIGTERM');
      await within(10000, this.exited, 'redis-server exits').catch(() => this.proc.kill('SIGKILL'));
    }
    redisServers.delete(this);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis(port) {
  return new RedisServer(port ?? await freePort()).start();
}

// A connected node-redis client (closed by closeCluster()).
const redisClients = new Set();
export async function redisClient(port) {
  const c = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: (n) => Math.min(50 + n * 50, 500) },
  });
  c.on('error', () => {}); // reconnects by itself; tests look at results
  await within(5000, c.connect(), 'a redis client connects');
  redisClients.add(c);
  return c;
}

export async function closeRedisClient(c) {
  redisClients.delete(c);
  try {
    await within(2000, c.quit(), 'redis client quits');
  } catch {
    try {
      await c.disconnect();
    } catch {
      // already closed
    }
  }
}

/* ------------------------------------------------------------------ */
/* Nodes                                                               */
/* ------------------------------------------------------------------ */

// A cluster node: a TestServer (prints PORT, stop() asserts a clean exit
// and a stderr free of sanitizer reports) with its kind and name.
export async function startNode(kind, redisPort, { name, args = [] } = {}) {
  const program = kind === 'sioc' ? SIOC_SERVER : NODE_SERVER;
  assert.ok(program, `no program for a ${kind} node`);
  const srv = new TestServer(['--redis-port', String(redisPort), '--name', name ?? kind, ...args],
    program);
  srv.kind = kind;
  srv.name = name ?? kind;
  await srv.start();
  return srv;
}

// The channels every node of a cluster subscribes to for namespace `nsp`.
export const requestChannel = (key, nsp) => `${key}-request#${nsp}#`;
export const broadcastChannel = (key, nsp) => `${key}#${nsp}#`;

// The sum of one field (psub, sub, ssub) over every connection of CLIENT
// LIST.
export async function clientListSum(rc, field) {
  const list = String(await rc.sendCommand(['CLIENT', 'LIST']));
  let sum = 0;
  for (const m of list.matchAll(new RegExp(`(?:^| )${field}=(\\d+)`, 'gm'))) sum += Number(m[1]);
  return sum;
}

// Waits until `n` nodes are subscribed to the channels of every namespace in `nsps`:
// classic, PUBSUB NUMSUB of the request channel and the pattern
// subscriptions of CLIENT LIST (one a namespace a node); sharded, PUBSUB
// SHARDNUMSUB of the namespace's channel. `psub`: the pattern
// subscriptions expected when others than the nodes hold some.
export async function waitSubscribed(rc, n, {
  key = 'socket.io', sharded = false, nsps = ['/', '/other'], psub, ms = 20000,
} = {}) {
  const patterns = psub ?? n * nsps.length;
  let last;
  await within(ms, (async () => {
    for (;;) {
      const counts = [];
      for (const nsp of nsps) {
        const r = sharded
          ? await rc.sendCommand(['PUBSUB', 'SHARDNUMSUB', broadcastChannel(key, nsp)])
          : await rc.sendCommand(['PUBSUB', 'NUMSUB', requestChannel(key, nsp)]);
        counts.push(Number(r[1]));
      }
      let ok = counts.every((c) => c === n);
      if (!sharded) {
        const psub = await clientListSum(rc, 'psub');
        counts.push(`psub ${psub}`);
        ok = ok && psub === patterns;
      }
      last = counts;
      if (ok) return;
      await sleep(30);
    }
  })(), `${n} nodes subscribed`).catch((e) => {
    e.message += ` (${sharded ? 'SHARDNUMSUB' : 'NUMSUB'} of each namespace: ${JSON.stringify(last)})`;
    throw e;
  });
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

export const nodeUrl = (port) => `http://127.0.0.1:${port}`;

// A socket.io-client socket with a record of every event it got. Events
// sent with an acknowledgement are answered with {client: name, args}
// ("ask-bin": {client: name, args, bin: a Buffer of the name's bytes}).
export class Client {
  constructor(name, socket, node) {
    this.name = name;
    this.node = node;
    this.socket = socket;
    this.events = []; // [event, ...args] in arrival order
    this.waiters = [];
    this.disconnects = [];
    socket.onAny((event, ...args) => {
      const cb = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      this.events.push([event, ...args]);
      // "ask-bin": the answer holds a binary, the bytes of the client's name
      if (cb) cb(event === 'ask-bin' ? { client: name, args, bin: Buffer.from(name) } : { client: name, args });
      this._wake();
    });
    socket.on('disconnect', (reason) => {
      this.disconnects.push(reason);
      this._wake();
    });
  }

  get id() {
    return this.socket.id;
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  // The events named `event` (their args), optionally only those whose
  // first argument is `tag`.
  got(event, tag) {
    return this.events
      .filter((e) => e[0] === event && (tag === undefined || e[1] === tag))
      .map((e) => e.slice(1));
  }

  // Resolves once `pred()` holds (checked on every event), within `ms`.
  until(pred, ms = 5000, what = 'a condition') {
    return within(ms, new Promise((resolve) => {
      const check = () => {
        if (pred()) {
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
      check();
    }), `${this.name}: ${what}`);
  }

  waitEvent(event, tag, ms = 5000) {
    return this.until(() => this.got(event, tag).length > 0, ms,
      `event ${event}${tag === undefined ? '' : ` ${JSON.stringify(tag)}`}`)
      .then(() => this.got(event, tag)[0]);
  }

  waitDisconnect(ms = 5000) {
    return this.until(() => this.disconnects.length > 0, ms, 'disconnect')
      .then(() => this.disconnects[0]);
  }

  // Emits `event` with an acknowledgement; resolves with the ack's first
  // argument.
  request(event, arg, ms = 10000) {
    return within(ms, new Promise((resolve) => {
      this.socket.emit(event, arg, (reply) => resolve(reply));
    }), `${this.name}: ack of ${event} ${JSON.stringify(arg)}`);
  }

  ctl(c, ms = 10000) {
    return this.request('ctl', c, ms);
  }

  join(room) {
    return this.request('join', room);
  }

  leave(room) {
    return this.request('leave', room);
  }

  setData(v) {
    return this.request('set-data', v);
  }

  close() {
    this.socket.io.reconnection(false);
    this.socket.disconnect();
  }
}

// Client options: a new manager, no reconnection, short timeouts.
export function clientOptions(transports, extra = {}) {
  return {
    forceNew: true, reconnection: false, timeout: 5000, transports, ...extra,
  };
}

function trackManager(manager) {
  track({
    destroy() {
      manager.reconnection(false);
      for (const s of Object.values(manager.nsps ?? {})) s.disconnect();
      manager.engine?.close();
    },
  });
}

function waitConnected(socket, name, ms = 10000) {
  if (socket.connected) return Promise.resolve();
  return within(ms, new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (e) => reject(new Error(`${name}: connect_error ${e.message}`)));
  }), `${name} connects`);
}

// Connects a client to `node` (a started node, or a port) over
// `transport` ("websocket" or "polling"), in namespace `nsp`.
export async function connectClient(node, transport, {
  name, nsp = '/', port, extra = {},
} = {}) {
  const p = port ?? node.port;
  const nm = name ?? `${node?.name ?? p}-${transport}${nsp === '/' ? '' : nsp}`;
  const socket = io(nodeUrl(p) + (nsp === '/' ? '' : nsp),
    clientOptions([transport], extra));
  trackManager(socket.io);
  const c = new Client(nm, socket, node);
  await waitConnected(socket, nm);
  return c;
}

// Two sockets ("/" and "/other") sharing one connection to `node`.
export async function connectPair(node, transport, { name, extra = {} } = {}) {
  const nm = name ?? `${node.name}-${transport}-pair`;
  const manager = new Manager(nodeUrl(node.port), clientOptions([transport], extra));
  trackManager(manager);
  const main = new Client(nm, manager.socket('/'), node);
  const other = new Client(`${nm}/other`, manager.socket('/other'), node);
  main.socket.connect();
  other.socket.connect();
  await Promise.all([waitConnected(main.socket, nm), waitConnected(other.socket, `${nm}/other`)]);
  return { main, other, manager };
}

/* ------------------------------------------------------------------ */
/* Waits                                                               */
/* ------------------------------------------------------------------ */

// Retries `fn` (which throws while its condition does not hold) until it
// passes, for at most `ms`; rethrows its last error.
export async function eventually(fn, ms = 5000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= end) throw e;
    }
    await sleep(every);
  }
}

let markSeq = 0;
// Makes sure everything sent so far from the node of `origin` has arrived:
// `origin` asks its node for a "mark" to the whole namespace, which every
// client of `clients` must receive; a node publishes in order and each
// connection delivers in order, so what came before the mark is there.
export async function settle(origin, clients, ms = 8000) {
  const tag = `mark-${process.pid}-${++markSeq}`;
  const r = await origin.ctl({ op: 'emit', event: 'mark', args: [tag] });
  assert.deepEqual(r, {}, 'the mark emit');
  await Promise.all(clients.map((c) => c.waitEvent('mark', tag, ms)));
}

/* ------------------------------------------------------------------ */
/* Cleanup                                                             */
/* ------------------------------------------------------------------ */

// Closes every client and Redis client, SIGKILLs nodes still running (stop
// them with node.stop() first to check their exit), stops every Redis.
export async function closeCluster() {
  await closeAll();
  for (const c of [...redisClients]) await closeRedisClient(c);
  for (const r of [...redisServers]) await r.stop();
}

// Values that take every msgpack width: strings past 31, 255 and 65,535
// bytes (multi-byte characters counted in bytes), integers at each
// boundary, floats that float32 would change, maps and arrays past 15.
export const ODD = {
  s: `${'x'.repeat(70000)}é`,
  s31: 'a'.repeat(31),
  s32: 'b'.repeat(32),
  s255: 'c'.repeat(255),
  s256: 'd'.repeat(256),
  s65535: 'e'.repeat(65535),
  uni: '𝄞 é ☃ \u0000 "quoted" \\',
  ints: [0, 1, -1, -32, -33, 127, 128, 255, 256, 65535, 65536, -128, -129, -32768, -32769,
    2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
    -(2 ** 53 - 1)],
  // (not 1e300: notepack.io 3.0.1 writes an integral double past 2^64 as a
  // wrapped uint64, so the reference itself delivers 0)
  floats: [0.1, 1.5, -2.25, -1e-300, 3.141592653589793, 2 ** 60 + 0.5, -(2 ** 40)],
  arr16: Array.from({ length: 16 }, (_, i) => i),
  map16: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
  deep: JSON.parse(`${'{"d":'.repeat(30)}null${'}'.repeat(30)}`),
  empty: {},
  emptyArr: [],
  nul: null,
  t: true,
  f: false,
};

// The names of `clients`, sorted.
export const names = (clients) => clients.map((c) => c.name).sort();
