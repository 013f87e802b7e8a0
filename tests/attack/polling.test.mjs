// Attack suite, long-polling: oversize bodies (announced, chunked, without
// a length), concurrent and aborted requests, junk payloads. Each attack
// runs against a server serving a canary client; afterwards the server's
// fds and RSS must be back to their baseline and the canary must still
// get its echo.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEio, EioCanary, guarded, procStats, resetPeak, closeAll, sleep, RawConn, requestBytes,
  eioPath, pollingHandshake, post, poll, decodePayload, pump, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

const LIMIT = 1000000; // the default max_http_buffer_size
const BIG = 16 << 20; // what the attacks try to send

// Reads every response on `conn` until it closes; resolves with them.
async function responsesUntilClose(conn, ms = 5000) {
  const out = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try {
      out.push(await conn.readResponse(ms - (Date.now() - t0)));
    } catch {
      break;
    }
  }
  return out;
}

// The peak RSS growth (KiB) since resetPeak(), over base.
const peakGrowth = (srv, base) => procStats(srv.proc.pid).hwm - base.rss;

describe('oversize POST bodies (max_http_buffer_size 1000000)', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio([]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('Content-Length of 16 MiB: 413 before any body byte, connection closed',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      try {
        conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': String(BIG), 'Content-Type': 'text/plain;charset=UTF-8' }));
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 413, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 413');
      } finally {
        conn.destroy();
      }
    }));

  test('16 MiB streamed with Content-Length: 413 early, memory near the limit',
    { timeout: 30000 }, () => guarded(ctx, async (base) => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      resetPeak(ctx.srv.proc.pid);
      try {
        // Announce the limit, send 16 times as much: the extra is the
        // start of a "next request" that must not be buffered either.
        conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': String(LIMIT), 'Content-Type': 'text/plain;charset=UTF-8' }));
        await pump(conn, Buffer.alloc(BIG, '4'));
        const res = await responsesUntilClose(conn);
        assert.ok(res.length >= 1, 'a response');
        assert.ok(res.every((r) => [200, 400, 413, 431].includes(r.status)),
          `statuses ${res.map((r) => r.status)}`);
        assert.ok(conn.ended, 'connection closed');
      } finally {
        conn.destroy();
      }
      const peak = peakGrowth(ctx.srv, base);
      assert.ok(peak < 3 * LIMIT / 1024 + 4096, `peak RSS growth ${peak} KiB`);
    }));

  test('chunked body of 16 MiB: 413 early, memory near the limit', { timeout: 30000 },
    () => guarded(ctx, async (base) => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      resetPeak(ctx.srv.proc.pid);
      let sent;
      try {
        conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain;charset=UTF-8' }));
        const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(65536, '4'),
          Buffer.from('\r\n')]);
        sent = await pump(conn, Buffer.concat(Array(BIG / 65536).fill(chunk)));
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 413, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 413');
      } finally {
        conn.destroy();
      }
      const peak = peakGrowth(ctx.srv, base);
      assert.ok(peak < 3 * LIMIT / 1024 + 4096, `peak RSS growth ${peak} KiB (${sent} bytes sent)`);
    }));

  test('no length at all, 16 MiB after the head: closed, memory bounded', { timeout: 30000 },
    () => guarded(ctx, async (base) => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      resetPeak(ctx.srv.proc.pid);
      try {
        conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\n` +
          'Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n');
        await pump(conn, Buffer.alloc(BIG, '4'));
        const res = await responsesUntilClose(conn);
        // Without a length the body is empty; the bytes after it are a
        // malformed (or oversize) next request.
        assert.ok(res.length >= 1, 'a response');
        const last = res[res.length - 1].status;
        assert.ok([400, 413, 414, 431].includes(last), `last status ${last}`);
        assert.ok(conn.ended, 'connection closed');
      } finally {
        conn.destroy();
      }
      const peak = peakGrowth(ctx.srv, base);
      assert.ok(peak < 4096, `peak RSS growth ${peak} KiB`);
    }));

  test('a POST at the limit is still accepted afterwards', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const res = await post(ctx.srv.port, sid, `4${'y'.repeat(LIMIT - 1)}`);
      assert.equal(res.text, 'ok', 'a body of exactly max_http_buffer_size');
      const g = await poll(ctx.srv.port, sid);
      assert.equal(g.body.length, LIMIT, 'echo');
      await post(ctx.srv.port, sid, '1');
    }, { slackKb: 8192 }));

  test('20 oversize POSTs in parallel: all refused, memory bounded', { timeout: 30000 },
    () => guarded(ctx, async (base) => {
      resetPeak(ctx.srv.proc.pid);
      const one = async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const conn = await new RawConn(ctx.srv.port).connect();
        try {
          conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
            { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain;charset=UTF-8' }));
          const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(65536, '4'),
            Buffer.from('\r\n')]);
          await pump(conn, Buffer.concat(Array(32).fill(chunk)));
          const res = await conn.readResponse(5000);
          assert.equal(res.status, 413, 'status');
        } finally {
          conn.destroy();
        }
        await post(ctx.srv.port, sid, '1');
      };
      await Promise.all(Array.from({ length: 20 }, one));
      const peak = peakGrowth(ctx.srv, base);
      assert.ok(peak < 20 * 2 * LIMIT / 1024 + 8192, `peak RSS growth ${peak} KiB`);
    }, { warm: true }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('concurrent and aborted polling requests', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio([]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('a second concurrent GET: 400, the session closed and freed', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const first = await new RawConn(ctx.srv.port).connect();
      try {
        first.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        await sleep(100);
        assert.equal((await poll(ctx.srv.port, sid)).status, 400, 'second GET');
        assert.equal(await ctx.srv.waitClose(sid), 'transport error');
        await first.readResponse(3000).catch(() => null);
      } finally {
        first.destroy();
      }
    }));

  test('a second concurrent POST: 400, the session closed and freed', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const first = await new RawConn(ctx.srv.port).connect();
      try {
        first.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': '100', 'Content-Type': 'text/plain;charset=UTF-8' }));
        first.write('4abc');
        await sleep(100);
        assert.equal((await post(ctx.srv.port, sid, '4second')).status, 400, 'second POST');
        assert.equal(await ctx.srv.waitClose(sid), 'transport error');
      } finally {
        first.destroy();
      }
    }));

  test('ten GETs at once for one session: one held at most, the session closed',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conns = [];
      try {
        for (let i = 0; i < 10; i++) {
          const c = await new RawConn(ctx.srv.port).connect();
          c.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
          conns.push(c);
        }
        assert.equal(await ctx.srv.waitClose(sid), 'transport error');
        const res = await Promise.all(conns.map((c) => c.readResponse(3000).catch(() => null)));
        assert.ok(res.filter((r) => r && r.status === 400).length >= 8,
          `statuses ${res.map((r) => r?.status)}`);
      } finally {
        for (const c of conns) c.destroy();
      }
    }));

  test('aborted poll: the session is closed and freed', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      conn.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
      await sleep(100);
      conn.destroy();
      assert.equal(await ctx.srv.waitClose(sid), 'transport error');
    }));

  test('disconnect in the middle of a POST body: the session is closed and freed',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
        { 'Content-Length': '500000', 'Content-Type': 'text/plain;charset=UTF-8' }));
      conn.write(Buffer.alloc(250000, '4'));
      await sleep(100);
      conn.destroy();
      assert.equal(await ctx.srv.waitClose(sid), 'transport error');
    }));

  test('disconnect in the middle of a POST head: nothing left', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\nHost: 12`);
      await sleep(100);
      conn.destroy();
      assert.equal((await post(ctx.srv.port, sid, '1')).text, 'ok', 'the session is intact');
      assert.equal(await ctx.srv.waitClose(sid), 'transport close');
    }));

  test('100 sessions opened and abandoned with a held poll each: all freed',
    { timeout: 30000 }, () => guarded(ctx, async () => {
      const sids = [];
      const conns = [];
      for (let i = 0; i < 100; i++) {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const c = await new RawConn(ctx.srv.port).connect();
        c.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        sids.push(sid);
        conns.push(c);
      }
      await sleep(100);
      for (const c of conns) c.destroy();
      for (const sid of sids) assert.equal(await ctx.srv.waitClose(sid), 'transport error');
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('junk payloads: 400 and the session closed ("parse error")', { timeout: 120000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startEio([]);
      ctx.canary = await EioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    const junk = [
      ['an unknown packet type', '9hello'],
      ['letters only', 'zzz'],
      ['a separator alone', '\x1e'],
      ['empty packets between separators', '4a\x1e\x1e4b'],
      ['a valid packet then junk', '4ok\x1exyz'],
      ['a NUL byte', '\x00'],
      ['invalid UTF-8', Buffer.from([0x34, 0xc3, 0x28])],
      ['invalid base64: bad characters', 'b!!!!'],
      ['invalid base64: a lone character', 'bA'],
      ['invalid base64: padding in the middle', 'bAA==AA'],
      ['invalid base64: too much padding', 'bA==='],
      ['invalid base64 after a valid packet', '4ok\x1eb%%%%'],
    ];
    for (const [what, body] of junk) {
      test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const res = await post(ctx.srv.port, sid, body);
        assert.equal(res.status, 400, `status (body ${res.text})`);
        assert.equal(await ctx.srv.waitClose(sid), 'parse error');
        assert.equal((await poll(ctx.srv.port, sid)).status, 400, 'the session is gone');
      }));
    }

    test('100k tiny packets in one payload: 400, "parse error", bounded time', { timeout: 20000 },
      () => guarded(ctx, async (base) => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const cpu0 = procStats(ctx.srv.proc.pid).cpu;
        resetPeak(ctx.srv.proc.pid);
        const res = await post(ctx.srv.port, sid, Array(100000).fill('6').join('\x1e'));
        assert.equal(res.status, 400, 'status');
        assert.equal(await ctx.srv.waitClose(sid), 'parse error');
        const cpu = procStats(ctx.srv.proc.pid).cpu - cpu0;
        assert.ok(cpu < 2000, `server CPU ${cpu} ms`);
        const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
        assert.ok(peak < 8192, `peak RSS growth ${peak} KiB`);
      }));

    test('100k empty text messages in one payload: 400, bounded', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const res = await post(ctx.srv.port, sid, Array(100000).fill('4').join('\x1e'));
        // Over 10000 packets: refused whole, even when the session had
        // already died of its full output queue half-way through.
        assert.equal(res.status, 400, 'status');
        assert.ok(['parse error', 'queue full'].includes(await ctx.srv.waitClose(sid)),
          'closed');
      }));

    test('exactly 10000 packets in one payload are accepted', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const res = await post(ctx.srv.port, sid, Array(10000).fill('6').join('\x1e'));
        assert.equal(res.text, 'ok', `status ${res.status}`);
        assert.ok(!ctx.srv.hasClosed(sid), 'session open');
        assert.equal((await post(ctx.srv.port, sid, '4x')).text, 'ok');
        assert.deepEqual(decodePayload((await poll(ctx.srv.port, sid)).text), ['4x']);
        await post(ctx.srv.port, sid, '1');
      }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });
