'use strict';
/*
 * The reference twin of sio_server.c: the same command line, the same
 * stdout lines and the same event handlers, on the reference socket.io
 * server. Used for differential testing: run the integration tests with
 *   SIOC_SIO_SERVER=tests/servers/sio_server_ref.cjs node --test ...
 * socket.io is loaded from $SIOC_REF_MODULES (default /tmp/ref/node_modules,
 * where `npm install socket.io@4.8.4` was run). It is not a dependency of the
 * test suite.
 *
 * sio_server.c's header comment describes the lines and the handlers.
 */
const path = require('node:path');
const http = require('node:http');

const modules = process.env.SIOC_REF_MODULES || '/tmp/ref/node_modules';
const { Server } = require(path.join(modules, 'socket.io'));

const opts = { path: '/socket.io/', transports: ['polling', 'websocket'] };
const staticNamespaces = [];
let pattern = null;
let prefix = null;
let listenPort = 0;
let recovery = null; // connectionStateRecovery, with --recovery on
const recoveryOpts = {};

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => {
    if (i + 1 >= argv.length) {
      process.stderr.write(`missing value after ${a}\n`);
      process.exit(2);
    }
    return argv[++i];
  };
  switch (a) {
    case '--connect-timeout': opts.connectTimeout = Number(next()); break;
    case '--ping-interval': opts.pingInterval = Number(next()); break;
    case '--allow-eio3': opts.allowEIO3 = next() === 'on'; break;
    case '--port': listenPort = Number(next()); break;
    case '--parser':
      if (next() === 'msgpack') opts.parser = require(path.join(modules, 'socket.io-msgpack-parser'));
      break;
    case '--ping-timeout': opts.pingTimeout = Number(next()); break;
    case '--transports': opts.transports = next().split(','); break;
    case '--namespace': staticNamespaces.push(next()); break;
    case '--dynamic-pattern': pattern = next(); break;
    case '--dynamic-prefix': prefix = next(); break;
    case '--recovery': recovery = next() === 'on'; break;
    case '--recovery-duration': recoveryOpts.maxDisconnectionDuration = Number(next()); break;
    case '--recovery-skip-middlewares': recoveryOpts.skipMiddlewares = next() === 'on'; break;
    case '--recovery-history-bytes': next(); break; // the reference has no such bound
    case '--shutdown-timeout': next(); break; // io.close() has no deadline
    default:
      process.stderr.write(`unknown option ${a}\n`);
      process.exit(2);
  }
}

