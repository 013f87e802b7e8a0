// The Socket.IO Admin UI protocol (@socket.io/admin-ui 0.5): the admin
// namespace of tests/servers/admin_server.c ($SIOC_ADMIN_SERVER), driven
// with socket.io-client 4.8 as the dashboard drives it (forceNew, no
// reconnection at first, withCredentials, auth {username, password} and
// then {sessionId}; the commands with the arguments the dashboard's pages
// send), against application clients whose state the tests know.
//
// Differential run: the same file passes against the reference, socket.io
// 4.8.4 with instrument() (tests/servers/admin_server_ref.cjs):
//   SIOC_ADMIN_SERVER=tests/servers/admin_server_ref.cjs \
//   SIOC_REF_MODULES=/path/to/node_modules node --test tests/integration/admin.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { io } from 'socket.io-client';
import { closeAll, startServer, within, sleep, STOP_TEST } from './lib.mjs';
import { url, trackSocket, next, connected, connectError, ack, escapeRe } from './sio_lib.mjs';

after(closeAll);

const ADMIN_SERVER = process.env.SIOC_ADMIN_SERVER;
const IS_REFERENCE = /\.(c|m)?js$/.test(ADMIN_SERVER ?? '');

// bcryptjs.hashSync('secret', 4)
const HASH = '$2a$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06';
const SERVER_ID = 'test-server';
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT',
  'AGGREGATED_EVENTS'];

function startAdmin(args) {
  assert.ok(ADMIN_SERVER, '$SIOC_ADMIN_SERVER names the admin test server');
  return startServer(args, ADMIN_SERVER);
}

// A dashboard: the options of the admin UI's tryConnect(). Every event is
// recorded from the start (the session event comes before the CONNECT).
function dashboard(port, auth, { wsOnly = true, nsp = '/admin' } = {}) {
  const s = trackSocket(io(url(port, nsp), {
    forceNew: true,
    reconnection: false,
    withCredentials: true,
    transports: wsOnly ? ['websocket'] : ['polling', 'websocket'],
    path: '/socket.io',
    auth,
    timeout: 5000,
  }));
  s.events = [];
  s.waiters = [];
  s.onAny((event, ...args) => {
    s.events.push([event, args]);
    for (const w of s.waiters.slice()) w();
  });
  return s;
}

// Resolves with the args of the first recorded `event` (from `from` on)
// for which pred(args) holds.
function seen(s, event, pred = () => true, ms = 5000, from = 0) {
  return within(ms, new Promise((resolve) => {
    const check = () => {
      for (const [e, args] of s.events.slice(from)) {
        if (e === event && pred(args)) {
          s.waiters = s.waiters.filter((w) => w !== check);
          resolve(args);
          return;
        }
      }
    };
    s.waiters.push(check);
    check();
  }), `dashboard event "${event}"`);
}

const stats = (s, pred, ms = 7000) => seen(s, 'server_stats', ([st]) => pred(st), ms)
  .then(([st]) => st);

// An application client (its own connection) on nsp.
async function appClient(port, transports, extra = {}, nsp = '/') {
  const s = trackSocket(io(url(port, nsp), {
    forceNew: true, reconnection: false, timeout: 5000, transports, ...extra,
  }));
  await connected(s);
  return s;
}

const nspCount = (st, name) => st.namespaces.find((n) => n.name === name)?.socketsCount;

// The rooms of an application socket, as the server sees them.
const roomsOf = async (s) => (await ack(s, 'rooms'))[0].sort();

