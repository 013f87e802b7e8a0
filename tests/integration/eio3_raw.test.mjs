// Engine.IO v3 on the wire (allow_eio3): raw HTTP long-polling as
// socket.io-client 1.x/2.x and JSONP pages speak it, checked against what
// the reference server (engine.io 6.6 with allowEIO3) answers.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, closeAll, sleep, RawConn, httpRequest, requestBytes, eioPath, STOP_TEST,
  IS_REFERENCE,
} from './lib.mjs';

after(closeAll);

// A v3 text payload: "<length>:<packet>" repeated, lengths in UTF-16 units
// (JavaScript's string.length); "b<type><base64>" packets become Buffers
// (with the type in .type).
function decodeV3(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    assert.ok(colon > i, `a length at ${i} in ${JSON.stringify(text)}`);
    const n = Number(text.slice(i, colon));
    const p = text.slice(colon + 1, colon + 1 + n);
    assert.equal(p.length, n, `packet of ${n} units in ${JSON.stringify(text)}`);
    if (p[0] === 'b') {
      const b = Buffer.from(p.slice(2), 'base64');
      b.type = p[1];
      out.push(b);
    } else {
      out.push(p);
    }
    i = colon + 1 + n;
  }
  return out;
}

const v3 = (p) => `${p.length}:${p}`;
const path3 = (q) => eioPath(`EIO=3&transport=polling${q ? `&${q}` : ''}`);

async function handshake(port, q = '') {
  const res = await httpRequest(port, 'GET', path3(q));
  assert.equal(res.status, 200, `handshake status (body ${res.text})`);
  return res;
}

async function open(port, q = '') {
  const res = await handshake(port, q);
  const [first] = decodeV3(res.text);
  assert.equal(first[0], '0', 'the open packet comes first');
  return { sid: JSON.parse(first.slice(1)).sid, res };
}

const get3 = (port, sid, q = '', ms = 5000) =>
  httpRequest(port, 'GET', path3(`sid=${sid}${q ? `&${q}` : ''}`), { ms });
const post3 = (port, sid, body, headers = {}, q = '') =>
  httpRequest(port, 'POST', path3(`sid=${sid}${q ? `&${q}` : ''}`), { body, headers });

describe('Engine.IO v3 off by default', { timeout: 30000 }, () => {
  test('EIO=3 gets 400 code 5', { timeout: 10000 }, async () => {
    const srv = await startServer([]);
    try {
      const res = await httpRequest(srv.port, 'GET', path3(''));
      assert.equal(res.status, 400);
      assert.equal(res.text, JSON.stringify({ code: 5, message: 'Unsupported protocol version' }));
    } finally {
      await srv.stop();
    }
  });
});

