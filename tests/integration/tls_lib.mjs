// Certificates for the TLS tests, made by Debian's openssl in a fresh
// temporary folder (removed at exit): a CA, a server certificate for
// 127.0.0.1 and localhost signed by it, a second one (another key and
// subject, same CA: what a reload switches to), a client certificate
// signed by the CA, and one signed by a CA nobody trusts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A P-256 key in `name`.key and a certificate `name`.pem for `subject`,
// signed by `ca` (a name made before) or self-signed when ca is null.
function makeCert(dir, name, subject, ca, ext) {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`];
  if (!ca) {
    openssl(['req', '-x509', ...key, '-out', `${name}.pem`, '-days', '2', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign'], dir);
    return;
  }
  openssl(['req', ...key, '-out', `${name}.csr`, '-subj', subject], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' +
  'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n';

// Makes the set once per process; returns the paths and the PEM texts.
let made = null;
export function testCerts() {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-tls-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  makeCert(dir, 'ca', '/CN=sioc test CA', null);
  makeCert(dir, 'server', '/CN=sioc test server', 'ca', SERVER_EXT);
  makeCert(dir, 'server2', '/CN=sioc reloaded server', 'ca', SERVER_EXT);
  makeCert(dir, 'client', '/CN=sioc test client', 'ca', CLIENT_EXT);
  makeCert(dir, 'rogue-ca', '/CN=nobody trusts me', null);
  makeCert(dir, 'rogue-client', '/CN=rogue client', 'rogue-ca', CLIENT_EXT);
  const file = (n) => path.join(dir, n);
  const read = (n) => fs.readFileSync(file(n));
  made = {
    dir,
    file,
    ca: read('ca.pem'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    rogueCert: read('rogue-client.pem'),
    rogueKey: read('rogue-client.key'),
    // the SHA-256 fingerprint Node reports (AA:BB:...) of a PEM certificate
    fingerprint(name) {
      return new crypto.X509Certificate(read(name)).fingerprint256;
    },
    // the base64 SHA-256 of a certificate's public key (SPKI), as Chromium's
    // --ignore-certificate-errors-spki-list wants it
    spkiHash(name) {
      const spki = new crypto.X509Certificate(read(name)).publicKey
        .export({ type: 'spki', format: 'der' });
      return crypto.createHash('sha256').update(spki).digest('base64');
    },
  };
  return made;
}

// The server flags for a certificate set (copies of the server's files
// in a folder of their own, so that a test may replace them and reload).
export function tlsArgs(certs, { ca = false, name = 'server' } = {}) {
  const dir = fs.mkdtempSync(path.join(certs.dir, 'live-'));
  fs.copyFileSync(certs.file(`${name}.pem`), path.join(dir, 'cert.pem'));
  fs.copyFileSync(certs.file(`${name}.key`), path.join(dir, 'key.pem'));
  const args = ['--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')];
  if (ca) args.push('--tls-ca', certs.file('ca.pem'));
  args.live = dir;
  return args;
}
