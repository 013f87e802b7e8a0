// Attack suite, upgrade abuse: websockets opened for a polling session that
// never finish the upgrade (no probe, the upgrade packet first, several at
// once). Each must be dropped by upgradeTimeout at the latest, with the
// polling session intact and nothing leaked. Each attack runs against a
// server serving a canary client; afterwards the server's fds and RSS must
// be back to their baseline and the canary must still get its echo.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEio, EioCanary, guarded, closeAll, sleep, within, WsClient, RawConn, requestBytes,
  eioPath, pollingHandshake, post, poll, decodePayload, wsFrame, rawWebSocket, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

const UPGRADE_TIMEOUT = 500;

// The polling session still echoes (noops a probe caused are skipped).
async function pollingIntact(srv, sid, text = '4still polling') {
  assert.ok(!srv.hasClosed(sid), 'the session is open');
  assert.equal((await post(srv.port, sid, text)).text, 'ok', 'POST');
  const got = [];
  const t0 = Date.now();
  while (!got.includes(text) && Date.now() - t0 < 3000) {
    got.push(...decodePayload((await poll(srv.port, sid)).text).filter((p) => p !== '6'));
  }
  assert.ok(got.includes(text), `the echo comes by polling: ${JSON.stringify(got)}`);
  assert.ok(!srv.has(new RegExp(`^UPGRADE ${sid}$`)), 'no upgrade happened');
}

// Resolves with the ms until `ws` closes (fails after ms).
async function closedAfter(ws, t0, ms = UPGRADE_TIMEOUT + 3000) {
  await within(ms, ws.closed, 'the websocket is dropped');
  return Date.now() - t0;
}

describe(`upgrade abuse (--upgrade-timeout ${UPGRADE_TIMEOUT})`, { timeout: 180000 }, () => {
  const ctx = {};
  before(async () => {
    ctx.srv = await startEio(['--upgrade-timeout', String(UPGRADE_TIMEOUT)]);
    ctx.canary = await EioCanary.connect(ctx.srv.port);
  });
  after(() => ctx.srv.stop());

  test('no probe: dropped after upgradeTimeout, polling intact', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      const t0 = Date.now();
      const ms = await closedAfter(ws, t0);
      assert.ok(ms >= UPGRADE_TIMEOUT - 100, `dropped after ${ms} ms, not before the timeout`);
      assert.deepEqual(ws.messages, [], 'nothing sent on the websocket');
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test('probe answered but no upgrade packet: dropped after upgradeTimeout, polling intact',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      const t0 = Date.now();
      ws.send('2probe');
      assert.deepEqual(await ws.recv(), ['3probe']);
      const ms = await closedAfter(ws, t0);
      assert.ok(ms >= UPGRADE_TIMEOUT - 100, `dropped after ${ms} ms`);
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test('the upgrade packet before any probe: dropped, polling intact', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      const t0 = Date.now();
      ws.send('5');
      await closedAfter(ws, t0);
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test('a message before the probe: dropped, polling intact', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      const t0 = Date.now();
      ws.send('4sneaky');
      await closedAfter(ws, t0);
      await pollingIntact(ctx.srv, sid);
      assert.ok(!ctx.srv.lines.some((l) => l.includes('sneaky')), 'nothing delivered');
      await post(ctx.srv.port, sid, '1');
    }));

  test('two probes on one websocket, no upgrade: dropped after upgradeTimeout',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      const t0 = Date.now();
      ws.send('2probe');
      ws.send('2probe');
      await closedAfter(ws, t0);
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test('20 parallel websockets for one sid, none finishing: all dropped, polling intact',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const list = [];
      for (let i = 0; i < 20; i++) {
        const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
        ws.ws.on('open', () => {
          if (i % 2) ws.send('2probe');
        });
        list.push(ws);
      }
      const t0 = Date.now();
      await Promise.all(list.map((ws) => closedAfter(ws, t0, UPGRADE_TIMEOUT + 5000)));
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test('two parallel upgrades racing: one wins at most, the loser is dropped, nothing leaks',
    { timeout: 20000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const a = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      const b = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await Promise.all([a.open(), b.open()]);
      a.send('2probe');
      b.send('2probe');
      await sleep(100);
      a.send('5');
      b.send('5');
      await sleep(UPGRADE_TIMEOUT + 500);
      const upgrades = ctx.srv.lines.filter((l) => l === `UPGRADE ${sid}`).length;
      assert.ok(upgrades <= 1, `${upgrades} upgrades`);
      const open = [a, b].filter((w) => w.closeCode === null);
      assert.ok(open.length <= 1, 'at most one websocket left');
      if (upgrades === 1) {
        assert.equal(open.length, 1, 'the winner stays');
        open[0].messages.length = 0;
        open[0].send('4over the winner');
        const got = await open[0].recv(1, 3000);
        assert.deepEqual(got, ['4over the winner']);
        open[0].close();
      } else {
        await pollingIntact(ctx.srv, sid);
        await post(ctx.srv.port, sid, '1');
      }
      await ctx.srv.waitClose(sid);
    }));

  test('an upgrade attempt for a websocket-only session is refused', { timeout: 15000 },
    () => guarded(ctx, async () => {
      const first = await rawWebSocket(ctx.srv.port);
      const sid = first.open.sid;
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      ws.ws.on('open', () => ws.send('2probe'));
      await within(UPGRADE_TIMEOUT + 3000, ws.closed, 'the second websocket is closed');
      assert.ok(!ws.messages.includes('3probe'), 'no probe answer');
      first.write(wsFrame(1, '4first'));
      const f = await first.readFrame();
      assert.equal(f.text, '4first', 'the first websocket still echoes');
      first.write(wsFrame(8, Buffer.from([3, 0xe8])));
      assert.ok(await first.waitEnd(3000));
      first.destroy();
      await ctx.srv.waitClose(sid);
    }));

  test('upgrade websockets left half-open (peer never reads nor writes): dropped',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const conns = [];
      for (let i = 0; i < 5; i++) {
        const c = await rawWebSocket(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`,
          { open: false });
        c.sock.pause();
        conns.push(c);
      }
      await sleep(UPGRADE_TIMEOUT + 1000);
      for (const c of conns) {
        c.sock.resume();
        assert.ok(await c.waitEnd(7000), 'dropped');
        c.destroy();
      }
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }, { settleMs: 8000 }));

  test('a probe answered, then the websocket dropped: the polling session goes on',
    { timeout: 15000 }, () => guarded(ctx, async () => {
      const { sid } = await pollingHandshake(ctx.srv.port);
      const held = await new RawConn(ctx.srv.port).connect();
      held.write(requestBytes('GET', eioPath(`EIO=4&transport=polling&sid=${sid}`)));
      await sleep(50);
      const ws = new WsClient(ctx.srv.port, `EIO=4&transport=websocket&sid=${sid}`);
      await ws.open();
      ws.send('2probe');
      assert.deepEqual(await ws.recv(), ['3probe']);
      assert.deepEqual(decodePayload((await held.readResponse(3000)).text), ['6'],
        'the held poll gets a noop');
      held.destroy();
      ws.terminate();
      await ws.closed;
      await sleep(100);
      await pollingIntact(ctx.srv, sid);
      await post(ctx.srv.port, sid, '1');
    }));

  test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
});
