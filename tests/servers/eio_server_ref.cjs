'use strict';
/*
 * The reference twin of eio_server.c: the same command line and the same
 * stdout lines, on the reference engine.io server. Used for differential
 * testing: run the integration tests with
 *   SIOC_EIO_SERVER=tests/servers/eio_server_ref.cjs node --test ...
 * engine.io is loaded from $SIOC_REF_MODULES (default /tmp/ref/node_modules,
 * where `npm install socket.io@4.8.4` was run). It is not a dependency of the
 * test suite. The reference has no output queue bound: --max-queue-* and
 * --queue-full are accepted and ignored.
 */
const path = require('node:path');
const http = require('node:http');

const modules = process.env.SIOC_REF_MODULES || '/tmp/ref/node_modules';
const engine = require(path.join(modules, 'engine.io'));

const opts = {
  path: '/socket.io/',
  transports: ['polling', 'websocket'],
};
const cors = { origins: [], credentials: false, suffix: null };
let forbid = null;
let host = '127.0.0.1';
const initialHeaders = [];

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
    case '--ping-interval': opts.pingInterval = Number(next()); break;
    case '--ping-timeout': opts.pingTimeout = Number(next()); break;
    case '--upgrade-timeout': opts.upgradeTimeout = Number(next()); break;
    case '--max-http-buffer-size': opts.maxHttpBufferSize = Number(next()); break;
    case '--transports': opts.transports = next().split(','); break;
    case '--no-upgrades': opts.allowUpgrades = false; break;
    case '--allow-eio3': opts.allowEIO3 = true; break;
    case '--cors': cors.origins.push(next()); break;
    case '--cors-credentials': cors.credentials = true; break;
    case '--cors-suffix': cors.suffix = next(); break;
    case '--forbid-query': forbid = next(); break;
    case '--initial-header': {
      const v = next();
      const c = v.indexOf(':');
      initialHeaders.push([v.slice(0, c), v.slice(c + 1)]);
      break;
    }
    case '--path': opts.path = next(); break;
    case '--host': host = next(); break;
    case '--max-queue-bytes':
    case '--max-queue-packets':
    case '--queue-full': next(); break;
    default:
      process.stderr.write(`unknown option ${a}\n`);
      process.exit(2);
  }
}
if (cors.suffix !== null) {
  // as eio_server.c's origin callback: origins ending with the suffix
  opts.cors = {
    origin: (origin, cb) => cb(null, (origin ?? '').endsWith(cors.suffix)),
    credentials: cors.credentials,
  };
} else if (cors.origins.length) {
  opts.cors = {
    origin: cors.origins.includes('*') ? '*' : cors.origins,
    credentials: cors.credentials,
  };
}
if (forbid) {
  opts.allowRequest = (req, cb) => {
    const q = new URL(req.url, 'http://x').searchParams;
    if (q.has(forbid)) cb('forbidden by test', false);
    else cb(null, true);
  };
}

const out = (line) => process.stdout.write(line + '\n');
const httpServer = http.createServer();
const eio = engine.attach(httpServer, opts);
eio.on('initial_headers', (headers) => {
  for (const [k, v] of initialHeaders) headers[k] = v;
});
eio.on('connection', (sock) => {
  out(`CONNECTION ${sock.id} ${sock.transport.name}`);
  sock.on('upgrade', () => out(`UPGRADE ${sock.id}`));
  sock.on('close', (reason) => out(`CLOSE ${sock.id} ${reason}`));
  sock.on('message', (data) => {
    if (typeof data !== 'string') {
      sock.send(data);
      return;
    }
    let m;
    if (data === 'close') {
      sock.close();
    } else if ((m = /^flood (\d+)$/.exec(data))) {
      const n = Number(m[1]);
      for (let i = 0; i < n; i++) sock.send(`f${i}`);
      out(`FLOOD ${sock.id} ${n} none`);
      sock.send(`flood-result ${n} none`);
    } else if (data === 'count') {
      sock.send(`count ${eio.clientsCount}`);
    } else if (data === 'request') {
      const q = new URL(sock.request.url, 'http://x').searchParams;
      sock.send(JSON.stringify({
        EIO: q.get('EIO'),
        transport: q.get('transport'),
        'user-agent': sock.request.headers['user-agent'] ?? null,
        address: sock.request.socket.remoteAddress,
      }));
    } else {
      sock.send(data);
    }
  });
});

httpServer.listen(0, host, () => out(`PORT ${httpServer.address().port}`));
const stop = () => {
  eio.close();
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