describe('admin namespace, basic auth, development mode', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startAdmin(['--auth', 'admin', HASH, '--mode', 'development',
      '--server-id', SERVER_ID, '--namespace', '/chat']);
  });
  after(() => srv.stop());

  test('a wrong password, a wrong username, no credentials: "invalid credentials"',
    { timeout: 15000 }, async () => {
      const cases = [{ username: 'admin', password: 'wrong' },
        { username: 'root', password: 'secret' }, {}];
      // the reference's bcryptjs.compare(password, hash) of a password that is not a
      // string rejects, unhandled: its process dies
      if (!IS_REFERENCE) cases.push({ username: 'admin' }, { username: 'admin', password: 42 });
      for (const auth of cases) {
        const d = dashboard(srv.port, auth);
        const err = await connectError(d);
        assert.equal(err.message, 'invalid credentials', JSON.stringify(auth));
        assert.equal(d.events.length, 0, 'nothing sent before the refusal');
        d.close();
      }
    });

  test('login: session id, then config with every feature', { timeout: 10000 }, async () => {
    const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
    await connected(d);
    const [sessionId] = await seen(d, 'session');
    assert.match(sessionId, /^[0-9a-f]{16}$/);
    assert.equal(d.events[0][0], 'session', 'the session comes first');
    const [config] = await seen(d, 'config');
    assert.deepEqual(config, { supportedFeatures: [...ALL_FEATURES, 'ALL_EVENTS'] });
    d.close();
  });

  test('a second login with the session id: no password, no new session',
    { timeout: 10000 }, async () => {
      const first = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(first);
      const [sessionId] = await seen(first, 'session');
      first.close();
      const again = dashboard(srv.port, { sessionId });
      await connected(again);
      await seen(again, 'config');
      assert.ok(!again.events.some(([e]) => e === 'session'), 'no session event');
      again.close();
      const bogus = dashboard(srv.port, { sessionId: '0123456789abcdef' });
      assert.equal((await connectError(bogus)).message, 'invalid credentials');
      bogus.close();
    });

  test('all_sockets: every socket with the reference\'s serialized shape',
    { timeout: 15000 }, async () => {
      const a = await appClient(srv.port, ['polling'], {
        query: { foo: 'bar baz' }, extraHeaders: { 'x-test': 'yes' },
      });
      const b = await appClient(srv.port, ['websocket']);
      const chat = trackSocket(b.io.socket('/chat'));
      await connected(chat);
      await ack(a, 'join', 'room-a');
      const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(d);
      const [config] = await seen(d, 'config');
      assert.ok(config.supportedFeatures.includes('ALL_EVENTS'));
      const [all] = await seen(d, 'all_sockets');
      const byId = new Map(all.map((s) => [s.id, s]));
      const sa = byId.get(a.id);
      assert.ok(sa, 'the polling client is listed');
      assert.deepEqual(Object.keys(sa).sort(),
        ['clientId', 'data', 'handshake', 'id', 'nsp', 'rooms', 'transport']);
      assert.equal(sa.clientId, a.io.engine.id.slice(0, 12));
      assert.equal(sa.transport, 'polling');
      assert.equal(sa.nsp, '/');
      assert.deepEqual(sa.data, {});
      assert.deepEqual(sa.rooms.sort(), [a.id, 'room-a'].sort());
      const hs = sa.handshake;
      assert.deepEqual(Object.keys(hs).sort(),
        ['address', 'headers', 'issued', 'query', 'secure', 'time', 'url', 'xdomain']);
      assert.equal(hs.address, '127.0.0.1');
      assert.equal(hs.headers['x-test'], 'yes');
      assert.equal(hs.headers.host, `127.0.0.1:${srv.port}`);
      assert.equal(hs.query.foo, 'bar baz');
      assert.equal(hs.query.EIO, '4');
      assert.equal(hs.query.transport, 'polling');
      assert.match(hs.url, /^\/socket\.io\/\?/);
      assert.ok(Math.abs(hs.issued - Date.now()) < 60000, 'issued is a time in ms');
      assert.equal(hs.secure, false);
      assert.equal(hs.xdomain, false);
      assert.match(hs.time, /^\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT[+-]\d{4} \(.+\)$/);
      assert.equal(hs.time, new Date(hs.issued).toString(), 'time: Date#toString() of issued');
      const sb = byId.get(b.id);
      assert.equal(sb.transport, 'websocket');
      assert.equal(sb.handshake.query.transport, 'websocket');
      const sc = byId.get(chat.id);
      assert.equal(sc.nsp, '/chat');
      assert.equal(sc.clientId, sb.clientId, 'one connection, one clientId');
      assert.deepEqual(sc.rooms, [chat.id]);
      // the dashboard's own socket is one of the admin namespace's, as in the reference
      const own = all.filter((s) => s.nsp === '/admin');
      assert.deepEqual(own.map((s) => s.id), [d.id]);
      assert.equal(all.length, 4);
      for (const s of [a, b, chat, d]) s.disconnect();
    });

  test('server_stats: ids, counts, namespaces and aggregated events of known clients',
    { timeout: 20000 }, async () => {
      const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(d);
      const p1 = await appClient(srv.port, ['polling']);
      const w1 = await appClient(srv.port, ['websocket']);
      const w2 = await appClient(srv.port, ['websocket']);
      const chat = trackSocket(w2.io.socket('/chat'));
      await connected(chat);
      // 3 application connections and the dashboard's (websocket)
      const st = await stats(d, (s) => s.clientsCount === 4 && nspCount(s, '/') === 3);
      assert.equal(st.serverId, SERVER_ID);
      assert.equal(st.hostname, os.hostname());
      assert.equal(typeof st.pid, 'number');
      assert.ok(st.uptime > 0 && st.uptime < 3600 * 24 * 365, `uptime ${st.uptime}`);
      assert.equal(st.pollingClientsCount, 1);
      assert.equal(nspCount(st, '/chat'), 1);
      assert.equal(nspCount(st, '/admin'), 1, 'the admin namespace is listed, as in the reference');
      assert.ok(Array.isArray(st.aggregatedEvents));
      // over the stats seen since the dashboard logged in: the 3 connections
      const events = d.events.filter(([e]) => e === 'server_stats')
        .flatMap(([, [s]]) => s.aggregatedEvents);
      for (const e of events) {
        assert.equal(e.timestamp % 1000, 0);
        assert.ok(['rawConnection', 'rawDisconnection', 'packetsIn', 'packetsOut', 'bytesIn',
          'bytesOut'].includes(e.type), e.type);
        assert.ok(e.count > 0);
      }
      const sum = (type) => events.filter((e) => e.type === type).reduce((n, e) => n + e.count, 0);
      assert.ok(sum('rawConnection') >= 3, `rawConnection ${sum('rawConnection')}`);
      assert.ok(sum('packetsOut') > 0 && sum('bytesOut') > sum('packetsOut'));
      assert.ok(sum('packetsIn') > 0 && sum('bytesIn') > 0);
      // a polling client leaves: both counts drop, its disconnection is aggregated
      p1.disconnect();
      p1.io.engine.close();
      const after = await stats(d, (s) => s.clientsCount === 3 && s.pollingClientsCount === 0);
      assert.equal(nspCount(after, '/'), 2);
      await seen(d, 'server_stats', ([s]) => s.aggregatedEvents.some(
        (e) => e.type === 'rawDisconnection' && typeof e.subType === 'string'), 7000);
      for (const s of [w1, w2, chat, d]) s.disconnect();
    });

  test('live events: connected, rooms, events in and out, upgrade, disconnected',
    { timeout: 20000 }, async () => {
      const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(d);
      await seen(d, 'all_sockets');
      const c = await appClient(srv.port, undefined); // polling, then websocket
      const id = c.id;
      const [sock, date] = await seen(d, 'socket_connected', ([s]) => s.id === id);
      assert.match(date, ISO_DATE);
      assert.equal(sock.nsp, '/');
      assert.equal(sock.transport, 'polling');
      assert.deepEqual(sock.rooms, [id]);
      assert.equal(sock.clientId, c.io.engine.id.slice(0, 12));
      const [, ownRoom] = await seen(d, 'room_joined', ([n, room, sid]) => sid === id);
      assert.equal(ownRoom, id);
      const [upd] = await seen(d, 'socket_updated', ([u]) => u.id === id);
      assert.deepEqual(upd, { id, nsp: '/', transport: 'websocket' });

      await ack(c, 'join', 'lobby');
      const joined = await seen(d, 'room_joined', ([, room, sid]) => room === 'lobby' && sid === id);
      assert.equal(joined[0], '/');
      assert.match(joined[3], ISO_DATE);

      c.emit('hello', 1, { x: 'y' });
      const rcv = await seen(d, 'event_received', ([, sid, args]) => sid === id && args[0] === 'hello');
      assert.deepEqual(rcv.slice(0, 3), ['/', id, ['hello', 1, { x: 'y' }]]);
      assert.match(rcv[3], ISO_DATE);

      c.emit('hello', Buffer.from([1, 2, 3]));
      const bin = await seen(d, 'event_received',
        ([, sid, args]) => sid === id && args[0] === 'hello' && typeof args[1] === 'object');
      assert.deepEqual([...new Uint8Array(bin[2][1])], [1, 2, 3], 'binary forwarded');

      const echoed = next(c, 'echo');
      c.emit('echo', 'ping', [1, 2]);
      await echoed;
      const sent = await seen(d, 'event_sent', ([, sid, args]) => sid === id && args[0] === 'echo');
      assert.deepEqual(sent.slice(0, 3), ['/', id, ['echo', 'ping', [1, 2]]]);
      assert.match(sent[3], ISO_DATE);

      await ack(c, 'leave', 'lobby');
      const left = await seen(d, 'room_left', ([, room, sid]) => room === 'lobby' && sid === id);
      assert.equal(left[0], '/');

      c.disconnect();
      const gone = await seen(d, 'socket_disconnected', ([, sid]) => sid === id);
      assert.deepEqual(gone.slice(0, 3), ['/', id, 'client namespace disconnect']);
      assert.match(gone[3], ISO_DATE);
      await seen(d, 'room_left', ([, room, sid]) => room === id && sid === id);
      // the dashboard's own events are not reported as event_received
      assert.ok(!d.events.some(([e, a]) => e.startsWith('event_') && a[0] === '/admin'));
      d.close();
    });

  test('commands: emit, join, leave, _disconnect with their filters', { timeout: 20000 },
    async () => {
      const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(d);
      await seen(d, 'config');
      const a = await appClient(srv.port, ['websocket']);
      const b = await appClient(srv.port, ['polling']);
      const bChat = trackSocket(b.io.socket('/chat'));
      await connected(bChat);

      // emit to one socket (filter: its id), then to a room, then to all
      const gotA = [];
      const gotB = [];
      a.on('greet', (...args) => gotA.push(args));
      b.on('greet', (...args) => gotB.push(args));
      d.emit('emit', '/', a.id, 'greet', 'hi', { n: 1 });
      assert.deepEqual(await next(a, 'greet'), ['hi', { n: 1 }]);
      await ack(b, 'join', 'team');
      d.emit('emit', '/', 'team', 'greet', 'team');
      assert.deepEqual(await next(b, 'greet'), ['team']);
      d.emit('emit', '/', undefined, 'greet', 'all');
      await Promise.all([next(a, 'greet'), next(b, 'greet')]);
      assert.deepEqual(gotA, [['hi', { n: 1 }], ['all']]);
      assert.deepEqual(gotB, [['team'], ['all']]);
      // binary arguments go through
      d.emit('emit', '/', a.id, 'blob', { file: Buffer.from([9, 8, 7]) });
      const [blob] = await next(a, 'blob');
      assert.deepEqual([...new Uint8Array(blob.file)], [9, 8, 7]);

      // join / leave one socket (the socket page), then everyone (the room page's clear)
      d.emit('join', '/', 'vip', a.id);
      await seen(d, 'room_joined', ([, room, sid]) => room === 'vip' && sid === a.id);
      assert.deepEqual(await roomsOf(a), [a.id, 'vip'].sort());
      assert.deepEqual(await roomsOf(b), [b.id, 'team'].sort());
      d.emit('join', '/', 'everyone');
      await seen(d, 'room_joined', ([, room, sid]) => room === 'everyone' && sid === b.id);
      assert.ok((await roomsOf(a)).includes('everyone'));
      d.emit('leave', '/', 'vip', a.id);
      await seen(d, 'room_left', ([, room, sid]) => room === 'vip' && sid === a.id);
      assert.deepEqual(await roomsOf(a), [a.id, 'everyone'].sort());
      d.emit('leave', '/', 'everyone');
      await seen(d, 'room_left', ([, room, sid]) => room === 'everyone' && sid === b.id);
      assert.deepEqual(await roomsOf(b), [b.id, 'team'].sort());
      // join a room of /chat only
      d.emit('join', '/chat', 'chat-room', bChat.id);
      await seen(d, 'room_joined', ([n, room]) => n === '/chat' && room === 'chat-room');
      assert.deepEqual(await roomsOf(bChat), [bChat.id, 'chat-room'].sort());
      assert.deepEqual(await roomsOf(b), [b.id, 'team'].sort());

      // _disconnect one socket (close false): its connection stays
      const [aId, chatId] = [a.id, bChat.id];
      const aGone = next(a, 'disconnect');
      d.emit('_disconnect', '/', false, aId);
      assert.equal((await aGone)[0], 'io server disconnect');
      await srv.waitFor(new RegExp(`^DISCONNECT / ${escapeRe(aId)} server namespace disconnect$`));
      // _disconnect with close: every namespace of b's connection leaves
      const bGone = next(b, 'disconnect');
      const chatGone = next(bChat, 'disconnect');
      d.emit('_disconnect', '/', true, 'team');
      assert.equal((await bGone)[0], 'io server disconnect');
      assert.equal((await chatGone)[0], 'io server disconnect');
      await srv.waitFor(new RegExp(`^DISCONNECT /chat ${escapeRe(chatId)} `));
      d.close();
    });

  test(STOP_TEST, async () => {
    await srv.stop();
  });
});

