// Engine.IO v4 on the wire: raw HTTP over node:net and raw WebSocket
// (the `ws` package or hand-made frames), checked against what the
// reference server (engine.io 6.6) answers.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import {
  IS_REFERENCE, startServer, withServer, within, sleep, RawConn, httpRequest, requestBytes,
  eioPath, pollingHandshake, poll, post, decodePayload, wsFrame, wsUpgradeRequest, WsClient,
  wsSession, upgradeSession, closeAll, STOP_TEST, PATH,
} from './lib.mjs';

after(closeAll);

const SID_RE = /^[A-Za-z0-9_-]{20,}$/;

// Asserts a JSON error response, byte for byte as the reference writes it.
function assertJsonError(res, status, code, message) {
  assert.equal(res.status, status, `status (body ${res.text})`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/,
    'error responses are application/json');
  assert.equal(res.text, JSON.stringify({ code, message }), 'error body');
}

// Resolves once `conn` gets a response or is closed; returns the response
// or null.
async function responseOrClose(conn, ms) {
  try {
    return await conn.readResponse(ms);
  } catch (e) {
    if (conn.ended) return null;
    throw e;
  }
}

describe('HTTP error responses', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--forbid-query', 'deny']);
  });
  after(() => srv.stop());

  test('unknown transport: 400 code 0', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=carrier-pigeon'));
    assertJsonError(res, 400, 0, 'Transport unknown');
  });

  test('missing transport: 400 code 0', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4'));
    assertJsonError(res, 400, 0, 'Transport unknown');
  });

  test('unknown sid: 400 code 1', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'GET',
      eioPath('EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA'));
    assertJsonError(res, 400, 1, 'Session ID unknown');
    const res2 = await httpRequest(srv.port, 'POST',
      eioPath('EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA'), { body: '4x' });
    assertJsonError(res2, 400, 1, 'Session ID unknown');
  });

  test('POST handshake: 400 code 2', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'POST', eioPath('EIO=4&transport=polling'),
      { body: '4hello' });
    assertJsonError(res, 400, 2, 'Bad handshake method');
  });

  test('websocket handshake without Upgrade: 400 code 3', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=websocket'));
    assertJsonError(res, 400, 3, 'Bad request');
  });

  test('sid with the wrong transport and no Upgrade: 400 code 3', { timeout: 5000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const res = await httpRequest(srv.port, 'GET',
      eioPath(`EIO=4&transport=websocket&sid=${sid}`));
    assertJsonError(res, 400, 3, 'Bad request');
  });

  test('allow_request refusal: 403 code 4 with the hook message', { timeout: 5000 }, async () => {
    const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling&deny=1'));
    assertJsonError(res, 403, 4, 'forbidden by test');
  });

  // A websocket-only handshake (no sid) goes through allow_request too. The
  // reference refuses an upgrade with its abortUpgrade(): always 400, the
  // hook's message as a text/html body, and the connection closed.
  test('allow_request refusal of a websocket-only handshake: 400 with the hook message',
    { timeout: 5000 }, async () => {
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(wsUpgradeRequest('EIO=4&transport=websocket&deny=1'));
        const res = await conn.readResponse();
        assert.equal(res.status, 400, `status (body ${res.text})`);
        assert.equal(res.text, 'forbidden by test', 'body');
        assert.ok(await conn.waitEnd(), 'the connection is closed');
      } finally {
        conn.destroy();
      }
      assert.ok(!srv.has(/^CONNECTION \S+ websocket$/), 'no session opened');
      const { ws } = await wsSession(srv.port);
      ws.close();
    });

  for (const [what, q] of [
    ['missing EIO', 'transport=polling'],
    ['EIO=3', 'EIO=3&transport=polling'],
    ['EIO=garbage', 'EIO=x4&transport=polling'],
    ['EIO=5', 'EIO=5&transport=polling'],
  ]) {
    test(`${what}: 400 code 5`, { timeout: 5000 }, async () => {
      const res = await httpRequest(srv.port, 'GET', eioPath(q));
      assertJsonError(res, 400, 5, 'Unsupported protocol version');
    });
  }

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('handshake', { timeout: 60000 }, () => {
  test('polling handshake with the default options', { timeout: 10000 }, async () => {
    await withServer([], async (srv) => {
      const { sid, open, res } = await pollingHandshake(srv.port);
      assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8', 'content type');
      assert.match(sid, SID_RE, 'sid: at least 20 URL-safe characters');
      assert.deepEqual(open, {
        sid, upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000,
      }, 'open packet');
      assert.equal(res.text, `0${JSON.stringify(open)}`, 'body is the open packet alone');
      await srv.waitFor(new RegExp(`^CONNECTION ${sid} polling$`), 3000);
      const other = await pollingHandshake(srv.port);
      assert.notEqual(other.sid, sid, 'two sessions get different sids');
    });
  });

  test('options show in the open packet', { timeout: 10000 }, async () => {
    await withServer(['--ping-interval', '1234', '--ping-timeout', '567',
      '--max-http-buffer-size', '4321'], async (srv) => {
      const { open } = await pollingHandshake(srv.port);
      assert.equal(open.pingInterval, 1234, 'pingInterval');
      assert.equal(open.pingTimeout, 567, 'pingTimeout');
      assert.equal(open.maxPayload, 4321, 'maxPayload');
    });
  });

  test('websocket-only handshake gets upgrades []', { timeout: 10000 }, async () => {
    await withServer([], async (srv) => {
      const { ws, sid, open } = await wsSession(srv.port);
      assert.match(sid, SID_RE, 'sid');
      assert.deepEqual(open.upgrades, [], 'no upgrades from websocket');
      await srv.waitFor(new RegExp(`^CONNECTION ${sid} websocket$`), 3000);
      ws.close();
    });
  });

  test('--no-upgrades: polling handshake gets upgrades []', { timeout: 10000 }, async () => {
    await withServer(['--no-upgrades'], async (srv) => {
      const { open } = await pollingHandshake(srv.port);
      assert.deepEqual(open.upgrades, [], 'upgrades');
    });
  });

  test('--transports polling: no upgrade offered, websocket refused', { timeout: 10000 },
    async () => {
      await withServer(['--transports', 'polling'], async (srv) => {
        const { open } = await pollingHandshake(srv.port);
        assert.deepEqual(open.upgrades, [], 'upgrades');
        const ws = new WsClient(srv.port, 'EIO=4&transport=websocket');
        await within(5000, ws.closed, 'websocket refused');
        assert.ok(!srv.has(/ websocket$/), 'no websocket session opened');
      });
    });

  test('--transports websocket: polling handshake is 400 code 0', { timeout: 10000 },
    async () => {
      await withServer(['--transports', 'websocket'], async (srv) => {
        const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'));
        assertJsonError(res, 400, 0, 'Transport unknown');
        const { ws } = await wsSession(srv.port);
        ws.close();
      });
    });
});

