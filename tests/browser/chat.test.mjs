// The chat demo (examples/chat) in a real browser: headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core; no browser is
// downloaded) loads the page and the client bundle from the C server
// ($SIOC_CHAT_SERVER, started on port 0) and people talk to each other.
// The two-page conversation runs once per transport mode of the page
// (?transport=polling, ?transport=websocket, and the default: polling, then
// the upgrade), and once more with the msgpack parser: a second server
// (SIOC_CHAT_PARSER=msgpack) and the page loading socket.io.msgpack.min.js
// (?parser=msgpack), served by sioc. The server must exit cleanly on SIGTERM at the end (exit
// code 0, no sanitizer report).
//
// A screenshot of the demo is saved to tests/artifacts/chat.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, closeAll, STOP_TEST } from '../integration/lib.mjs';

const CHAT_SERVER = process.env.SIOC_CHAT_SERVER;
const CHROMIUM = process.env.SIOC_CHROMIUM ?? '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, '..', 'artifacts');
const WAIT = 10000; // ms for anything to show up on a page

let srv;
let msgpackSrv;
let browser;
let base;
let msgpackBase;
const contexts = new Set();

before(async () => {
  assert.ok(CHAT_SERVER, '$SIOC_CHAT_SERVER names the chat_server executable');
  assert.ok(fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install the Debian package chromium (scripts/setup.sh does)`);
  srv = await startServer(['0'], CHAT_SERVER);
  base = `http://127.0.0.1:${srv.port}`;
  process.env.SIOC_CHAT_PARSER = 'msgpack';
  try {
    msgpackSrv = await startServer(['0'], CHAT_SERVER);
  } finally {
    delete process.env.SIOC_CHAT_PARSER;
  }
  msgpackBase = `http://127.0.0.1:${msgpackSrv.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // launch() gives the browser a fresh temporary profile of its own.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.stop();
  await msgpackSrv?.stop();
  await closeAll();
});

// `n` pages, each in a browser context of its own (its own storage and
// window, as different people's browsers; pages sharing a context would
// sit in background tabs, where input is slow), each collecting its
// uncaught errors and dialogs (an alert would mean injected script ran).
async function openPages(n, query = '', at = base) {
  const pages = [];
  const own = [];
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 680 } });
    contexts.add(context);
    own.push(context);
    const page = await context.newPage();
    page.errors = [];
    page.dialogs = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
    page.on('dialog', (d) => {
      page.dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    await page.goto(`${at}/${query}`);
    pages.push(page);
  }
  return {
    pages,
    async close() {
      for (const p of pages) {
        assert.deepEqual(p.errors, [], 'no uncaught errors on the page');
        assert.deepEqual(p.dialogs, [], 'no dialogs opened on the page');
      }
      for (const c of own) {
        contexts.delete(c);
        await c.close();
      }
    },
  };
}

const exact = (s) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

// Waits until an element matching `selector` whose text is `text` (exactly
// when a string) is visible.
async function see(page, selector, text, what = `${selector} "${text}"`) {
  const loc = page.locator(selector).filter({ hasText: typeof text === 'string' ? exact(text) : text });
  try {
    await loc.first().waitFor({ state: 'visible', timeout: WAIT });
  } catch (e) {
    const all = await page.locator(selector).allTextContents().catch(() => []);
    throw new Error(`not seen: ${what}; there is: ${JSON.stringify(all)}`, { cause: e });
  }
  return loc.first();
}

// Enters the chat as `nick` (the page then joins #general by itself).
async function enter(page, nick) {
  await page.fill('#nick-input', nick);
  await page.click('#nick-submit');
  try {
    await page.locator('#chat').waitFor({ state: 'visible', timeout: WAIT });
  } catch (e) {
    const said = await page.locator('#nick-error').textContent().catch(() => '?');
    throw new Error(`${nick} did not get in; the page says: ${JSON.stringify(said)}`, { cause: e });
  }
  await see(page, '#room-title', '# general');
}

// Creates (or joins) a room through the form.
async function join(page, room) {
  await page.fill('#room-input', room);
  await page.click('#room-create');
  await see(page, '#room-title', `# ${room}`);
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Waits for the tick of our own message `text` to reach `state`.
async function tick(page, text, state) {
  const li = page.locator('#messages li.msg.mine').filter({
    has: page.locator('.text', { hasText: exact(text) }),
  });
  await page.waitForFunction(
    ([t, s]) => [...document.querySelectorAll('#messages li.msg.mine')]
      .some((li) => li.querySelector('.text').textContent === t && li.dataset.tick === s),
    [text, state], { timeout: WAIT });
  return li.locator('.tick').textContent();
}

const transportOf = (page) => page.evaluate(() => window.chat.socket.io.engine.transport.name);

const MODES = [
  ['polling', '?transport=polling', 'polling'],
  ['websocket', '?transport=websocket', 'websocket'],
  ['default transports (polling, then upgrade)', '', 'websocket'],
  ['msgpack parser, default transports', '?parser=msgpack', 'websocket', true],
];

for (const [label, query, expected, msgpack] of MODES) {
  // Names of their own: the server frees a name when it notices its owner
  // left, which the next test must not wait for (a loaded machine is slow
  // to notice a closed browser context).
  const tag = `${expected}${query.includes('transport') ? '' : '-up'}${msgpack ? '-mp' : ''}`;
  const [A, B] = [`ann-${tag}`, `ben-${tag}`];
  test(`${label}: two pages join a room and talk both ways`, { timeout: 60000 }, async () => {
    const room = `room-${tag}`;
    const s = await openPages(2, query, msgpack ? msgpackBase : base);
    if (msgpack) {
      for (const p of s.pages) {
        assert.ok(await p.evaluate(() => [...document.scripts].some(
          (sc) => sc.src.endsWith('/socket.io/socket.io.msgpack.min.js'))),
        'the page loaded the msgpack bundle');
      }
    }
    const [a, b] = s.pages;
    await enter(a, A);
    await enter(b, B);
    await join(a, room);
    await join(b, room);

    // The transport asked for is the one in use (the default one upgrades).
    for (const p of [a, b]) {
      await p.waitForFunction((t) => window.chat.socket.io.engine.transport.name === t, expected,
        { timeout: WAIT });
      await see(p, '#status', `online · ${expected}`);
    }

    // Both see each other, the room's count, and A sees B arrive.
    for (const p of [a, b]) {
      await see(p, '#users .user-button', new RegExp(`^${A}`));
      await see(p, '#users .user-button', new RegExp(`^${B}`));
      await see(p, `#rooms .room-button[data-room="${room}"] .count`, '2');
    }
    await see(a, '#messages .notice', `${B} joined`);

    // A → B: B sees it; A's tick goes to ✓✓ once B acknowledged.
    await send(a, `hello ${B}`);
    await see(b, '#messages li.msg.theirs .text', `hello ${B}`);
    await see(b, '#messages li.msg.theirs .from', A);
    assert.equal(await tick(a, `hello ${B}`, 'delivered'), '✓✓');

    // B types: A sees the indicator, gone once B's message comes.
    await b.locator('#text').pressSequentially('hel');
    await see(a, '#typing', `${B} is typing…`);
    await b.fill('#text', '');
    await send(b, `hi ${A}, got it`);
    await see(a, '#messages li.msg.theirs .text', `hi ${A}, got it`);
    assert.equal(await tick(b, `hi ${A}, got it`, 'delivered'), '✓✓');
    await a.waitForFunction(() => document.getElementById('typing').textContent === '', null,
      { timeout: WAIT });

    // Still on the same transport after the exchange.
    assert.equal(await transportOf(a), expected);
    assert.equal(await transportOf(b), expected);

    // B leaves: A sees it and the count drops.
    await b.click('#leave');
    await see(a, '#messages .notice', `${B} left`);
    await see(a, `#rooms .room-button[data-room="${room}"] .count`, '1');
    await s.close();
  });
}

test('a nickname in use is refused politely', { timeout: 30000 }, async () => {
  const s = await openPages(2);
  const [a, b] = s.pages;
  await enter(a, 'carol');
  await b.fill('#nick-input', 'Carol');
  await b.click('#nick-submit');
  await see(b, '#nick-error', /the nickname "Carol" is taken/);
  assert.equal(await b.locator('#chat').isVisible(), false, 'still on the nickname form');
  // Another name works.
  await enter(b, 'carol2');
  await s.close();
});

test('HTML in messages and names is shown as text', { timeout: 30000 }, async () => {
  const s = await openPages(2);
  const [a, b] = s.pages;
  const evil = '<img src=x onerror=alert(1)>';
  const evilNick = '<b>bold</b>';
  await enter(a, evilNick);
  await enter(b, 'dave');
  await join(a, 'html');
  await join(b, 'html');
  await send(a, evil);
  const seen = await see(b, '#messages li.msg.theirs .text', evil);
  assert.equal(await seen.textContent(), evil, 'the text as typed');
  await see(b, '#messages li.msg.theirs .from', evilNick);
  await see(b, '#users .user-button', evilNick);
  await tick(a, evil, 'delivered');
  for (const p of [a, b]) {
    assert.equal(await p.locator('img').count(), 0, 'no img element was created');
    assert.equal(await p.locator('#messages b, #users b, #messages li b').count(), 0,
      'no b element was created');
  }
  await s.close(); // also asserts that no alert() ran
});

test('a private message reaches only its target', { timeout: 40000 }, async () => {
  const s = await openPages(3);
  const [a, b, c] = s.pages;
  await enter(a, 'eve');
  await enter(b, 'fay');
  await enter(c, 'gus');
  for (const p of [a, b, c]) await join(p, 'pm-room');
  await see(a, '#users .user-button', 'fay');
  await see(a, '#users .user-button', 'gus');

  // eve clicks fay in the people list and writes to her.
  await a.click('#users .user-button[data-nick="fay"]');
  await see(a, '#pm-target', /to fay/);
  await send(a, 'psst, fay only');
  await see(b, '#messages li.msg.private .text', 'psst, fay only');
  await see(b, '#messages li.msg.private .pm-label', 'private');
  await see(b, '#messages li.msg.private .from', 'eve');
  assert.equal(await tick(a, 'psst, fay only', 'delivered'), '✓✓');
  await see(a, '#messages li.msg.mine .pm-label', 'private to fay');

  // Back to the room: everyone gets this one. gus seeing it proves the
  // private message (sent before) would have reached him by now.
  await a.click('#pm-cancel');
  await send(a, 'hello all');
  await see(c, '#messages li.msg.theirs .text', 'hello all');
  await see(b, '#messages li.msg.theirs .text', 'hello all');
  assert.equal(await c.locator('#messages li.msg', { hasText: 'psst' }).count(), 0,
    'gus did not get the private message');
  assert.equal(await c.locator('#messages li.private').count(), 0);
  await s.close();
});

test('a late joiner sees the room\'s last 50 messages', { timeout: 40000 }, async () => {
  const s = await openPages(2);
  const [a, b] = s.pages;
  await enter(a, 'hal');
  await join(a, 'history');
  // 55 messages through the page's own socket; the server keeps the last 50.
  await a.evaluate(async () => {
    for (let i = 1; i <= 55; i++) await window.chat.socket.emitWithAck('message', `line ${i}`);
  });
  await send(a, 'the last word');
  await tick(a, 'the last word', 'sent');

  await enter(b, 'ida');
  await join(b, 'history');
  await see(b, '#messages li.msg .text', 'the last word');
  const texts = await b.locator('#messages li.msg .text').allTextContents();
  const expected = [];
  for (let i = 7; i <= 55; i++) expected.push(`line ${i}`);
  expected.push('the last word');
  assert.deepEqual(texts, expected, 'the last 50 messages, oldest first');
  await see(b, '#messages li.msg .from', 'hal');
  await s.close();
});

test('the page survives a reconnect: nickname and room come back', { timeout: 40000 },
  async () => {
    const s = await openPages(2);
    const [a, b] = s.pages;
    await enter(a, 'jo');
    await enter(b, 'kim');
    await join(a, 'reconnect');
    await join(b, 'reconnect');
    const before = await a.evaluate(() => window.chat.socket.id);
    // Drop jo's connection under the client: it reconnects by itself.
    await a.evaluate(() => window.chat.socket.io.engine.close());
    await a.waitForFunction((id) => window.chat.socket.connected && window.chat.socket.id !== id,
      before, { timeout: WAIT });
    await see(a, '#room-title', '# reconnect');
    await see(b, '#messages .notice', 'jo left');
    await see(b, '#messages .notice', 'jo joined');
    await send(b, 'welcome back');
    await see(a, '#messages li.msg.theirs .text', 'welcome back');
    await send(a, 'thanks');
    await see(b, '#messages li.msg.theirs .text', 'thanks');
    await s.close();
  });

test('the page loads its Socket.IO client from sioc', { timeout: 30000 }, async () => {
  const context = await browser.newContext();
  contexts.add(context);
  const page = await context.newPage();
  const responses = [];
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status(), response: r }));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.chat?.socket.connected, null, { timeout: WAIT });

  const src = await page.locator('script[src*="socket.io"]').getAttribute('src');
  assert.equal(src, '/socket.io/socket.io.js');
  const bundle = responses.find((r) => r.url === `${base}/socket.io/socket.io.js`);
  assert.ok(bundle, `the bundle was requested (${responses.map((r) => r.url)})`);
  assert.equal(bundle.status, 200);
  assert.equal(await page.evaluate(() => typeof window.io), 'function', 'window.io exists');
  assert.equal(await page.evaluate(() => typeof window.io.Manager), 'function');
  // Byte for byte the bundle of the socket.io-client package sioc ships.
  const shipped = fs.readFileSync(path.join(HERE, '..', '..', 'static', 'node_modules',
    'socket.io-client', 'dist', 'socket.io.js'));
  assert.ok((await bundle.response.body()).equals(shipped), 'the bundle is socket.io-client\'s');
  for (const r of responses) {
    assert.ok(r.url.startsWith(`${base}/`), `every request went to the chat server: ${r.url}`);
    assert.ok(r.status < 400, `${r.url}: ${r.status}`);
  }
  contexts.delete(context);
  await context.close();
});