describe('read-only dashboard', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startAdmin(['--auth', 'admin', HASH, '--mode', 'development', '--read-only']);
  });
  after(() => srv.stop());

  test('config leaves out the commands, and the commands do nothing', { timeout: 15000 },
    async () => {
      const d = dashboard(srv.port, { username: 'admin', password: 'secret' });
      await connected(d);
      const [config] = await seen(d, 'config');
      assert.deepEqual(config, { supportedFeatures: ['AGGREGATED_EVENTS', 'ALL_EVENTS'] });
      const c = await appClient(srv.port, ['websocket']);
      let greeted = false;
      c.on('greet', () => {
        greeted = true;
      });
      d.emit('emit', '/', c.id, 'greet', 'x');
      d.emit('join', '/', 'vip', c.id);
      d.emit('leave', '/', c.id, c.id);
      d.emit('_disconnect', '/', true, c.id);
      await sleep(500); // the commands had time to act, had they been taken
      assert.deepEqual(await roomsOf(c), [c.id]);
      assert.ok(c.connected, 'still connected');
      assert.equal(greeted, false);
      c.disconnect();
      d.close();
    });

  test(STOP_TEST, async () => {
    await srv.stop();
  });
});

describe('production mode, no auth', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startAdmin(['--server-id', SERVER_ID]);
  });
  after(() => srv.stop());

  test('anyone logs in; config without ALL_EVENTS; stats but no per-socket data',
    { timeout: 20000 }, async () => {
      const d = dashboard(srv.port, undefined, { wsOnly: false });
      await connected(d);
      const [config] = await seen(d, 'config');
      assert.deepEqual(config, { supportedFeatures: ALL_FEATURES });
      const c = await appClient(srv.port, ['websocket']);
      await ack(c, 'join', 'lobby');
      c.emit('hello', 1);
      await srv.waitFor(new RegExp(`^EVENT / ${escapeRe(c.id)} hello \\[1\\]$`));
      const echoed = next(c, 'echo');
      c.emit('echo', 2);
      await echoed;
      const st = await stats(d, (s) => nspCount(s, '/') === 1);
      assert.equal(st.serverId, SERVER_ID);
      // the admin namespace and the dashboard's connection are counted in
      // production mode too, as the reference counts them (issue 15's text
      // says they are left out: the reference does not leave them out)
      assert.deepEqual(st.namespaces.map((n) => n.name).sort(), ['/', '/admin']);
      assert.equal(nspCount(st, '/admin'), 1, 'the dashboard\'s socket');
      assert.equal(st.clientsCount, 2, 'the application client and the dashboard');
      assert.ok(st.aggregatedEvents.length > 0 || d.events.some(([e, [s]]) =>
        e === 'server_stats' && s.aggregatedEvents.length > 0), 'aggregated events are sent');
      // commands work in production mode too
      d.emit('join', '/', 'vip', c.id);
      await within(5000, (async () => {
        while (!(await roomsOf(c)).includes('vip')) await sleep(50);
      })(), 'vip joined');
      const id = c.id;
      c.disconnect();
      await srv.waitFor(new RegExp(`^DISCONNECT / ${escapeRe(id)} `));
      await stats(d, (s) => nspCount(s, '/') === 0);
      const names = new Set(d.events.map(([e]) => e));
      for (const e of ['session', 'all_sockets', 'socket_connected', 'socket_updated',
        'socket_disconnected', 'room_joined', 'room_left', 'event_received', 'event_sent']) {
        assert.ok(!names.has(e), `no ${e} in production mode`);
      }
      d.close();
    });

  test(STOP_TEST, async () => {
    await srv.stop();
  });
});

