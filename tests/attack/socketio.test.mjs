// Attack suite, Socket.IO packets: malformed packets (each closes the whole
// connection and frees its buffers), hostile ack ids, floods of namespace
// names, JSON built to hurt a parser. Each attack runs against a server
// serving a canary socket.io-client; afterwards the server's fds and RSS
// must be back to their baseline and the canary must still get its ack.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSio, SioCanary, guarded, procStats, resetPeak, closeAll, sleep, wsSession,
  STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

// A raw Engine.IO websocket session, joined to `/` unless connect is null.
async function rawSio(port, connect = '40') {
  const s = await wsSession(port);
  if (connect !== null) {
    s.ws.send(connect);
    const [reply] = await s.ws.recv();
    assert.match(reply, /^40\{"sid":"[^"]+"\}$/, 'CONNECT reply');
    s.socketId = JSON.parse(reply.slice(2)).sid;
  }
  return s;
}

async function closedWithin(ws, ms) {
  return Promise.race([ws.closed.then(() => true), sleep(ms).then(() => false)]);
}

// The Socket.IO packets (Engine.IO messages) among what a websocket got.
const sioReplies = (ws) => ws.messages.filter((m) => typeof m !== 'string' || m[0] === '4');

// Sends an echo and expects it back: the connection still works.
async function alive(ws, tag = 'alive') {
  ws.messages.length = 0;
  ws.send(`42["echo","${tag}"]`);
  const [m] = await ws.recv(1, 3000);
  assert.equal(m, `42["echo","${tag}"]`, 'the connection still echoes');
}

const ph = (num) => `{"_placeholder":true,"num":${num}}`;

describe('malformed Socket.IO packets close the connection', { timeout: 180000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio(['--namespace', '/admin']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // [what, messages to send, join '/' first]
  const invalid = [
    ['"4abc": an unknown packet type', ['4abc']],
    ['a CONNECT_ERROR from the client', ['44abc']],
    ['an empty Socket.IO packet', ['4']],
    ['42{} (event payload not an array)', ['42{}']],
    ['42"x" (event payload a string)', ['42"x"']],
    ['an object event name', ['42[{}]']],
    ['an array event name', ['42[["echo"]]']],
    ['a null event name', ['42[null]']],
    ['a boolean event name', ['42[true]']],
    ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener',
      'removeListener'].map((n) => [`the reserved event name "${n}"`, [`42["${n}"]`]]),
    ['a non-object CONNECT auth (string)', ['40"x"'], false],
    ['a non-object CONNECT auth (array)', ['40[]'], false],
    ['a non-object CONNECT auth (number)', ['40-1'], false],
    ['a non-object CONNECT auth (boolean)', ['40true'], false],
    ['a non-object CONNECT auth (null)', ['40null'], false],
    ['a non-object CONNECT auth for a second namespace', ['40/admin,"x"']],
    ['DISCONNECT with an object payload', ['41{}']],
    ['DISCONNECT with a string payload', ['41"bye"']],
    ['more attachments than the limit (11)', [`4511-["echo",${ph(0)}]`]],
    ['an attachment count overflowing 64 bits', [`45${'9'.repeat(30)}-["echo",${ph(0)}]`]],
    ['45[ with no dash', [`45["echo",${ph(0)}]`]],
    ['451[ with no dash', [`451["echo",${ph(0)}]`]],
    ['a binary ack with no dash', [`461["x",${ph(0)}]`]],
    ['a placeholder num as a string', ['451-["echo",{"_placeholder":true,"num":"0"}]',
      Buffer.from([1])]],
    ['a negative placeholder num', [`451-["echo",${ph(-1)}]`, Buffer.from([1])]],
    ['a placeholder num out of range', [`451-["echo",${ph(1)}]`, Buffer.from([1])]],
    ['a huge placeholder num', [`451-["echo",${ph('1e30')}]`, Buffer.from([1])]],
    ['a fractional placeholder num', [`451-["echo",${ph(0.5)}]`, Buffer.from([1])]],
    ['a placeholder without num', ['451-["echo",{"_placeholder":true}]', Buffer.from([1])]],
    ['a text packet while attachments are pending', [`452-["echo",${ph(0)},${ph(1)}]`,
      Buffer.from([1]), '42["echo"]']],
    ['a CONNECT while attachments are pending', [`451-["echo",${ph(0)}]`, '40/admin,']],
    ['a binary message nobody waits for', [Buffer.from([1, 2, 3])]],
    ['binary before joining any namespace', [Buffer.from([1, 2, 3])], false],
    ['a binary event before joining any namespace', [`451-["echo",${ph(0)}]`,
      Buffer.from([1])], false],
    ['an event before joining any namespace', ['42["echo","x"]'], false],
    ['an event for a namespace not joined', ['42/admin,["echo"]']],
    ['a namespace name without its comma', ['42/admin["echo"]']],
  ];
  for (const [what, msgs, join = true] of invalid) {
    test(what, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { ws, socketId } = await rawSio(ctx.srv.port, join ? '40' : null);
      for (const m of msgs) ws.send(m);
      assert.ok(await closedWithin(ws, 3000), 'the connection is closed');
      assert.deepEqual(sioReplies(ws), [], 'no Socket.IO packet answered');
      if (socketId) await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} `), 3000);
    }));
  }

  test('64 attachments announced, 10 allowed: closed before any is buffered',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      const placeholders = Array.from({ length: 64 }, (_, i) => ph(i)).join(',');
      ws.send(`4564-["echo",${placeholders}]`);
      for (let i = 0; i < 64 && ws.closeCode === null; i++) ws.send(Buffer.alloc(1000, i));
      assert.ok(await closedWithin(ws, 3000), 'the connection is closed');
    }));

  test('disconnect in the middle of the attachments: buffers freed', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { ws, socketId } = await rawSio(ctx.srv.port);
      ws.send(`453-["echo",${ph(0)},${ph(1)},${ph(2)}]`);
      ws.send(Buffer.alloc(200000, 1));
      ws.send(Buffer.alloc(200000, 2));
      await sleep(100);
      ws.terminate();
      await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${socketId} `), 3000);
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('hostile ack ids: no overflow; ignored or closed', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio([]);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // An event with ack id `id` (digits as sent): the connection is closed,
  // or the ack comes back with exactly those digits.
  for (const [what, id] of [
    ['2^53 + 1', '9007199254740993'],
    ['2^63', '9223372036854775808'],
    ['2^64 + 1', '18446744073709551617'],
    ['30 digits', '9'.repeat(30)],
    ['leading zeros', '0000000000000000000000007'],
  ]) {
    test(`an event with ack id ${what}`, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      ws.send(`42${id}["ack","x"]`);
      if (await closedWithin(ws, 1000)) return;
      const replies = sioReplies(ws);
      assert.ok(replies.length <= 1, `replies ${JSON.stringify(replies)}`);
      if (replies.length === 1) {
        const m = /^43(\d+)\["x"\]$/.exec(replies[0]);
        assert.ok(m, `an ack: ${replies[0]}`);
        assert.ok(m[1] === id || BigInt(m[1]) === BigInt(id),
          `the ack id comes back unchanged: sent ${id}, got ${m[1]}`);
      }
      await alive(ws);
      ws.close();
    }));
  }

  test('a negative ack id', { timeout: 15000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    ws.send('42-1["ack","x"]');
    if (await closedWithin(ws, 1000)) return;
    assert.ok(!sioReplies(ws).some((m) => m.startsWith('43-')), 'no ack with a negative id');
    await alive(ws);
    ws.close();
  }));

  test('an ACK for an id never used is ignored', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { ws, socketId } = await rawSio(ctx.srv.port);
      ws.send('43999["stray"]');
      ws.send(`43${'9'.repeat(30)}["stray"]`);
      ws.send('439007199254740993["stray"]');
      await sleep(200);
      if (ws.closeCode !== null) return; // closing is allowed too
      await alive(ws);
      assert.ok(!ctx.srv.has(new RegExp(`^ACK ${socketId} `)), 'no ACK callback ran');
      ws.close();
    }));

  test('an ACK answered twice: the second is ignored', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { ws, socketId } = await rawSio(ctx.srv.port);
      ws.send('42["ask",0]');
      const [q] = await ws.recv();
      const id = /^42(\d+)\["question","what\?"\]$/.exec(q)?.[1];
      assert.ok(id, `a question with an ack id: ${q}`);
      ws.send(`43${id}["first"]`);
      ws.send(`43${id}["second"]`);
      await ctx.srv.waitFor(new RegExp(`^ACK ${socketId} 0 \\["first"\\]$`));
      await sleep(200);
      if (ws.closeCode !== null) return;
      await alive(ws);
      assert.equal(ctx.srv.lines.filter((l) => l.startsWith(`ACK ${socketId} `)).length, 1,
        'one ACK callback');
      ws.close();
    }));

  test('a client reusing its own ack id gets each answered', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      ws.send('425["ack","a"]');
      ws.send('425["ack","b"]');
      assert.deepEqual(await ws.recv(2), ['435["a"]', '435["b"]']);
      ws.close();
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('namespace name floods: no per-name allocation', { timeout: 180000 }, () => {
  const ctx = {};
  before(async () => {
    // dynamic namespaces live until destroy by default, as in the reference;
    // cleanup_empty_child_namespaces (cleanupEmptyChildNamespaces) frees them
    ctx.srv = await startSio(['--dynamic-prefix', '/p/', '--cleanup-empty-child-namespaces', 'on']);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // Sends CONNECT for names[i] in batches, reading the replies.
  async function connectAll(ws, names, batch = 500) {
    const replies = [];
    for (let i = 0; i < names.length; i += batch) {
      const part = names.slice(i, i + batch);
      for (const n of part) ws.send(`40${n},`);
      replies.push(...await ws.recv(part.length, 10000));
    }
    return replies;
  }

  test('10k distinct unknown namespace names: each refused, memory flat', { timeout: 60000 },
    () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      const names = Array.from({ length: 10000 }, (_, i) => `/unknown-${i}-${'x'.repeat(50)}`);
      const replies = await connectAll(ws, names);
      assert.equal(replies[0], `44${names[0]},{"message":"Invalid namespace"}`);
      assert.equal(replies.length, 10000);
      await alive(ws);
      ws.close();
    }, { warm: true }));

  test('10k dynamic namespaces joined and left one after the other: memory flat',
    { timeout: 90000 }, () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      for (let i = 0; i < 10000; i += 250) {
        for (let j = i; j < i + 250; j++) {
          ws.send(`40/p/${j}-${'y'.repeat(50)},`);
          ws.send(`41/p/${j}-${'y'.repeat(50)},`);
        }
        await ws.recv(250, 10000);
      }
      await alive(ws);
      ws.close();
    }));

  test('a 1 MB namespace name: refused, memory flat', { timeout: 20000 },
    () => guarded(ctx, async (base) => {
      const { ws } = await rawSio(ctx.srv.port);
      resetPeak(ctx.srv.proc.pid);
      const name = `/${'n'.repeat(990000)}`;
      ws.send(`40${name},`);
      const [r] = await ws.recv(1, 5000);
      assert.ok(r.startsWith('44/nnn') && r.endsWith(',{"message":"Invalid namespace"}'),
        `reply ${r.slice(0, 40)}...`);
      await alive(ws);
      ws.close();
      const peak = procStats(ctx.srv.proc.pid).hwm - base.rss;
      assert.ok(peak < 16384, `peak RSS growth ${peak} KiB`);
    }, { warm: true }));

  test('a 1 MB name in an event packet for a namespace not joined: closed', { timeout: 20000 },
    () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      ws.send(`42/${'n'.repeat(990000)},["echo"]`);
      assert.ok(await closedWithin(ws, 3000), 'closed');
    }, { warm: true }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});

