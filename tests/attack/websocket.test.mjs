// Attack suite, WebSocket: RFC 6455 violations, invalid UTF-8, oversize
// messages, fragment floods, bad close frames, peers that vanish in the
// middle of a frame. Frames are written byte by byte over node:net. Each
// attack runs against a server serving a canary client; afterwards the
// server's fds and RSS must be back to their baseline and the canary must
// still get its echo.
//
// sioc does its own framing (transports/websocket.c), so every violation gets a
// close frame with the code RFC 6455 names: 1002 for protocol errors
// (unmasked client frames, RSV bits, reserved opcodes, long or fragmented
// control frames, stray continuations, 64-bit lengths with the top bit
// set), 1007 for invalid UTF-8, 1009 for oversize messages (as soon as the
// frame header announces them), 1008 for a flood of fragments. After its
// close frame the server reads and drops input until the peer closes, for
// 2 s at most.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEio, EioCanary, guarded, procStats, resetPeak, closeAll, sleep, wsFrame, rawFrame,
  rawWebSocket, closeCodeOf, ackCloseAndEnd, pump, RawConn, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

const LIMIT = 100000;

// Opens a raw websocket session; resolves with { conn, sid }.
async function session(port) {
  const conn = await rawWebSocket(port);
  return { conn, sid: conn.open.sid };
}

// Expects the server to close with `codes` (one of), answers the close,
// and expects the TCP connection and the session to end.
async function expectClose(srv, conn, sid, codes, ms = 5000) {
  const code = await closeCodeOf(conn, ms);
  assert.ok(codes.includes(code), `close code ${code}, expected ${codes.join(' or ')}`);
  assert.ok(await ackCloseAndEnd(conn, code, 7000), 'TCP connection closed after the close frame');
  await srv.waitClose(sid);
  return code;
}

