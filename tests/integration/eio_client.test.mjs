// The real engine.io-client (npm) against the test server, over polling
// only, websocket only, and the default (polling, then upgrade).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import {
  startServer, withServer, within, sleep, track, closeAll, STOP_TEST, HOST, PATH,
} from './lib.mjs';

after(closeAll);

const MODES = [
  { name: 'polling', transports: ['polling'] },
  { name: 'websocket', transports: ['websocket'] },
  { name: 'default (polling + upgrade)', transports: undefined },
];

// An engine.io-client socket with a queue of received messages.
class Client {
  constructor(port, transports, extra = {}) {
    this.messages = [];
    this.waiters = [];
    this.closed = null;
    this.upgraded = false;
    const opts = { path: PATH, ...extra };
    if (transports) opts.transports = transports;
    this.socket = new Socket(`http://${HOST}:${port}`, opts);
    track(this);
    this.socket.on('message', (d) => {
      this.messages.push(d);
      for (const w of this.waiters.slice()) w();
    });
    this.socket.on('upgrade', () => {
      this.upgraded = true;
    });
    this.closedPromise = new Promise((resolve) => {
      this.socket.on('close', (reason, desc) => {
        this.closed = reason;
        resolve(reason);
        for (const w of this.waiters.slice()) w();
      });
    });
    this.socket.on('error', () => {});
  }

  open(ms = 5000) {
    return within(ms, new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve(this.socket.id));
      this.socket.once('close', (r) => reject(new Error(`closed before open: ${r}`)));
    }), 'client open');
  }

  waitUpgrade(ms = 5000) {
    if (this.upgraded) return Promise.resolve();
    return within(ms, new Promise((resolve) => this.socket.once('upgrade', resolve)),
      'client upgrade event');
  }

  // Resolves with the next `n` messages (consumed from the queue).
  recv(n = 1, ms = 5000) {
    return within(ms, new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length >= n) {
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(this.messages.splice(0, n));
        } else if (this.closed !== null) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`client closed (${this.closed}) with ${this.messages.length}/${n} messages`));
        }
      };
      this.waiters.push(check);
      check();
    }), `${n} message(s) (have ${this.messages.length})`);
  }

  send(data) {
    this.socket.send(data);
  }

  close() {
    this.socket.close();
  }

  destroy() {
    this.socket.close();
  }
}

async function connect(srv, mode, extra) {
  const c = new Client(srv.port, mode.transports, extra);
  const sid = await c.open();
  return { c, sid };
}

const allBytes = () => Buffer.from(Array.from({ length: 256 }, (_, i) => i));

