// Debian's nginx as a reverse proxy in front of a test server: its own temp
// prefix and configuration (no root paths), on a free loopback port,
// stopped by stop(). The configuration is README.md's ("Behind nginx"),
// with the paths and ports of the test.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { sleep, within } from '../integration/lib.mjs';

export const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

// A port free on 127.0.0.1 now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The proxy configuration for a sioc listening on 127.0.0.1:upstream:
// exactly the location block README.md shows.
export function nginxConfig(prefix, port, upstream) {
  const asRoot = process.getuid?.() === 0;
  return `${asRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
daemon off;
master_process off;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;

  # --- README.md, "Behind nginx" ---
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      '';
  }
  upstream sioc {
    server 127.0.0.1:${upstream};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location /socket.io/ {
      proxy_pass http://sioc;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
    }
  }
  # --- end ---
}
`;
}

// Starts nginx in front of 127.0.0.1:upstream; resolves with
// { port, stop() } once it accepts connections. `makeConfig(prefix, port,
// upstream)` writes another configuration (tests/cluster/ puts several
// nodes behind one nginx).
export async function startNginx(upstream, makeConfig = nginxConfig) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-nginx-'));
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, makeConfig(prefix, port, upstream));
  const proc = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const log = () => {
    try {
      return fs.readFileSync(path.join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  await within(10000, (async () => {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}\n${log()}`);
      const ok = await new Promise((resolve) => {
        const c = net.connect({ host: '127.0.0.1', port }, () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      });
      if (ok) return;
      await sleep(50);
    }
  })(), 'nginx listens');
  return {
    port,
    log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGQUIT');
      await within(10000, exited, 'nginx exits').catch(() => proc.kill('SIGKILL'));
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}
