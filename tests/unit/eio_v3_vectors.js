// Prints the expected results of tests/unit/test_eio_v3.c's vectors as the
// reference computes them: engine.io 6.6's bundled v3 parser
// (build/parser-v3/index.js) and its polling and JSONP transports. The
// rows are pasted into the C tables by hand; the unit test does not need
// npm. Run it where engine.io is installed:
//
//   mkdir /tmp/ref && cd /tmp/ref && npm install engine.io@6.6
//   node /path/to/sioc/tests/unit/eio_v3_vectors.js [section]
//
// Sections: text, binary, utf16, encode, jsonp, head (default: all).
"use strict";
const path = require("path");
const build = path.join(process.cwd(), "node_modules/engine.io/build");
const parser = require(path.join(build, "parser-v3/index.js"));
const { Polling } = require(path.join(build, "transports/polling.js"));
const { JSONP } = require(path.join(build, "transports/polling-jsonp.js"));

const TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];

// A C string literal for the bytes of b (a Buffer).
function cstr(b) {
  let s = '"';
  let hexOpen = false;
  for (const c of b) {
    const ch = String.fromCharCode(c);
    const printable = c >= 0x20 && c < 0x7f;
    if (ch === '"' || ch === "\\" || ch === "?") {
      s += "\\" + ch;
      hexOpen = false;
    } else if (printable) {
      if (hexOpen && /[0-9a-fA-F]/.test(ch)) s += '" "';
      s += ch;
      hexOpen = false;
    } else {
      s += "\\x" + c.toString(16).padStart(2, "0");
      hexOpen = true;
    }
  }
  return s + '"';
}

// A packet as the C tables write it: P(type, data) or B(type, data); null
// for a packet of no type (the C iterator skips it).
function cpacket(p) {
  const t = TYPES.indexOf(p.type);
  if (t < 0) return null;
  if (Buffer.isBuffer(p.data)) return `B(${t}, ${cstr(p.data)})`;
  const data = p.data === undefined ? "" : String(p.data);
  const note = data.includes("\ufffd") ? " /* U+FFFD */" : "";
  return `P(${t}, ${cstr(Buffer.from(data))})${note}`;
}

// What Polling.onData() hands the socket for a body: the packets, then
// "ERR" on a parse error, or "STOP" after a close, which stops the text
// decoder (the binary one goes on: the closed socket ignores the rest).
function feed(data) {
  const out = [];
  let err = false;
  let stop = false;
  parser.decodePayload(data, (p) => {
    if (err) return false;
    if (p.type === "error") {
      err = true;
      return false;
    }
    const c = cpacket(p);
    if (c) out.push(c);
    if (p.type === "close") {
      stop = typeof data === "string";
      return false;
    }
  });
  return { out, err, stop };
}

function end(r) {
  return r.err ? "ERR" : r.stop ? "STOP" : "END";
}

// The packets then END (the payload ended), ERR (a parse error) or STOP.
function row(macro, input, r) {
  return `\t${macro}(${cstr(input)}, ${[...r.out, end(r)].join(", ")}),`;
}

const textInputs = [
  "", "0:", ":", "::", "0::", "2:4a", "2:4a2:4b", "1:2", "1:3", "6:2probe", "1:6",
  "3:4a", "1:4a", "2:4a2", "2:4a:", "2:4ax", "2:4a1:", "2:4a0:", "0:0:", "0:2:4a",
  "2:7a", "2:8a", "1:x", "1: ", "1:b", "2:bx", "2:b7", "2:b4", "6:b4AQID", "10:b4AQIDBA==",
  "4:bxAA", "6:b4AQID2:4a", "6:b2AQID", "2:b1", "6:b4AQ=D", "6:b4AQI=",
  "2:4€", "4:4€", "3:4😀", "2:4😀", "5:4h€😀", "4:4😀x", "3:4é", "2:4é",
  "02:4a", "002:4a", "0x2:4a", "0X2:4a", "0b10:4a", "0o2:4a", "0x:4a", "0x0:", "00x2:4a",
  "2.0:4a", "2.:4a", ".2e1:4a", "0.2e1:4a", "2e0:4a", "20e-1:4a", "2.5:4a", "2e:4a",
  "+2:4a", "-2:4a", "-0:", "+0:", "-0x2:4a", "--2:4a", "1e-400:", "-1e-400:",
  "Infinity:4a", "-Infinity:", "infinity:4a", "NaN:4a",
  " 2:4a", "2 :4a", " 2 :4a", "\t2\n:4a", "2\r\n:4a", " :", "\u00a02:4a", "2\ufeff:4a",
  "\u20282:4a", "\u180e2:4a", "2\u3000:4a", "\ufeff2:4a", " 2 2:4a", "2 x:4a",
  "1.9999999999999999:4a", "2.0000000000000001:4a", "2.000000000000001:4a",
  "99999999999999999999:4a", "18446744073709551617:4a", "18446744073709551618:4a",
  "4294967298:4a", "9007199254740994:4a", "9007199254740993:4a", "0x10000000000000002:4a",
  "1e400:", "1e20:4a",
  "1:1garbage", "1:1", "2:4a1:12:4b",
];