describe('long-polling', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer([]);
  });
  after(() => srv.stop());

  test('GET is held until data arrives; POST answers "ok"', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const conn = await new RawConn(srv.port).connect();
    try {
      conn.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
      await sleep(300);
      assert.equal(conn.buf.length, 0, 'no response while nothing is queued');
      const p = await post(srv.port, sid, '4hello');
      assert.equal(p.status, 200, 'POST status');
      assert.equal(p.text, 'ok', 'POST body');
      const g = await conn.readResponse();
      assert.equal(g.status, 200, 'GET status');
      assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8', 'GET content type');
      assert.equal(g.text, '4hello', 'the echo');
    } finally {
      conn.destroy();
    }
  });

  test('packets queued together are batched with \\x1e', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const p = await post(srv.port, sid, '4a\x1e4b\x1e4c');
    assert.equal(p.text, 'ok', 'POST body');
    await sleep(100);
    const g = await poll(srv.port, sid);
    assert.deepEqual(decodePayload(g.text), ['4a', '4b', '4c'], `payload ${JSON.stringify(g.text)}`);
  });

  test('binary goes as "b" + base64 both ways', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const p = await post(srv.port, sid, `b${bytes.toString('base64')}`);
    assert.equal(p.text, 'ok', 'POST body');
    const g = await poll(srv.port, sid);
    assert.equal(g.text, `b${bytes.toString('base64')}`, 'binary echo encoding');
  });

  test('non-ASCII text keeps its bytes', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    await post(srv.port, sid, '4é✓😀');
    const g = await poll(srv.port, sid);
    assert.equal(g.text, '4é✓😀', 'UTF-8 echo');
    assert.equal(Number(g.headers['content-length'] ?? g.body.length), g.body.length,
      'Content-Length counts bytes');
  });

  test('a second concurrent GET gets 400 and closes the session', { timeout: 10000 },
    async () => {
      const { sid } = await pollingHandshake(srv.port);
      const first = await new RawConn(srv.port).connect();
      try {
        first.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        await sleep(200);
        const second = await poll(srv.port, sid);
        assert.equal(second.status, 400, 'second GET status');
        assert.equal(await srv.waitClose(sid), 'transport error', 'close reason');
        const r = await responseOrClose(first, 3000);
        assert.ok(r === null || r.status === 200, 'the first GET is answered or closed');
      } finally {
        first.destroy();
      }
    });

  test('a second concurrent POST gets 400 and closes the session', { timeout: 10000 },
    async () => {
      const { sid } = await pollingHandshake(srv.port);
      const first = await new RawConn(srv.port).connect();
      try {
        // Announce 100 bytes, send 10: the POST stays pending.
        first.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': '100', 'Content-Type': 'text/plain;charset=UTF-8' }));
        first.write('4123456789');
        await sleep(200);
        const second = await post(srv.port, sid, '4second');
        assert.equal(second.status, 400, 'second POST status');
        assert.equal(await srv.waitClose(sid), 'transport error', 'close reason');
      } finally {
        first.destroy();
      }
    });

  test('POST with Content-Type application/octet-stream: 400, session closed',
    { timeout: 10000 }, async () => {
      const { sid } = await pollingHandshake(srv.port);
      const res = await post(srv.port, sid, '4hello', { 'Content-Type': 'application/octet-stream' });
      assert.equal(res.status, 400, 'status');
      assert.equal(await srv.waitClose(sid), 'transport error', 'close reason');
    });

  test('a ping from an EIO=4 client closes the session', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const conn = await new RawConn(srv.port).connect();
    conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`), {}, '2'));
    assert.equal(await srv.waitClose(sid), 'transport error', 'close reason');
    conn.destroy();
  });

  test('a close packet from the client closes the session', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const conn = await new RawConn(srv.port).connect();
    conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`), {}, '1'));
    assert.equal(await srv.waitClose(sid), 'transport close', 'close reason');
    conn.destroy();
  });

  test('a close packet posted while a GET is held: the GET gets a noop, "transport close"',
    { timeout: 10000 }, async () => {
      const { sid } = await pollingHandshake(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        await sleep(200);
        assert.equal(conn.buf.length, 0, 'the GET is held');
        const p = await post(srv.port, sid, '1');
        assert.equal(p.status, 200, 'POST status');
        const g = await conn.readResponse(3000);
        assert.equal(g.status, 200, 'held GET status');
        assert.deepEqual(decodePayload(g.text), ['6'], 'the held GET gets a noop');
        assert.equal(await srv.waitClose(sid), 'transport close', 'close reason');
      } finally {
        conn.destroy();
      }
    });

  test('server close over polling sends the close packet', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    await post(srv.port, sid, '4close');
    const g = await poll(srv.port, sid);
    assert.ok(decodePayload(g.text).includes('1'), `payload has a close packet: ${g.text}`);
    assert.equal(await srv.waitClose(sid), 'forced close', 'close reason');
  });

  test('keep-alive: 50 POST/GET pairs on the same two connections', { timeout: 20000 },
    async () => {
      const { sid } = await pollingHandshake(srv.port);
      const getConn = await new RawConn(srv.port).connect();
      const postConn = await new RawConn(srv.port).connect();
      try {
        const target = eioPath(`EIO=4&transport=polling&sid=${sid}`);
        for (let i = 0; i < 50; i++) {
          postConn.write(requestBytes('POST', target, {}, `4m${i}`));
          const p = await postConn.readResponse();
          assert.equal(p.text, 'ok', `POST ${i}`);
          getConn.write(requestBytes('GET', target));
          const g = await getConn.readResponse();
          assert.equal(g.status, 200, `GET ${i} status`);
          assert.deepEqual(decodePayload(g.text), [`4m${i}`], `GET ${i} payload`);
        }
        assert.ok(!getConn.ended && !postConn.ended, 'both connections still open');
      } finally {
        getConn.destroy();
        postConn.destroy();
      }
      assert.ok(!srv.hasClosed(sid), 'session still open');
    });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('request body limit (--max-http-buffer-size 1000)', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--max-http-buffer-size', '1000']);
  });
  after(() => srv.stop());

  test('POST over the limit: 413', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const res = await post(srv.port, sid, `4${'x'.repeat(2000)}`);
    assert.equal(res.status, 413, 'status');
  });

  // The reference answers 413 only once body bytes arrive.
  test('POST announcing more than the limit: 413 before the body is sent',
    { timeout: 10000, skip: IS_REFERENCE && 'reference waits for the body' }, async () => {
      const { sid } = await pollingHandshake(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(requestBytes('POST', eioPath(`EIO=4&transport=polling&sid=${sid}`),
          { 'Content-Length': '2000', 'Content-Type': 'text/plain;charset=UTF-8' }));
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 413, 'status');
      } finally {
        conn.destroy();
      }
    });

  test('POST at the limit is accepted', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const res = await post(srv.port, sid, `4${'y'.repeat(999)}`);
    assert.equal(res.text, 'ok', 'a 1000-byte body is accepted');
    const g = await poll(srv.port, sid);
    assert.equal(g.text, `4${'y'.repeat(999)}`, 'echo');
  });

  test('websocket message over the limit: close code 1009', { timeout: 10000 }, async () => {
    const { ws, sid } = await wsSession(srv.port);
    ws.send('4' + 'z'.repeat(2000));
    assert.equal(await within(5000, ws.closed, 'websocket close'), 1009, 'close code');
    await srv.waitClose(sid);
  });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('WebSocket', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--upgrade-timeout', '300']);
  });
  after(() => srv.stop());

  test('echo, text and binary', { timeout: 10000 }, async () => {
    const { ws } = await wsSession(srv.port);
    ws.send('4hello');
    assert.deepEqual(await ws.recv(), ['4hello'], 'text echo');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    ws.send(bytes);
    const [b] = await ws.recv();
    assert.ok(Buffer.isBuffer(b) && b.equals(bytes), 'binary frame echoed as raw bytes');
    ws.close();
  });

  test('the websocket stays open after the hand-over (messages over 1.5 s)', { timeout: 10000 },
    async () => {
      const { ws, sid } = await wsSession(srv.port);
      for (let i = 0; i < 8; i++) {
        ws.send(`4tick${i}`);
        assert.deepEqual(await ws.recv(), [`4tick${i}`], `echo ${i}`);
        await sleep(200);
      }
      assert.equal(ws.closeCode, null, 'websocket still open');
      assert.ok(!srv.hasClosed(sid), 'session still open');
      ws.close();
    });

  // RFC 6455 5.5.3: a pong carries the ping's payload. Pings with no
  // payload, a short one, and the longest a control frame may have (125
  // bytes, every value 0..124); the session goes on afterwards.
  test('a WebSocket ping frame is answered with a pong with the same payload',
    { timeout: 10000 }, async () => {
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(wsUpgradeRequest('EIO=4&transport=websocket'));
        const res = await conn.readResponse(5000, { head: true });
        assert.equal(res.status, 101, 'switching protocols');
        const open = await conn.readFrame();
        assert.equal(open.text[0], '0', `open packet: ${open.text}`);
        const payloads = [Buffer.alloc(0), Buffer.from('ping?'),
          Buffer.from(Array.from({ length: 125 }, (_, i) => i))];
        for (const payload of payloads) {
          conn.write(wsFrame(9, payload));
          const pong = await conn.readFrame();
          assert.equal(pong.opcode, 10, `a pong frame for a ${payload.length}-byte ping`);
          assert.ok(pong.fin, 'a whole frame');
          assert.ok(pong.payload.equals(payload),
            `the pong payload (${pong.payload.toString('hex')}) is the ping's`);
        }
        conn.write(wsFrame(1, '4after the pings'));
        assert.equal((await conn.readFrame()).text, '4after the pings', 'echo');
      } finally {
        conn.destroy();
      }
    });

  // The reference loses such a frame (engine.io attaches its message
  // listener after an await, once ws has already emitted it).
  test('upgrade request and first frame in one TCP write',
    { timeout: 10000, skip: IS_REFERENCE && 'reference drops the frame' }, async () => {
    const conn = await new RawConn(srv.port).connect();
    try {
      conn.write(Buffer.concat([
        Buffer.from(wsUpgradeRequest('EIO=4&transport=websocket'), 'latin1'),
        wsFrame(1, '4hi'),
      ]));
      const res = await conn.readResponse(5000, { head: true });
      assert.equal(res.status, 101, 'switching protocols');
      const open = await conn.readFrame();
      assert.equal(open.opcode, 1, 'open packet in a text frame');
      assert.equal(open.text[0], '0', `open packet: ${open.text}`);
      const echo = await conn.readFrame();
      assert.equal(echo.opcode, 1, 'echo in a text frame');
      assert.equal(echo.text, '4hi', 'echo of the frame sent with the request');
    } finally {
      conn.destroy();
    }
  });

  // The connection becomes the websocket in place: responses to requests
  // pipelined before the upgrade, still unwritten (the client is not
  // reading), must go out first and whole, then the 101 and the frames.
  test('responses pipelined before an upgrade go out first, whole',
    { timeout: 20000, skip: IS_REFERENCE && 'the engine.io reference serves no client bundle' },
    async () => {
      const N = 40; // of about 130 KB each: more than the socket buffers hold
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.sock.pause();
        const get = requestBytes('GET', `${PATH}socket.io.js`);
        conn.write(Buffer.concat([
          ...Array(N).fill(get),
          Buffer.from(wsUpgradeRequest('EIO=4&transport=websocket'), 'latin1'),
          wsFrame(1, '4after'),
        ]));
        await sleep(500); // the server fills the socket and keeps the rest
        conn.sock.resume();
        let length;
        for (let i = 0; i < N; i++) {
          const res = await conn.readResponse(10000);
          assert.equal(res.status, 200, `response ${i}`);
          length ??= res.body.length;
          assert.ok(length > 100000, `a bundle of ${length} bytes`);
          assert.equal(res.body.length, length, `response ${i} whole`);
        }
        const up = await conn.readResponse(5000, { head: true });
        assert.equal(up.status, 101, 'then switching protocols');
        assert.equal((await conn.readFrame()).text[0], '0', 'then the open packet');
        assert.equal((await conn.readFrame()).text, '4after', 'then the echo');
      } finally {
        conn.destroy();
      }
    });

  test('probe and upgrade packet in one TCP write with the request', { timeout: 10000 },
    async () => {
      const { sid } = await pollingHandshake(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(Buffer.concat([
          Buffer.from(wsUpgradeRequest(`EIO=4&transport=websocket&sid=${sid}`), 'latin1'),
          wsFrame(1, '2probe'),
          wsFrame(1, '5'),
          wsFrame(1, '4up'),
        ]));
        const res = await conn.readResponse(5000, { head: true });
        assert.equal(res.status, 101, 'switching protocols');
        assert.equal((await conn.readFrame()).text, '3probe', 'probe answer');
        assert.equal((await conn.readFrame()).text, '4up', 'echo over the upgraded transport');
        await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000);
      } finally {
        conn.destroy();
      }
    });

  test('invalid UTF-8 in a text frame: close code 1007', { timeout: 10000 }, async () => {
    const { ws, sid } = await wsSession(srv.port);
    ws.send(Buffer.from([0x34, 0xc3, 0x28, 0xff]), { binary: false });
    assert.equal(await within(5000, ws.closed, 'websocket close'), 1007, 'close code');
    await srv.waitClose(sid);
  });

  test('a ping from an EIO=4 client closes the session', { timeout: 10000 }, async () => {
    const { ws, sid } = await wsSession(srv.port);
    ws.send('2');
    assert.equal(await srv.waitClose(sid), 'transport error', 'close reason');
    await within(5000, ws.closed, 'websocket closed');
  });

  test('client closes the websocket: "transport close"', { timeout: 10000 }, async () => {
    const { ws, sid } = await wsSession(srv.port);
    ws.close();
    assert.equal(await srv.waitClose(sid), 'transport close', 'close reason');
  });

  test('server close over websocket', { timeout: 10000 }, async () => {
    const { ws, sid } = await wsSession(srv.port);
    ws.send('4close');
    await within(5000, ws.closed, 'websocket closed by the server');
    assert.equal(await srv.waitClose(sid), 'forced close', 'close reason');
  });

  test('upgrade from polling', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const ws = await upgradeSession(srv.port, sid);
    await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000);
    ws.send('4over ws');
    assert.deepEqual(await ws.recv(), ['4over ws'], 'echo over websocket');
    ws.close();
  });

  test('a held GET is answered with a noop when the probe succeeds', { timeout: 10000 },
    async () => {
      const { sid } = await pollingHandshake(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
        await sleep(100);
        const ws = new WsClient(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
        await ws.open();
        ws.send('2probe');
        assert.deepEqual(await ws.recv(), ['3probe'], 'probe answer');
        const g = await conn.readResponse(3000);
        assert.equal(g.status, 200, 'held GET status');
        assert.deepEqual(decodePayload(g.text), ['6'], 'held GET gets a noop');
        ws.send('5');
        await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000);
        ws.close();
      } finally {
        conn.destroy();
      }
    });

  test('polling request for an upgraded sid: 400 code 3', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const ws = await upgradeSession(srv.port, sid);
    await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000);
    assertJsonError(await poll(srv.port, sid), 400, 3, 'Bad request');
    assertJsonError(await post(srv.port, sid, '4x'), 400, 3, 'Bad request');
    ws.send('4still');
    assert.deepEqual(await ws.recv(), ['4still'], 'websocket still works');
    ws.close();
  });

  test('a second websocket for an upgraded sid is closed', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const ws = await upgradeSession(srv.port, sid);
    await srv.waitFor(new RegExp(`^UPGRADE ${sid}$`), 3000);
    const ws2 = new WsClient(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
    ws2.ws.on('open', () => ws2.send('2probe'));
    await within(3000, ws2.closed, 'the second websocket is closed');
    assert.deepEqual(ws2.messages, [], 'nothing sent on the second websocket');
    ws.send('4first');
    assert.deepEqual(await ws.recv(), ['4first'], 'the first websocket still works');
    assert.ok(!srv.hasClosed(sid), 'session still open');
    ws.close();
  });

  test('an abandoned upgrade times out and polling goes on', { timeout: 10000 }, async () => {
    const { sid } = await pollingHandshake(srv.port);
    const ws = new WsClient(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
    await ws.open();
    const t0 = Date.now();
    ws.send('2probe');
    assert.deepEqual(await ws.recv(), ['3probe'], 'probe answer');
    await within(3000, ws.closed, 'the websocket is closed after upgradeTimeout');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 200, `not closed before the timeout (${elapsed} ms)`);
    assert.ok(!srv.has(new RegExp(`^UPGRADE ${sid}$`)), 'no UPGRADE');
    const p = await post(srv.port, sid, '4after');
    assert.equal(p.text, 'ok', 'POST after the abandoned upgrade');
    const g = await poll(srv.port, sid);
    assert.deepEqual(decodePayload(g.text).filter((x) => x !== '6'), ['4after'],
      `polling still echoes: ${JSON.stringify(g.text)}`);
    assert.ok(!srv.hasClosed(sid), 'session still open');
  });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('heartbeat on a raw websocket', { timeout: 60000 }, () => {
  // Only a pong answers a ping. As in the reference, another packet while
  // the pong is awaited refreshes the ping timeout once, not each time: a
  // peer that keeps talking but never answers is still closed.
  test('messages do not stand in for the pong: "ping timeout"', { timeout: 15000 },
    async () => {
      await withServer(['--ping-interval', '300', '--ping-timeout', '200'], async (srv) => {
        const { ws, sid } = await wsSession(srv.port);
        let sent = 0;
        const talk = setInterval(() => {
          if (ws.closeCode === null) ws.send(`4m${sent++}`);
        }, 50);
        try {
          assert.equal(await srv.waitClose(sid, 5000), 'ping timeout', 'close reason');
        } finally {
          clearInterval(talk);
        }
        assert.ok(ws.messages.includes('2'), 'the server pinged');
        assert.ok(ws.messages.includes('4m0'), 'the messages were received (echoed)');
        ws.close();
      });
    });

  // The next ping is due a whole ping_interval after the pong: with 1200 /
  // 500 it cannot come before 1200 ms (a ping armed at ping_timeout would
  // come after some 500 ms).
  test('the next ping comes a full ping_interval after the pong', { timeout: 15000 },
    async () => {
      await withServer(['--ping-interval', '1200', '--ping-timeout', '500'], async (srv) => {
        const { ws, sid } = await wsSession(srv.port);
        assert.deepEqual(await ws.recv(1, 5000), ['2'], 'the first ping');
        ws.send('3');
        const t0 = Date.now();
        assert.deepEqual(await ws.recv(1, 5000), ['2'], 'the next ping');
        const gap = Date.now() - t0;
        ws.send('3');
        assert.ok(gap >= 1000, `the next ping ${gap} ms after the pong, expected about 1200`);
        assert.ok(!srv.hasClosed(sid), 'the session is still open');
        ws.close();
      });
    });
});

