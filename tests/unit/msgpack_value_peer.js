#!/usr/bin/env node
// The notepack.io side of test_msgpack_value.c: what notepack 2.2.0 (the
// one socket.io-msgpack-parser 3 uses) and 3.0.1 (the one
// @socket.io/redis-adapter 8.3 and @socket.io/redis-emitter 5.1 use) write
// and read. Values are compared in a "tagged" JSON form: what sioc's
// decoder makes of them (JSON.stringify()'s view: undefined null in an
// array and absent in an object, a Date its toISOString(), NaN and the
// infinities null), each binary as {"$bin": "<hex>"} rather than a
// placeholder, so that the numbering of the binaries does not matter.
//
//   node msgpack_value_peer.js vectors
//       one line per case and notepack version, tab-separated:
//       <version> <hex notepack wrote> <hex of the tagged value
//       re-encoded: what sioc's encoder must write> <tagged JSON>
//   node msgpack_value_peer.js check FILE
//       FILE holds lines "<hex>\t<tagged JSON>" that sioc wrote; each is
//       decoded by both versions and compared; prints "ok <n>" or
//       "FAIL <n> <version> <what notepack read>" per line, then "done".
//   node msgpack_value_peer.js c
//       the vectors as C initializers, for the table in the test (which
//       then needs no node); runs of 16 or more equal bytes are (xx*n).
//
// Modules are looked up from NODE_PATH (tests/node_modules): notepack.io
// (3.0.1, pinned in tests/package.json) and socket.io-msgpack-parser's
// own notepack.io (2.2.0). A missing one prints "skip <why>" and exits 0.
"use strict";

const path = require("path");
const fs = require("fs");
const util = require("util");

function load() {
  const versions = {};
  try {
    const parser = require.resolve("socket.io-msgpack-parser");
    const p = require.resolve("notepack.io", { paths: [path.dirname(parser)] });
    versions[require(path.join(path.dirname(p), "..", "package.json")).version] = require(p);
  } catch (e) {
    return { why: "socket.io-msgpack-parser's notepack.io: " + e.message.split("\n")[0] };
  }
  try {
    const p = require.resolve("notepack.io");
    versions[require(path.join(path.dirname(p), "..", "package.json")).version] = require(p);
  } catch (e) {
    return { why: "notepack.io: " + e.message.split("\n")[0] };
  }
  if (!versions["2.2.0"] || !versions["3.0.1"])
    return { why: "want notepack.io 2.2.0 and 3.0.1, found " + Object.keys(versions).join(", ") };
  return { versions };
}

const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);

// sioc's view of what notepack read (see the top).
function view(v, inArray) {
  if (v === undefined) return inArray ? null : undefined;
  if (isBinary(v)) {
    const b = Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v) :
      Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return { $bin: b.toString("hex") };
  }
  if (v instanceof Date) return isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === "number") return isFinite(v) ? (Object.is(v, -0) ? 0 : v) : null;
  if (Array.isArray(v)) return v.map((x) => view(x, true));
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) {
      const x = view(v[k], false);
      if (x !== undefined) o[k] = x;
    }
    return o;
  }
  return v;
}

// The tagged value back in JavaScript: each {"$bin"} a Buffer.
function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string" && Object.keys(v).length === 1) return Buffer.from(v.$bin, "hex");
    const o = {};
    for (const k of Object.keys(v)) o[k] = untag(v[k]);
    return o;
  }
  return v;
}

const bytes = (n, f) => Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff));
const obj = (n, f) => Object.fromEntries(Array.from({ length: n }, (_, i) => ["k" + i, f(i)]));