const binaryInputs = [
  [], [0, 2, 255, 0x34, 0x61], [0, 3, 255, 0x34, 0x61], [0, 1, 255, 0x34, 0x61],
  [0, 1, 255, 0x34], [0, 1, 255, 0x32], [1, 2, 255, 4, 9], [1, 4, 255, 4, 1, 2, 3],
  [2, 2, 255, 4, 9], [255, 2, 255, 4, 9], [1, 1, 255, 4], [1, 1, 255, 2], [1, 1, 255, 1],
  [1, 1, 255, 7], [1, 1, 255, 255], [1, 0, 255], [0, 0, 255], [0, 255], [1, 255],
  [0, 255, 255], [1, 255, 0, 1, 255, 0x34], [0, 0, 2, 255, 0x34, 0x61],
  [0, 0, 0, 0, 2, 255, 0x34, 0x61], [0, 12, 255, 0x34, 0x61, 0x62, 0x63],
  [1, 12, 255, 9, 9, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  [0, 1, 0, 255, 0x34, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69],
  [0, 2, 255, 0x34, 0x61, 0, 2, 255, 0x34, 0x62],
  [1, 2, 255, 4, 9, 0, 2, 255, 0x34, 0x62],
  [0, 2, 255, 0x34, 0x61, 0], [0, 2, 255, 0x34, 0x61, 0, 2], [0, 2, 255, 0x34, 0x61, 7],
  [0, 2, 255, 0x34, 0x61, 1, 1, 1, 1],
  [0, 9, 9, 255, 0x34], [0, 9, 255, 0x34, 0x61], [0, 2, 255, 0x37, 0x61],
  [0, 2, 255, 0x61, 0x61], [0, 2, 255, 0x34, 0x61, 0, 2, 255, 0x37, 0x61, 0, 2, 255, 0x34, 0x62],
  [0, 2, 255, 0x34, 0xff], [0, 2, 255, 0x34, 0x80], [0, 3, 255, 0x34, 0xc0, 0x80],
  [0, 3, 255, 0x34, 0xc3, 0xa9], [0, 2, 255, 0x34, 0xc3], [0, 4, 255, 0x34, 0xe2, 0x82, 0xac],
  [0, 4, 255, 0x34, 0xe0, 0x80, 0x80], [0, 4, 255, 0x34, 0xed, 0x9f, 0xbf],
  [0, 4, 255, 0x34, 0xed, 0xa0, 0x80], [0, 4, 255, 0x34, 0xed, 0xbf, 0xbf],
  [0, 5, 255, 0x34, 0xf0, 0x9f, 0x98, 0x80], [0, 5, 255, 0x34, 0xf0, 0x8f, 0xbf, 0xbf],
  [0, 5, 255, 0x34, 0xf4, 0x90, 0x80, 0x80], [0, 5, 255, 0x34, 0xf5, 0x80, 0x80, 0x80],
  [0, 5, 255, 0x34, 0xf8, 0x80, 0x80, 0x80],
  [0, 5, 255, 0x62, 0x34, 0x41, 0x51, 0x3d], [0, 6, 255, 0x62, 0x34, 0x41, 0x51, 0x3d, 0x3d],
  [0, 6, 255, 0x62, 0x34, 0x41, 0x51, 0x49, 0x44], [0, 2, 255, 0x62, 0x78], [0, 1, 255, 0x62],
  [0, 2, 255, 0x62, 0x34], [0, 3, 255, 0x62, 0x32, 0x41],
  [0, 2, 255, 0x31, 0x61], [0, 2, 255, 0x34, 0x61, 0, 1, 255, 0x31, 0, 2, 255, 0x34, 0x62],
];

function textSection() {
  console.log("/* text payloads: eio3_payload_next() */");
  for (const s of textInputs) {
    const input = Buffer.from(s);
    console.log(row("TXT", input, feed(input.toString())));
  }
  // invalid UTF-8: Node reads each bad sequence as U+FFFD
  for (const bytes of [
    [0xff, 0x32, 0x3a, 0x34, 0x61], [0x32, 0x3a, 0x34, 0xff], [0x33, 0x3a, 0x34, 0xff, 0xfe],
    [0x32, 0x3a, 0x34, 0xe2, 0x82], [0x33, 0x3a, 0x34, 0xe2, 0x82], [0x32, 0x3a, 0x34, 0xf0, 0x9f, 0x98],
    [0x34, 0x3a, 0x34, 0xed, 0xa0, 0x80], [0x32, 0x3a, 0x34, 0xed, 0xa0, 0x80],
    [0x32, 0x3a, 0x34, 0xe2, 0x82, 0x31, 0x3a, 0x36],
  ]) {
    const input = Buffer.from(bytes);
    console.log(row("TXT", input, feed(input.toString())));
  }
}

function binarySection() {
  console.log("/* XHR2 binary payloads: eio3_binary_payload_next() */");
  const cases = binaryInputs.slice();
  const ones = (n) => [0, ...Array(n).fill(1), 255, 0x34];
  cases.push(ones(310), ones(311), ones(312));
  const hundreds = (n) => [0, ...Array(n).fill(100), 255, 0x34];
  cases.push(hundreds(103), hundreds(104));
  for (const a of cases) {
    const input = Buffer.from(a);
    const r = feed(input);
    // framing errors deliver nothing; packet errors stop the rest
    console.log(row("BIN", input, r));
  }
}

function utf16Section() {
  console.log("/* eio3_utf16_len() */");
  const inputs = [
    [], [0x61], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0x80],
    [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xe2, 0x82, 0x61], [0xc0, 0x80], [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80],
    [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xfe, 0xff], [0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f], [0x61, 0x00, 0x62],
  ];
  for (const a of inputs) {
    const b = Buffer.from(a);
    console.log(`\tU16(${cstr(b)}, ${b.toString().length}),`);
  }
}

