// The browser client bundle served under the path, and the files of a
// static folder (--static-dir), over raw HTTP (node:net, so that no client
// normalises the paths sent). The bundle is checked byte for byte against
// the npm package's files in static/node_modules ($SIOC_CLIENT_DIST).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import {
  startServer, RawConn, httpRequest, requestBytes, pollingHandshake, closeAll, STOP_TEST,
} from '../integration/lib.mjs';

after(closeAll);

const DIST = process.env.SIOC_CLIENT_DIST;
const BUNDLE = [
  'socket.io.js', 'socket.io.js.map',
  'socket.io.min.js', 'socket.io.min.js.map',
  'socket.io.msgpack.min.js', 'socket.io.msgpack.min.js.map',
  'socket.io.esm.min.js', 'socket.io.esm.min.js.map',
];
const JS_TYPE = 'application/javascript; charset=utf-8';
const MAP_TYPE = 'application/json; charset=utf-8';

const fileBytes = (name) => fs.readFileSync(path.join(DIST, name));

// The ETag the build computes: the `etag` npm package's form for bodies.
function bundleEtag(bytes) {
  const sha = crypto.createHash('sha1').update(bytes).digest('base64').substring(0, 27);
  return `"${bytes.length.toString(16)}-${sha}"`;
}

function decode(res) {
  switch (res.headers['content-encoding']) {
    case undefined: return res.body;
    case 'gzip': return zlib.gunzipSync(res.body);
    case 'br': return zlib.brotliDecompressSync(res.body);
    case 'deflate': return zlib.inflateSync(res.body);
    default: throw new Error(`unexpected coding ${res.headers['content-encoding']}`);
  }
}

const get = (port, target, headers = {}) => httpRequest(port, 'GET', target, { headers });

// The reference leaves what it does not serve to engine.io, which answers this.
function assertEngineIo(res, what) {
  assert.equal(res.status, 400, `${what}: left to Engine.IO (body ${res.text})`);
  assert.equal(res.text, JSON.stringify({ code: 0, message: 'Transport unknown' }), what);
}

