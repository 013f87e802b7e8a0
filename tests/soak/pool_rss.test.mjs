// The memory sioc keeps for its buffers is bounded and given back: after a
// burst of large messages (websocket clients echoing strings of
// POOL_RSS_MSG_KIB through tests/servers/sio_server.c, many in flight at
// once), the server's resident memory (its mappings' Rss, ASan's shadow
// left out: see rssKib()) comes back to within
// POOL_RSS_SLACK_MIB of where it was before the burst, once the load stops
// (the packet pool's trim, about once a second, halves what stayed idle).
// Not timed: the wait is generous (POOL_RSS_WAIT_S), it only bounds a test
// that would otherwise hang.
//
// The baseline is taken after a warm-up of small messages (the
// connections' own memory is there by then), before any large one: memory
// the pool kept from a burst shows until its trim gives it back (with the
// trim off, the pool's idle blocks, up to 8 MiB, stay and the test fails).
// Under ASan (the CI build) the quarantine is off and freed memory goes
// back to the kernel quickly, as in the soak test.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { io } from 'socket.io-client';
import { closeAll, sleep } from '../integration/lib.mjs';
import { startSio, url, trackSocket, connected, SIO_IS_REFERENCE } from '../integration/sio_lib.mjs';

{
  const extra = 'quarantine_size_mb=0:thread_local_quarantine_size_kb=0:' +
    'allocator_release_to_os_interval_ms=50';
  const cur = process.env.ASAN_OPTIONS;
  process.env.ASAN_OPTIONS = cur ? `${cur}:${extra}` : extra;
}

const num = (name, dflt) => Number(process.env[name] ?? dflt);
const CLIENTS = num('POOL_RSS_CLIENTS', 16);
const IN_FLIGHT = num('POOL_RSS_IN_FLIGHT', 4);   // echoes outstanding per client
const ROUNDS = num('POOL_RSS_ROUNDS', 2);         // of IN_FLIGHT echoes each, per burst
const MSG = num('POOL_RSS_MSG_KIB', 512) * 1024;
const SLACK_KIB = num('POOL_RSS_SLACK_MIB', 2) * 1024;
const WAIT_MS = num('POOL_RSS_WAIT_S', 30) * 1000;

after(closeAll);

// AddressSanitizer's shadow (x86_64: 0x7fff8000 up to 0x10007fff8000) is
// the sanitizer's bookkeeping, an eighth of the most heap ever touched, and
// it never shrinks: after the burst it alone stayed about 2 MiB up. It is
// not sioc's memory and a build without ASan has none, so it is left out.
const SHADOW = process.arch === 'x64' ? [0x7fff8000, 0x10007fff8000] : null;

// The server's resident memory in KiB: the Rss of every mapping in
// /proc/PID/smaps but ASan's shadow.
function rssKib(pid) {
  let kib = 0;
  let counted = true;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) {
      const lo = parseInt(range[1], 16);
      const hi = parseInt(range[2], 16);
      counted = !SHADOW || hi <= SHADOW[0] || lo >= SHADOW[1];
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && counted) kib += Number(rss[1]);
  }
  return kib;
}

// Every client echoes ROUNDS x IN_FLIGHT strings of `size` bytes, IN_FLIGHT
// at a time; resolves with the highest RSS seen meanwhile.
async function burst(sockets, pid, size) {
  let peak = rssKib(pid);
  const sampler = setInterval(() => { peak = Math.max(peak, rssKib(pid)); }, 50);
  try {
    await Promise.all(sockets.map(async (s, i) => {
      for (let r = 0; r < ROUNDS; r++) {
        const echoes = [];
        for (let k = 0; k < IN_FLIGHT; k++) {
          const text = String.fromCharCode(97 + ((i + r + k) % 26)).repeat(size);
          echoes.push(new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('no echo within 60 s')), 60000);
            s.once('echo', (back) => {
              clearTimeout(t);
              resolve(back);
            });
          }));
          s.emit('echo', text);
        }
        const back = await Promise.all(echoes);
        for (const b of back) assert.equal(b.length, size);
      }
    }));
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, rssKib(pid));
}

test('RSS comes back down after a burst of large messages', { skip: SIO_IS_REFERENCE }, async () => {
  const srv = await startSio(['--max-http-buffer-size', String(MSG * 2)]);
  try {
    const pid = srv.proc.pid;
    const sockets = [];
    for (let i = 0; i < CLIENTS; i++) {
      const s = trackSocket(io(url(srv.port), {
        forceNew: true, reconnection: false, transports: ['websocket'], timeout: 10000,
      }));
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => connected(s, 10000)));

    await burst(sockets, pid, 1024); // warm-up: small messages
    await sleep(1000);
    const base = rssKib(pid);
    const peak = await burst(sockets, pid, MSG);
    const burstMib = (CLIENTS * IN_FLIGHT * MSG) / 1048576;
    test.diagnostic?.(`baseline ${base} KiB, peak ${peak} KiB (${burstMib} MiB in flight)`);
    // the burst really took memory: else the test proves nothing
    assert.ok(peak - base > SLACK_KIB,
      `the burst should raise RSS by more than ${SLACK_KIB} KiB (base ${base}, peak ${peak})`);

    let now = rssKib(pid);
    const until = Date.now() + WAIT_MS;
    while (now > base + SLACK_KIB && Date.now() < until) {
      await sleep(250);
      now = rssKib(pid);
    }
    console.log(`# pool-rss: baseline ${base} KiB, peak ${peak} KiB, after ${now} KiB`);
    assert.ok(now <= base + SLACK_KIB,
      `RSS ${now} KiB, more than ${SLACK_KIB} KiB over the baseline ${base} KiB after ` +
      `${WAIT_MS / 1000} s (peak ${peak} KiB)`);
    for (const s of sockets) s.disconnect();
  } finally {
    await srv.stop();
  }
});
