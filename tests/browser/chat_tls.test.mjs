// The chat demo over HTTPS in a real browser: the chat server (examples/chat,
// $SIOC_CHAT_SERVER) started with --tls-cert/--tls-key (a certificate for
// 127.0.0.1 made by openssl for the test, tests/integration/tls_lib.mjs),
// headless Chromium (Debian's, driven by playwright-core) told to trust that
// certificate's key only (--ignore-certificate-errors-spki-list, the
// SHA-256 of its SubjectPublicKeyInfo; launch() gives the browser a user
// data dir of its own, which the flag wants). Two pages load the page and
// the client bundle over https, upgrade to wss, and talk. A second server
// with a certificate whose key is not trusted proves the trust is what
// made it work: Chromium refuses to load it. The servers must exit cleanly.
//
// A screenshot lands in tests/artifacts/chat-tls.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, closeAll, STOP_TEST } from '../integration/lib.mjs';
import { testCerts, tlsArgs } from '../integration/tls_lib.mjs';

const CHAT_SERVER = process.env.SIOC_CHAT_SERVER;
const CHROMIUM = process.env.SIOC_CHROMIUM ?? '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, '..', 'artifacts');
const WAIT = 10000;

const certs = testCerts();
let srv;
let untrusted;
let browser;
const contexts = new Set();

before(async () => {
  assert.ok(CHAT_SERVER, '$SIOC_CHAT_SERVER names the chat_server executable');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  srv = await startServer([...tlsArgs(certs), '0'], CHAT_SERVER);
  untrusted = await startServer([...tlsArgs(certs, { name: 'server2' }), '0'], CHAT_SERVER);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${certs.spkiHash('server.pem')}`,
    ],
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.stop();
  await untrusted?.stop();
  await closeAll();
});

async function openPage(url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 680 } });
  contexts.add(context);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(url);
  return page;
}

const exact = (s) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

async function see(page, selector, text) {
  const loc = page.locator(selector).filter({ hasText: typeof text === 'string' ? exact(text) : text });
  await loc.first().waitFor({ state: 'visible', timeout: WAIT });
  return loc.first();
}

async function enter(page, nick) {
  await page.fill('#nick-input', nick);
  await page.click('#nick-submit');
  await page.locator('#chat').waitFor({ state: 'visible', timeout: WAIT });
  await see(page, '#room-title', '# general');
}

test('two pages over https talk through wss', { timeout: 60000 }, async () => {
  const url = `https://127.0.0.1:${srv.port}/`;
  const a = await openPage(url);
  const b = await openPage(url);
  for (const p of [a, b]) {
    assert.equal(await p.evaluate(() => location.protocol), 'https:');
    assert.ok(await p.evaluate(() => [...document.scripts].some(
      (sc) => sc.src.startsWith('https://') && sc.src.includes('/socket.io/socket.io'))),
    'the client bundle came over https');
  }
  await enter(a, 'tls-ann');
  await enter(b, 'tls-ben');
  for (const p of [a, b]) {
    await p.waitForFunction(() => window.chat.socket.io.engine.transport.name === 'websocket',
      null, { timeout: WAIT });
    assert.equal(await p.evaluate(() => window.chat.socket.io.engine.secure), true,
      'the engine knows it is on TLS');
    await see(p, '#status', 'online · websocket');
  }
  await a.fill('#text', 'over TLS');
  await a.press('#text', 'Enter');
  await see(b, '#messages li.msg.theirs .text', 'over TLS');
  await b.fill('#text', 'back over TLS');
  await b.press('#text', 'Enter');
  await see(a, '#messages li.msg.theirs .text', 'back over TLS');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await a.screenshot({ path: path.join(ARTIFACTS, 'chat-tls.png') });
  for (const p of [a, b]) assert.deepEqual(p.errors, []);
});

test('a certificate whose key is not trusted is refused by the browser', { timeout: 30000 },
  async () => {
    const context = await browser.newContext();
    contexts.add(context);
    const page = await context.newPage();
    await assert.rejects(page.goto(`https://127.0.0.1:${untrusted.port}/`),
      /ERR_CERT_AUTHORITY_INVALID|ERR_CERT/);
  });

test(STOP_TEST, { timeout: 30000 }, async () => {
  await browser.close();
  browser = null;
  await srv.stop();
  await untrusted.stop();
});