describe('RFC 6455 violations: close 1002', { timeout: 180000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--max-http-buffer-size', String(LIMIT)]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  const violations = [
    ['an unmasked client frame', rawFrame(0x81, '4x', { mask: false })],
    ['an unmasked ping', rawFrame(0x89, 'x', { mask: false })],
    ['RSV1 set (no extension negotiated)', rawFrame(0x81 | 0x40, '4x')],
    ['RSV2 set', rawFrame(0x81 | 0x20, '4x')],
    ['RSV3 set', rawFrame(0x81 | 0x10, '4x')],
    ['RSV bits on a ping', rawFrame(0x89 | 0x70, 'x')],
    ['reserved data opcode 3', rawFrame(0x83, 'x')],
    ['reserved data opcode 7', rawFrame(0x87, 'x')],
    ['reserved control opcode 0xB', rawFrame(0x8b, 'x')],
    ['reserved control opcode 0xF', rawFrame(0x8f, 'x')],
    ['a ping over 125 bytes', wsFrame(9, Buffer.alloc(126))],
    ['a close frame over 125 bytes', wsFrame(8, Buffer.concat([Buffer.from([3, 0xe8]),
      Buffer.alloc(200, 'a')]))],
    ['a fragmented ping', wsFrame(9, 'x', { fin: false })],
    ['a fragmented close', wsFrame(8, Buffer.from([3, 0xe8]), { fin: false })],
    ['a continuation frame with no message started', wsFrame(0, '4x')],
    ['a final continuation with no message started', wsFrame(0, '4x', { fin: true })],
    ['a new text frame inside a fragmented message',
      Buffer.concat([wsFrame(1, '4a', { fin: false }), wsFrame(1, 'b')])],
    ['a new binary frame inside a fragmented message',
      Buffer.concat([wsFrame(2, 'a', { fin: false }), wsFrame(2, 'b')])],
    ['a 64-bit length with the top bit set',
      Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 0x35, 0x7a])],
  ];
  for (const [what, bytes, codes = [1002]] of violations) {
    test(what, { timeout: 20000 }, () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(bytes);
        await expectClose(ctx.srv, conn, sid, codes);
      } finally {
        conn.destroy();
      }
    }));
  }

  test('a violation from a client that never answers the close: freed anyway',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(rawFrame(0x81 | 0x40, '4x'));
        assert.ok(await conn.waitEnd(4000), 'the server closes the TCP connection');
        await ctx.srv.waitClose(sid);
      } finally {
        conn.destroy();
      }
    }, { settleMs: 4000 }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('invalid UTF-8 in text messages: close 1007', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--max-http-buffer-size', String(LIMIT)]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  const bad = [
    ['a lone continuation byte', [0x34, 0x80]],
    ['0xFF', [0x34, 0xff]],
    ['an overlong NUL (C0 80)', [0x34, 0xc0, 0x80]],
    ['an overlong slash (E0 80 AF)', [0x34, 0xe0, 0x80, 0xaf]],
    ['a UTF-16 surrogate (ED A0 80)', [0x34, 0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF (F4 90 80 80)', [0x34, 0xf4, 0x90, 0x80, 0x80]],
    ['a sequence cut at the end of the message', [0x34, 0xe2, 0x82]],
  ];
  for (const [what, bytes] of bad) {
    test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(wsFrame(1, Buffer.from(bytes)));
        await expectClose(ctx.srv, conn, sid, [1007]);
      } finally {
        conn.destroy();
      }
    }));
  }

  test('a sequence cut at the end of a fragmented message', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(wsFrame(1, Buffer.from([0x34, 0x61]), { fin: false }));
        conn.write(wsFrame(0, Buffer.from([0xe2, 0x82])));
        await expectClose(ctx.srv, conn, sid, [1007]);
      } finally {
        conn.destroy();
      }
    }));

  test('a valid character split across fragments is accepted', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(wsFrame(1, Buffer.from([0x34, 0xe2]), { fin: false }));
        conn.write(wsFrame(0, Buffer.from([0x82]), { fin: false }));
        conn.write(wsFrame(0, Buffer.from([0xac])));
        const f = await conn.readFrame();
        assert.equal(f.text, '4\u20ac', 'echo of the euro sign');
        conn.write(wsFrame(8, Buffer.from([3, 0xe8])));
        assert.ok(await conn.waitEnd(3000));
        await ctx.srv.waitClose(sid);
      } finally {
        conn.destroy();
      }
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe(`oversize and fragment floods (max_http_buffer_size ${LIMIT})`, { timeout: 180000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--max-http-buffer-size', String(LIMIT)]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('a frame header alone announcing 16 MiB: 1009 before any payload',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        const header = rawFrame(0x81, Buffer.alloc(0), { declared: 16 << 20 });
        conn.write(header.subarray(0, header.length)); // header + mask, no payload
        await expectClose(ctx.srv, conn, sid, [1009]);
      } finally {
        conn.destroy();
      }
    }));

  test('one frame announcing 16 MiB: 1009 after its first bytes, not its end',
    { timeout: 20000 }, () => guarded(ctx, async (base) => {
      const { conn, sid } = await session(ctx.srv.port);
      resetPeak(ctx.srv.proc.pid);
      try {
        const frame = rawFrame(0x81, Buffer.alloc(1024, 0x34), { declared: 16 << 20 });
        conn.write(frame);
        await expectClose(ctx.srv, conn, sid, [1009]);
      } finally {
        conn.destroy();
      }
      const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
      assert.ok(peak < 4096, `peak RSS growth ${peak} KiB`);
    }));

  test('a message one byte over the limit in one frame: 1009', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        conn.write(wsFrame(1, Buffer.alloc(LIMIT + 1, 0x34)));
        await expectClose(ctx.srv, conn, sid, [1009]);
      } finally {
        conn.destroy();
      }
    }));

  test('a message at the limit is echoed', { timeout: 20000 }, () => guarded(ctx, async () => {
    const { conn, sid } = await session(ctx.srv.port);
    try {
      conn.write(wsFrame(1, Buffer.alloc(LIMIT, 0x34)));
      const f = await conn.readFrame();
      assert.equal(f.payload.length, LIMIT, 'echo length');
      conn.write(wsFrame(8, Buffer.from([3, 0xe8])));
      assert.ok(await conn.waitEnd(3000));
      await ctx.srv.waitClose(sid);
    } finally {
      conn.destroy();
    }
  }));

  test('oversize by many fragments: 1009 before the last fragment', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        const piece = Buffer.alloc(LIMIT / 4, 0x34);
        for (let i = 0; i < 5; i++) conn.write(wsFrame(i ? 0 : 1, piece, { fin: false }));
        await expectClose(ctx.srv, conn, sid, [1009]);
      } finally {
        conn.destroy();
      }
    }));

  test('1025 fragments in one message: close 1008', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        const frames = [wsFrame(1, '4', { fin: false })];
        for (let i = 0; i < 1023; i++) frames.push(wsFrame(0, 'x', { fin: false }));
        frames.push(wsFrame(0, 'x'));
        conn.write(Buffer.concat(frames));
        await expectClose(ctx.srv, conn, sid, [1008]);
      } finally {
        conn.destroy();
      }
    }));

  test('1024 fragments in one message are accepted', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        const frames = [wsFrame(1, '4', { fin: false })];
        for (let i = 0; i < 1022; i++) frames.push(wsFrame(0, 'x', { fin: false }));
        frames.push(wsFrame(0, 'x'));
        conn.write(Buffer.concat(frames));
        const f = await conn.readFrame();
        assert.equal(f.text, `4${'x'.repeat(1023)}`, 'echo');
        conn.write(wsFrame(8, Buffer.from([3, 0xe8])));
        assert.ok(await conn.waitEnd(3000));
        await ctx.srv.waitClose(sid);
      } finally {
        conn.destroy();
      }
    }));

  test('a million empty fragments: closed early, bounded CPU', { timeout: 30000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      const cpu0 = procStats(ctx.srv.proc.pid).cpu;
      try {
        const empty = wsFrame(0, Buffer.alloc(0), { fin: false });
        const block = Buffer.concat(Array(10000).fill(empty));
        conn.write(wsFrame(1, '4', { fin: false }));
        let sent = 0;
        for (let i = 0; i < 100 && !conn.ended; i++) {
          await pump(conn, block);
          sent += 10000;
          // (the server reads and drops input after its close frame: the
          // writes never block, so let the close frame in between them)
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (conn.buf.length) break; // the close frame arrived
        }
        // The server closes with unread input queued, so the close frame
        // may be lost to a reset (1006).
        const code = await closeCodeOf(conn, 5000);
        assert.ok([1008, 1009, 1006].includes(code), `close code ${code}`);
        assert.ok(await ackCloseAndEnd(conn, code, 7000), 'TCP connection closed');
        await ctx.srv.waitClose(sid);
        assert.ok(sent < 1000000, `closed before the million (${sent} sent)`);
      } finally {
        conn.destroy();
      }
      const cpu = procStats(ctx.srv.proc.pid).cpu - cpu0;
      assert.ok(cpu < 3000, `server CPU ${cpu} ms`);
    }));

  test('empty fragments interleaved with pings: still bounded', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { conn, sid } = await session(ctx.srv.port);
      try {
        const frames = [wsFrame(1, '4', { fin: false })];
        for (let i = 0; i < 3000; i++) {
          frames.push(wsFrame(0, Buffer.alloc(0), { fin: false }));
          frames.push(wsFrame(9, 'p'));
        }
        conn.write(Buffer.concat(frames));
        // (1006: the close frame lost to a reset, as above)
        const code = await closeCodeOf(conn, 5000);
        assert.ok([1008, 1009, 1006].includes(code), `close code ${code}`);
        assert.ok(await ackCloseAndEnd(conn, code, 7000), 'TCP connection closed');
        await ctx.srv.waitClose(sid);
      } finally {
        conn.destroy();
      }
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('bad close frames: close 1002 (1007 for a reason that is not UTF-8)',
  { timeout: 120000 }, () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startEio([]);
      ctx.canary = await EioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    const code = (n) => Buffer.from([n >> 8, n & 255]);
    const bad = [
      ['code 0', code(0), [1002]],
      ['code 999', code(999), [1002]],
      ['code 1004 (reserved)', code(1004), [1002]],
      ['code 1005 (must not be sent)', code(1005), [1002]],
      ['code 1006 (must not be sent)', code(1006), [1002]],
      ['code 1015 (must not be sent)', code(1015), [1002]],
      ['code 1016 (unassigned)', code(1016), [1002]],
      ['code 2999 (unassigned)', code(2999), [1002]],
      ['code 5000', code(5000), [1002]],
      ['code 65535', code(65535), [1002]],
      ['a one-byte payload', Buffer.from([3]), [1002]],
      ['a reason that is not UTF-8', Buffer.concat([code(1000), Buffer.from([0xff, 0xfe])]),
        [1007]],
    ];
    for (const [what, payload, codes] of bad) {
      test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
        const { conn, sid } = await session(ctx.srv.port);
        try {
          conn.write(wsFrame(8, payload));
          const got = await closeCodeOf(conn, 5000);
          // the server's close frame, then (within its 2 s drain) the TCP close
          assert.ok(await conn.waitEnd(4000), 'TCP connection closed');
          await ctx.srv.waitClose(sid);
          assert.ok(codes.includes(got), `close code ${got}, expected ${codes.join(' or ')}`);
        } finally {
          conn.destroy();
        }
      }));
    }

    test('valid close codes are answered in kind (1000, 1001, 3000, 4999)', { timeout: 15000 },
      () => guarded(ctx, async () => {
        for (const n of [1000, 1001, 3000, 4999]) {
          const { conn, sid } = await session(ctx.srv.port);
          try {
            conn.write(wsFrame(8, code(n)));
            const got = await closeCodeOf(conn, 5000);
            assert.ok(await conn.waitEnd(3000), 'TCP connection closed');
            assert.equal(await ctx.srv.waitClose(sid), 'transport close');
            assert.ok([n, 1000].includes(got), `answer to ${n}: ${got}`);
          } finally {
            conn.destroy();
          }
        }
      }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });

describe('peers that vanish half-way: everything freed', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--max-http-buffer-size', String(LIMIT)]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  const cuts = [
    ['in the middle of the upgrade request', null,
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr'],
    ['in the middle of a frame header (1 byte)', Buffer.from([0x81])],
    ['in the middle of a 64-bit length', Buffer.from([0x81, 0xff, 0, 0, 0])],
    ['in the middle of the mask', Buffer.from([0x81, 0x85, 1, 2])],
    ['in the middle of a frame payload', rawFrame(0x81, Buffer.alloc(5000, 0x34)).subarray(0, 3000)],
    ['in the middle of a fragmented message',
      Buffer.concat([wsFrame(1, Buffer.alloc(50000, 0x34), { fin: false }),
        wsFrame(0, Buffer.alloc(30000, 0x34), { fin: false })])],
    ['in the middle of a close frame', wsFrame(8, Buffer.from([3, 0xe8])).subarray(0, 4)],
  ];
  for (const [what, bytes, raw] of cuts) {
    test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
      if (raw) {
        const conn = await new RawConn(ctx.srv.port).connect();
        conn.write(raw);
        await sleep(100);
        conn.destroy();
        return;
      }
      const { conn, sid } = await session(ctx.srv.port);
      conn.write(bytes);
      await sleep(100);
      conn.destroy();
      assert.ok(['transport close', 'transport error'].includes(await ctx.srv.waitClose(sid)),
        'session closed');
    }));
  }

  test('100 websocket sessions dropped at once: all freed', { timeout: 30000 },
    () => guarded(ctx, async () => {
      const list = [];
      for (let i = 0; i < 100; i++) list.push(await session(ctx.srv.port));
      for (const { conn } of list) {
        conn.write(rawFrame(0x81, Buffer.alloc(100, 0x34)).subarray(0, 50));
      }
      await sleep(100);
      for (const { conn } of list) conn.destroy();
      for (const { sid } of list) await ctx.srv.waitClose(sid);
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});
