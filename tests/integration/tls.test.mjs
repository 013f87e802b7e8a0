// TLS in the process (opts.tls): real socket.io-client 4.8 over https
// long-polling, wss and the upgrade, trusting a CA the test makes with
// openssl; client certificates (required when --tls-ca is set); a
// certificate reload (SIGHUP: sio_server_reload_tls() from another thread)
// with clients staying connected; the metrics page and the client bundle
// over https; a server refusing to start on a bad certificate or key.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { io } from 'socket.io-client';
import { closeAll, within, sleep, HOST } from './lib.mjs';
import {
  startSio, TRANSPORTS, trackSocket, clientOptions, connected, connectError, ack,
  SIO_SERVER, SIO_IS_REFERENCE,
} from './sio_lib.mjs';
import { testCerts, tlsArgs } from './tls_lib.mjs';

after(closeAll);

const certs = testCerts();
// sioc's test server only: the reference's (sio_server_ref.cjs) has no --tls-* flags
const ONLY_SIOC = SIO_IS_REFERENCE ? 'the reference test server has no --tls-* flags' : false;
const surl = (port) => `https://${HOST}:${port}`;

// A connected socket.io-client over TLS trusting the test CA.
async function tlsClient(port, transports, extra = {}) {
  const s = trackSocket(io(surl(port), clientOptions(transports, { ca: certs.ca, ...extra })));
  await connected(s);
  return s;
}

async function upgraded(s) {
  const engine = s.io.engine;
  if (engine.transport.name === 'websocket') return;
  await within(5000, new Promise((resolve) => engine.once('upgrade', resolve)), 'upgrade');
}

// The server's certificate as a TLS client sees it: its SHA-256
// fingerprint, or the handshake's error.
function peerCert(port, opts = {}) {
  return within(5000, new Promise((resolve) => {
    const sock = tls.connect({ host: HOST, port, ca: certs.ca, ...opts }, () => {
      const fp = sock.getPeerCertificate().fingerprint256;
      sock.end();
      resolve({ fp, protocol: sock.getProtocol() });
    });
    sock.on('error', (err) => resolve({ err }));
  }), 'TLS handshake');
}

function get(port, target, opts = {}) {
  return within(5000, new Promise((resolve, reject) => {
    https.get({ host: HOST, port, path: target, ca: certs.ca, agent: false, ...opts }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    }).on('error', reject);
  }), `GET ${target}`);
}

for (const [label, transports] of TRANSPORTS) {
  describe(`socket.io-client 4.8 over TLS, ${label}`, { timeout: 60000, skip: ONLY_SIOC },
    () => {
    let srv;
    before(async () => {
      srv = await startSio([...tlsArgs(certs), '--ping-interval', '2000',
        '--ping-timeout', '2000', '--record-logs', 'on', '--log-level', 'info']);
    });
    after(() => srv.stop());

    test('connects, exchanges events and acks, and the handshake is secure', async () => {
      const s = await tlsClient(srv.port, transports);
      const [hs] = await ack(s, 'handshake', {});
      assert.equal(hs.secure, true, 'sio_handshake.secure over TLS');
      assert.equal(hs.address, '127.0.0.1');
      if (!transports) await upgraded(s);
      assert.equal(s.io.engine.transport.name, transports ? transports[0] : 'websocket');
      // a large message (several TLS records each way) and many small ones
      const big = 'x'.repeat(200000);
      assert.deepEqual(await ack(s, 'ack', big), [big]);
      const replies = [];
      for (let i = 0; i < 200; i++) replies.push(ack(s, 'ack', i, 'é☃'));
      const got = await Promise.all(replies);
      got.forEach((r, i) => assert.deepEqual(r, [i, 'é☃']));
      // survives heartbeats (2 s interval)
      await sleep(2500);
      assert.deepEqual(await ack(s, 'ack', 'after a ping'), ['after a ping']);
      s.disconnect();
    });

    test('a client that does not trust the CA cannot connect', async () => {
      const s = trackSocket(io(surl(srv.port), clientOptions(transports, {})));
      await connectError(s); // Node checks the chain after the handshake, then hangs up
      s.disconnect();
      assert.deepEqual(await ack(await tlsClient(srv.port, transports), 'ack', 'next'), ['next'],
        'the server still serves the next client');
    });
  });
}

describe('TLS: what else the listener serves, and its limits',
  { timeout: 60000, skip: ONLY_SIOC }, () => {
  let srv;
  before(async () => {
    srv = await startSio([...tlsArgs(certs), '--metrics-path', '/metrics',
      '--record-logs', 'on', '--log-level', 'info']);
  });
  after(() => srv.stop());

  test('the client bundle and the metrics page over https', async () => {
    const bundle = await get(srv.port, '/socket.io/socket.io.min.js');
    assert.equal(bundle.status, 200);
    assert.ok(bundle.body.length > 10000, 'the bundle');
    const m = await get(srv.port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body.toString(), /^sioc_handshakes_refused_total\{cause="tls"\} \d+$/m);
  });

  test('TLS 1.2 and 1.3 are spoken, 1.1 is refused', async () => {
    assert.equal((await peerCert(srv.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await peerCert(srv.port)).protocol, 'TLSv1.3');
    const old = await peerCert(srv.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0' });
    assert.ok(old.err, 'TLS 1.1 fails');
    await srv.waitFor(/^LOG info refused\.tls 127\.0\.0\.1: unsupported protocol$/, 5000,
      'the refusal logged with its cause');
  });

  test('the HTTP/1.1 ALPN protocol is chosen when offered', async () => {
    const r = await within(5000, new Promise((resolve, reject) => {
      const sock = tls.connect({ host: HOST, port: srv.port, ca: certs.ca,
        ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve(sock.alpnProtocol);
        sock.end();
      });
      sock.on('error', reject);
    }), 'ALPN');
    assert.equal(r, 'http/1.1');
  });
});

describe('TLS client certificates (--tls-ca)', { timeout: 60000, skip: ONLY_SIOC }, () => {
  let srv;
  before(async () => {
    srv = await startSio([...tlsArgs(certs, { ca: true }), '--record-logs', 'on',
      '--log-level', 'info']);
  });
  after(() => srv.stop());

  for (const [label, transports] of [['polling', ['polling']], ['websocket', ['websocket']]]) {
    test(`${label}: with a certificate the CA signed, the client connects`, async () => {
      const s = await tlsClient(srv.port, transports,
        { cert: certs.clientCert, key: certs.clientKey });
      assert.deepEqual(await ack(s, 'ack', 'hello'), ['hello']);
      s.disconnect();
    });

    test(`${label}: without a certificate, or with another CA's, it cannot`, async () => {
      const none = trackSocket(io(surl(srv.port), clientOptions(transports, { ca: certs.ca })));
      await connectError(none);
      none.disconnect();
      const rogue = trackSocket(io(surl(srv.port), clientOptions(transports,
        { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey })));
      await connectError(rogue);
      rogue.disconnect();
    });
  }

  test('the refusals are logged at info with their causes', async () => {
    await srv.waitFor(/^LOG info refused\.tls 127\.0\.0\.1: peer did not return a certificate$/,
      5000, 'no certificate');
    await srv.waitFor(/^LOG info refused\.tls 127\.0\.0\.1: certificate verify failed$/, 5000,
      'unknown CA');
  });
});

describe('TLS certificate reload (SIGHUP: sio_server_reload_tls() from a thread)',
  { timeout: 60000, skip: ONLY_SIOC }, () => {
    let srv;
    let args;
    before(async () => {
      args = tlsArgs(certs);
      srv = await startSio([...args, '--record-logs', 'on', '--log-level', 'info']);
    });
    after(() => srv.stop());

    test('new connections get the new certificate; open ones keep working', async () => {
      const first = certs.fingerprint('server.pem');
      const second = certs.fingerprint('server2.pem');
      assert.equal((await peerCert(srv.port)).fp, first);
      const clients = [];
      for (const [, transports] of TRANSPORTS) clients.push(await tlsClient(srv.port, transports));
      await upgraded(clients[2]);

      // the files replaced, then the reload
      fs.copyFileSync(certs.file('server2.pem'), path.join(args.live, 'cert.pem'));
      fs.copyFileSync(certs.file('server2.key'), path.join(args.live, 'key.pem'));
      srv.proc.kill('SIGHUP');
      await srv.waitFor(/^TLS-RELOAD 0$/, 5000, 'the reload');
      await srv.waitFor(/^LOG info tls\.reload certificate reloaded from /, 5000, 'logged');
      assert.equal((await peerCert(srv.port)).fp, second, 'a new connection');
      for (const s of clients) {
        assert.equal(s.connected, true);
        assert.deepEqual(await ack(s, 'ack', 'still here'), ['still here']);
      }
      // a polling client makes new connections: they see the new certificate
      const fresh = await tlsClient(srv.port, ['polling']);
      assert.deepEqual(await ack(fresh, 'ack', 1), [1]);

      // a broken file: the reload fails, the certificate in use stays
      fs.writeFileSync(path.join(args.live, 'cert.pem'), 'not a certificate\n');
      srv.proc.kill('SIGHUP');
      await srv.waitFor(/^TLS-RELOAD -12$/, 5000, 'the failed reload (SIO_ETLS)');
      await srv.waitFor(/^LOG error tls\.load reload: cannot load the certificate \(chain\) from /,
        5000, 'its cause logged');
      assert.equal((await peerCert(srv.port)).fp, second, 'still the second certificate');
      for (const s of [...clients, fresh]) {
        assert.deepEqual(await ack(s, 'ack', 'and still'), ['and still']);
        s.disconnect();
      }
    });
  });

describe('TLS files that cannot be used: the server does not start',
  { timeout: 30000, skip: ONLY_SIOC }, () => {
  const run = (args) => spawnSync(SIO_SERVER, args, { encoding: 'utf8', timeout: 10000 });
  const cases = [
    ['a missing certificate', ['--tls-cert', '/nonexistent/cert.pem',
      '--tls-key', certs.file('server.key')],
    /tls\.load: cannot load the certificate \(chain\) from \/nonexistent\/cert\.pem/],
    ['a key that is not the certificate\'s', ['--tls-cert', certs.file('server.pem'),
      '--tls-key', certs.file('server2.key')],
    /tls\.load: cannot load the private key from \S+server2\.key: key values mismatch/],
    ['a garbage key', ['--tls-cert', certs.file('server.pem'), '--tls-key', certs.file('ca.srl')],
      /tls\.load: cannot load the private key from /],
    ['a missing CA file', ['--tls-cert', certs.file('server.pem'), '--tls-key',
      certs.file('server.key'), '--tls-ca', '/nonexistent/ca.pem'],
    /tls\.load: cannot load the client CA certificates from \/nonexistent\/ca\.pem/],
  ];
  for (const [label, args, re] of cases) {
    test(label, () => {
      const r = run(args);
      assert.equal(r.status, 1, `exit status; stderr:\n${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /sio_server_create: TLS certificate, key or CA file unusable/);
      for (const bad of ['AddressSanitizer', 'LeakSanitizer', 'runtime error']) {
        assert.ok(!r.stderr.includes(bad), r.stderr);
      }
    });
  }
  test('a key without a certificate is an invalid argument', () => {
    const r = run(['--tls-key', certs.file('server.key')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sio_server_create: invalid argument/);
  });
});
