// Behind a proxy, hostile: X-Forwarded-For and X-Forwarded-Proto forged by
// a peer that is not a trusted proxy are ignored (for the address the
// middleware sees, for secure, and for the per-address cap); behind a
// trusted proxy the cap counts each client; and a flood of refusals cannot
// flood the log (each refusal is counted, as a line or in a "suppressed"
// summary). The trusted proxy is 127.0.0.1; the attacker connects from
// 127.0.0.2 (loopback, not trusted).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io } from 'socket.io-client';
import {
  closeAll, eioPath, guarded, requestBytes, SioCanary, sleep, startSio, track, within,
} from './attack_lib.mjs';

const ATTACKER = '127.0.0.2';

// A raw connection from `from`: { sock, data(), ended }.
function rawFrom(from, port) {
  return within(5000, new Promise((resolve, reject) => {
    const c = { buf: Buffer.alloc(0), ended: false };
    c.sock = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => resolve(c));
    c.sock.on('error', reject);
    c.sock.on('data', (d) => {
      c.buf = Buffer.concat([c.buf, d]);
    });
    c.sock.on('close', () => {
      c.ended = true;
    });
    track({ destroy: () => c.sock.destroy() });
  }), `connect from ${from}`);
}

async function until(fn, ms, what) {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const FORGED = { 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https' };

describe('forged X-Forwarded-* from an untrusted peer (--trust-proxy on --trusted-proxies ' +
  '127.0.0.1 --max-connections-per-ip 3)', { timeout: 60000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--trust-proxy', 'on', '--trusted-proxies', '127.0.0.1',
      '--max-connections-per-ip', '3', '--print-middleware', 'on']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(async () => {
    await ctx.srv?.stop();
    await closeAll();
  });

  test('ignored: the middleware sees the peer, not secure', () => guarded(ctx, async () => {
    for (const transports of [['websocket'], ['polling']]) {
      const s = io(`http://127.0.0.1:${ctx.srv.port}`, {
        forceNew: true, reconnection: false, transports, localAddress: ATTACKER,
        extraHeaders: FORGED,
      });
      track({ destroy: () => s.disconnect() });
      await within(5000, new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      }), 'connect');
      const hs = await within(5000, new Promise((resolve) => {
        s.emit('handshake', {}, resolve);
      }), 'handshake');
      if (transports[0] === 'websocket') {
        assert.equal(hs.address, ATTACKER, 'the address is the peer');
        assert.equal(hs.peer, ATTACKER);
      } else {
        // xmlhttprequest-ssl cannot pick its local address: from 127.0.0.1,
        // the trusted proxy here, the header is believed (as it should)
        assert.equal(hs.address, '198.51.100.7');
      }
      assert.equal(hs.secure, transports[0] !== 'websocket', 'secure only from the proxy');
      s.disconnect();
    }
    const lines = ctx.srv.lines.filter((l) => l.startsWith('MIDDLEWARE '));
    assert.ok(lines.includes(`MIDDLEWARE / ${ATTACKER} ${ATTACKER} http`), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('198.51.100.7') && l.includes(ATTACKER)));
  }));

  test('does not dodge the per-address cap: the 4th connection is closed at once',
    () => guarded(ctx, async () => {
      const held = [];
      try {
        for (let i = 0; i < 3; i++) held.push(await rawFrom(ATTACKER, ctx.srv.port));
        await sleep(100);
        for (let i = 0; i < 3; i++) {
          const extra = await rawFrom(ATTACKER, ctx.srv.port);
          extra.sock.write(requestBytes('GET', eioPath('EIO=4&transport=polling'),
            { 'X-Forwarded-For': `198.51.100.${10 + i}` }));
          await until(() => extra.ended, 2000, 'closed at once');
          assert.equal(extra.buf.length, 0, 'no response');
        }
      } finally {
        for (const c of held) c.sock.destroy();
      }
    }));

  test('behind the trusted proxy the cap counts each client: 429 for the 4th of one',
    () => guarded(ctx, async () => {
      const held = [];
      const handshake = async (client) => {
        const c = await rawFrom('127.0.0.1', ctx.srv.port);
        held.push(c);
        c.sock.write(requestBytes('GET', eioPath('EIO=4&transport=polling'),
          { 'X-Forwarded-For': client }));
        await until(() => /\r\n\r\n/.test(c.buf.toString('latin1')), 3000, 'a response');
        return Number(/^HTTP\/1\.1 (\d+)/.exec(c.buf.toString('latin1'))[1]);
      };
      try {
        // the canary holds one connection from 127.0.0.1 too: not counted
        for (let i = 0; i < 3; i++) assert.equal(await handshake('198.51.100.20'), 200);
        assert.equal(await handshake('198.51.100.20'), 429, 'the same client, over the cap');
        assert.equal(await handshake('198.51.100.21'), 200, 'another client');
      } finally {
        for (const c of held) c.sock.destroy();
      }
    }));

  test('the server exits cleanly on SIGTERM', async () => {
    await ctx.srv.stop();
  });
});

describe('a flood of refusals does not flood the log (--record-logs on --log-level info)',
  { timeout: 60000 }, () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--record-logs', 'on', '--log-level', 'info']);
      ctx.canary = await SioCanary.connect(ctx.srv.port);
    });
    after(async () => {
      await ctx.srv?.stop();
      await closeAll();
    });

    test('2000 unknown-sid requests: at most a burst and its refill logged, all accounted for',
      () => guarded(ctx, async () => {
        const N = 2000;
        const c = await rawFrom('127.0.0.1', ctx.srv.port);
        const one = requestBytes('GET', eioPath('EIO=4&transport=polling&sid=nope'));
        const t0 = Date.now();
        c.sock.write(Buffer.concat(Array(N).fill(one)));
        await until(() => (c.buf.toString('latin1').match(/HTTP\/1\.1 400/g) ?? []).length === N,
          30000, `${N} responses`);
        const ms = Date.now() - t0;
        c.sock.destroy();
        await sleep(600); // a token comes back: the summary is written
        const lines = ctx.srv.lines;
        const logged = lines.filter((l) => l.startsWith('LOG info refused.unknown_sid ')).length;
        const suppressed = lines
          .map((l) => /^LOG info log\.suppressed (\d+) "refused\.unknown_sid" messages suppressed$/.exec(l))
          .filter(Boolean).reduce((n, m) => n + Number(m[1]), 0);
        assert.equal(logged + suppressed, N, `${logged} logged + ${suppressed} suppressed`);
        // 20 at once, then 5 a second
        assert.ok(logged <= 20 + Math.ceil((ms + 600) / 200) + 1,
          `${logged} lines logged in ${ms} ms`);
      }));

    test('the server exits cleanly on SIGTERM', async () => {
      await ctx.srv.stop();
    });
  });
