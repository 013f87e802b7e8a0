'use strict';
/*
 * One Admin UI dashboard, for the harness's admin scenario: connects to a
 * bench server's admin namespace (started with --admin) with the real
 * socket.io-client (from tests/node_modules) as @socket.io/admin-ui 0.5
 * does (websocket, basic-auth login "bench" / "bench"), and stays
 * connected, receiving server_stats, until SIGTERM.
 *
 *   node bench/peers/dashboard.js PORT [NAMESPACE]
 *
 * Prints "SESSION <id>" once logged in, "SERVER_STATS <n> <clientsCount>"
 * for each server_stats, and "DONE <n>" at SIGTERM; exits 1 on a refusal
 * or a lost connection.
 */
const path = require('node:path');

const modules = path.join(__dirname, '../../tests/node_modules');
const { io } = require(path.join(modules, 'socket.io-client'));

const port = Number(process.argv[2]);
const nsp = process.argv[3] || '/admin';
if (!(port > 0)) {
	console.error('usage: node bench/peers/dashboard.js PORT [NAMESPACE]');
	process.exit(2);
}
const socket = io(`http://127.0.0.1:${port}${nsp}`, {
	transports: ['websocket'],
	auth: { username: 'bench', password: 'bench' },
	reconnection: false,
});
let stats = 0;
socket.on('session', (id) => console.log(`SESSION ${id}`));
socket.on('server_stats', (s) => {
	stats++;
	console.log(`SERVER_STATS ${stats} ${s.clientsCount}`);
});
socket.on('connect_error', (e) => {
	console.log(`REFUSED ${e.message}`);
	process.exit(1);
});
socket.on('disconnect', (reason) => {
	console.log(`DISCONNECTED ${reason}`);
	process.exit(1);
});
process.on('SIGTERM', () => {
	console.log(`DONE ${stats}`);
	socket.close();
	process.exit(0);
});
