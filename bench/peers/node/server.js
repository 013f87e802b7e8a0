'use strict';
/*
 * The reference peer of the benchmarks: socket.io 4.8.4 (pinned by
 * package-lock.json) serving the bench protocol (bench/PROTOCOL.md).
 * bench/peers/sioc/bench_server.c is the same server on sioc; keep the two
 * in step.
 *
 *   node server.js [--port N] [--parser msgpack] [--tls-cert FILE --tls-key FILE]
 *                  [--redis-port N]
 *
 * --port 0 picks a free port; it prints "PORT <n>". --parser msgpack
 * speaks socket.io-msgpack-parser 3.x instead of the default parser.
 * --tls-cert and --tls-key: an https server (node:https) instead of http.
 * --redis-port N makes it a node of a cluster on the redis-server at
 * 127.0.0.1:N (@socket.io/redis-adapter 8.3.0's createAdapter() over
 * node-redis 4.7.1, both pinned here); "PORT <n>" is printed once both
 * Redis connections are up.
 *
 * SIGINT or SIGTERM stops it.
 */
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const { Server } = require('socket.io');

function usage() {
	console.error('usage: node server.js [--port N] [--parser msgpack] ' +
		'[--tls-cert FILE --tls-key FILE] [--redis-port N]');
	process.exit(2);
}

/* { port, parser } from the command line. */
function parseArgs(argv) {
	const opts = { port: 0, parser: null, cert: null, key: null, redisPort: 0 };
	for (let i = 0; i < argv.length; i += 2) {
		if (argv[i] === '--port') {
			opts.port = Number(argv[i + 1]);
			if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
				usage();
		} else if (argv[i] === '--redis-port') {
			opts.redisPort = Number(argv[i + 1]);
			if (!Number.isInteger(opts.redisPort) || opts.redisPort < 1 || opts.redisPort > 65535)
				usage();
		} else if (argv[i] === '--parser' && argv[i + 1] === 'msgpack') {
			opts.parser = require('socket.io-msgpack-parser');
		} else if (argv[i] === '--tls-cert' && argv[i + 1]) {
			opts.cert = fs.readFileSync(argv[i + 1]);
		} else if (argv[i] === '--tls-key' && argv[i + 1]) {
			opts.key = fs.readFileSync(argv[i + 1]);
		} else {
			usage();
		}
	}
	return opts;
}
const cli = parseArgs(process.argv.slice(2));

/* CLOCK_REALTIME in microseconds, as the C server's t_us. */
function nowUs() {
	return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/* VmRSS of this process in KiB, the number the harness reads too. */
function rssKb() {
	const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
	return m ? Number(m[1]) : Math.round(process.memoryUsage().rss / 1024);
}

const httpServer = cli.cert
	? https.createServer({ cert: cli.cert, key: cli.key, minVersion: 'TLSv1.2' })
	: http.createServer();
const io = new Server(httpServer, {
	transports: ['polling', 'websocket'], /* websocket, polling then upgrade for the storm */
	pingInterval: 25000,
	pingTimeout: 20000,
	perMessageDeflate: false,
	httpCompression: false,
	maxHttpBufferSize: 1e6,
	serveClient: false,
	...(cli.parser ? { parser: cli.parser } : {}),
});

/*
 * "bcast" [room, rate, burst, seconds, payload_bytes]: every tick of
 * 1000*burst/rate ms, `burst` emits of "b" [payload, t_us] to `room`, for
 * `seconds`; then the ack gets [count]. A tick that comes late (a busy
 * loop delays timers) catches up on the bursts due by then, so the rate
 * over the run is the one asked for in both servers.
 */
function startBroadcast(socket, args, ack) {
	const [room, rate, burst, seconds, bytes] = args;
	if (typeof room !== 'string' || !(rate > 0) || !(burst >= 1) || !(seconds > 0) ||
	    !(bytes >= 0) || bytes > 1e6 || socket.data.bcast) {
		ack(false);
		return;
	}
	const period = (1000 * burst) / rate;
	const ticks = Math.max(1, Math.round((seconds * rate) / burst));
	const payload = 'x'.repeat(bytes);
	const start = performance.now();
	const job = { done: 0, count: 0, timer: null };

	job.timer = setInterval(() => {
		const due = Math.min(ticks, Math.floor((performance.now() - start) / period));
		for (; job.done < due; job.done++) {
			for (let i = 0; i < burst; i++) {
				io.to(room).emit('b', payload, nowUs());
				job.count++;
			}
		}
		if (job.done >= ticks) {
			clearInterval(job.timer);
			socket.data.bcast = null;
			ack(job.count);
		}
	}, Math.max(1, Math.floor(period)));
	socket.data.bcast = job;
}

io.on('connection', (socket) => {
	socket.on('echo', (...args) => {
		if (typeof args[args.length - 1] === 'function') {
			const ack = args.pop();
			ack(...args);
		} else {
			socket.emit('echo', ...args);
		}
	});
	socket.on('join', (room, ack) => {
		if (typeof room === 'string')
			socket.join(room);
		if (typeof ack === 'function')
			ack(typeof room === 'string');
	});
	socket.on('bcast', (...args) => {
		const ack = typeof args[args.length - 1] === 'function' ? args.pop() : () => {};
		startBroadcast(socket, args, ack);
	});
	socket.on('stats', (ack) => {
		if (typeof ack === 'function')
			ack({ rss_kb: rssKb(), clients: io.engine.clientsCount });
	});
	socket.on('disconnect', (reason) => {
		/* as the C peer: what the clients did not ask for goes to stderr */
		if (!['client namespace disconnect', 'transport close', 'server shutting down']
			.includes(reason))
			process.stderr.write(`DISCONNECT ${nowUs()} ${socket.id} ${reason}\n`);
		if (socket.data.bcast) {
			clearInterval(socket.data.bcast.timer);
			socket.data.bcast = null;
		}
	});
});

/* With --redis-port: the adapter's two connections are up before the port
 * is printed, so the harness starts its clients on a full cluster. */
async function useRedis() {
	if (!cli.redisPort)
		return;
	const { createClient } = require('redis');
	const { createAdapter } = require('@socket.io/redis-adapter');
	const pub = createClient({ socket: { host: '127.0.0.1', port: cli.redisPort } });
	const sub = pub.duplicate();
	for (const c of [pub, sub])
		c.on('error', (e) => process.stderr.write(`redis error: ${e.message}\n`));
	await Promise.all([pub.connect(), sub.connect()]);
	io.adapter(createAdapter(pub, sub));
}

useRedis().then(() => {
	httpServer.listen(cli.port, '127.0.0.1', () => {
		process.stdout.write(`PORT ${httpServer.address().port}\n`);
	});
}, (e) => {
	process.stderr.write(`redis: ${e.message}\n`);
	process.exit(1);
});

function stop() {
	io.close();
	process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
