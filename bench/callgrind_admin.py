#!/usr/bin/env python3
"""The admin namespace's cost counted in instructions (issue 15), beside
the admin scenario's CPU time: the bench server under callgrind, without
and with sio_admin_instrument() in production mode and one dashboard
logged in, each driven by the load generator for two durations; the
difference of the two runs' instruction totals over the difference of
their events is the cost per event, with start, connect and stop taken
out. Callgrind counts the server's user-space instructions, the same
whatever else the machine runs (the CPU-time windows of bench/run.sh move
by tens of per cent between runs on this VM); it does not count the
kernel's work, which the admin namespace adds to only with its server_stats
emit every 2 s. Under callgrind the server runs ~50x slower, so that
periodic work weighs ~50x more per event than at full speed: what this
reports is an upper bound.

  bench/callgrind_admin.py [--build build-bench] [--short S] [--long S]

Needs valgrind, node (the dashboard, bench/peers/dashboard.js, from
tests/node_modules) and a build with bench/peers/sioc/bench_server and
bench/loadgen/loadgen (bench/run.sh makes build-bench/). Prints a markdown
table; takes about four minutes."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, loadgen arguments, the result field that counts events)
LOADS = [
    ('Echo 16 B', ['--mode', 'echo', '--clients', '100', '--inflight', '10', '--payload', '16'],
     'acked'),
    ('Echo 1 KB', ['--mode', 'echo', '--clients', '100', '--inflight', '10', '--payload', '1024'],
     'acked'),
    ('Broadcast 5/s to 1,000', ['--mode', 'broadcast', '--clients', '1000', '--rate', '5',
                                '--burst', '1', '--payload', '16'], 'received'),
    ('Broadcast 5/s in bursts of 10 to 1,000', ['--mode', 'broadcast', '--clients', '1000',
                                                '--rate', '5', '--burst', '10', '--payload',
                                                '16'], 'received'),
]


def total_ir(path):
    """The instruction total of a callgrind output file."""
    with open(path) as f:
        for line in f:
            m = re.match(r'(?:summary|totals):\s+(\d+)', line)
            if m:
                return int(m.group(1))
    raise RuntimeError(f'no instruction total in {path}')


def run_once(build, tmp, admin, load, duration):
    """One server under callgrind, one load; returns (instructions, events,
    server_stats the dashboard got)."""
    out = os.path.join(tmp, f'cg-{os.getpid()}-{time.monotonic_ns()}.out')
    cmd = ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out,
           os.path.join(build, 'bench/peers/sioc/bench_server'), '--port', '0']
    if admin:
        cmd += ['--admin', 'production']
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    dash = None
    try:
        m = re.match(r'PORT (\d+)', srv.stdout.readline())
        if not m:
            raise RuntimeError('the bench server printed no port')
        port = m.group(1)
        stats = 0
        if admin:
            dash = subprocess.Popen(['node', os.path.join(ROOT, 'bench/peers/dashboard.js'), port],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for line in dash.stdout:  # logged in and receiving
                if line.startswith('SERVER_STATS'):
                    break
            else:
                raise RuntimeError('the dashboard did not log in')
        name, args, field = load
        lg = subprocess.run([os.path.join(build, 'bench/loadgen/loadgen'), '--port', port,
                             '--duration', str(duration), '--timeout', str(duration * 6 + 120)]
                            + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            timeout=duration * 10 + 300)
        res = json.loads(lg.stdout.strip().splitlines()[-1])
        if dash:
            dash.terminate()
            rest = dash.communicate(timeout=10)[0]
            stats = 1 + sum(1 for x in rest.splitlines() if x.startswith('SERVER_STATS'))
            dash = None
        srv.terminate()
        srv.wait(timeout=60)
        return total_ir(out), int(res[field]), stats
    finally:
        for p in (dash, srv):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if os.path.exists(out):
            os.unlink(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--short', type=int, default=5, help='the short run, s (5)')
    ap.add_argument('--long', type=int, default=15, help='the long run, s (15)')
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for load in LOADS:
            per = {}
            for admin in (False, True):
                short = run_once(a.build, tmp, admin, load, a.short)
                long_ = run_once(a.build, tmp, admin, load, a.long)
                events = long_[1] - short[1]
                if events <= 0:
                    raise RuntimeError(f'{load[0]}: no more events in the long run')
                per[admin] = ((long_[0] - short[0]) / events, short, long_)
                print(f'{load[0]}, admin {"on" if admin else "off"}: '
                      f'{short[0]} Ir / {short[1]} events ({a.short} s), '
                      f'{long_[0]} Ir / {long_[1]} events ({a.long} s), '
                      f'server_stats {short[2]} + {long_[2]}', file=sys.stderr)
            rows.append((load[0], per[False][0], per[True][0]))
    print('| Instructions per event | without admin | with admin and a dashboard | change |')
    print('| --- | ---: | ---: | ---: |')
    for name, off, on in rows:
        print(f'| {name} | {off:,.0f} | {on:,.0f} | {100 * (on / off - 1):+.1f} % |')


if __name__ == '__main__':
    main()