// The payloads the reference writes for a queue, as the three kinds.
function encodeSection() {
  console.log("/* encoding: eio3_packet_len() / eio3_packet_write() */");
  let written;
  Polling.prototype.doWrite = function (data) {
    written = data;
  };
  const queues = [
    [["message", "a"]],
    [["open", '{"sid":"x"}']],
    [["ping"]],
    [["pong", "probe"]],
    [["noop"]],
    [["message", ""]],
    [["message", "€"]],
    [["message", "😀"]],
    [["message", "h€😀é"]],
    [["message", '42["chat","a\\"b"]']],
    [["message", "a\nb\r\t\b\f\u0001\u001f\u007f"]],
    [["message", "\u2028\u2029 x"]],
    [["message", "\\n \\\\n"]],
    [["message", Buffer.from([1, 2, 3])]],
    [["message", Buffer.from([])]],
    [["message", Buffer.from([0xff])]],
    [["message", "a"], ["message", Buffer.from([1, 2, 3, 4])], ["message", "😀"]],
    [["ping", Buffer.from([9])]],
    [["message", "x".repeat(9)]],
    [["message", "x".repeat(10)]],
    [["message", "€".repeat(12)]],
  ];
  for (const q of queues) {
    const packets = () => q.map(([type, data]) => ({ type, data }));
    const spec = q
      .map(([type, data]) => {
        const t = TYPES.indexOf(type);
        if (Buffer.isBuffer(data)) return `B(${t}, ${cstr(data)})`;
        return `P(${t}, ${cstr(Buffer.from(data === undefined ? "" : data))})`;
      })
      .join(", ");
    // text: a b64 client; binary: encodePayloadAsBinary itself
    parser.encodePayload(packets(), false, (d) => (written = d));
    const text = Buffer.from(written);
    parser.encodePayloadAsBinary(packets(), (d) => (written = d));
    const bin = written;
    const t = new JSONP({ _query: { EIO: "3", j: "0", b64: "1" } }, {});
    t.send(packets());
    const js = Buffer.from(written);
    console.log(`\tENC(${cstr(text)},\n\t    ${cstr(bin)},\n\t    ${cstr(js)},\n\t    ${spec}, END),`);
  }
}

