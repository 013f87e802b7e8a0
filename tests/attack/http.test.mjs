// Attack suite, HTTP side: bad Engine.IO handshakes, malformed HTTP/1.1
// framing, oversize request heads, slow clients. Each attack runs against a
// server serving a canary client; afterwards the server's fds and RSS must
// be back to their baseline and the canary must still get its echo.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEio, EioCanary, guarded, procStats, resetPeak, closeAll, sleep, RawConn,
  httpRequest, requestBytes, eioPath, pollingHandshake, post, poll, pump, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

function assertJsonError(res, status, code, message) {
  assert.equal(res.status, status, `status (body ${res.text})`);
  assert.equal(res.text, JSON.stringify({ code, message }), 'error body');
}

describe('handshake errors', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio([]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  const cases = [
    ['EIO missing', 'transport=polling', 5],
    ['EIO empty', 'EIO=&transport=polling', 5],
    ['EIO garbage', 'EIO=x%ff%00&transport=polling', 5],
    ['EIO 4 with junk after it', 'EIO=4abc&transport=polling', 5],
    ['EIO huge number', `EIO=${'9'.repeat(400)}&transport=polling`, 5],
    ['transport foo', 'EIO=4&transport=foo', 0],
    ['transport __proto__', 'EIO=4&transport=__proto__', 0],
    ['transport constructor', 'EIO=4&transport=constructor', 0],
    ['transport empty', 'EIO=4&transport=', 0],
    ['transport with a NUL', 'EIO=4&transport=polling%00', 0],
  ];
  const MESSAGES = ['Transport unknown', 'Session ID unknown', 'Bad handshake method',
    'Bad request', 'Forbidden', 'Unsupported protocol version'];
  for (const [what, query, code] of cases) {
    test(`${what}: 400 code ${code}`, { timeout: 15000 }, () => guarded(ctx, async () => {
      const res = await httpRequest(ctx.srv.port, 'GET', eioPath(query));
      assertJsonError(res, 400, code, MESSAGES[code]);
    }));
  }

  test('POST handshake: 400 code 2', { timeout: 15000 }, () => guarded(ctx, async () => {
    const res = await httpRequest(ctx.srv.port, 'POST', eioPath('EIO=4&transport=polling'),
      { body: '4hello' });
    assertJsonError(res, 400, 2, MESSAGES[2]);
  }));

  test('websocket handshake without Upgrade: 400 code 3', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const res = await httpRequest(ctx.srv.port, 'GET', eioPath('EIO=4&transport=websocket'));
      assertJsonError(res, 400, 3, MESSAGES[3]);
    }));

  // Session ids that name no open session.
  const sids = [
    ['unknown sid', () => 'AAAAAAAAAAAAAAAAAAAA'],
    ['empty sid', () => ''],
    ['overlong sid (4000 characters)', () => 'A'.repeat(4000)],
    ['a live sid with a NUL and junk after it', (live) => `${live}%00junk`],
    ['a live sid with a NUL before its last character', (live) => `${live.slice(0, 19)}%00${live[19]}`],
    ['a live sid plus one character', (live) => `${live}A`],
    ['a live sid percent-encoded with a NUL in front', (live) => `%00${live}`],
  ];
  for (const [what, make] of sids) {
    test(`${what}: 400 code 1`, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid: live } = await pollingHandshake(ctx.srv.port);
      const sid = make(live);
      const g = await httpRequest(ctx.srv.port, 'GET', eioPath(`EIO=4&transport=polling&sid=${sid}`));
      assertJsonError(g, 400, 1, MESSAGES[1]);
      const p = await httpRequest(ctx.srv.port, 'POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
        { body: '4x' });
      assertJsonError(p, 400, 1, MESSAGES[1]);
      // The live session was not touched.
      assert.equal((await post(ctx.srv.port, live, '1')).text, 'ok', 'the live session is intact');
      assert.equal(await ctx.srv.waitClose(live), 'transport close');
    }));
  }

  test('closed sid: 400 code 1', { timeout: 15000 }, () => guarded(ctx, async () => {
    const { sid } = await pollingHandshake(ctx.srv.port);
    assert.equal((await post(ctx.srv.port, sid, '1')).text, 'ok');
    assert.equal(await ctx.srv.waitClose(sid), 'transport close');
    assertJsonError(await poll(ctx.srv.port, sid), 400, 1, MESSAGES[1]);
    assertJsonError(await post(ctx.srv.port, sid, '4x'), 400, 1, MESSAGES[1]);
  }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('malformed HTTP framing: 400 and the connection closed', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio([]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  const shapes = [
    ['Content-Length with Transfer-Encoding',
      'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '2\r\n4x\r\n0\r\n\r\n'],
    ['Transfer-Encoding before Content-Length',
      'Transfer-Encoding: chunked\r\nContent-Length: 2\r\n', '2\r\n4x\r\n0\r\n\r\n'],
    ['duplicate Transfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '2\r\n4x\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked, chunked',
      'Transfer-Encoding: chunked, chunked\r\n', '2\r\n4x\r\n0\r\n\r\n'],
    ['obs-fold', 'X-Test: a\r\n b\r\nContent-Length: 2\r\n', '4x'],
    ['space before the colon', 'Content-Length : 2\r\n', '4x'],
    ['tab before the colon', 'Content-Length\t: 2\r\n', '4x'],
    ['bare CR inside a header line', 'X-Test: a\rb\r\nContent-Length: 2\r\n', '4x'],
    ['bare LF line ending', 'X-Test: a\nContent-Length: 2\r\n', '4x'],
    ['NUL in a header value', 'X-Test: a\0b\r\nContent-Length: 2\r\n', '4x'],
    ['negative Content-Length', 'Content-Length: -1\r\n', '4x'],
    ['Content-Length with a plus sign', 'Content-Length: +2\r\n', '4x'],
    ['huge Content-Length (overflows 64 bits)', `Content-Length: ${'9'.repeat(30)}\r\n`, '4x'],
    ['two different Content-Length values', 'Content-Length: 2\r\nContent-Length: 3\r\n', '4xy'],
    ['Content-Length list', 'Content-Length: 2, 3\r\n', '4xy'],
    ['bad chunk size', 'Transfer-Encoding: chunked\r\n', 'zz\r\n4x\r\n0\r\n\r\n'],
    ['chunk size overflowing 64 bits', 'Transfer-Encoding: chunked\r\n',
      `${'f'.repeat(40)}\r\n4x\r\n0\r\n\r\n`],
  ];
  for (const [what, headers, body] of shapes) {
    test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      try {
        conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\n` +
          `Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n${headers}\r\n${body}`);
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 400, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 400');
      } finally {
        conn.destroy();
      }
      assert.equal((await post(ctx.srv.port, sid, '1')).status, 200,
        'the session still takes a well-formed POST');
    }));
  }

  test('1 MiB of chunk extensions: 400 before the end, memory bounded', { timeout: 20000 },
    () => guarded(ctx, async (base) => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conn = await new RawConn(ctx.srv.port).connect();
      resetPeak(ctx.srv.proc.pid);
      try {
        conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\n` +
          'Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n' +
          'Transfer-Encoding: chunked\r\n\r\n2');
        await pump(conn, Buffer.from(`;${'e=v;'.repeat(262144)}`, 'latin1'), 16384);
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 400, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 400');
      } finally {
        conn.destroy();
      }
      const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
      assert.ok(peak < 4096, `peak RSS growth ${peak} KiB (extensions are not buffered)`);
    }));

  test('a chunk-size line with 4 KiB of extensions is fine, 5 KiB is not', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const send = async (extLen) => {
        const conn = await new RawConn(ctx.srv.port).connect();
        try {
          const ext = `;x=${'a'.repeat(extLen - 3)}`;
          conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\n` +
            'Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n' +
            `Transfer-Encoding: chunked\r\n\r\n2${ext}\r\n4x\r\n0\r\n\r\n`);
          return (await conn.readResponse(3000)).status;
        } finally {
          conn.destroy();
        }
      };
      assert.equal(await send(4000), 200, '4000 bytes of extensions');
      assert.equal(await send(5000), 400, '5000 bytes of extensions');
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('oversize request heads', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio([]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // Sends `head` in pieces; expects one of `statuses`, then the close, and
  // a peak RSS growth well under the size of what was sent.
  async function oversize(base, head, statuses) {
    const conn = await new RawConn(ctx.srv.port).connect();
    resetPeak(ctx.srv.proc.pid);
    try {
      await pump(conn, Buffer.from(head, 'latin1'), 16384);
      const res = await conn.readResponse(3000);
      assert.ok(statuses.includes(res.status), `status ${res.status}, expected ${statuses}`);
      assert.ok(await conn.waitEnd(3000), 'connection closed after the error');
    } finally {
      conn.destroy();
    }
    const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
    assert.ok(peak < 4096, `peak RSS growth ${peak} KiB`);
  }

  test('10k headers: 431', { timeout: 20000 }, () => guarded(ctx, (base) => {
    let h = `GET ${eioPath('EIO=4&transport=polling')} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
    for (let i = 0; i < 10000; i++) h += `X-H${i}: v\r\n`;
    return oversize(base, `${h}\r\n`, [431]);
  }));

  test('3000 empty headers inside the 16 KiB limit: answered', { timeout: 20000 },
    () => guarded(ctx, async () => {
      let h = `GET ${eioPath('EIO=4&transport=foo')} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
      for (let i = 0; i < 3000; i++) h += 'a:\r\n';
      const conn = await new RawConn(ctx.srv.port).connect();
      try {
        conn.write(`${h}\r\n`);
        assert.equal((await conn.readResponse(3000)).status, 400, 'transport foo: 400');
      } finally {
        conn.destroy();
      }
    }));

  test('one 64 KiB header: 431', { timeout: 20000 }, () => guarded(ctx, (base) =>
    oversize(base, `GET ${eioPath('EIO=4&transport=polling')} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `X-Big: ${'a'.repeat(65536)}\r\n\r\n`, [431])));

  test('1 MiB URL: 414 or 431', { timeout: 20000 }, () => guarded(ctx, (base) =>
    oversize(base, `GET ${eioPath(`EIO=4&transport=polling&x=${'a'.repeat(1 << 20)}`)} HTTP/1.1\r\n` +
      'Host: 127.0.0.1\r\n\r\n', [414, 431])));

  test('10 KiB URL (inside the header limit): 414', { timeout: 20000 }, () => guarded(ctx, (base) =>
    oversize(base, `GET ${eioPath(`EIO=4&transport=polling&x=${'a'.repeat(10240)}`)} HTTP/1.1\r\n` +
      'Host: 127.0.0.1\r\n\r\n', [414])));

  test('1 MiB of request line without any line end: 414 or 431', { timeout: 20000 },
    () => guarded(ctx, (base) => oversize(base, `GET /${'a'.repeat(1 << 20)}`, [400, 414, 431])));

  test('1 MiB of empty lines before a request: closed or answered, memory bounded',
    { timeout: 20000 }, () => guarded(ctx, async (base) => {
      const conn = await new RawConn(ctx.srv.port).connect();
      resetPeak(ctx.srv.proc.pid);
      try {
        await pump(conn, Buffer.from('\r\n'.repeat(1 << 19), 'latin1'), 16384);
        conn.write(requestBytes('GET', eioPath('EIO=4&transport=foo')));
        const res = await conn.readResponse(3000).catch(() => null);
        assert.ok(res === null || res.status === 400, `status ${res?.status}`);
      } finally {
        conn.destroy();
      }
      const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
      assert.ok(peak < 4096, `peak RSS growth ${peak} KiB`);
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('slow clients (--headers-timeout 1000 --body-timeout 1000 --keep-alive-timeout 1000)',
  { timeout: 120000 }, () => {
    const ctx = {};
    const TIMEOUT = 1000;
    before(async () => {
      ctx.srv = await startEio(['--headers-timeout', String(TIMEOUT), '--body-timeout',
        String(TIMEOUT), '--keep-alive-timeout', String(TIMEOUT)]);
      ctx.canary = await EioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    // Writes `first`, then `drip` every 100 ms until the server closes;
    // resolves with the ms from `first` to the close.
    async function dripUntilClosed(first, drip, maxMs = 8000) {
      const conn = await new RawConn(ctx.srv.port).connect();
      try {
        const t0 = Date.now();
        conn.write(first);
        while (!conn.ended && Date.now() - t0 < maxMs) {
          await sleep(100);
          if (!conn.ended) conn.write(drip);
        }
        assert.ok(conn.ended, `still open after ${maxMs} ms of dripping`);
        return Date.now() - t0;
      } finally {
        conn.destroy();
      }
    }

    test('slow headers (slowloris): closed after headers_timeout', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const ms = await dripUntilClosed(
          `GET ${eioPath('EIO=4&transport=polling')} HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 'X-a: b\r\n');
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
      }));

    test('slow request line, one byte at a time: closed after headers_timeout',
      { timeout: 20000 }, () => guarded(ctx, async () => {
        const ms = await dripUntilClosed('G', 'E');
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
      }));

    test('slow body: closed after body_timeout, the session freed', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const ms = await dripUntilClosed(requestBytes('POST',
          eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': '100000', 'Content-Type': 'text/plain;charset=UTF-8' }), '4');
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
        await ctx.srv.waitClose(sid);
      }));

    test('slow chunked body: closed after body_timeout', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const { sid } = await pollingHandshake(ctx.srv.port);
        const ms = await dripUntilClosed(requestBytes('POST',
          eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain;charset=UTF-8' }),
        '1\r\nx\r\n');
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
        await ctx.srv.waitClose(sid);
      }));

    test('slow body of a request outside the Engine.IO path: closed after body_timeout',
      { timeout: 20000 }, () => guarded(ctx, async () => {
        const ms = await dripUntilClosed(requestBytes('POST', '/elsewhere',
          { 'Content-Length': '50000' }), 'x');
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
      }));

    test('a connection that sends nothing: closed after the idle timeout', { timeout: 20000 },
      () => guarded(ctx, async () => {
        const conn = await new RawConn(ctx.srv.port).connect();
        const t0 = Date.now();
        try {
          assert.ok(await conn.waitEnd(TIMEOUT + 3000), 'closed');
        } finally {
          conn.destroy();
        }
        const ms = Date.now() - t0;
        assert.ok(ms >= TIMEOUT - 100 && ms <= TIMEOUT + 1500, `closed after ${ms} ms`);
      }));

    test('50 slowloris connections at once: all closed, the canary unaffected',
      { timeout: 30000 }, () => guarded(ctx, async () => {
        const conns = [];
        for (let i = 0; i < 50; i++) {
          const c = await new RawConn(ctx.srv.port).connect();
          c.write(`GET ${eioPath('EIO=4&transport=polling')} HTTP/1.1\r\n`);
          conns.push(c);
        }
        const t0 = Date.now();
        const timer = setInterval(() => {
          for (const c of conns) if (!c.ended) c.write('X-a: b\r\n');
        }, 100);
        try {
          await ctx.canary.check();
          while (conns.some((c) => !c.ended) && Date.now() - t0 < 6000) await sleep(100);
          assert.equal(conns.filter((c) => !c.ended).length, 0, 'every slow connection closed');
        } finally {
          clearInterval(timer);
          for (const c of conns) c.destroy();
        }
      }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });
