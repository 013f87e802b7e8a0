#!/usr/bin/env node
// The Node node of a test cluster (tests/cluster/CONTROL.md): socket.io
// 4.8.4 with @socket.io/redis-adapter 8.3.0 (createAdapter, or
// createShardedAdapter with --sharded on) over node-redis 4, on a
// redis-server the test started. Same flags and control events as the sioc
// node (tests/servers/cluster_server.c), so that every cluster test runs
// against either kind, or a mix.

'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');

function parseFlags(argv) {
  const o = {
    port: 0,
    redisPort: 0,
    key: 'socket.io',
    sharded: false,
    subscriptionMode: 'dynamic',
    specificResponse: false,
    requestsTimeout: 5000,
    transports: 'both',
    name: 'node',
    recovery: false,
    admin: null,
  };
  const onOff = (flag, v) => {
    if (v !== 'on' && v !== 'off') throw new Error(`${flag}: on or off, not ${v}`);
    return v === 'on';
  };
  for (let i = 2; i < argv.length; i += 2) {
    const flag = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case '--port': o.port = Number(v); break;
      case '--redis-port': o.redisPort = Number(v); break;
      case '--key': o.key = v; break;
      case '--sharded': o.sharded = onOff(flag, v); break;
      case '--subscription-mode':
        if (!['dynamic', 'dynamic-private', 'static'].includes(v)) {
          throw new Error(`--subscription-mode: dynamic, dynamic-private or static, not ${v}`);
        }
        o.subscriptionMode = v;
        break;
      case '--specific-response': o.specificResponse = onOff(flag, v); break;
      case '--requests-timeout': o.requestsTimeout = Number(v); break;
      case '--transports':
        if (!['polling', 'websocket', 'both'].includes(v)) {
          throw new Error(`--transports: polling, websocket or both, not ${v}`);
        }
        o.transports = v;
        break;
      case '--name': o.name = v; break;
      case '--recovery': o.recovery = onOff(flag, v); break;
      case '--admin':
        if (!['off', 'on', 'development', 'production'].includes(v)) {
          throw new Error(`--admin: off, on, development or production, not ${v}`);
        }
        o.admin = v === 'off' ? null : v === 'on' ? 'development' : v;
        break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!o.redisPort) throw new Error('--redis-port is required');
  return o;
}

let opts;
try {
  opts = parseFlags(process.argv);
} catch (e) {
  process.stderr.write(`node_server: ${e.message}\n`);
  process.exit(2);
}

const log = (...a) => process.stderr.write(`[${opts.name}] ${a.join(' ')}\n`);

// Both clients reconnect by themselves (node-redis's default strategy) and
// queue commands while disconnected; errors are logged, never thrown.
const redisOptions = {
  socket: {
    host: '127.0.0.1',
    port: opts.redisPort,
    reconnectStrategy: (retries) => Math.min(50 + retries * 50, 500),
  },
};
const pubClient = createClient(redisOptions);
const subClient = pubClient.duplicate();
for (const [what, c] of [['pub', pubClient], ['sub', subClient]]) {
  c.on('error', (e) => log(`redis ${what} error: ${e.message}`));
  c.on('reconnecting', () => log(`redis ${what} reconnecting`));
  c.on('ready', () => log(`redis ${what} ready`));
}
// Not awaited: the node serves its own clients even when Redis is not
// there yet (the tests wait for the subscriptions with PUBSUB NUMSUB).
pubClient.connect().catch((e) => log(`redis pub connect: ${e.message}`));
subClient.connect().catch((e) => log(`redis sub connect: ${e.message}`));

const adapter = opts.sharded
  ? createShardedAdapter(pubClient, subClient, {
    channelPrefix: opts.key,
    subscriptionMode: opts.subscriptionMode,
  })
  : createAdapter(pubClient, subClient, {
    key: opts.key,
    requestsTimeout: opts.requestsTimeout,
    publishOnSpecificResponseChannel: opts.specificResponse,
  });

const httpServer = http.createServer();
const io = new Server(httpServer, {
  adapter,
  transports: opts.transports === 'both' ? ['polling', 'websocket'] : [opts.transports],
  // (the reference's Redis adapters do not implement recovery: with it on,
  // a Node node gives new sessions)
  ...(opts.recovery ? { connectionStateRecovery: {} } : {}),
});

// Sorted copies, so that answers compare with deepEqual whatever order the
// nodes answered in.
const byJson = (a, b) => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};
const sorted = (arr) => [...(arr ?? [])].sort(byJson);
// Binaries written {$bin: [bytes]} (as cluster_server.c writes them), so
// that answers compare; everything else as it is.
const plain = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: [...v] };
  if (v instanceof ArrayBuffer) return { $bin: [...new Uint8Array(v)] };
  if (ArrayBuffer.isView(v)) return { $bin: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
};

function target(base, c) {
  let op = base;
  if (c.rooms && c.rooms.length) op = op.to(c.rooms);
  if (c.except && c.except.length) op = op.except(c.except);
  return op;
}