// The cases: the Redis adapter's messages first, then the forms.
const UID = "aB3dE6";
const cases = [
  // broadcast: [uid, packet, opts]
  [UID, { type: 2, data: ["chat message", "hello", 1, { a: [true, false, null] }], nsp: "/" },
    { rooms: ["room1"], except: [], flags: {} }],
  [UID, { type: 2, data: ["file", Buffer.from([1, 2, 3]), { nested: Buffer.alloc(0) }], nsp: "/chat" },
    { rooms: [], except: ["sid1", "sid2"], flags: { volatile: true, compress: false, timeout: 5000 } }],
  [UID, { type: 2, data: ["x", undefined, { u: undefined, d: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)) }],
    nsp: "/" }, { rooms: ["a", "b"], except: [], flags: { local: undefined, binary: true } }],
  // requests and responses
  { uid: UID, requestId: "xyz789", type: 7,
    packet: { type: 2, data: ["ping", Buffer.from("bytes")], nsp: "/", id: 3 },
    opts: { rooms: ["r"], except: [], flags: { timeout: 1000 } } },
  { type: 8, requestId: "xyz789", packet: [Buffer.from("ack"), "x", 42] },
  { type: 6, requestId: "req", data: ["event", { a: 1 }, Buffer.alloc(3, 9)] },
  // scalars as the whole value
  null, true, false, 0, -1, 1.5, "", "text", Buffer.from([0xff]), [], {},
  // integers at the edges of each form
  [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991],
  [-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991],
  // reals (integral ones are integers to notepack) and those JSON lacks
  [1.5, -2.25, 0.1, 123456.789, -1e-300, 5e-324, 1.7976931348623157e308],
  [NaN, Infinity, -Infinity, -0],
  // strings
  ["é", "😀", "a\u0000b", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256)],
  ["v".repeat(65535), "u".repeat(65536)],
  // arrays and maps of each size form
  [Array(15).fill(0), Array(16).fill(1), [[[]]]],
  [Array(65535).fill(2)], [Array(65536).fill(3)],
  [obj(15, (i) => i), obj(16, (i) => i), { z: 1, a: 2 }],
  obj(65535, (i) => i % 2 === 0), obj(65536, (i) => null),
  // keys JavaScript orders first, keys of every UTF-8 length
  { b: 1, 2: "two", 1: "one", "é": 3, "": 4, "😀": 5 },
  // binaries of each size form, and notepack 2.2's ext ArrayBuffer
  [Buffer.alloc(0), bytes(255, () => 0x55), bytes(256, () => 7), bytes(65535, (i) => i),
    bytes(65536, (i) => i * 3)],
  [new Uint8Array([1, 2, 3]), new ArrayBuffer(2), new Uint8Array(300).fill(4),
    new Uint8Array(70000).fill(5)],
  // binaries deep down, and an object that looks like a placeholder beside none
  { a: [1, { b: [[Buffer.from("deep")]] }], c: Buffer.from("yz") },
  { _placeholder: true, num: 0 },
  // undefined
  [undefined, { a: undefined, b: 1 }, [undefined]],
  // Dates: 2.2 writes an int64 of ms; 3.0 timestamp 32, 64 or 96
  [new Date(Date.UTC(2024, 0, 1)), new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), new Date(0)],
  [new Date(-1), new Date(-62198755200000), new Date(253402300800000)],
  [new Date(8.64e15), new Date(-8.64e15), new Date(4294967295000)],
  [new Date(4294967296000), new Date(17179869184000), new Date(17179869183999)],
  // deep
  JSON.parse("[".repeat(500) + "]".repeat(500)),
];

function hexRuns(buf) {
  const b = Buffer.from(buf);
  let out = "";
  for (let i = 0; i < b.length;) {
    let j = i;
    while (j < b.length && b[j] === b[i]) j++;
    const h = b[i].toString(16).padStart(2, "0");
    out += j - i >= 16 ? `(${h}*${j - i})` : h.repeat(j - i);
    i = j;
  }
  return out;
}

function vectors(versions) {
  const out = [];
  for (const value of cases) {
    for (const ver of ["2.2.0", "3.0.1"]) {
      const np = versions[ver];
      const wire = np.encode(value);
      const tagged = view(np.decode(wire), true);
      const again = np.encode(untag(tagged));
      // both versions write the same bytes for what JSON holds
      const other = versions[ver === "2.2.0" ? "3.0.1" : "2.2.0"].encode(untag(tagged));
      if (!again.equals(other)) throw new Error("versions differ on " + JSON.stringify(tagged));
      out.push({ ver, wire, again, tagged });
    }
  }
  return out;
}

function main() {
  const mode = process.argv[2];
  const { versions, why } = load();
  if (!versions) {
    console.log("skip " + why);
    return;
  }
  if (mode === "vectors") {
    for (const v of vectors(versions)) {
      console.log([v.ver, v.wire.toString("hex"), v.again.toString("hex"),
        JSON.stringify(v.tagged)].join("\t"));
    }
    console.log("done");
  } else if (mode === "check") {
    const lines = fs.readFileSync(process.argv[3], "utf8").split("\n").filter((l) => l);
    lines.forEach((line, n) => {
      const [hex, json] = line.split("\t");
      const want = view(JSON.parse(json), true); // -0 is 0, as sioc reads it
      for (const ver of ["2.2.0", "3.0.1"]) {
        let got;
        try {
          got = view(versions[ver].decode(Buffer.from(hex, "hex")), true);
        } catch (e) {
          got = "error: " + e.message;
        }
        if (!util.isDeepStrictEqual(got, want)) {
          console.log(`FAIL ${n} ${ver} ${JSON.stringify(got).slice(0, 300)}`);
          return;
        }
      }
      console.log(`ok ${n}`);
    });
    console.log("done");
  } else if (mode === "c") {
    for (const v of vectors(versions)) {
      const w = hexRuns(v.wire), a = hexRuns(v.again), j = JSON.stringify(JSON.stringify(v.tagged));
      if (w.length + a.length + j.length > 1500) continue;
      const flags = v.ver === "3.0.1" ? "V3" : "V2";
      console.log(`\tVEC(${flags}, ${j},\n\t    "${w}",\n\t    ${a === w ? "SAME" : `"${a}"`}),`);
    }
  } else {
    console.error("usage: msgpack_value_peer.js vectors | check FILE | c");
    process.exit(2);
  }
}

main();
