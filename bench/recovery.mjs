#!/usr/bin/env node
// Connection state recovery under churn (issue 12), standalone: not part of
// bench/run.sh and its harness. Many raw websocket clients sit in one room,
// the server emits to the room at a steady rate, and every second a
// fraction of the clients lose their TCP connection (terminated by the
// client) and come back, with {pid, offset} when recovery is on. Prints the
// server's RSS every second and a summary: recoveries, and for each client
// whether the ticks it got were exactly 0, 1, 2, ... (no gap, no
// duplicate) across its drops. Run it once with recovery and once without
// to compare the RSS.
//
//   node bench/recovery.mjs --server build-rel/tests/servers/sio_server \
//     [--recovery on|off] [--clients 10000] [--rate 20] [--churn 0.1]
//     [--duration 60] [--recovery-duration MS] [--json FILE]
//
// The server is tests/servers/sio_server (its "ticker" command emits
// "tick" [i, "room"] to the room). The clients speak Engine.IO v4 /
// Socket.IO v5 by hand over the `ws` package of tests/node_modules, with
// no JSON parse per event, so that one Node process keeps up.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/package.json'));
const WebSocket = require('ws');

const opt = {
  server: 'build-rel/tests/servers/sio_server', recovery: 'on', clients: 10000, rate: 20,
  churn: 0.1, duration: 60, json: null, connectRate: 2000, recoveryDuration: 0,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
  if (!(k in opt)) throw new Error(`unknown option ${process.argv[i]}`);
  opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(s)[1]);
}

function cpuMs(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

// ---- the server ---------------------------------------------------------

const args = ['--max-connections-per-ip', '0', '--max-pending-handshakes', '0',
  '--ping-interval', '25000', '--ping-timeout', '20000'];
if (opt.recovery === 'on') args.push('--recovery', 'on');
if (opt.recoveryDuration) args.push('--recovery-duration', String(opt.recoveryDuration));
const server = spawn(opt.server, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let buffered = '';
const port = await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => {
    buffered += d;
    const m = /^PORT (\d+)$/m.exec(buffered);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});
// the server prints a line per connect / disconnect: read and drop them
server.stdout.on('data', () => {});

// ---- clients ------------------------------------------------------------

const URL = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
const stats = {
  connects: 0, drops: 0, recovered: 0, fresh: 0, ticks: 0, gaps: 0, dups: 0, errors: 0,
};

class Client {
  constructor() {
    this.pid = null;
    this.sid = null;
    this.offset = null;
    this.next = -1; // the tick expected next; -1 before the first
    this.up = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(URL, { perMessageDeflate: false });
    this.ws = ws;
    ws.on('message', (data) => this.onMessage(ws, data.toString()));
    ws.on('error', () => {
      stats.errors++;
    });
    ws.on('close', () => {
      if (this.ws === ws) this.up = false;
    });
  }

  onMessage(ws, m) {
    if (m === '2') {
      ws.send('3');
    } else if (m[0] === '0') {
      const auth = this.pid ? { pid: this.pid } : null;
      if (auth && this.offset) auth.offset = this.offset;
      ws.send(auth ? `40${JSON.stringify(auth)}` : '40');
    } else if (m.startsWith('40{')) {
      const reply = JSON.parse(m.slice(2));
      stats.connects++;
      if (this.sid && reply.sid === this.sid) {
        stats.recovered++;
      } else {
        if (this.sid) stats.fresh++;
        this.sid = reply.sid;
        this.next = -1; // a new session: counting starts again
        ws.send('421["join","bench"]');
      }
      this.pid = reply.pid ?? null;
      this.up = true;
    } else if (m.startsWith('42["tick",')) {
      // 42["tick",<i>,"room"] or 42["tick",<i>,"room","<offset>"]
      const c = m.indexOf(',', 10);
      const i = Number(m.slice(10, c));
      stats.ticks++;
      if (this.next >= 0) {
        if (i < this.next) stats.dups++;
        else if (i > this.next) stats.gaps++;
      }
      this.next = Math.max(this.next, i + 1);
      if (!m.endsWith('"room"]')) {
        const end = m.length - 2; // the offset's closing quote
        this.offset = m.slice(m.lastIndexOf('"', end - 1) + 1, end);
      }
    }
  }

  drop() {
    stats.drops++;
    this.up = false;
    this.ws.terminate();
    this.connect();
  }
}

const clients = [];
const t0 = Date.now();
for (let i = 0; i < opt.clients; i++) {
  clients.push(new Client());
  if (i % 100 === 99) await sleep(100_000 / opt.connectRate);
}
while (clients.some((c) => !c.up) && Date.now() - t0 < 60000) await sleep(100);
process.stderr.write(`${opt.clients} clients up in ${Date.now() - t0} ms\n`);

// the control client starts the ticker on the room
const control = new WebSocket(URL, { perMessageDeflate: false });
await new Promise((resolve) => {
  control.on('message', (d) => {
    const m = d.toString();
    if (m === '2') control.send('3');
    else if (m[0] === '0') control.send('40');
    else if (m.startsWith('40{')) {
      const n = opt.rate * (opt.duration + 5);
      control.send(`421["ticker","bench",${n},${Math.round(1000 / opt.rate)}]`);
      resolve();
    }
  });
});

const samples = [];
const c0 = cpuMs(server.pid);
const tStart = Date.now();
for (let s = 1; s <= opt.duration; s++) {
  const stepStart = Date.now();
  const candidates = clients.filter((c) => c.up);
  const n = Math.round(opt.clients * opt.churn);
  for (let k = 0; k < n && candidates.length; k++) {
    const j = Math.floor(Math.random() * candidates.length);
    candidates[j].drop();
    candidates[j] = candidates[candidates.length - 1];
    candidates.pop();
  }
  await sleep(Math.max(0, 1000 - (Date.now() - stepStart)));
  const sample = { t: s, rss: rssKiB(server.pid), cpu: cpuMs(server.pid) - c0, ...stats };
  samples.push(sample);
  process.stdout.write(`${s}s rss ${sample.rss} KiB, cpu ${sample.cpu} ms, ` +
    `drops ${stats.drops}, recovered ${stats.recovered}, fresh ${stats.fresh}, ` +
    `ticks ${stats.ticks}, gaps ${stats.gaps}, dups ${stats.dups}\n`);
}
await sleep(1500); // the last drops come back
const result = {
  emitted_per_s: stats.ticks / opt.clients / ((Date.now() - tStart) / 1000),
  recovery: opt.recovery, clients: opt.clients, rate: opt.rate, churn: opt.churn,
  duration: opt.duration, final: { ...stats, rss: rssKiB(server.pid) }, samples,
};
process.stdout.write(`summary ${JSON.stringify(result.final)}, about ` +
  `${result.emitted_per_s.toFixed(1)} ticks/s per client\n`);
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(result, null, 1));
for (const c of clients) c.ws.terminate();
control.terminate();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
process.exit(0);