const errName = (e) => (e ? (/timeout|timed out/i.test(e.message) ? 'timeout' : e.message) : null);

function setup(nsp) {
  const sseLog = [];
  // Every server-side event this node receives, whatever its name, is
  // logged and, when the sender asked for one, acknowledged.
  const onServerSideEmit = nsp._onServerSideEmit.bind(nsp);
  nsp._onServerSideEmit = (args) => {
    const a = [...args];
    const cb = typeof a[a.length - 1] === 'function' ? a.pop() : null;
    sseLog.push(plain(a));
    if (cb) cb({ node: opts.name, args: a.slice(1) });
    onServerSideEmit(args);
  };

  nsp.on('connection', (socket) => {
    socket.on('join', (room, cb) => {
      socket.join(room);
      cb?.(true);
    });
    socket.on('leave', (room, cb) => {
      socket.leave(room);
      cb?.(true);
    });
    socket.on('set-data', (value, cb) => {
      socket.data = value;
      cb?.(true);
    });
    socket.on('ctl', (c, cb) => {
      const reply = typeof cb === 'function' ? cb : () => {};
      ctl(nsp, socket, sseLog, c ?? {}).then(reply, (e) => reply({ err: e.message }));
    });
  });
}

async function ctl(nsp, socket, sseLog, c) {
  switch (c.op) {
    case 'emit': {
      let op = c.broadcast ? socket.broadcast : nsp;
      op = target(op, c);
      if (c.local) op = op.local;
      if (c.volatile) op = op.volatile;
      const args = [...(c.args ?? [])];
      if (c.bin) args.push(Buffer.from([1, 2, 3]));
      op.emit(c.event, ...args);
      return {};
    }
    case 'fetch': {
      try {
        const sockets = await target(nsp, c).fetchSockets();
        return {
          sockets: sockets
            .map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data }))
            .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
        };
      } catch (e) {
        return { err: errName(e) };
      }
    }
    case 'sockets-join':
      target(nsp, c).socketsJoin(c.room);
      return {};
    case 'sockets-leave':
      target(nsp, c).socketsLeave(c.room);
      return {};
    case 'disconnect':
      target(nsp, c).disconnectSockets(!!c.close);
      return {};
    case 'sse': {
      const args = [...(c.args ?? [])];
      if (c.bin) args.push(Buffer.from([1, 2, 3]));
      if (!c.ack) {
        nsp.serverSideEmit(c.event, ...args);
        return {};
      }
      // the reference has no per-call timeout here: the adapter's
      // requestsTimeout (classic) or 5000 ms (sharded) applies
      return new Promise((resolve) => {
        nsp.serverSideEmit(c.event, ...args, (err, responses) => {
          resolve({ err: errName(err), responses: sorted(plain(responses)) });
        });
      });
    }
    case 'sse-log':
      return { events: sseLog };
    case 'all-rooms': {
      // the classic adapter's allRooms(); the sharded one has none
      if (typeof nsp.adapter.allRooms !== 'function') return { err: 'unsupported' };
      try {
        return { rooms: [...await nsp.adapter.allRooms()] };
      } catch (e) {
        return { err: errName(e) };
      }
    }
    case 'count':
      return { count: await nsp.adapter.serverCount() };
    case 'emit-ack': {
      const op = target(nsp.timeout(c.timeout ?? 5000), c);
      return new Promise((resolve) => {
        op.emit(c.event, ...(c.args ?? []), (err, responses) => {
          resolve({ err: errName(err), responses: sorted(plain(responses)) });
        });
      });
    }
    default:
      return { err: `unknown op ${c.op}` };
  }
}

setup(io.of('/'));
setup(io.of('/other'));

// --admin: @socket.io/admin-ui's instrument() without auth, as
// cluster_server's sio_admin_instrument() (the pinned copy whose UI sioc
// serves, static/admin-ui). serverId as sioc's default, hostname#pid.
if (opts.admin) {
  const path = require('node:path');
  const { instrument } = require(path.join(__dirname, '..', '..', 'static', 'admin-ui',
    'node_modules', '@socket.io', 'admin-ui'));
  instrument(io, {
    auth: false,
    mode: opts.admin,
    serverId: `${require('node:os').hostname()}#${process.pid}`,
  });
}

httpServer.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});

// Orphaned (the test that started this node was killed): go too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

let stopping = false;
// While stopping, admin-ui's stats timer may still emit through the adapter
// on a Redis client already closed: not a failure of the node.
process.on('uncaughtException', (e) => {
  if (stopping && (e?.name === 'ClientClosedError' || /client is closed/i.test(e?.message)))
    process.exit(0);
  log(`uncaught: ${e?.stack ?? e}`);
  process.exit(1);
});
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  // bounded: a Redis that is gone must not keep the node from exiting
  setTimeout(() => process.exit(0), 1500).unref();
  io.close();
  Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
});
