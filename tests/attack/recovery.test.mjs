// Attack suite, connection state recovery: forged and borrowed pids and
// offsets, offsets of every JSON type, a pid replayed after its recovery,
// a race of two CONNECTs for one session, and a flood of CONNECTs with
// random pids. None may recover a session it does not own, crash the
// server, leak, or cost more than a lookup; the owner must still recover.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  startSio, SioCanary, guarded, procStats, closeAll, wsSession, STOP_TEST,
} from './attack_lib.mjs';

after(closeAll);

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const randomPid = () => crypto.randomBytes(15).toString('base64url');

describe('connection state recovery: forged, borrowed and replayed sessions',
  { timeout: 180000 }, () => {
    const ctx = {};
    before(async () => {
      ctx.srv = await startSio(['--recovery', 'on']);
      ctx.canary = await SioCanary.connect(ctx.srv.port);
    });
    after(() => ctx.srv.stop());

    // A raw websocket session that sends CONNECT for "/" with `auth`;
    // returns { ws, sid, pid } of the reply.
    async function connect(auth) {
      const { ws } = await wsSession(ctx.srv.port);
      ws.send(auth === undefined ? '40' : `40${JSON.stringify(auth)}`);
      const [r] = await ws.recv();
      assert.match(r, /^40\{/, `CONNECT reply to ${String(JSON.stringify(auth)).slice(0, 60)}: ${r.slice(0, 200)}`);
      return { ws, ...JSON.parse(r.slice(2)) };
    }

    // The offset the next echo to c carries.
    async function echoOffset(c) {
      c.ws.send('42["echo","x"]');
      const [e] = await c.ws.recv();
      const args = JSON.parse(e.slice(2));
      assert.equal(args.length, 3, `echo with its offset: ${e}`);
      return args[2];
    }

    // A socket in room `room` that got one event (its offset), then lost
    // its transport.
    async function dropped(room = 'vroom') {
      const v = await connect();
      v.ws.send(`421["join","${room}"]`);
      await v.ws.recv();
      v.offset = await echoOffset(v);
      v.ws.terminate();
      await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${escapeRe(v.sid)} `));
      return v;
    }

    const recoveredLine = (sid) => new RegExp(`^RECOVERED / ${escapeRe(sid)}$`);

    // The owner's CONNECT recovers it: the session was still kept.
    async function ownerRecovers(v) {
      const back = await connect({ pid: v.pid, offset: v.offset });
      assert.equal(back.sid, v.sid, 'the owner gets its session back');
      await ctx.srv.waitFor(recoveredLine(v.sid));
      back.ws.close();
      return back;
    }

    test('a forged pid and offset: a new session', { timeout: 15000 },
      () => guarded(ctx, async () => {
        const c = await connect({ pid: randomPid(), offset: '1' });
        assert.ok(!ctx.srv.has(recoveredLine(c.sid)));
        c.ws.close();
      }));

    test('the pid of another socket with the attacker\'s own offset: refused, the owner recovers',
      { timeout: 15000 }, () => guarded(ctx, async () => {
        // the attacker's offsets: one from before the victim's, one after
        const a = await connect();
        const v = await connect();
        const before = await echoOffset(a);
        v.ws.send('421["join","vroom"]');
        await v.ws.recv();
        v.offset = await echoOffset(v);
        const later = await echoOffset(a);
        v.ws.terminate();
        await ctx.srv.waitFor(new RegExp(`^DISCONNECT / ${escapeRe(v.sid)} `));
        for (const offset of [before, later]) {
          const c = await connect({ pid: v.pid, offset });
          assert.notEqual(c.sid, v.sid, `offset ${offset} is not the victim's: no recovery`);
          c.ws.close();
        }
        await ownerRecovers(v);
        a.ws.close();
      }));

    test('offsets and pids of every other type: a new session, the owner recovers',
      { timeout: 30000 }, () => guarded(ctx, async () => {
        const v = await dropped();
        const offsets = [5, 0, -1, 1.5, null, true, {}, [], [v.offset], '', '0', '-1', '007',
          '1e3', ' 1', `${v.offset} `, 'abc', '99999999999999999999999',
          '18446744073709551616', 'x'.repeat(100000)];
        for (const offset of offsets) {
          const c = await connect({ pid: v.pid, offset });
          assert.notEqual(c.sid, v.sid, `offset ${JSON.stringify(offset).slice(0, 40)}`);
          c.ws.close();
        }
        const pids = [5, null, {}, [v.pid], `${v.pid}x`, v.pid.slice(1), v.pid.toUpperCase(),
          '', 'x'.repeat(100000)];
        for (const pid of pids) {
          const c = await connect({ pid, offset: v.offset });
          assert.notEqual(c.sid, v.sid, `pid ${JSON.stringify(pid).slice(0, 40)}`);
          c.ws.close();
        }
        const noPid = await connect({ offset: v.offset });
        assert.notEqual(noPid.sid, v.sid, 'an offset without a pid');
        noPid.ws.close();
        await ownerRecovers(v);
      }));

    test('a pid replayed after its recovery: no second socket', { timeout: 15000 },
      () => guarded(ctx, async () => {
        const v = await dropped();
        const back = await connect({ pid: v.pid, offset: v.offset });
        assert.equal(back.sid, v.sid);
        const replay = await connect({ pid: v.pid, offset: v.offset });
        assert.notEqual(replay.sid, v.sid, 'the replay gets a new session');
        // the recovered socket is still the one and only, and still served
        back.ws.send('421["fetch",null]');
        const [f] = await back.ws.recv();
        const ids = JSON.parse(f.slice(3))[0].map((s) => s.id);
        assert.equal(ids.filter((id) => id === v.sid).length, 1, 'one socket with that id');
        await echoOffset(back);
        replay.ws.close();
        back.ws.close();
      }));

    test('two CONNECTs racing for one session: exactly one recovers', { timeout: 15000 },
      () => guarded(ctx, async () => {
        const v = await dropped();
        const [x, y] = await Promise.all([wsSession(ctx.srv.port), wsSession(ctx.srv.port)]);
        const auth = `40${JSON.stringify({ pid: v.pid, offset: v.offset })}`;
        x.ws.send(auth);
        y.ws.send(auth);
        const [[rx], [ry]] = await Promise.all([x.ws.recv(), y.ws.recv()]);
        const sids = [JSON.parse(rx.slice(2)).sid, JSON.parse(ry.slice(2)).sid];
        assert.equal(sids.filter((sid) => sid === v.sid).length, 1, 'one of them');
        x.ws.close();
        y.ws.close();
      }));

    test('10,000 CONNECTs with random pids: no recovery, bounded work, memory flat',
      { timeout: 120000 }, () => guarded(ctx, async () => {
        const kept = await dropped(); // a session kept meanwhile: the table is not empty
        const { ws } = await wsSession(ctx.srv.port);
        const cpu0 = procStats(ctx.srv.proc.pid).cpu;
        const sids = [];
        for (let i = 0; i < 10000; i += 500) {
          for (let j = 0; j < 500; j++) {
            const offset = j % 2 ? String(crypto.randomInt(1, 1e9)) : kept.offset;
            ws.send(`40${JSON.stringify({ pid: randomPid(), offset })}`);
            ws.send('41');
          }
          for (const r of await ws.recv(500, 20000)) sids.push(JSON.parse(r.slice(2)).sid);
        }
        const cpu = procStats(ctx.srv.proc.pid).cpu - cpu0;
        if (process.env.SIOC_VERBOSE) console.log(`server CPU for 10k CONNECTs: ${cpu} ms`);
        assert.equal(sids.length, 10000);
        assert.ok(!sids.includes(kept.sid), 'none took the kept session');
        assert.ok(!ctx.srv.lines.some((l) => l.startsWith('RECOVERED / ') &&
          sids.includes(l.slice(12))), 'no recovery');
        // a lookup each: well under a millisecond of server CPU per CONNECT
        assert.ok(cpu < 10000, `server CPU for 10k CONNECTs: ${cpu} ms`);
        ws.close();
        await ownerRecovers(kept);
      }, { warm: true }));

    test(STOP_TEST, { timeout: 15000 }, () => ctx.srv.stop());
  });
