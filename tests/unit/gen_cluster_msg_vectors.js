#!/usr/bin/env node
// Prints the vectors of test_cluster_msg.c that come from the reference:
// the channel and the bytes @socket.io/redis-adapter 8.3's sharded adapter
// (createShardedAdapter, on socket.io-adapter 2.5's ClusterAdapter)
// SPUBLISHes for a few operations, captured from a fake redis client. Its
// node id is set to 0123456789abcdef; request ids are random, so the test
// compares those messages with the id masked. The output is pasted into
// the test by hand; the test does not need npm.
//
//   NODE_PATH=tests/node_modules node tests/unit/gen_cluster_msg_vectors.js [mode]
"use strict";

const { Server } = require("socket.io");
const { createShardedAdapter } = require("@socket.io/redis-adapter");

const mode = process.argv[2] || "dynamic";
const published = [];
const fake = {
  sSubscribe() {},
  sUnsubscribe() {},
  sPublish(channel, payload) {
    published.push([channel, Buffer.from(payload)]);
    return Promise.resolve(1);
  },
  sendCommand() {
    return Promise.resolve(["x", 1]);
  },
};

const io = new Server({ adapter: createShardedAdapter(fake, fake, { subscriptionMode: mode }) });
const adapter = io.of("/").adapter;
adapter.uid = "0123456789abcdef";

function show(label) {
  for (const [ch, b] of published.splice(0)) {
    const text = b[0] === 0x7b ? JSON.stringify(b.toString()) : `hex:${b.toString("hex")}`;
    console.log(`${label}\n  ${JSON.stringify(ch)}\n  ${text}`);
  }
}

(async () => {
  io.emit("hello", 1, "two", { three: [3] });
  show("emit all");
  io.to("room1").emit("hello", "r");
  show("emit one room");
  io.to("room1").to("room2").except("room3").emit("hello");
  show("emit rooms except");
  io.to("abcdefghijklmnopqrst").emit("hello");
  show("emit to an id-like room");
  io.volatile.emit("v", null);
  show("emit volatile");
  io.emit("bin", Buffer.from([1, 2, 3]), "x");
  show("emit binary");
  io.in("room1").socketsJoin("room9");
  show("sockets join");
  io.except("room1").socketsLeave(["a", "b"]);
  show("sockets leave");
  io.disconnectSockets(true);
  show("disconnect");
  io.serverSideEmit("sse", 1, { a: "b" });
  show("server side emit");
  io.timeout(1000).to("room1").emit("ackme", 7, () => {});
  await new Promise((r) => setImmediate(r));
  show("emit with ack (requestId random)");
  io.close();
  process.exit(0);
})();