test('screenshot of the demo (tests/artifacts/chat.png)', { timeout: 40000 }, async () => {
  const s = await openPages(3);
  const [a, b, c] = s.pages;
  await enter(a, 'alice');
  await enter(b, 'bob');
  await enter(c, 'chloe');
  await join(a, 'sioc');
  await join(b, 'sioc');
  await send(a, 'Hi! This page talks to a Socket.IO server written in C.');
  await see(b, '#messages li.msg.theirs .text', /written in C/);
  await send(b, 'Nice. Polling, websocket and the upgrade all work.');
  await see(a, '#messages li.msg.theirs .text', /upgrade all work/);
  await join(c, 'sioc');
  await send(c, 'Hello from a late joiner: I can see the history.');
  await see(a, '#messages li.msg.theirs .text', /late joiner/);
  await b.click('#users .user-button[data-nick="alice"]');
  await send(b, 'psst: this one is private');
  await see(a, '#messages li.msg.private .text', /private/);
  await send(a, 'and the ticks come from acks ✓✓');
  await tick(a, 'and the ticks come from acks ✓✓', 'delivered');
  await c.locator('#text').pressSequentially('typing');
  await see(a, '#typing', 'chloe is typing…');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await a.screenshot({ path: path.join(ARTIFACTS, 'chat.png') });
  assert.ok(fs.statSync(path.join(ARTIFACTS, 'chat.png')).size > 10000);
  await s.close();
});

test(STOP_TEST, { timeout: 20000 }, async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser.close();
  browser = null;
  await srv.stop();
  assert.ok(srv.has(/^chat server: open http:\/\/localhost:\d+\//), 'the URL was printed');
});
