// Metrics (Prometheus text on --metrics-path) and logs (--record-logs: each
// message the log callback gets is a "LOG <level> <event> <message>" line)
// after a scripted workload of raw connections whose bytes the test counts
// itself: the scrape's counters match exactly (sessions, packets, bytes on
// the sockets, closes, refusals by cause), sio_server_stats() agrees with
// it, the endpoint wants its bearer token, and the log callback receives
// each refusal once, at info, with its cause.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeAll, eioPath, RawConn, requestBytes, sleep, wsFrame, wsUpgradeRequest,
} from './lib.mjs';
import { ack, clientOptions, connected, startSio, trackSocket, url } from './sio_lib.mjs';
import { io } from 'socket.io-client';

const TOKEN = 's3cret';

// Parses Prometheus text into { 'name{labels}': number } (HELP/TYPE aside),
// checking every line is well formed.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `a metric line: ${JSON.stringify(line)}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

// Raw connections of the workload: every byte each one wrote and read.
class Counted {
  constructor() {
    this.conns = [];
  }

  async open(port) {
    const c = await new RawConn(port).connect();
    this.conns.push(c);
    return c;
  }

  // One request on a new connection; the connection is closed after it.
  async request(port, method, target, headers = {}, body) {
    const c = await this.open(port);
    c.write(requestBytes(method, target, headers, body));
    const res = await c.readResponse();
    c.destroy();
    return res;
  }

  get written() {
    return this.conns.reduce((n, c) => n + c.sock.bytesWritten, 0);
  }

  get read() {
    return this.conns.reduce((n, c) => n + c.sock.bytesRead, 0);
  }
}

// A scrape on a connection of its own: { metrics, requestBytes, responseBytes }.
async function scrape(port, token = TOKEN) {
  const c = await new RawConn(port).connect();
  const req = requestBytes('GET', '/metrics', {
    ...(token ? { Authorization: `Bearer ${token}` } : {}), Connection: 'close',
  });
  c.write(req);
  const res = await c.readResponse();
  await c.waitEnd();
  const responseBytes = c.sock.bytesRead;
  c.destroy();
  return { res, metrics: res.status === 200 ? parseMetrics(res.text) : null,
    requestBytes: req.length, responseBytes };
}

// A websocket session (transport=websocket straight away) on a counted
// connection: { conn, sid }.
async function wsOpen(w, port) {
  const conn = await w.open(port);
  conn.write(wsUpgradeRequest('EIO=4&transport=websocket'));
  const res = await conn.readResponse(5000, { head: true });
  assert.equal(res.status, 101);
  const open = await conn.readFrame();
  assert.equal(open.text[0], '0');
  return { conn, sid: JSON.parse(open.text.slice(1)).sid };
}

const REFUSALS = {
  unknown_sid: 1, unknown_transport: 1, bad_handshake_method: 1, unsupported_version: 1,
  http_error: 1, unauthorized: 1, invalid_namespace: 1, middleware: 1,
};