describe('client bundle', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    assert.ok(DIST && fs.existsSync(path.join(DIST, 'socket.io.js')),
      'SIOC_CLIENT_DIST must name socket.io-client/dist');
    srv = await startServer([]);
  });
  after(() => srv.stop());

  for (const name of BUNDLE) {
    test(`${name}: the package's bytes, type, ETag, cache headers`, async () => {
      const want = fileBytes(name);
      const res = await get(srv.port, `/socket.io/${name}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(want), `body is the package's ${name}`);
      assert.equal(res.headers['content-length'], String(want.length));
      assert.equal(res.headers['content-type'], name.endsWith('.map') ? MAP_TYPE : JS_TYPE);
      assert.equal(res.headers['cache-control'], 'public, max-age=0');
      assert.equal(res.headers.etag, bundleEtag(want));
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.headers.connection, 'keep-alive');
    });
  }

  test('the ETags differ from file to file', async () => {
    const tags = new Set();
    for (const name of BUNDLE) tags.add((await get(srv.port, `/socket.io/${name}`)).headers.etag);
    assert.equal(tags.size, BUNDLE.length);
  });

  for (const coding of ['gzip', 'br', 'deflate']) {
    test(`${coding}: every file decodes to the package's bytes`, async () => {
      for (const name of BUNDLE) {
        const want = fileBytes(name);
        const res = await get(srv.port, `/socket.io/${name}`, { 'Accept-Encoding': coding });
        assert.equal(res.status, 200, name);
        assert.equal(res.headers['content-encoding'], coding, name);
        assert.equal(res.headers.vary, 'Accept-Encoding', name);
        assert.equal(res.headers.etag, bundleEtag(want), `${name}: one tag for every coding`);
        assert.equal(Number(res.headers['content-length']), res.body.length, name);
        assert.ok(res.body.length < want.length, `${name}: ${coding} is smaller`);
        assert.ok(decode(res).equals(want), `${name}: ${coding} decodes to the package's bytes`);
      }
    });
  }

  test('Accept-Encoding: q-values, "*", case, identity', async () => {
    const cases = [
      ['gzip, deflate, br', 'br'],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip', 'gzip'],
      ['GZip', 'gzip'],
      ['deflate', 'deflate'],
      ['gzip;q=1, br;q=0.5', 'gzip'],
      ['br;q=0.2, gzip;q=0.3, deflate;q=0.1', 'gzip'],
      ['br ; q=0.9 , deflate', 'deflate'],
      ['br;q=0, gzip;q=0', undefined],
      ['br;q=0, *', 'gzip'],
      ['*', 'br'],
      ['*;q=0.5, gzip', 'gzip'],
      ['*;q=0', undefined],
      ['identity', undefined],
      ['identity;q=0', undefined],
      ['zstd, compress', undefined],
      ['br;q=bogus, gzip;q=0.001', 'gzip'],
      [',, ,gzip,,', 'gzip'],
      ['', undefined],
    ];
    const want = fileBytes('socket.io.min.js');
    for (const [ae, coding] of cases) {
      const res = await get(srv.port, '/socket.io/socket.io.min.js', { 'Accept-Encoding': ae });
      assert.equal(res.status, 200, ae);
      assert.equal(res.headers['content-encoding'], coding, `Accept-Encoding: ${ae}`);
      assert.ok(decode(res).equals(want), ae);
    }
  });

  test('the query string is ignored', async () => {
    const res = await get(srv.port, '/socket.io/socket.io.js?v=4.8.4&EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(fileBytes('socket.io.js')));
  });

  test('If-None-Match: 304 for the tag, strong or weak, in a list, or *', async () => {
    const tag = bundleEtag(fileBytes('socket.io.js'));
    for (const inm of [tag, `W/${tag}`, `"nope", ${tag}`, `W/"x",W/${tag}`, '*']) {
      for (const ae of [undefined, 'gzip, br']) {
        const headers = { 'If-None-Match': inm };
        if (ae) headers['Accept-Encoding'] = ae;
        const res = await get(srv.port, '/socket.io/socket.io.js', headers);
        assert.equal(res.status, 304, `If-None-Match: ${inm}`);
        assert.equal(res.body.length, 0);
        assert.equal(res.headers.etag, tag);
        assert.equal(res.headers['cache-control'], 'public, max-age=0');
        assert.equal(res.headers['content-encoding'], undefined);
      }
    }
    // another file's tag, a changed tag, a malformed list: the file again
    const other = bundleEtag(fileBytes('socket.io.min.js'));
    for (const inm of [other, tag.slice(0, -2) + '"', tag.slice(1, -1), 'W/']) {
      const res = await get(srv.port, '/socket.io/socket.io.js', { 'If-None-Match': inm });
      assert.equal(res.status, 200, `If-None-Match: ${inm}`);
      assert.ok(res.body.equals(fileBytes('socket.io.js')));
    }
  });

  test('HEAD: the headers of GET, no body', async () => {
    const conn = await new RawConn(srv.port).connect();
    try {
      for (const ae of [undefined, 'gzip', 'br']) {
        const headers = ae ? { 'Accept-Encoding': ae } : {};
        const full = await get(srv.port, '/socket.io/socket.io.esm.min.js', headers);
        // HEAD then GET on one connection: a body after HEAD would be
        // read as the second response's start.
        conn.write(Buffer.concat([
          requestBytes('HEAD', '/socket.io/socket.io.esm.min.js', headers),
          requestBytes('GET', '/socket.io/socket.io.js.map'),
        ]));
        const head = await conn.readResponse(5000, { head: true });
        assert.equal(head.status, 200);
        for (const h of ['content-length', 'content-type', 'content-encoding', 'etag',
          'cache-control', 'vary']) {
          assert.equal(head.headers[h], full.headers[h], `HEAD ${h} (${ae})`);
        }
        const next = await conn.readResponse();
        assert.equal(next.status, 200, 'the response after HEAD');
        assert.ok(next.body.equals(fileBytes('socket.io.js.map')));
      }
    } finally {
      conn.destroy();
    }
  });

  test('HEAD with a matching If-None-Match: 304', async () => {
    const tag = bundleEtag(fileBytes('socket.io.min.js'));
    const res = await httpRequest(srv.port, 'HEAD', '/socket.io/socket.io.min.js',
      { headers: { 'If-None-Match': tag } });
    assert.equal(res.status, 304);
  });

  test('Connection: close is honoured', async () => {
    const conn = await new RawConn(srv.port).connect();
    try {
      conn.write(requestBytes('GET', '/socket.io/socket.io.min.js', { Connection: 'close' }));
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.equal(res.headers.connection, 'close');
      assert.ok(await conn.waitEnd(), 'the server closes the connection');
    } finally {
      conn.destroy();
    }
  });

  test('other names under the path, and other methods, go to Engine.IO', async () => {
    for (const target of ['/socket.io/socket.io.js/', '/socket.io/Socket.io.js',
      '/socket.io/socket.io', '/socket.io//socket.io.js', '/socket.io/socket.io.js%00',
      '/socket.io/%73ocket.io.js']) {
      assertEngineIo(await get(srv.port, target), target);
    }
    const post = await httpRequest(srv.port, 'POST', '/socket.io/socket.io.js', { body: 'x' });
    assertEngineIo(post, 'POST');
    const { sid } = await pollingHandshake(srv.port);
    assert.ok(sid, 'Engine.IO still answers under the path');
  });

  test('outside the path, without --static-dir: 404', async () => {
    for (const target of ['/socket.io.js', '/', '/index.html', '/socket.io']) {
      const res = await get(srv.port, target);
      assert.equal(res.status, 404, target);
    }
  });

  test(STOP_TEST, () => srv.stop());
});