for (const mode of MODES) {
  describe(`engine.io-client, transports: ${mode.name}`, { timeout: 60000 }, () => {
    let srv;
    const clients = [];
    before(async () => {
      srv = await startServer([]);
    });
    after(async () => {
      for (const c of clients) c.close();
      await srv.stop();
    });
    const open = async () => {
      const r = await connect(srv, mode);
      clients.push(r.c);
      return r;
    };

    test('opens a session and the server reports it', { timeout: 10000 }, async () => {
      const { c, sid } = await open();
      assert.match(sid, /^[A-Za-z0-9_-]{20,}$/, 'sid is URL-safe and at least 20 characters');
      const first = mode.transports?.[0] ?? 'polling';
      await srv.waitFor(new RegExp(`^CONNECTION ${sid} ${first}$`), 3000,
        `CONNECTION ${sid} ${first}`);
      c.close();
    });

    if (!mode.transports) {
      test('upgrades to websocket (client event and server UPGRADE line)', { timeout: 10000 },
        async () => {
          const { c, sid } = await open();
          await c.waitUpgrade();
          assert.equal(c.socket.transport.name, 'websocket', 'client transport after upgrade');
          await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000, `UPGRADE ${sid}`);
          c.send('after upgrade');
          assert.deepEqual(await c.recv(), ['after upgrade'], 'echo over the upgraded transport');
          c.close();
        });
    }

    test('echoes a text message', { timeout: 10000 }, async () => {
      const { c } = await open();
      c.send('hello é ✓ 😀');
      assert.deepEqual(await c.recv(), ['hello é ✓ 😀'], 'text echo');
      c.send('');
      // The wire carries "4"; engine.io-client turns it into undefined.
      const [empty] = await c.recv();
      assert.equal(empty ?? '', '', 'empty text echo');
      c.close();
    });

    test('echoes binary with all 256 byte values', { timeout: 10000 }, async () => {
      const { c } = await open();
      const bytes = allBytes();
      c.send(bytes);
      const [got] = await c.recv();
      assert.ok(Buffer.isBuffer(got), `binary comes back as binary, got ${typeof got}`);
      assert.ok(got.equals(bytes), 'binary echo is byte-exact');
      c.send('after binary');
      assert.deepEqual(await c.recv(), ['after binary'], 'text after binary stays text');
      c.close();
    });

    test('200 quick messages come back in order', { timeout: 20000 }, async () => {
      const { c } = await open();
      const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
      for (const m of sent) c.send(m);
      assert.deepEqual(await c.recv(200, 15000), sent, 'all messages echoed, in order');
      c.close();
    });

    test('"count" reports the number of open sessions', { timeout: 10000 }, async () => {
      const a = await open();
      const b = await open();
      a.c.send('count');
      const [reply] = await a.c.recv();
      const m = /^count (\d+)$/.exec(reply);
      assert.ok(m, `count reply: ${reply}`);
      assert.ok(Number(m[1]) >= 2, `at least the two sessions of this test are counted: ${reply}`);
      a.c.close();
      b.c.close();
    });

    test('"request" shows the handshake request', { timeout: 10000 }, async () => {
      const c = new Client(srv.port, mode.transports, { extraHeaders: { 'user-agent': 'sioc-test/1' } });
      clients.push(c);
      await c.open();
      c.send('request');
      const [reply] = await c.recv();
      const r = JSON.parse(reply);
      assert.equal(r.EIO, '4', 'EIO query of the handshake');
      assert.equal(r.transport, mode.transports?.[0] ?? 'polling', 'transport of the handshake');
      assert.equal(r['user-agent'], 'sioc-test/1', 'user-agent header of the handshake');
      c.close();
    });

    test('server-initiated close', { timeout: 10000 }, async () => {
      const { c, sid } = await open();
      if (!mode.transports) await c.waitUpgrade();
      c.send('close');
      const reason = await within(5000, c.closedPromise, 'client close event');
      assert.equal(reason, 'transport close', 'client close reason');
      assert.equal(await srv.waitClose(sid), 'forced close', 'server close reason');
    });

    test('client-initiated close', { timeout: 10000 }, async () => {
      const { c, sid } = await open();
      if (!mode.transports) await c.waitUpgrade();
      c.send('x');
      await c.recv();
      c.close();
      assert.equal(await srv.waitClose(sid), 'transport close', 'server close reason');
    });

    test(STOP_TEST, { timeout: 15000 }, async () => {
      for (const c of clients) c.close();
      await srv.stop();
    });
  });

  describe(`heartbeat, transports: ${mode.name}`, { timeout: 60000 }, () => {
    test('a client that never answers pings is closed with "ping timeout"', { timeout: 15000 },
      async () => {
        await withServer(['--ping-interval', '300', '--ping-timeout', '200'], async (srv) => {
          const c = new Client(srv.port, mode.transports);
          // Drop the pongs the client would send.
          const sendPacket = c.socket._sendPacket.bind(c.socket);
          c.socket._sendPacket = (type, ...rest) => {
            if (type !== 'pong') sendPacket(type, ...rest);
          };
          const sid = await c.open();
          const t0 = Date.now();
          const reason = await srv.waitClose(sid, 5000);
          assert.equal(reason, 'ping timeout', 'server close reason');
          const elapsed = Date.now() - t0;
          assert.ok(elapsed >= 300, `closed no sooner than pingInterval+pingTimeout (${elapsed} ms)`);
          c.close();
        });
      });

    test('a client that answers pings stays connected', { timeout: 15000 }, async () => {
      await withServer(['--ping-interval', '200', '--ping-timeout', '300'], async (srv) => {
        const c = new Client(srv.port, mode.transports);
        let pings = 0;
        c.socket.on('ping', () => pings++);
        const sid = await c.open();
        await sleep(1600);
        assert.equal(c.closed, null, `client still open (closed: ${c.closed})`);
        assert.ok(!srv.hasClosed(sid), `server did not close ${sid}: ${srv.lines.join(' | ')}`);
        assert.ok(pings >= 4, `pings received over 1.6 s with a 200 ms interval: ${pings}`);
        c.send('still here');
        assert.deepEqual(await c.recv(), ['still here'], 'echo after several heartbeats');
        c.close();
      });
    });
  });
}

describe('upgrade with messages in flight', { timeout: 60000 }, () => {
  test('messages sent before and during the upgrade are neither lost nor reordered',
    { timeout: 20000 }, async () => {
      await withServer([], async (srv) => {
        const c = new Client(srv.port, undefined);
        const sent = [];
        const burst = (tag, n) => {
          for (let i = 0; i < n; i++) {
            const m = `${tag}${i}`;
            sent.push(m);
            c.send(m);
          }
        };
        c.socket.on('upgrading', () => burst('during', 50));
        c.socket.on('upgrade', () => burst('after', 20));
        await c.open();
        burst('open', 50);
        await c.waitUpgrade();
        await srv.waitFor(/^UPGRADE /, 3000, 'server UPGRADE line');
        const got = await c.recv(120, 15000);
        assert.equal(got.length, sent.length, 'as many echoes as sends');
        assert.deepEqual(got, sent, 'echoes in send order');
        c.close();
      });
    });

  test('server messages sent while the upgrade is under way arrive in order',
    { timeout: 20000 }, async () => {
      await withServer([], async (srv) => {
        const c = new Client(srv.port, undefined);
        c.socket.on('upgrading', () => c.send('flood 50'));
        await c.open();
        c.send('flood 100');
        await c.waitUpgrade();
        const got = await c.recv(152, 15000);
        const want = [
          ...Array.from({ length: 100 }, (_, i) => `f${i}`), 'flood-result 100 none',
          ...Array.from({ length: 50 }, (_, i) => `f${i}`), 'flood-result 50 none',
        ];
        assert.deepEqual(got, want, 'both floods, each in order, the first one first');
        c.close();
      });
    });
});