// What a JSONP POST body gives: the text payload Polling.onData() receives
// (or none) and what decoding it delivers.
function jsonpSection() {
  console.log("/* JSONP bodies: eio3_jsonp_body_decode() */");
  let payload;
  const onData = Polling.prototype.onData;
  const bodies = [
    "d=2:4a", "d=", "d", "", "x=1", "d=2:4a&d=2:4b", "%64=2:4a", "%44=2:4a", "D=2:4a", "d+=2:4a",
    "d=2%3A4a", "d=2:4+", "d=2:4%2B", "d=3:4%2B", "d=4:4a\\nb", "d=5:4a\\\\nb", "d=4:4a%5Cnb",
    "d=6:4a%5C%5Cnb", "d=3:4\\\\\\n", "d=5:4\\\\\\nb", "d=4:4\\\\\\\\n", "d=4:4\\n\\n",
    "d=2:4a&", "&d=2:4a", "&&d=2:4a&&", "x&d=2:4a", "x=%zz&d=2:4a", "d=2:4a=", "d=3:4a=",
    "d=4:4%E2%82%AC", "d=2:4%E2%82%AC", "d=2:4%e2%82%ac", "d=2:4€", "d=2:4%zz", "d=4:4%zz",
    "d=2:4%41", "d=4:4%41%zz", "d=3:4%E2%82", "d=3:4€%zz%41", "d=3:4😀%zz%41", "d=4:4😀%41",
    "d=2:4%C0%80", "d=2:4%ED%A0%80", "d=2:4%F4%90%80%80", "d=2:4%80", "d=4:4%4+1",
    "d=4:4%4%41", "d=3:4%%41", "d=2:4%", "d=3:4%4", "d=1:2&d", "d=1:2&&", "d=%31%3A2",
    "d=6:2probe&x=y", "d=2:4a&%64=2:4b", "x=2:4a", "d=+2:4a", "d=2:4a+", "d=1%3A2",
    "d=%32%3A%34%61", "d=2:4%0A", "d=2:4%5C", "d=3:4%5Cn", "d=8:4%22a%22%5C%5C",
  ];
  for (const b of bodies) {
    payload = null;
    Polling.prototype.onData = function (data) {
      payload = data;
    };
    const t = new JSONP({ _query: { EIO: "3", j: "0" } }, {});
    t.onData(Buffer.from(b).toString());
    Polling.prototype.onData = onData;
    const r = payload === null ? { out: [], err: false } : feed(payload);
    const p = payload === null ? "NONE" : `S(${cstr(Buffer.from(payload))})`;
    const note = payload !== null && payload.includes("\ufffd") ? " /* U+FFFD */" : "";
    console.log(
      `\tJSP(${cstr(Buffer.from(b))}, ${p},${note} ${[...r.out, end(r)].join(", ")}),`,
    );
  }
}

function headSection() {
  console.log("/* JSONP heads: eio3_jsonp_head_write() */");
  for (const j of ["0", "7", "12", "", "abc", "1a2", "٣", "-1", "1.5", " 3 ", "0012"]) {
    const t = new JSONP({ _query: { EIO: "3", j } }, {});
    console.log(`\tHEAD(${cstr(Buffer.from(j))}, ${cstr(Buffer.from(t.head + '"'))}),`);
  }
}

const sections = { text: textSection, binary: binarySection, utf16: utf16Section,
  encode: encodeSection, jsonp: jsonpSection, head: headSection };
const want = process.argv[2];
for (const [name, fn] of Object.entries(sections)) if (!want || want === name) fn();
