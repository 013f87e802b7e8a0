'use strict';
/*
 * Checks that a bench server speaks bench/PROTOCOL.md, with the real
 * socket.io-client (from tests/node_modules: run npm ci in tests/ first).
 * Both peers must pass it with the same output.
 *
 *   node bench/peers/check.js PORT [--parser msgpack]
 *
 * --parser msgpack: the client speaks socket.io-msgpack-parser (for a
 * server started with --parser msgpack).
 *
 * Prints one line per check and exits non-zero on the first failure.
 */
const path = require('node:path');
const assert = require('node:assert/strict');
const modules = path.join(__dirname, '../../tests/node_modules');
const { io } = require(path.join(modules, 'socket.io-client'));

const port = Number(process.argv[2]);
const url = `http://127.0.0.1:${port}`;
const parser = process.argv[3] === '--parser' && process.argv[4] === 'msgpack' ?
	{ parser: require(path.join(modules, 'socket.io-msgpack-parser')) } : {};

function connect(transports) {
	const s = io(url, { transports, forceNew: true, reconnection: false, ...parser });
	return new Promise((resolve, reject) => {
		s.once('connect', () => resolve(s));
		s.once('connect_error', reject);
	});
}

async function main() {
	const a = await connect(['websocket']);
	const b = await connect(['websocket']);
	const p = await connect(['polling', 'websocket']);
	if (p.io.engine.transport.name !== 'websocket')
		await new Promise((resolve) => p.io.engine.once('upgrade', resolve));
	console.log('connect: websocket, polling then upgrade ok');

	assert.deepEqual(await a.emitWithAck('echo', 'x'.repeat(16), 42), 'x'.repeat(16));
	const all = await new Promise((resolve) => a.emit('echo', ['arr'], { k: 1 }, (...r) => resolve(r)));
	assert.deepEqual(all, [['arr'], { k: 1 }]);
	const echoed = new Promise((resolve) => a.once('echo', (...r) => resolve(r)));
	a.emit('echo', 'hello', 7);
	assert.deepEqual(await echoed, ['hello', 7]);
	const bin = await a.emitWithAck('echo', Buffer.from([1, 2, 3]));
	assert.deepEqual([...new Uint8Array(bin)], [1, 2, 3]);
	console.log('echo: ack and emit ok');

	assert.equal(await a.emitWithAck('join', 'r1'), true);
	assert.equal(await b.emitWithAck('join', 'r1'), true);
	assert.equal(await p.emitWithAck('join', 'r1'), true);
	console.log('join ok');

	const got = { a: [], b: [], p: [] };
	a.on('b', (pl, t) => got.a.push([pl, t]));
	b.on('b', (pl, t) => got.b.push([pl, t]));
	p.on('b', (pl, t) => got.p.push([pl, t]));
	const t0 = Date.now();
	const [count] = [await a.emitWithAck('bcast', 'r1', 100, 5, 1, 16)];
	const took = Date.now() - t0;
	await new Promise((r) => setTimeout(r, 100));
	assert.equal(count, 100);
	for (const k of ['a', 'b', 'p']) {
		assert.equal(got[k].length, 100, k);
		assert.equal(got[k][0][0], 'x'.repeat(16));
		const skew = Math.abs(got[k][0][1] / 1000 - Date.now());
		assert.ok(skew < 5000, `t_us is CLOCK_REALTIME microseconds (${got[k][0][1]})`);
	}
	assert.ok(took >= 900 && took < 1500, `bcast took ${took} ms`);
	console.log('bcast: 100 emits in 1 s, rate 100 burst 5 ok');

	const refused = await a.emitWithAck('bcast', 'r1', 0, 1, 1, 16);
	assert.equal(refused, false);
	console.log('bcast: bad arguments refused ok');

	const stats = await a.emitWithAck('stats');
	assert.equal(stats.clients, 3);
	assert.ok(stats.rss_kb > 1000);
	console.log('stats ok');

	/* a bcast whose socket leaves before the end must stop quietly */
	const c = await connect(['websocket']);
	c.emit('bcast', 'r1', 1000, 1, 5, 16, () => {});
	await new Promise((r) => setTimeout(r, 200));
	c.close();
	await new Promise((r) => setTimeout(r, 100));
	const n = got.a.length;
	await new Promise((r) => setTimeout(r, 300));
	assert.equal(got.a.length, n, 'the broadcast stopped with its socket');
	console.log('bcast: stops when its socket leaves ok');

	for (const s of [a, b, p])
		s.close();
}

main().then(
	() => process.exit(0),
	(e) => {
		console.error('FAIL:', e.message);
		process.exit(1);
	});