describe('hostile JSON: bounded and defined', { timeout: 120000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSio([]);
    ctx.canary = await SioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  // The connection is closed, or the echo comes back and is valid JSON.
  async function closedOrEcho(ws, payload, check) {
    ws.send(payload);
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 && ws.closeCode === null && ws.messages.length === 0) {
      await sleep(20);
    }
    if (ws.messages[0] === '1') {
      // the Engine.IO close packet, then the close frame a moment later
      assert.ok(await closedWithin(ws, 3000), 'closed after the close packet');
    }
    if (ws.closeCode !== null) return 'closed';
    assert.ok(ws.messages.length > 0, 'closed or answered within 3 s');
    const m = ws.messages.shift();
    assert.ok(m.startsWith('42'), `an event: ${m.slice(0, 60)}`);
    const v = JSON.parse(m.slice(2));
    if (check) check(v);
    await alive(ws);
    ws.close();
    return 'echoed';
  }

  test('arrays nested 100k deep', { timeout: 20000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    await closedOrEcho(ws, `42["echo",${'['.repeat(100000)}${']'.repeat(100000)}]`);
  }));

  test('objects nested 100k deep', { timeout: 20000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    await closedOrEcho(ws, `42["echo",${'{"a":'.repeat(100000)}1${'}'.repeat(100000)}]`);
  }));

  test('an unbalanced 900k-deep opening', { timeout: 20000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    ws.send(`42["echo",${'['.repeat(900000)}`);
    assert.ok(await closedWithin(ws, 3000), 'closed');
  }));

  for (const [what, lit, ok] of [
    ['1e999', '1e999', (v) => v === null || typeof v === 'number'],
    ['-1e999', '-1e999', (v) => v === null || typeof v === 'number'],
    ['1e-999', '1e-999', (v) => v === 0 || v === null],
    ['a 400-digit integer', '9'.repeat(400), (v) => v === null || typeof v === 'number'],
    ['a negative 400-digit integer', `-${'9'.repeat(400)}`, (v) => v === null || typeof v === 'number'],
    ['2^63', '9223372036854775808', (v) => typeof v === 'number' && v > 9.2e18],
    ['-2^63 - 1', '-9223372036854775809', (v) => typeof v === 'number' && v < -9.2e18],
  ]) {
    test(`the number ${what}`, { timeout: 15000 }, () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      await closedOrEcho(ws, `42["echo",${lit}]`, (v) => {
        assert.equal(v[0], 'echo');
        assert.ok(ok(v[1]), `echoed as ${JSON.stringify(v[1])}`);
      });
    }));
  }

  test('a 400-digit number as the event name', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { ws } = await rawSio(ctx.srv.port);
      await closedOrEcho(ws, `42[${'9'.repeat(400)}]`);
    }));

  test('10k keys, all the same', { timeout: 15000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    const obj = `{${Array(10000).fill('"k":1').join(',')}}`;
    await closedOrEcho(ws, `42["echo",${obj}]`);
  }));

  test('a string of 500k escapes (\\u0000)', { timeout: 15000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    await closedOrEcho(ws, `42["echo","${'\\u0000'.repeat(150000)}"]`);
  }, { warm: true }));

  test('a lone surrogate escape', { timeout: 15000 }, () => guarded(ctx, async () => {
    const { ws } = await rawSio(ctx.srv.port);
    await closedOrEcho(ws, '42["echo","\\ud800"]');
  }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});