describe('HTTP request smuggling shapes', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer([]);
  });
  after(() => srv.stop());

  const shapes = [
    ['Content-Length with Transfer-Encoding: chunked',
      'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '2\r\n4x\r\n0\r\n\r\n'],
    ['two different Content-Length values', 'Content-Length: 2\r\nContent-Length: 3\r\n', '4xy'],
    ['a bare CR in a header line', 'X-Test: a\rb\r\nContent-Length: 2\r\n', '4x'],
    ['obs-fold (header continuation line)', 'X-Test: a\r\n b\r\nContent-Length: 2\r\n', '4x'],
  ];
  for (const [what, headers, body] of shapes) {
    test(`${what}: 400 and the connection is closed`, { timeout: 10000 }, async () => {
      const { sid } = await pollingHandshake(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(`POST ${eioPath(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\n` +
          `Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n${headers}\r\n${body}`);
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 400, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 400');
      } finally {
        conn.destroy();
      }
    });
  }

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('HTTP limits', { timeout: 60000 }, () => {
  test('request headers over 16 KiB: 431', { timeout: 10000 }, async () => {
    await withServer([], async (srv) => {
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(`GET ${eioPath('EIO=4&transport=polling')} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `X-Big: ${'a'.repeat(20000)}\r\n\r\n`);
        const res = await conn.readResponse(3000);
        assert.equal(res.status, 431, 'status');
        assert.ok(await conn.waitEnd(3000), 'connection closed after the 431');
      } finally {
        conn.destroy();
      }
    });
  });
});

describe('CORS', { timeout: 60000 }, () => {
  test('allow-list with credentials', { timeout: 10000 }, async () => {
    await withServer(['--cors', 'http://a.example', '--cors-credentials'], async (srv) => {
      const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://a.example' } });
      assert.equal(res.status, 200, 'handshake status');
      assert.equal(res.headers['access-control-allow-origin'], 'http://a.example', 'ACAO');
      assert.equal(res.headers['access-control-allow-credentials'], 'true', 'ACAC');
      const sid = JSON.parse(res.text.slice(1)).sid;
      const p = await post(srv.port, sid, '4x', { Origin: 'http://a.example' });
      assert.equal(p.headers['access-control-allow-origin'], 'http://a.example', 'ACAO on POST');

      const other = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://b.example' } });
      assert.notEqual(other.headers['access-control-allow-origin'], 'http://b.example',
        'an origin off the list is not allowed');
      assert.notEqual(other.headers['access-control-allow-origin'], '*',
        'an origin off the list does not get *');
    });
  });

  test('preflight: 204 with the allowed methods', { timeout: 10000 }, async () => {
    await withServer(['--cors', 'http://a.example', '--cors-credentials'], async (srv) => {
      const res = await httpRequest(srv.port, 'OPTIONS', eioPath('EIO=4&transport=polling'), {
        headers: {
          Origin: 'http://a.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
      assert.equal(res.status, 204, 'status');
      assert.equal(res.headers['access-control-allow-origin'], 'http://a.example', 'ACAO');
      assert.equal(res.headers['access-control-allow-credentials'], 'true', 'ACAC');
      assert.match(res.headers['access-control-allow-methods'] ?? '', /POST/, 'ACAM has POST');
      assert.match(res.headers['access-control-allow-methods'] ?? '', /GET/, 'ACAM has GET');
      assert.match(res.headers['access-control-allow-headers'] ?? '', /content-type/i,
        'requested headers echoed');
    });
  });

  // The reference (the `cors` package) compares each listed origin with the
  // whole Origin header. A near miss is answered as any origin off the
  // list: the same status, Vary: Origin, no Access-Control-Allow-Origin.
  test('allow-list: only the exact origin matches, on the handshake and the preflight',
    { timeout: 10000 }, async () => {
      await withServer(['--cors', 'http://a.example'], async (srv) => {
        const handshake = (origin) => httpRequest(srv.port, 'GET',
          eioPath('EIO=4&transport=polling'), { headers: { Origin: origin } });
        const preflight = (origin) => httpRequest(srv.port, 'OPTIONS',
          eioPath('EIO=4&transport=polling'),
          { headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
        for (const [what, send, status] of [['handshake', handshake, 200],
          ['preflight', preflight, 204]]) {
          const ok = await send('http://a.example');
          assert.equal(ok.status, status, `${what} status`);
          assert.equal(ok.headers['access-control-allow-origin'], 'http://a.example',
            `${what}: the listed origin is allowed`);
          for (const origin of ['http://a.example.evil.com', 'http://a.exampl',
            'http://a.example:8080', 'http://a.example/', 'http://A.EXAMPLE']) {
            const res = await send(origin);
            assert.equal(res.status, status, `${what} from ${origin}: status`);
            assert.equal(res.headers['access-control-allow-origin'], undefined,
              `${what} from ${origin}: no Access-Control-Allow-Origin`);
            assert.match(res.headers.vary ?? '', /\bOrigin\b/, `${what} from ${origin}: Vary`);
          }
        }
      });
    });

  test('--cors "*": Access-Control-Allow-Origin: *', { timeout: 10000 }, async () => {
    await withServer(['--cors', '*'], async (srv) => {
      const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://anything.example' } });
      assert.equal(res.status, 200, 'handshake status');
      assert.equal(res.headers['access-control-allow-origin'], '*', 'ACAO');
    });
  });

  test('origin callback: allowed and refused origins', { timeout: 10000 }, async () => {
    await withServer(['--cors-suffix', '.good.example'], async (srv) => {
      const ok = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://app.good.example' } });
      assert.equal(ok.status, 200, 'handshake status');
      assert.equal(ok.headers['access-control-allow-origin'], 'http://app.good.example',
        'an origin the callback accepts is echoed');
      assert.match(ok.headers.vary ?? '', /Origin/, 'Vary: Origin');
      const bad = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://evil.example' } });
      assert.equal(bad.headers['access-control-allow-origin'], undefined,
        'an origin the callback refuses gets no ACAO');
    });
  });

  test('without --cors: no Access-Control-Allow-Origin', { timeout: 10000 }, async () => {
    await withServer([], async (srv) => {
      const res = await httpRequest(srv.port, 'GET', eioPath('EIO=4&transport=polling'),
        { headers: { Origin: 'http://a.example' } });
      assert.equal(res.status, 200, 'handshake status');
      assert.equal(res.headers['access-control-allow-origin'], undefined, 'no ACAO');
    });
  });
});

describe('initial_headers hook', { timeout: 60000 }, () => {
  test('the header is on the handshake response only', { timeout: 10000 }, async () => {
    await withServer(['--initial-header', 'X-Initial:yes'], async (srv) => {
      const { sid, res } = await pollingHandshake(srv.port);
      assert.equal(res.headers['x-initial'], 'yes', 'header on the handshake');
      await post(srv.port, sid, '4x');
      const g = await poll(srv.port, sid);
      assert.equal(g.text, '4x', 'echo');
      assert.equal(g.headers['x-initial'], undefined, 'not on a later GET');
    });
  });

  test('the header is on the websocket handshake of a websocket-only session',
    { timeout: 10000 }, async () => {
      await withServer(['--initial-header', 'X-Initial:yes'], async (srv) => {
        const conn = await new RawConn(srv.port).connect();
        try {
          conn.write(wsUpgradeRequest('EIO=4&transport=websocket'));
          const res = await conn.readResponse(5000, { head: true });
          assert.equal(res.status, 101, 'status');
          assert.equal(res.headers['x-initial'], 'yes', 'header on the 101');
        } finally {
          conn.destroy();
        }
      });
    });
});

describe('output queue bound', { timeout: 60000, skip: IS_REFERENCE && 'sioc only' }, () => {
  test('--queue-full reject: sends fail with EFULL, the connection stays open',
    { timeout: 15000 }, async () => {
      await withServer(['--max-queue-packets', '50', '--queue-full', 'reject'], async (srv) => {
        const { ws, sid } = await wsSession(srv.port);
        ws.send('4flood 100');
        const m = await srv.waitFor(new RegExp(`^FLOOD ${sid} (\\d+) (\\S+)$`), 5000);
        const sent = Number(m[1]);
        assert.ok(sent < 100, `not all 100 queued: ${sent}`);
        assert.ok(sent >= 1, `some queued: ${sent}`);
        assert.equal(m[2], 'EFULL', 'first error');
        const got = await ws.recv(sent, 5000);
        assert.deepEqual(got, Array.from({ length: sent }, (_, i) => `4f${i}`),
          'the queued messages arrive in order');
        await sleep(200);
        ws.messages = ws.messages.filter((x) => !x.startsWith('4flood-result'));
        ws.send('4alive');
        assert.deepEqual(await ws.recv(), ['4alive'], 'connection still works');
        assert.ok(!srv.hasClosed(sid), 'session still open');
        ws.close();
      });
    });

  test('--queue-full close: the session closes with "queue full"', { timeout: 15000 },
    async () => {
      await withServer(['--max-queue-packets', '50', '--queue-full', 'close'], async (srv) => {
        const { ws, sid } = await wsSession(srv.port);
        ws.send('4flood 100');
        assert.equal(await srv.waitClose(sid), 'queue full', 'close reason');
        await within(5000, ws.closed, 'websocket closed');
      });
    });

  test('--max-queue-bytes over polling: EFULL', { timeout: 15000 }, async () => {
    await withServer(['--max-queue-bytes', '200', '--queue-full', 'reject'], async (srv) => {
      const { sid } = await pollingHandshake(srv.port);
      await post(srv.port, sid, '4flood 100');
      const m = await srv.waitFor(new RegExp(`^FLOOD ${sid} (\\d+) (\\S+)$`), 5000);
      assert.ok(Number(m[1]) < 100, `not all 100 queued: ${m[1]}`);
      assert.equal(m[2], 'EFULL', 'first error');
      const g = await poll(srv.port, sid);
      const got = decodePayload(g.text);
      assert.deepEqual(got.slice(0, Number(m[1])),
        Array.from({ length: Number(m[1]) }, (_, i) => `4f${i}`), 'queued messages in order');
    });
  });
});

/* ------------------------------------------------------------------ */
/* The peer's address                                                  */
/* ------------------------------------------------------------------ */

// Whether this machine can listen on `host`.
function canListen(host) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, host, () => s.close(() => resolve(true)));
  });
}
const HAS_IPV6 = await canListen('::1');

const urlHost = (host) => (host.includes(':') ? `[${host}]` : host);

// One HTTP request from `host`, on a connection of its own; the body text.
function httpText(host, port, method, target, body) {
  return within(5000, new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: target, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  }), `${method} ${target} from ${host}`);
}

// The address the server gives a session opened from `host` over
// `transport`: the handshake request's, which the "request" reply shows.
async function seenAddress(port, host, transport) {
  const target = `${PATH}?EIO=4&transport=${transport}`;
  if (transport === 'polling') {
    const open = await httpText(host, port, 'GET', target);
    const { sid } = JSON.parse(open.slice(1));
    assert.equal(await httpText(host, port, 'POST', `${target}&sid=${sid}`, '4request'), 'ok');
    const got = decodePayload(await httpText(host, port, 'GET', `${target}&sid=${sid}`));
    return JSON.parse(got.find((p) => p[0] === '4').slice(1)).address;
  }
  const ws = new WebSocket(`ws://${urlHost(host)}:${port}${target}`, { perMessageDeflate: false });
  try {
    const reply = await within(5000, new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const m = data.toString();
        if (m[0] === '0') ws.send('4request');
        else if (m[0] === '4') resolve(m.slice(1));
      });
    }), `websocket "request" from ${host}`);
    return JSON.parse(reply).address;
  } finally {
    ws.terminate();
  }
}

// A TCP connection from `host`, writing nothing yet.
function tcpFrom(host, port) {
  return within(5000, new Promise((resolve, reject) => {
    const sock = net.connect({ host, port }, () => resolve(sock));
    sock.once('error', reject);
  }), `TCP connect from ${host}`);
}

// As lws_get_peer_simple() wrote it: an IPv4 client of a dual-stack
// listener is "::ffff:127.0.0.1" (Node's remoteAddress agrees).
describe('the peer address of a request', { timeout: 60000 }, () => {
  for (const transport of ['polling', 'websocket']) {
    test(`IPv4 listener, over ${transport}`, { timeout: 15000 }, async () => {
      await withServer([], async (srv) => {
        assert.equal(await seenAddress(srv.port, '127.0.0.1', transport), '127.0.0.1');
      });
    });

    test(`dual-stack listener, over ${transport}`,
      { timeout: 15000, skip: !HAS_IPV6 && 'no IPv6 loopback' }, async () => {
        await withServer(['--host', '::'], async (srv) => {
          assert.equal(await seenAddress(srv.port, '127.0.0.1', transport), '::ffff:127.0.0.1');
          assert.equal(await seenAddress(srv.port, '::1', transport), '::1');
        });
      });
  }

  // loopback is a trusted proxy by default (not capped): name another one
  test('dual-stack listener: connections counted per address (--max-connections-per-ip 2)',
    { timeout: 20000, skip: (IS_REFERENCE && 'sioc only') || (!HAS_IPV6 && 'no IPv6 loopback') },
    async () => {
      await withServer(['--host', '::', '--max-connections-per-ip', '2',
        '--trusted-proxy', '192.0.2.1'], async (srv) => {
        const idle = [await tcpFrom('::1', srv.port), await tcpFrom('::1', srv.port)];
        try {
          await sleep(100);
          const extra = await tcpFrom('::1', srv.port);
          let got = 0;
          extra.on('data', (d) => { got += d.length; });
          const closed = new Promise((resolve) => extra.once('close', resolve));
          extra.on('error', () => {});
          extra.write(requestBytes('GET', eioPath('EIO=4&transport=polling')));
          await within(2000, closed, 'the third connection from ::1 closed at once');
          assert.equal(got, 0, 'no response');
          assert.equal(await seenAddress(srv.port, '127.0.0.1', 'websocket'), '::ffff:127.0.0.1',
            'another address is not counted with ::1');
        } finally {
          for (const s of idle) s.destroy();
        }
        await sleep(200);
        assert.equal(await seenAddress(srv.port, '::1', 'websocket'), '::1',
          'room again once they left');
      });
    });
});