// fnmatch(3) without flags, as a regular expression.
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
      } else {
        let set = glob.slice(i + 1, end);
        if (set[0] === '!') set = `^${set.slice(1)}`;
        re += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const out = (line) => process.stdout.write(line + '\n');

// JSON for the ACK lines: a binary value is written {"_bin":"<hex>"}.
const showJson = (v) => JSON.stringify(v, (k, x) => {
  if (x && x.type === 'Buffer' && Array.isArray(x.data)) return { _bin: Buffer.from(x.data).toString('hex') };
  return x;
});
if (recovery) opts.connectionStateRecovery = recoveryOpts;
const httpServer = http.createServer();
const io = new Server(httpServer, opts);
const timers = new Set();

function middleware(socket, next) {
  const auth = socket.handshake.auth;
  if (recovery) out(`MIDDLEWARE ${socket.nsp.name} ${socket.id} ${socket.recovered ? 1 : 0}`);
  if (auth && auth.token === 'bad') {
    const err = new Error('not authorized');
    err.data = { reason: 'bad token' };
    next(err);
    return;
  }
  next();
}

const HANDLED = new Set(['echo', 'ack', 'ask', 'join', 'leave', 'off', 'to-room', 'broadcast', 'to-except',
  'to-rooms', 'all', 'fetch', 'fetch-rooms', 'sockets-join', 'sockets-leave', 'disconnect-me', 'disconnect-room', 'volatile',
  'handshake', 'timer', 'thread', 'close-conn', 'ticker', 'set-data', 'get-data']);

// Splits off the acknowledgement callback, if any.
function split(args) {
  if (args.length && typeof args[args.length - 1] === 'function') {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

function onConnection(socket) {
  const nsp = socket.nsp;
  const pending = new Set(); // server-initiated acks not settled yet

  out(`CONNECT ${nsp.name} ${socket.id} ${JSON.stringify(socket.handshake.auth)}`);
  if (socket.recovered) out(`RECOVERED ${nsp.name} ${socket.id}`);
  socket.on('disconnecting', (reason) => {
    out(`DISCONNECTING ${nsp.name} ${socket.id} ${reason} ${[...socket.rooms].join(',')}`);
  });
  socket.on('disconnect', (reason) => {
    for (const p of pending) out(`ACK ${socket.id} closed null`);
    pending.clear();
    out(`DISCONNECT ${nsp.name} ${socket.id} ${reason}`);
  });

  socket.on('echo', (...all) => {
    const [args] = split(all);
    socket.emit('echo', ...args);
  });
  socket.on('ack', (...all) => {
    const [args, cb] = split(all);
    if (cb) cb(...args);
  });
  socket.on('ask', (...all) => {
    const [args] = split(all);
    const ms = Number(args[0]) || 0;
    const token = {};
    pending.add(token);
    const done = (err, replies) => {
      if (!pending.delete(token)) return;
      out(`ACK ${socket.id} ${err} ${showJson(replies)}`);
    };
    if (ms > 0) {
      socket.timeout(ms).emit('question', 'what?', (err, ...replies) => {
        if (err) done('timeout', null);
        else done('0', replies);
      });
    } else {
      socket.emit('question', 'what?', (...replies) => done('0', replies));
    }
  });
  const rooms = () => [...socket.rooms];
  socket.on('join', (...all) => {
    const [args, cb] = split(all);
    socket.join(String(args[0]));
    if (cb) cb(rooms());
  });
  socket.on('leave', (...all) => {
    const [args, cb] = split(all);
    socket.leave(String(args[0]));
    if (cb) cb(rooms());
  });
  const removed = new Set();
  socket.on('off', (...all) => {
    const [args, cb] = split(all);
    const name = String(args[0]);
    const had = socket.listenerCount(name) > 0;
    socket.removeAllListeners(name);
    if (had) removed.add(name);
    if (cb) cb(had);
  });
  socket.on('to-room', (...all) => {
    const [args, cb] = split(all);
    nsp.to(String(args[0])).emit('room-msg', args[1]);
    if (cb) cb();
  });
  socket.on('broadcast', (...all) => {
    const [args, cb] = split(all);
    socket.broadcast.emit('broadcast-msg', args[0]);
    if (cb) cb();
  });
  socket.on('to-except', (...all) => {
    const [args, cb] = split(all);
    nsp.to(String(args[0])).except(String(args[1])).emit('except-msg', args[2]);
    if (cb) cb();
  });
  socket.on('to-rooms', (...all) => {
    const [args, cb] = split(all);
    nsp.to(args[0]).except(args[1]).emit('rooms-msg', args[2]);
    if (cb) cb();
  });
  socket.on('all', (...all) => {
    const [args, cb] = split(all);
    nsp.emit('all-msg', args[0]);
    if (cb) cb();
  });
  socket.on('fetch', async (...all) => {
    const [args, cb] = split(all);
    const sel = args[0] === null || args[0] === undefined ? nsp : nsp.in(String(args[0]));
    const sockets = await sel.fetchSockets();
    if (cb) cb(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms] })));
  });
  socket.on('fetch-rooms', async (...all) => {
    const [args, cb] = split(all);
    const sockets = await nsp.in(args[0]).except(args[1]).fetchSockets();
    if (cb) cb(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms] })));
  });
  socket.on('sockets-join', (...all) => {
    const [args, cb] = split(all);
    const sel = args[0] === null ? nsp : nsp.in(String(args[0]));
    sel.socketsJoin(String(args[1]));
    if (cb) cb(true);
  });
  socket.on('sockets-leave', (...all) => {
    const [args, cb] = split(all);
    const sel = args[0] === null ? nsp : nsp.in(String(args[0]));
    sel.socketsLeave(String(args[1]));
    if (cb) cb(true);
  });
  socket.on('disconnect-me', (...all) => {
    const [args] = split(all);
    socket.disconnect(args[0] === true);
  });
  socket.on('disconnect-room', (...all) => {
    const [args] = split(all);
    const sel = args[0] === null ? nsp : nsp.in(String(args[0]));
    sel.disconnectSockets(args[1] === true);
  });
  socket.on('close-conn', () => {
    socket.conn.close();
  });
  socket.on('volatile', (...all) => {
    const [args] = split(all);
    socket.volatile.emit('v', args[0]);
  });
  socket.on('handshake', (...all) => {
    const [args, cb] = split(all);
    const want = args[0] || {};
    const hs = socket.handshake;
    const query = {};
    for (const k of want.query || []) query[k] = hs.query[k] ?? null;
    const headers = {};
    for (const k of want.headers || []) headers[k] = hs.headers[k.toLowerCase()] ?? null;
    if (cb) {
      cb({
        query, headers, address: hs.address, auth: hs.auth, secure: hs.secure,
        xdomain: hs.xdomain, issued: hs.issued, url: hs.url,
      });
    }
  });
  socket.on('timer', (...all) => {
    const [args] = split(all);
    const ms = Number(args[0]) || 0;
    const id = socket.id;
    const t = setTimeout(() => {
      timers.delete(t);
      nsp.to(id).emit('timer-done', ms);
    }, ms);
    timers.add(t);
  });
  socket.on('thread', (...all) => {
    const [args] = split(all);
    const id = socket.id;
    const t = setTimeout(async () => {
      timers.delete(t);
      const found = await nsp.in(id).fetchSockets();
      for (const s of found) s.emit('from-thread', args[0] ?? null);
    }, 10);
    timers.add(t);
  });
  socket.on('set-data', (...all) => {
    const [args, cb] = split(all);
    socket.data = args[0] ?? null;
    if (cb) cb();
  });
  socket.on('get-data', (...all) => {
    const [, cb] = split(all);
    if (cb) cb(socket.data ?? null, socket.recovered);
  });
  socket.on('ticker', (...all) => {
    const [args, cb] = split(all);
    const [room, n, ms] = args;
    const id = socket.id;
    let i = 0;
    const t = setInterval(() => {
      if (i >= n) {
        clearInterval(t);
        timers.delete(t);
        nsp.to(id).emit('tick-done', n);
        return;
      }
      if (room) nsp.to(room).emit('tick', i, 'room');
      nsp.to(id).emit('tick', i, 'self');
      const s = nsp.sockets.get(id);
      if (s && s.connected) s.emit('tick', i, 'direct');
      i++;
    }, ms > 0 ? ms : 10);
    timers.add(t);
    if (cb) cb();
  });
  socket.onAny((event) => {
    if (!HANDLED.has(event) || removed.has(event)) socket.emit('unknown', event);
  });
}

const namespaces = [io.of('/')];
for (const name of staticNamespaces) namespaces.push(io.of(name));
if (pattern) namespaces.push(io.of(globToRegExp(pattern)));
if (prefix) namespaces.push(io.of((name, auth, next) => next(null, name.startsWith(prefix))));
for (const nsp of namespaces) {
  nsp.use(middleware);
  nsp.on('connection', onConnection);
}

httpServer.listen(listenPort, '127.0.0.1', () => out(`PORT ${httpServer.address().port}`));
const stop = () => {
  for (const t of timers) { clearTimeout(t); clearInterval(t); }
  // io.close() as an application calls it: the sockets leave ("server
  // shutting down"), the engine closes every session (a pending poll gets
  // the close packet) and then the HTTP server. What it leaves open (a
  // request in flight, a raw test connection) is cut a little later, not
  // at once: cutting first would turn a poll's close packet into a
  // transport error.
  io.close(() => process.exit(0));
  setTimeout(() => httpServer.closeAllConnections(), 200).unref();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
