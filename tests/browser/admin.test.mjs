// The Socket.IO Admin UI against sioc in a real browser: headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) loads the
// dashboard that tests/servers/admin_server.c ($SIOC_ADMIN_SERVER) serves
// under --ui-path (ui/dist of the pinned @socket.io/admin-ui), logs in
// through its connection form (basic auth), and shows the sockets that
// Node clients (socket.io-client 4.8) hold open: the namespaces table of
// the dashboard and the sockets page list the right numbers, and a socket
// joining or leaving changes them. The page's requests to outside font and
// icon sites are answered 404 here (no network).
//
// A screenshot of the dashboard is saved to tests/artifacts/admin.png and
// one of the sockets page to tests/artifacts/admin-sockets.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';
import { startServer, closeAll, STOP_TEST, within } from '../integration/lib.mjs';

const ADMIN_SERVER = process.env.SIOC_ADMIN_SERVER;
const CHROMIUM = process.env.SIOC_CHROMIUM ?? '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, '..', 'artifacts');
const WAIT = 15000; // ms for anything to show up on the page
// bcryptjs.hashSync('secret', 4)
const HASH = '$2a$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06';

let srv;
let base;
let browser;
let context;
let page;
const clients = [];

before(async () => {
  assert.ok(ADMIN_SERVER, '$SIOC_ADMIN_SERVER names the admin_server executable');
  assert.ok(fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install the Debian package chromium (scripts/setup.sh does)`);
  srv = await startServer(['--ui-path', '/admin-ui/', '--auth', 'admin', HASH,
    '--mode', 'development', '--server-id', 'browser-test', '--namespace', '/chat'], ADMIN_SERVER);
  base = `http://127.0.0.1:${srv.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // only this server is reachable: the fonts and icons of outside sites are not
  await context.route((url) => !url.href.startsWith(base), (route) => route.fulfill({ status: 404 }));
  page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
});

after(async () => {
  for (const c of clients) c.disconnect();
  await context?.close().catch(() => {});
  await browser?.close();
  await srv?.stop();
  await closeAll();
});

// An application socket on nsp, over its own connection (or `over`'s).
async function connect(nsp = '/', over = null, transports = ['websocket']) {
  const s = over ? over.io.socket(nsp) // connects by itself
    : io(`${base}${nsp === '/' ? '' : nsp}`, { forceNew: true, reconnection: false, transports });
  clients.push(s);
  await within(5000, new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }), `connect ${nsp}`);
  return s;
}

// The dashboard's namespaces table as { name: socketsCount }.
async function namespacesTable() {
  return page.evaluate(() => {
    const out = {};
    for (const card of document.querySelectorAll('.v-card')) {
      const title = card.querySelector('.v-card__title');
      if (!title || title.textContent.trim() !== 'Namespaces') continue;
      for (const tr of card.querySelectorAll('tbody tr')) {
        const td = tr.querySelectorAll('td');
        if (td.length === 2) out[td[0].textContent.trim()] = Number(td[1].textContent.trim());
      }
    }
    return out;
  });
}

async function waitNamespaces(expected) {
  let last = null;
  try {
    await within(WAIT, (async () => {
      for (;;) {
        last = await namespacesTable();
        if (Object.entries(expected).every(([k, v]) => last[k] === v)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })(), 'namespaces table');
  } catch (e) {
    throw new Error(`the namespaces table shows ${JSON.stringify(last)}, expected ` +
      `${JSON.stringify(expected)}`, { cause: e });
  }
}

test('the dashboard is served, logs in, and counts the sockets', { timeout: 90000 }, async () => {
  // three sockets in "/" (one of them polling), one in /chat on a shared connection
  const a = await connect('/');
  await connect('/', null, ['polling']);
  await connect('/');
  await connect('/chat', a);

  await page.goto(`${base}/admin-ui/`);
  await page.getByLabel('Server URL').fill(base);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByText('invalid credentials').waitFor({ timeout: WAIT });

  await page.getByLabel('Password').fill('secret');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden', timeout: WAIT });
  // server_stats every 2 s: "/" 3, /chat 1, and the dashboard's own socket
  await waitNamespaces({ '/': 3, '/chat': 1, '/admin': 1 });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin.png'), fullPage: true });

  // a fourth socket comes and one leaves: the table follows
  const d = await connect('/');
  await waitNamespaces({ '/': 4, '/chat': 1 });
  d.disconnect();
  await waitNamespaces({ '/': 3 });

  // the sockets page (development mode: all_sockets and the live events) lists "/"'s three
  await page.goto(`${base}/admin-ui/#/sockets/`);
  const rows = page.locator('.v-data-table tbody tr');
  await within(WAIT, (async () => {
    while ((await rows.count()) !== 3 || (await rows.first().textContent()).includes('No data')) {
      await new Promise((r) => setTimeout(r, 200));
    }
  })(), 'three rows on the sockets page').catch(async (e) => {
    throw new Error(`sockets page rows: ${JSON.stringify(await rows.allTextContents())}`,
      { cause: e });
  });
  const text = (await rows.allTextContents()).join('\n');
  for (const s of clients.filter((c) => c.connected && c.nsp === '/')) {
    assert.ok(text.includes(s.id), `socket ${s.id} is listed`);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-sockets.png'), fullPage: true });

  // the servers page names this server by its server_id
  await page.goto(`${base}/admin-ui/#/servers/`);
  await page.getByText('browser-test').first().waitFor({ timeout: WAIT });
  assert.deepEqual(page.errors, [], 'no uncaught errors on the page');
});

test(STOP_TEST, async () => {
  for (const c of clients) c.disconnect();
  await context.close();
  await srv.stop();
});