describe('Engine.IO v3 long-polling', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--allow-eio3']);
  });
  after(() => srv.stop());

  test('handshake: a v3 payload holding the open packet', { timeout: 10000 }, async () => {
    const { res } = await open(srv.port);
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    const o = JSON.parse(decodeV3(res.text)[0].slice(1));
    assert.match(o.sid, /^[A-Za-z0-9_-]{20}$/);
    assert.deepEqual(o.upgrades, ['websocket']);
    assert.equal(o.pingInterval, 25000);
    assert.equal(o.pingTimeout, 20000);
  });

  test('messages both ways; lengths count UTF-16 units', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port);
    const text = '4hé€😀';
    assert.equal(v3(text), '6:4hé€😀', 'the emoji counts 2');
    const p = await post3(srv.port, sid, v3('4one') + v3(text));
    assert.equal(p.status, 200);
    assert.equal(p.text, 'ok');
    const g = await get3(srv.port, sid);
    assert.equal(g.status, 200);
    assert.equal(g.text, v3('4one') + v3(text), 'echoed, v3 framed');
  });

  test('a length in bytes (not UTF-16 units) closes the session: "parse error"',
    { timeout: 10000 }, async () => {
      const { sid } = await open(srv.port);
      const text = '4€';
      await post3(srv.port, sid, `${Buffer.byteLength(text)}:${text}`);
      assert.equal(await srv.waitClose(sid), 'parse error');
    });

  test('a length past the end closes the session: "parse error"', { timeout: 10000 },
    async () => {
      const { sid } = await open(srv.port);
      await post3(srv.port, sid, '9:4abc');
      assert.equal(await srv.waitClose(sid), 'parse error');
    });

  test('binary: "b4" + base64 with b64=1', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port, 'b64=1');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const p = await post3(srv.port, sid, v3(`b4${bytes.toString('base64')}`), {}, 'b64=1');
    assert.equal(p.status, 200);
    const g = await get3(srv.port, sid, 'b64=1');
    assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
    const [got] = decodeV3(g.text);
    assert.ok(Buffer.isBuffer(got), `a binary packet: ${g.text}`);
    assert.equal(got.type, '4');
    assert.deepEqual(Buffer.from(got), bytes);
  });

  test('bad base64 in a "b" packet closes the session', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port, 'b64=1');
    await post3(srv.port, sid, v3('b4!!!!'), {}, 'b64=1');
    const reason = await srv.waitClose(sid).catch(() => null);
    // the reference decodes what it can of bad base64 and goes on: it does
    // not close; sioc refuses the payload (a documented departure)
    if (IS_REFERENCE) assert.equal(reason, null);
    else assert.equal(reason, 'parse error');
  });

  test('binary without b64: the XHR2 binary payload both ways', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port);
    const bytes = Buffer.from([9, 8, 7, 0, 255]);
    // a binary packet: 1, its length (type byte + bytes) as digits, 255, 4, bytes
    const body = Buffer.concat([Buffer.from([1, 6, 255, 4]), bytes]);
    const p = await post3(srv.port, sid, body, { 'Content-Type': 'application/octet-stream' });
    assert.equal(p.status, 200);
    const conn = await new RawConn(srv.port).connect();
    try {
      conn.write(requestBytes('GET', path3(`sid=${sid}`)));
      const g = await conn.readResponse(5000);
      assert.equal(g.headers['content-type'], 'application/octet-stream');
      assert.deepEqual(g.body, body, 'the same framing back');
    } finally {
      conn.destroy();
    }
  });

  test('heartbeat: the client pings, the server answers pong', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port);
    await post3(srv.port, sid, v3('2'));
    const g = await get3(srv.port, sid);
    assert.equal(g.text, v3('3'));
  });

  test('a pong from a v3 client is a transport error', { timeout: 10000 }, async () => {
    const { sid } = await open(srv.port);
    await post3(srv.port, sid, v3('3'));
    assert.equal(await srv.waitClose(sid), 'transport error');
  });

  test('a close packet while a GET is held: the GET gets a noop', { timeout: 10000 },
    async () => {
      const { sid } = await open(srv.port);
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(requestBytes('GET', path3(`sid=${sid}`)));
        await sleep(200);
        await post3(srv.port, sid, v3('1'));
        const g = await conn.readResponse(3000);
        assert.equal(g.text, v3('6'));
        assert.equal(await srv.waitClose(sid), 'transport close');
      } finally {
        conn.destroy();
      }
    });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('Engine.IO v3 JSONP', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer(['--allow-eio3']);
  });
  after(() => srv.stop());

  // ___eio[n]("payload"); -> the payload string
  function unwrap(text, n) {
    const m = /^___eio\[(\d*)\]\((.*)\);$/s.exec(text);
    assert.ok(m, `a JSONP answer: ${text}`);
    assert.equal(m[1], n);
    return JSON.parse(m[2]);
  }

  test('handshake, POST as a form, GET as a script', { timeout: 10000 }, async () => {
    const res = await handshake(srv.port, 'j=3&b64=1');
    const [first] = decodeV3(unwrap(res.text, '3'));
    const { sid } = JSON.parse(first.slice(1));
    // a newline in the payload arrives escaped as \n; "\u2028" must stay valid JS
    const msg = '4line1\nline2 \u2028 "q" \\ end';
    const body = `d=${encodeURIComponent(v3(msg).replace(/\n/g, '\\n'))}`;
    const p = await post3(srv.port, sid, body,
      { 'Content-Type': 'application/x-www-form-urlencoded' }, 'j=3&b64=1');
    assert.equal(p.status, 200);
    assert.equal(p.text, 'ok');
    const g = await get3(srv.port, sid, 'j=3&b64=1');
    assert.ok(g.text.includes('\\u2028'), `U+2028 escaped in the script: ${JSON.stringify(g.text)}`);
    assert.deepEqual(decodeV3(unwrap(g.text, '3')), [msg]);
  });

  test('j keeps only its digits', { timeout: 10000 }, async () => {
    const res = await handshake(srv.port, 'j=a1b2&b64=1');
    assert.match(res.text, /^___eio\[12\]\("/);
  });

  test(STOP_TEST, { timeout: 15000 }, () => srv.stop());
});

describe('Engine.IO v3 heartbeat timing (ping 300, timeout 200)', { timeout: 30000 }, () => {
  test('no client ping: gone at ping_interval + ping_timeout', { timeout: 10000 }, async () => {
    const srv = await startServer(['--allow-eio3', '--ping-interval', '300',
      '--ping-timeout', '200']);
    try {
      const t0 = Date.now();
      const { sid } = await open(srv.port);
      const reason = await srv.waitClose(sid, 3000);
      const t = Date.now() - t0;
      assert.equal(reason, 'ping timeout');
      assert.ok(t >= 450, `closed after ${t} ms, not before 500`);
    } finally {
      await srv.stop();
    }
  });

  test('a client that pings stays', { timeout: 10000 }, async () => {
    const srv = await startServer(['--allow-eio3', '--ping-interval', '300',
      '--ping-timeout', '200']);
    try {
      const { sid } = await open(srv.port);
      for (let i = 0; i < 5; i++) {
        await sleep(200);
        await post3(srv.port, sid, v3('2'));
        const g = await get3(srv.port, sid);
        assert.equal(g.text, v3('3'));
      }
      assert.ok(!srv.hasClosed(sid), 'still open after 1 s of pings');
    } finally {
      await srv.stop();
    }
  });
});