describe('metrics and logs after a scripted workload', { timeout: 90000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--metrics-path', '/metrics', '--metrics-token', TOKEN,
      '--record-logs', 'on', '--log-level', 'info']);
  });
  after(async () => {
    await ctx.srv?.stop();
    await closeAll();
  });

  test('the scrape counts exactly what the workload did', async () => {
    const port = ctx.srv.port;
    const a = await scrape(port);
    assert.equal(a.res.status, 200);
    assert.equal(a.res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const w = new Counted();

    // a polling session: open, CONNECT, an event echoed, close
    let res = await w.request(port, 'GET', eioPath('EIO=4&transport=polling'));
    const { sid } = JSON.parse(res.text.slice(1));
    const q = `EIO=4&transport=polling&sid=${sid}`;
    assert.equal((await w.request(port, 'POST', eioPath(q), {}, '40')).text, 'ok');
    assert.match((await w.request(port, 'GET', eioPath(q))).text, /^40\{"sid":/);
    assert.equal((await w.request(port, 'POST', eioPath(q), {}, '42["echo","hi"]')).text, 'ok');
    assert.equal((await w.request(port, 'GET', eioPath(q))).text, '42["echo","hi"]');
    // volatile emits with no GET held: dropped (one to the socket, one
    // broadcast to the namespace, where it is alone)
    assert.equal((await w.request(port, 'POST', eioPath(q), {}, '42["volatile","x"]')).text, 'ok');
    assert.equal((await w.request(port, 'POST', eioPath(q), {}, '42["all-volatile","m"]')).text,
      'ok');
    assert.equal((await w.request(port, 'POST', eioPath(q), {}, '1')).text, 'ok');

    // a websocket session: open, CONNECT, an event echoed, close
    const ws = await wsOpen(w, port);
    ws.conn.write(wsFrame(1, '40'));
    assert.match((await ws.conn.readFrame()).text, /^40\{"sid":/);
    ws.conn.write(wsFrame(1, '42["echo",1]'));
    assert.equal((await ws.conn.readFrame()).text, '42["echo",1]');
    ws.conn.write(wsFrame(1, '1'));

    // a websocket session refused twice by the Socket.IO layer
    const ref = await wsOpen(w, port);
    ref.conn.write(wsFrame(1, '40{"token":"bad"}'));
    assert.match((await ref.conn.readFrame()).text, /^44\{"message":"not authorized"/);
    ref.conn.write(wsFrame(1, '40/nope,'));
    assert.match((await ref.conn.readFrame()).text, /^44\/nope,\{"message":"Invalid namespace"/);
    ref.conn.write(wsFrame(1, '1'));

    // refused requests, one of each cause
    assert.equal((await w.request(port, 'GET', eioPath('EIO=4&transport=polling&sid=nope')))
      .status, 400);
    assert.equal((await w.request(port, 'GET', eioPath('EIO=4&transport=carrier'))).status, 400);
    assert.equal((await w.request(port, 'POST', eioPath('EIO=4&transport=polling'), {}, 'x'))
      .status, 400);
    assert.equal((await w.request(port, 'GET', eioPath('EIO=3&transport=polling'))).status, 400);
    const bad = await w.open(port);
    bad.write('NOT HTTP AT ALL\r\n\r\n');
    assert.equal((await bad.readResponse()).status, 400);
    assert.ok(await bad.waitEnd());
    assert.equal((await w.request(port, 'GET', '/metrics', { Authorization: 'Bearer nope' }))
      .status, 401);

    // every byte the server wrote has arrived: the websockets are closed
    assert.ok(await ws.conn.waitEnd(), 'websocket closed by the server');
    assert.ok(await ref.conn.waitEnd(), 'websocket closed by the server');
    for (const c of w.conns) c.destroy();
    await sleep(100);

    const b = await scrape(port);
    const d = (k) => b.metrics[k] - a.metrics[k];
    assert.equal(d('sioc_connections_total'), 3, 'sessions opened');
    assert.equal(b.metrics.sioc_clients, 0, 'sessions open');
    assert.equal(b.metrics['sioc_sockets{namespace="/"}'], 0);
    assert.equal(b.metrics['sioc_rooms{namespace="/"}'], 0);
    assert.equal(d('sioc_packets_received_total'), 11, 'packets received');
    assert.equal(d('sioc_packets_sent_total'), 9, 'packets sent');
    assert.equal(d('sioc_bytes_received_total'), w.written + b.requestBytes, 'bytes received');
    assert.equal(d('sioc_bytes_sent_total'), w.read + a.responseBytes, 'bytes sent');
    assert.equal(d('sioc_disconnections_total{reason="transport close"}'), 3, 'closes');
    for (const r of ['transport error', 'ping timeout', 'parse error', 'forced close']) {
      assert.equal(d(`sioc_disconnections_total{reason="${r}"}`), 0, r);
    }
    assert.equal(d('sioc_upgrades_total'), 0);
    assert.equal(d('sioc_events_dropped_total'), 2, 'volatile emits dropped');
    assert.equal(d('sioc_queue_full_total'), 0);
    assert.equal(b.metrics.sioc_queued_bytes, 0);
    for (const [cause, n] of Object.entries(REFUSALS)) {
      assert.equal(d(`sioc_handshakes_refused_total{cause="${cause}"}`), n, cause);
    }
    for (const cause of ['per_address_cap', 'pending_cap', 'shutting_down', 'bad_request',
      'bad_origin', 'forbidden', 'timeout', 'namespace_cap']) {
      assert.equal(d(`sioc_handshakes_refused_total{cause="${cause}"}`), 0, cause);
    }
    const buckets = Object.keys(b.metrics).filter((k) => k.startsWith('sioc_loop_turn_seconds_bucket'));
    assert.equal(buckets.length, 12);
    const counts = buckets.map((k) => b.metrics[k]);
    assert.deepEqual([...counts].sort((x, y) => x - y), counts, 'cumulative buckets');
    assert.equal(counts.at(-1), b.metrics.sioc_loop_turn_seconds_count);
    assert.ok(b.metrics.sioc_loop_turn_seconds_count > a.metrics.sioc_loop_turn_seconds_count);
    ctx.b = b;
  });

  test('sio_server_stats() gives the same numbers', async () => {
    const s = trackSocket(io(url(ctx.srv.port), clientOptions(['websocket'])));
    await connected(s);
    const [st] = await ack(s, 'stats');
    const b = ctx.b.metrics;
    assert.equal(st.connections, b.sioc_connections_total + 1);
    assert.equal(st.clients, 1);
    assert.equal(st.clients_websocket, 1);
    assert.equal(st.sockets, 1);
    assert.equal(st.rooms, 1, 'its own room');
    assert.equal(st.disconnect_transport_close,
      b['sioc_disconnections_total{reason="transport close"}']);
    for (const cause of ['unknown_sid', 'bad_request', 'bad_origin', 'forbidden',
      'invalid_namespace', 'middleware']) {
      assert.equal(st[`refused_${cause}`], b[`sioc_handshakes_refused_total{cause="${cause}"}`],
        cause);
    }
    assert.equal(st.refused_unauthorized,
      b['sioc_handshakes_refused_total{cause="unauthorized"}']);
    assert.ok(st.packets_received >= b.sioc_packets_received_total + 1);
    assert.ok(st.loop_turns >= b.sioc_loop_turn_seconds_count);
    s.disconnect();
  });

  test('the endpoint wants its bearer token', async () => {
    const none = await scrape(ctx.srv.port, null);
    assert.equal(none.res.status, 401);
    assert.equal(none.res.headers['www-authenticate'], 'Bearer');
    const wrong = await scrape(ctx.srv.port, `${TOKEN}x`);
    assert.equal(wrong.res.status, 401);
  });

  test('the log callback received each refusal once, with its cause', async () => {
    await sleep(100);
    const logs = ctx.srv.lines.filter((l) => l.startsWith('LOG '));
    const refused = logs.filter((l) => / refused\./.test(l));
    const seen = {};
    for (const l of refused) {
      const m = /^LOG (\S+) refused\.(\S+) (.*)$/.exec(l);
      assert.ok(m, l);
      assert.equal(m[1], 'info', l);
      seen[m[2]] = (seen[m[2]] ?? 0) + 1;
    }
    // the workload's, then the two 401s of the test before
    assert.deepEqual(seen, { ...REFUSALS, unauthorized: 3 },
      `refusal logs:\n${refused.join('\n')}`);
    assert.ok(refused.some((l) => /refused\.middleware 127\.0\.0\.1 \S+ namespace \/: not authorized/.test(l)),
      'the middleware refusal names the address, session, namespace and message');
    assert.ok(refused.some((l) => /refused\.unknown_sid 127\.0\.0\.1 GET \/socket\.io\/\?EIO=4&transport=polling&sid=nope/.test(l)),
      'the request is named');
  });

  test('the server exits cleanly on SIGTERM', async () => {
    await ctx.srv.stop();
  });
});

describe("libwebsockets' log goes through the callback (--log-level debug)", { timeout: 30000 },
  () => {
    test('its notices arrive as event "lws" at debug; none at the default level', async () => {
      const dbg = await startSio(['--record-logs', 'on', '--log-level', 'debug']);
      const warn = await startSio(['--record-logs', 'on']);
      try {
        await dbg.waitFor(/^LOG debug lws /, 5000, 'an lws line');
        assert.ok(!warn.lines.some((l) => / lws /.test(l)), warn.lines.join('\n'));
      } finally {
        await dbg.stop();
        await warn.stop();
      }
    });
  });

describe('the metrics path is outside the caps (--max-pending-handshakes 1)', { timeout: 30000 },
  () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--metrics-path', '/metrics', '--max-pending-handshakes', '1',
        '--record-logs', 'on', '--log-level', 'info']);
    });
    after(async () => {
      await ctx.srv?.stop();
      await closeAll();
    });

    test('a handshake past the cap gets 503; the scrape still works and counts it', async () => {
      const w = new Counted();
      const port = ctx.srv.port;
      assert.equal((await w.request(port, 'GET', eioPath('EIO=4&transport=polling'))).status, 200);
      assert.equal((await w.request(port, 'GET', eioPath('EIO=4&transport=polling'))).status, 503);
      const { res, metrics } = await scrape(port, null);
      assert.equal(res.status, 200);
      assert.equal(metrics['sioc_handshakes_refused_total{cause="pending_cap"}'], 1);
      assert.equal(metrics.sioc_clients, 1);
      assert.equal(ctx.srv.lines.filter((l) => /^LOG info refused\.pending_cap /.test(l)).length,
        1);
      for (const c of w.conns) c.destroy();
    });

    test('the server exits cleanly on SIGTERM', async () => {
      await ctx.srv.stop();
    });
  });
