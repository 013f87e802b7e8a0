'use strict';
/*
 * The reference twin of admin_server.c: the same command line, stdout
 * lines and handlers, on the reference socket.io server instrumented by
 * @socket.io/admin-ui's instrument(). Used for differential testing:
 *   SIOC_ADMIN_SERVER=tests/servers/admin_server_ref.cjs node --test \
 *     tests/integration/admin.test.mjs
 * socket.io is loaded from $SIOC_REF_MODULES (default /tmp/ref/node_modules,
 * where `npm install socket.io@4.8.4` was run; not a dependency of the test
 * suite), @socket.io/admin-ui from there too when it is installed there,
 * else from static/admin-ui/node_modules (the pinned copy whose ui/dist
 * sioc serves).
 */
const path = require('node:path');
const fs = require('node:fs');
const http = require('node:http');

const modules = process.env.SIOC_REF_MODULES || '/tmp/ref/node_modules';
const { Server } = require(path.join(modules, 'socket.io'));
const pinned = path.join(__dirname, '..', '..', 'static', 'admin-ui', 'node_modules');
const adminUi = fs.existsSync(path.join(modules, '@socket.io', 'admin-ui'))
  ? path.join(modules, '@socket.io', 'admin-ui')
  : path.join(pinned, '@socket.io', 'admin-ui');
const { instrument } = require(adminUi);

const admin = { namespaceName: '/admin', auth: false, mode: 'production', readonly: false };
const namespaces = ['/'];
let uiPath = null;
let uiDir = path.join(adminUi, 'ui', 'dist');
let listenPort = 0;

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
    case '--auth': admin.auth = { type: 'basic', username: next(), password: next() }; break;
    case '--mode': admin.mode = next() === 'development' ? 'development' : 'production'; break;
    case '--read-only': admin.readonly = true; break;
    case '--admin-namespace': admin.namespaceName = next(); break;
    case '--server-id': admin.serverId = next(); break;
    case '--ui-path': uiPath = next(); break;
    case '--ui-dir': uiDir = next(); break;
    case '--namespace': namespaces.push(next()); break;
    case '--port': listenPort = Number(next()); break;
    default:
      process.stderr.write(`unknown option ${a}\n`);
      process.exit(2);
  }
}
// sioc's default serverId is "<hostname>#<pid>" (the reference's in a
// cluster worker); the tests compare it only when they set one.
if (!admin.serverId) admin.serverId = `${require('node:os').hostname()}#${process.pid}`;

const out = (line) => process.stdout.write(line + '\n');

// The dashboard, as sioc's ui_path serves it (for the browser test only).
const types = { '.html': 'text/html', '.js': 'application/javascript', '.css': 'text/css',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json' };
const httpServer = http.createServer((req, res) => {
  const p = uiPath ? uiPath.replace(/\/$/, '') : null;
  const url = req.url.split('?')[0];
  if (p && (url === p || url.startsWith(p + '/'))) {
    if (url === p) {
      res.writeHead(301, { Location: p + '/' }).end();
      return;
    }
    const rel = decodeURIComponent(url.slice(p.length + 1)) || 'index.html';
    const file = path.join(uiDir, path.normalize(rel));
    if (file.startsWith(uiDir) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
      res.end(fs.readFileSync(file));
      return;
    }
  }
  if (!req.url.startsWith('/socket.io/')) res.writeHead(404).end();
});
const io = new Server(httpServer, { path: '/socket.io/', transports: ['polling', 'websocket'] });

function onConnection(socket) {
  const nsp = socket.nsp;
  out(`CONNECT ${nsp.name} ${socket.id}`);
  socket.on('disconnect', (reason) => out(`DISCONNECT ${nsp.name} ${socket.id} ${reason}`));
  const rooms = () => [...socket.rooms];
  const handled = new Set(['join', 'leave', 'rooms', 'echo']);
  socket.on('join', (room, cb) => {
    if (typeof room === 'string') socket.join(room);
    if (typeof cb === 'function') cb(rooms());
  });
  socket.on('leave', (room, cb) => {
    if (typeof room === 'string') socket.leave(room);
    if (typeof cb === 'function') cb(rooms());
  });
  socket.on('rooms', (cb) => {
    if (typeof cb === 'function') cb(rooms());
  });
  socket.on('echo', (...args) => {
    if (args.length && typeof args[args.length - 1] === 'function') args.pop();
    socket.emit('echo', ...args);
  });
  socket.onAny((event, ...args) => {
    if (handled.has(event)) return;
    const cb = args.length && typeof args[args.length - 1] === 'function' ? args.pop() : null;
    out(`EVENT ${nsp.name} ${socket.id} ${event} ${JSON.stringify(args)}`);
    if (cb) cb();
  });
}
for (const name of namespaces) io.of(name).on('connection', onConnection);
instrument(io, admin);

httpServer.listen(listenPort, '127.0.0.1', () => out(`PORT ${httpServer.address().port}`));
const stop = () => {
  io.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