describe('client bundle under another path', { timeout: 30000 }, () => {
  test('--path /custom: served there, not under /socket.io/', async () => {
    const srv = await startServer(['--path', '/custom']);
    try {
      const res = await get(srv.port, '/custom/socket.io.min.js');
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(fileBytes('socket.io.min.js')));
      assert.equal((await get(srv.port, '/socket.io/socket.io.min.js')).status, 404);
    } finally {
      await srv.stop();
    }
  });
});

describe('serve_client off', { timeout: 30000 }, () => {
  test('--no-serve-client: the bundle is not served; Engine.IO answers, as the reference', async () => {
    const srv = await startServer(['--no-serve-client']);
    try {
      for (const name of BUNDLE) {
        const res = await get(srv.port, `/socket.io/${name}`);
        assert.notEqual(res.status, 200, name);
        assertEngineIo(res, name);
      }
      const head = await httpRequest(srv.port, 'HEAD', '/socket.io/socket.io.js');
      assert.notEqual(head.status, 200);
    } finally {
      await srv.stop();
    }
  });
});

describe('static folder', { timeout: 60000 }, () => {
  let srv, tmp, root, outside, types;
  const SECRET = 'top secret, outside the folder\n';
  const INDEX = '<!doctype html><title>index</title>\n';

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-static-'));
    root = path.join(tmp, 'www');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });
    fs.mkdirSync(path.join(root, 'noindex'));
    fs.mkdirSync(path.join(root, '.git'));
    fs.mkdirSync(path.join(root, 'socket.io'));
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, 'index.html'), INDEX);
    fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub</p>\n');
    fs.writeFileSync(path.join(root, 'sub', 'deeper', 'nested.txt'), 'nested file\n');
    fs.writeFileSync(path.join(root, 'noindex', 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(root, '.hidden'), 'dotfile\n');
    fs.writeFileSync(path.join(root, '.git', 'config'), 'git config\n');
    fs.writeFileSync(path.join(root, 'socket.io', 'x.txt'), 'under the path\n');
    fs.writeFileSync(path.join(root, 'with space.txt'), 'spaced\n');
    types = {
      'a.html': 'text/html; charset=utf-8', 'a.css': 'text/css; charset=utf-8',
      'a.js': 'text/javascript; charset=utf-8', 'a.mjs': 'text/javascript; charset=utf-8',
      'a.json': 'application/json; charset=utf-8', 'a.map': 'application/json; charset=utf-8',
      'a.txt': 'text/plain; charset=utf-8', 'a.png': 'image/png', 'a.jpg': 'image/jpeg',
      'a.svg': 'image/svg+xml', 'a.ico': 'image/x-icon', 'a.wasm': 'application/wasm',
      'a.woff2': 'font/woff2', 'A.PNG': 'image/png', 'a.bin': 'application/octet-stream',
      'noext': 'application/octet-stream',
    };
    fs.mkdirSync(path.join(root, 'types'));
    for (const name of Object.keys(types)) {
      fs.writeFileSync(path.join(root, 'types', name), crypto.randomBytes(100));
    }
    fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
    // links: inside to inside (served), inside to outside (refused)
    fs.symlinkSync('sub/deeper/nested.txt', path.join(root, 'link-in.txt'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-out.txt'));
    fs.symlinkSync('../outside', path.join(root, 'link-out-dir'));
    fs.symlinkSync('.hidden', path.join(root, 'link-dot.txt'));
    fs.symlinkSync('/etc', path.join(root, 'etc'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    // a sparse file over the 16 MiB cap
    fs.writeFileSync(path.join(root, 'big.bin'), '');
    fs.truncateSync(path.join(root, 'big.bin'), 17 << 20);
    // the server follows root through a link too
    fs.symlinkSync('www', path.join(tmp, 'www-link'));
  });

  after(async () => {
    await srv?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const start = async (dir) => {
    srv = await startServer(['--static-dir', dir]);
  };

  test('"/" is index.html; a file; a nested file; a folder with its final "/"', async () => {
    await start(path.join(tmp, 'www-link'));
    let res = await get(srv.port, '/');
    assert.equal(res.status, 200);
    assert.equal(res.text, INDEX);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    res = await get(srv.port, '/index.html?cache=bust');
    assert.equal(res.text, INDEX);
    res = await get(srv.port, '/sub/deeper/nested.txt');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'nested file\n');
    res = await get(srv.port, '/sub/');
    assert.equal(res.text, '<p>sub</p>\n');
    res = await get(srv.port, '//sub//deeper///nested.txt');
    assert.equal(res.text, 'nested file\n', 'repeated slashes');
    res = await get(srv.port, '/with%20space.txt');
    assert.equal(res.text, 'spaced\n', 'percent-decoded');
    res = await get(srv.port, '/%73ub/deeper/nested.txt');
    assert.equal(res.text, 'nested file\n', 'percent-decoded letters');
  });

  test('a folder without its final "/": 301 to it', async () => {
    let res = await get(srv.port, '/sub');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/sub/');
    res = await get(srv.port, '/sub/deeper?x=1');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/sub/deeper/');
    res = await get(srv.port, '//sub');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/sub/', 'never "//host" (another host)');
  });

  test('a folder without index.html, a missing file: 404', async () => {
    for (const target of ['/noindex/', '/missing.html', '/sub/missing/', '/index.html/',
      '/noindex/a.txt/']) {
      assert.equal((await get(srv.port, target)).status, 404, target);
    }
    assert.equal((await get(srv.port, '/noindex/a.txt')).text, 'a\n');
  });

  test('content types by extension', async () => {
    for (const [name, type] of Object.entries(types)) {
      const res = await get(srv.port, `/types/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers['content-type'], type, name);
      assert.ok(res.body.equals(fs.readFileSync(path.join(root, 'types', name))), name);
    }
  });

  test('ETag W/"size-mtime", Last-Modified, Cache-Control; 304 on If-None-Match', async () => {
    const st = fs.statSync(path.join(root, 'index.html'));
    const tag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const res = await get(srv.port, '/index.html');
    assert.equal(res.headers.etag, tag);
    assert.equal(res.headers['last-modified'], st.mtime.toUTCString());
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
    for (const inm of [tag, tag.slice(2), `"a", ${tag}`, '*']) {
      const r = await get(srv.port, '/', { 'If-None-Match': inm });
      assert.equal(r.status, 304, `If-None-Match: ${inm}`);
      assert.equal(r.headers.etag, tag);
      assert.equal(r.body.length, 0);
    }
    const r = await get(srv.port, '/', { 'If-None-Match': 'W/"0-0"' });
    assert.equal(r.status, 200);
    // a change of the file changes the tag
    fs.utimesSync(path.join(root, 'index.html'), st.atime, new Date(st.mtimeMs - 5000));
    const after = await get(srv.port, '/', { 'If-None-Match': tag });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.etag, tag);
  });

  test('HEAD: the headers of GET, no body', async () => {
    const full = await get(srv.port, '/sub/deeper/nested.txt');
    const conn = await new RawConn(srv.port).connect();
    try {
      conn.write(Buffer.concat([requestBytes('HEAD', '/sub/deeper/nested.txt'),
        requestBytes('GET', '/index.html')]));
      const head = await conn.readResponse(5000, { head: true });
      assert.equal(head.status, 200);
      for (const h of ['content-length', 'content-type', 'etag', 'last-modified']) {
        assert.equal(head.headers[h], full.headers[h], h);
      }
      const next = await conn.readResponse();
      assert.equal(next.text, INDEX, 'no body bytes after the HEAD response');
    } finally {
      conn.destroy();
    }
  });

  test('other methods are not served from the folder: 404', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await httpRequest(srv.port, method, '/index.html', { body: 'x' });
      assert.equal(res.status, 404, method);
    }
  });

  // The raw request targets and the status serve-static would give (403 for
  // "..", 400 for what cannot be decoded or holds NUL or a backslash, 404
  // otherwise); none may ever show a byte of a file outside the folder.
  const hostile = [
    ['/../secret.txt', 403],
    ['/../outside/secret.txt', 403],
    ['/..', 403],
    ['/%2e%2e/secret.txt', 403],
    ['/%2E%2E%2Fsecret.txt', 403],
    ['/%2e%2e%2f%2e%2e%2fetc%2fpasswd', 403],
    ['/..%2fsecret.txt', 403],
    ['/.%2e/secret.txt', 403],
    ['/sub/../../secret.txt', 403],
    ['/a/../../etc/passwd', 403],
    ['/sub/deeper/../../../outside/secret.txt', 403],
    ['/%00', 400],
    ['/index.html%00', 400],
    ['/index.html%00.txt', 400],
    ['/..%00/secret.txt', 400],
    ['/..\\secret.txt', 400],
    ['/%5c..%5csecret.txt', 400],
    ['/..%5Csecret.txt', 400],
    ['/sub\\..\\..\\secret.txt', 400],
    ['/%zz', 400],
    ['/index.html%', 400],
    ['/%2', 400],
    ['/.hidden', 404],
    ['/%2ehidden', 404],
    ['/.git/config', 404],
    ['/sub/./deeper/nested.txt', 404],
    ['/link-out.txt', 404],
    ['/link-out-dir/secret.txt', 404],
    ['/link-out-dir/', 404],
    ['/link-dot.txt', 404],
    ['/etc/passwd', 404],
    ['/fifo', 404],
    ['http://127.0.0.1/../secret.txt', 404],
    ['http://127.0.0.1/etc/passwd', 404],
    ['//../secret.txt', 403],
  ];
  for (const [target, status] of hostile) {
    test(`refused: ${target} (${status})`, async () => {
      const conn = await new RawConn(srv.port).connect();
      try {
        conn.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        const res = await conn.readResponse();
        assert.equal(res.status, status, `${target}: ${res.rawHead}`);
        assert.ok(!res.text.includes('secret') && !res.text.includes('root:'),
          `${target} shows nothing outside the folder`);
        assert.ok(!res.text.includes('dotfile') && !res.text.includes('git config'),
          `${target} shows no dotfile`);
        // the connection goes on (keep-alive) after a refusal
        conn.write(requestBytes('GET', '/index.html'));
        assert.equal((await conn.readResponse()).text, INDEX, 'the next request');
      } finally {
        conn.destroy();
      }
    });
  }

  test('a link inside the folder to a file inside it is followed', async () => {
    const res = await get(srv.port, '/link-in.txt');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'nested file\n');
  });

  test('a file over 16 MiB: 500', async () => {
    assert.equal((await get(srv.port, '/big.bin')).status, 500);
    assert.equal((await httpRequest(srv.port, 'HEAD', '/big.bin')).status, 500);
  });

  test('paths under the Engine.IO path are not served from the folder', async () => {
    assertEngineIo(await get(srv.port, '/socket.io/x.txt'), '/socket.io/x.txt');
    const res = await get(srv.port, '/socket.io/socket.io.min.js');
    assert.ok(res.body.equals(fileBytes('socket.io.min.js')), 'the bundle is still served');
  });

  test(STOP_TEST, () => srv.stop());

  test('a static_dir that does not exist: 404', async () => {
    await start(path.join(tmp, 'nowhere'));
    assert.equal((await get(srv.port, '/')).status, 404);
    assert.equal((await get(srv.port, '/index.html')).status, 404);
    await srv.stop();
  });
});