// A GET on the server: { status, headers, body }.
function get(port, path) {
  return within(5000, new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  }), `GET ${path}`);
}

describe('the dashboard served under ui_path', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startAdmin(['--ui-path', '/admin-ui']);
  });
  after(() => srv.stop());

  test('index.html, its scripts, the redirect to the folder, nothing outside',
    { timeout: 15000 }, async () => {
      const index = await get(srv.port, '/admin-ui/');
      assert.equal(index.status, 200);
      assert.match(index.headers['content-type'], /^text\/html/);
      assert.match(index.body, /<title>Socket.IO Admin UI<\/title>/);
      const script = /<script src="(js\/app\.[0-9a-f]+\.js)">/.exec(index.body);
      assert.ok(script, 'the app script is named in index.html');
      const js = await get(srv.port, `/admin-ui/${script[1]}`);
      assert.equal(js.status, 200);
      assert.match(js.headers['content-type'], /javascript/);
      assert.ok(js.body.length > 10000);
      const bare = await get(srv.port, '/admin-ui');
      assert.equal(bare.status, 301);
      assert.equal(bare.headers.location, '/admin-ui/');
      assert.equal((await get(srv.port, '/admin-ui/missing.js')).status, 404);
      assert.ok([403, 404].includes((await get(srv.port, '/admin-ui/%2e%2e/package.json')).status));
      assert.equal((await get(srv.port, '/index.html')).status, 404, 'only under the path');
      // and the admin namespace works beside it
      const d = dashboard(srv.port, undefined);
      await connected(d);
      await seen(d, 'config');
      d.close();
    });

  test(STOP_TEST, async () => {
    await srv.stop();
  });
});
