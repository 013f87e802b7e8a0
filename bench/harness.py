#!/usr/bin/python3
"""Runs the benchmark scenarios against the sioc, Node and floor peers.

bench/run.sh prepares the machine and calls this; see BENCHMARKS.md. Each
scenario starts a fresh server pinned to CPU 0 (taskset -c 0) and runs the
load generator pinned to CPU 1. Server CPU and minor page faults are read
from /proc/PID/stat (utime and stime, separately, and minflt) at the start
and end of the load generator's measured window, which it marks on stderr
("MODE: measuring" and the summary that follows); memory is VmRSS from
/proc/PID/status, sampled every SAMPLE_S as well. The floor peer
(bench/peers/floor) sends the same bytes as sioc with nothing else around
them: the table shows sioc's CPU against it. Two comparisons smaller than
the drift between windows (the admin namespace's cost; the steady broadcast,
sioc against the floor) run in interleaved rounds, A B then B A, and are
summarised by the median of the per-round ratios. Results go to
OUT/results.json, OUT/table.md and OUT/*.dat (plotted by bench/plot.gp).

Benchmarks report: whatever happens, this exits 0 after writing what it
measured (a failed run is recorded as such).
"""
import argparse
import collections
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf('SC_CLK_TCK')
SAMPLE_S = 0.2
SERVER_CPU = '0'
LOADGEN_CPU = '1'
SRC = '127.0.0.1-127.0.0.16'  # 16 x 28k ephemeral ports: no TIME_WAIT shortage

# Scenario sizes: the full run (a few minutes per server) and --quick.
FULL = dict(idle_clients=10000, idle_rate=2000, idle_hold=30,
            echo_clients=100, echo_inflight=10, echo_duration=10,
            poll_clients=100, poll_inflight=10, poll_duration=10,
            bcast_clients=10000, bcast_rate=5, bcast_burst=10, bcast_duration=10,
            lat_clients=1000, lat_rates=[5000, 10000, 20000, 30000, 50000, 75000, 100000],
            lat_duration=5,
            storm_clients=5000,
            slow_clients=50, slow_rate=1000, slow_payload=1024, slow_duration=20,
            rec_clients=10000, rec_rate=20, rec_churn=0.1, rec_away=0.5, rec_duration=60,
            admin_echo_duration=10, admin_bcast_clients=10000, admin_bcast_duration=10,
            admin_rounds=3, bcast_rounds=5,
            cluster_clients=5000, cluster_rate=5, cluster_duration=10,
            cluster_connect_rate=1000, cluster_burst=1)
QUICK = dict(idle_clients=2000, idle_rate=2000, idle_hold=5,
             echo_clients=100, echo_inflight=10, echo_duration=3,
             poll_clients=100, poll_inflight=10, poll_duration=3,
             bcast_clients=2000, bcast_rate=20, bcast_burst=10, bcast_duration=3,
             lat_clients=1000, lat_rates=[5000, 20000, 50000], lat_duration=2,
             storm_clients=1000,
             slow_clients=50, slow_rate=1000, slow_payload=1024, slow_duration=5,
             rec_clients=2000, rec_rate=20, rec_churn=0.1, rec_away=0.5, rec_duration=10,
             admin_echo_duration=3, admin_bcast_clients=2000, admin_bcast_duration=3,
             admin_rounds=2, bcast_rounds=2,
             cluster_clients=1000, cluster_rate=20, cluster_duration=3,
             cluster_connect_rate=1000, cluster_burst=1)

SCENARIOS = ['idle', 'echo', 'msgpack', 'polling', 'broadcast', 'latency', 'handshake', 'slow',
             'recovery', 'admin', 'tls_idle', 'tls_echo', 'cluster']
# Scenarios of sioc's own features, run on sioc alone (on/off against itself).
SIOC_ONLY = {'recovery', 'admin'}
# Scenarios that need a Redis adapter: sioc and Node only (no floor).
NO_FLOOR = {'cluster'}
REDIS_SERVER = os.environ.get('REDIS_SERVER', '/usr/bin/redis-server')
SERVERS = ['sioc', 'node', 'floor']


def log(msg):
    print(f'bench: {msg}', file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# /proc readings

def proc_stat(pid):
    """(user, system) CPU seconds of every thread of pid so far, and its
    minor page faults."""
    with open(f'/proc/{pid}/stat') as f:
        rest = f.read().rsplit(')', 1)[1].split()  # rest[0] is field 3
    return int(rest[11]) / CLK_TCK, int(rest[12]) / CLK_TCK, int(rest[7])  # fields 14, 15, 10


def proc_cpu(pid):
    """(user, system) CPU seconds of every thread of pid so far."""
    return proc_stat(pid)[:2]


def proc_rss_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def proc_nfds(pid):
    try:
        return len(os.listdir(f'/proc/{pid}/fd'))
    except OSError:
        return 0


def cpu_busy_s(cpu):
    """Seconds CPU number `cpu` has been busy (not idle nor iowait), all processes."""
    with open('/proc/stat') as f:
        for line in f:
            if line.startswith(f'cpu{cpu} '):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
    return 0.0


LOADGEN_PID = [None]  # the load generator running now, if any


class Snapshot:
    """The server's CPU, minor faults and RSS now, and how busy both
    benchmark CPUs are."""

    def __init__(self, pid):
        self.t = time.monotonic()
        self.wall = time.time()
        self.user, self.sys, self.minflt = proc_stat(pid)
        self.rss_kb = proc_rss_kb(pid)
        self.cpu0 = cpu_busy_s(SERVER_CPU)
        self.cpu1 = cpu_busy_s(LOADGEN_CPU)
        try:  # 0 before it starts; None once it is gone
            self.lg_cpu = sum(proc_cpu(LOADGEN_PID[0])) if LOADGEN_PID[0] else 0.0
        except OSError:
            self.lg_cpu = None


def cpu_between(a, b):
    """The server's CPU between two snapshots, and how busy other processes
    kept its CPU meanwhile (noise: the run is only clean when that is ~0)."""
    cpu = b.user - a.user + b.sys - a.sys
    wall = b.t - a.t
    other = max(0.0, (b.cpu0 - a.cpu0) - cpu)
    d = dict(user_s=round(b.user - a.user, 3), sys_s=round(b.sys - a.sys, 3),
             cpu_s=round(cpu, 3), minflt=b.minflt - a.minflt, wall_s=round(wall, 3),
             others_on_server_cpu_pct=round(100 * other / wall, 1) if wall > 0 else None)
    if a.lg_cpu is not None and b.lg_cpu is not None and wall > 0:
        lg = b.lg_cpu - a.lg_cpu
        d['loadgen_cpu_pct'] = round(100 * lg / wall, 1)
        d['others_on_loadgen_cpu_pct'] = round(
            100 * max(0.0, (b.cpu1 - a.cpu1) - lg) / wall, 1)
    return d


class Sampler(threading.Thread):
    """Samples RSS (and optionally open fds) of pid every SAMPLE_S."""

    def __init__(self, pid, fds=False):
        super().__init__(daemon=True)
        self.pid, self.fds = pid, fds
        self.samples = []  # (t, rss_kb, nfds)
        self.t0 = time.monotonic()
        self.stopping = threading.Event()
        self.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.samples.append((round(time.monotonic() - self.t0, 3), proc_rss_kb(self.pid),
                                     proc_nfds(self.pid) if self.fds else 0))
            except OSError:
                return
            self.stopping.wait(SAMPLE_S)

    def stop(self):
        self.stopping.set()
        self.join()
        return self.samples

    def peak_kb(self, t_from=0.0, t_to=1e18):
        vals = [s[1] for s in self.samples if t_from <= s[0] <= t_to]
        return max(vals) if vals else 0


# ---------------------------------------------------------------------------
# Processes

def terminate(proc):
    """SIGTERM, then after 10 s SIGKILL, and waits for proc."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """A peer started fresh for one scenario, pinned to SERVER_CPU."""

    def __init__(self, kind, build, logdir, tag, args=()):
        if kind == 'sioc':
            cmd = [os.path.join(build, 'bench/peers/sioc/bench_server'), '--port', '0']
        elif kind == 'floor':
            cmd = [os.path.join(build, 'bench/peers/floor/floor_server'), '--port', '0']
        elif kind == 'node':
            cmd = ['node', os.path.join(ROOT, 'bench/peers/node/server.js'), '--port', '0']
        else:
            raise ValueError(f'unknown server {kind!r}')
        cmd += [str(a) for a in args]
        self.kind = kind
        self.log_path = os.path.join(logdir, f'{tag}-{kind}-server.log')
        self.log = open(self.log_path, 'w')
        self.disconnects = []  # (realtime s, reason) the server logged
        self.stats = []  # (s since start, {field: int}) of its STATS lines (--stats-every)
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(['taskset', '-c', SERVER_CPU] + cmd, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.pid = self.proc.pid  # taskset execs the server
        line = self.proc.stdout.readline()
        m = re.match(r'PORT (\d+)', line)
        if not m:
            self.stop()
            raise RuntimeError(f'{kind} server did not start: {line!r}')
        self.port = int(m.group(1))
        time.sleep(0.5)  # let start-up work (JIT, allocator) settle before baselines

    def stop(self):
        terminate(self.proc)
        self.log.close()
        with open(self.log_path) as f:
            for line in f:
                m = re.match(r'DISCONNECT (\d+) \S+ (.*)', line)
                if m:
                    self.disconnects.append((int(m.group(1)) / 1e6, m.group(2).strip()))
                m = re.match(r'STATS (\d+) (.*)', line)
                if m:
                    self.stats.append((int(m.group(1)) / 1e3, {
                        k: int(v) for k, v in (f.split('=') for f in m.group(2).split())}))


class Loadgen:
    """One load generator run, pinned to LOADGEN_CPU. Calls on_measuring
    when it starts the measured window, on_connected when the connect phase
    ends, on_summary at its summary line (before it closes its clients), and
    on_progress(dict) for -v progress lines."""

    def __init__(self, build, logf, args, on_measuring=None, on_connected=None,
                 on_summary=None, on_progress=None):
        self.cmd = ['taskset', '-c', LOADGEN_CPU, os.path.join(build, 'bench/loadgen/loadgen')] + \
            [str(a) for a in args]
        self.logf = logf
        self.hooks = dict(measuring=on_measuring, connected=on_connected, summary=on_summary,
                          progress=on_progress)
        self.result = None
        self.rc = None

    def _call(self, name, *a):
        if self.hooks[name]:
            self.hooks[name](*a)

    def run(self):
        self.logf.write('$ ' + ' '.join(self.cmd) + '\n')
        self.logf.flush()
        p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        LOADGEN_PID[0] = p.pid  # taskset execs the load generator
        out = []
        reader = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
        reader.start()
        measuring = False
        summary_seen = False
        for line in p.stderr:
            self.logf.write(line)
            if not measuring and line.rstrip().endswith(': measuring'):
                measuring = True
                self._call('measuring')
            elif re.search(r': \d+/\d+ connected, \d+ failed, in ', line):
                self._call('connected')
            elif not summary_seen and re.search(r': \d+ clients, \d+ connected, ', line):
                summary_seen = True
                self._call('summary')
            else:
                m = re.search(r'loadgen:\s+([\d.]+)s (\w+)\s+started (\d+) pending (\d+) '
                              r'connected (\d+) failed (\d+) dropped (\d+) sent (\d+) '
                              r'received (\d+)', line)
                if m:
                    keys = ['t', 'phase', 'started', 'pending', 'connected', 'failed',
                            'dropped', 'sent', 'received']
                    d = dict(zip(keys, m.groups()))
                    self._call('progress', {k: (v if k == 'phase' else float(v))
                                            for k, v in d.items()})
        self.rc = p.wait()
        LOADGEN_PID[0] = None
        reader.join()
        self.logf.flush()
        text = ''.join(out).strip()
        try:
            self.result = json.loads(text.splitlines()[-1]) if text else None
        except ValueError:
            self.result = None
        return self.result


# ---------------------------------------------------------------------------
# Scenarios: each takes (ctx, kind) and returns a dict of measurements.

class Ctx:
    def __init__(self, build, outdir, size):
        self.build, self.outdir, self.size = build, outdir, size
        self.logdir = os.path.join(outdir, 'logs')
        self.servers = []  # started by the scenario running now
        self.kinds = list(SERVERS)  # the servers this run measures
        self.quiet_wait = 0  # --quiet-wait: before each round after the first too
        self.shared = {}  # measurements one scenario makes for several servers at once
        os.makedirs(self.logdir, exist_ok=True)

    def server(self, kind, tag, args=()):
        srv = Server(kind, self.build, self.logdir, tag, args)
        self.servers.append(srv)
        return srv

    def loadgen_log(self, kind, tag):
        return open(os.path.join(self.logdir, f'{tag}-{kind}-loadgen.log'), 'a')

    def tls_args(self):
        """The servers' TLS flags: a P-256 certificate for 127.0.0.1 made once
        by openssl (self-signed; the load generator does not check it)."""
        d = os.path.join(self.outdir, 'tls')
        cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
        if not os.path.exists(cert):
            os.makedirs(d, exist_ok=True)
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                            'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                            '-days', '7', '-subj', '/CN=127.0.0.1', '-addext',
                            'subjectAltName=IP:127.0.0.1'],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ['--tls-cert', cert, '--tls-key', key]


def per_million(amount, count):
    """amount (CPU seconds, faults) per million of count events."""
    return round(amount / count * 1e6, 3) if count else None


def scenario_idle(ctx, kind, tag='idle', server_args=(), loadgen_args=()):
    """10k idle clients held: RSS per connection, CPU per connect, idle CPU."""
    z = ctx.size
    srv = ctx.server(kind, tag, server_args)
    try:
        base = Snapshot(srv.pid)
        base_fds = proc_nfds(srv.pid)
        sampler = Sampler(srv.pid, fds=True)
        marks = {}
        with ctx.loadgen_log(kind, tag) as lf:
            lg = Loadgen(ctx.build, lf,
                         ['--mode', 'idle', '--port', srv.port, '--clients', z['idle_clients'],
                          '--connect-rate', z['idle_rate'], '--duration', z['idle_hold'],
                          '--src', SRC] + list(loadgen_args),
                         on_measuring=lambda: marks.setdefault('up', Snapshot(srv.pid)),
                         on_summary=lambda: marks.setdefault('held', Snapshot(srv.pid)))
            res = lg.run()
        samples = sampler.stop()
    finally:
        srv.stop()
    if not res or 'up' not in marks or 'held' not in marks:
        return dict(error='the load generator did not complete', loadgen=res)
    n = res['connected']
    up, held = marks['up'], marks['held']
    connect = cpu_between(base, up)
    hold = cpu_between(up, held)
    # the ramp, then the point with everyone held
    series = [(s[0], max(0, s[2] - base_fds), s[1]) for s in samples if s[0] <= up.t - sampler.t0]
    series.append((round(held.t - sampler.t0, 3), n, held.rss_kb))
    return dict(
        clients=n, failed=res['failed'],
        rss_base_kb=base.rss_kb, rss_held_kb=held.rss_kb,
        rss_per_conn_kb=round((held.rss_kb - base.rss_kb) / n, 3) if n else None,
        connect_cpu=connect,
        cpu_per_connect_us=round(connect['cpu_s'] / n * 1e6, 1) if n else None,
        connect_minflt_per_M=per_million(connect['minflt'], n),
        hold_cpu=hold,
        hold_cpu_pct=round(100 * hold['cpu_s'] / hold['wall_s'], 2) if hold['wall_s'] else None,
        connect_ms=res['connect_ms']['total'],
        rss_vs_connections=series,
        loadgen=res)


def measured_run(ctx, kind, srv, tag, args, fds=False, progress=None):
    """Runs the load generator; returns (result, window cpu, samples, sampler, marks)."""
    marks = {}
    sampler = Sampler(srv.pid, fds=fds)
    marks['start'] = Snapshot(srv.pid)

    def at(name):
        return lambda: marks.setdefault(name, Snapshot(srv.pid))

    with ctx.loadgen_log(kind, tag) as lf:
        lg = Loadgen(ctx.build, lf, args, on_measuring=at('measuring'),
                     on_connected=at('connected'), on_summary=at('summary'),
                     on_progress=progress)
        res = lg.run()
    marks.setdefault('summary', Snapshot(srv.pid))
    sampler.stop()
    window = cpu_between(marks['measuring'], marks['summary']) if 'measuring' in marks else None
    return res, window, sampler, marks


def echo_runs(ctx, kind, tag, server_args, loadgen_args, clients, inflight, duration):
    """Acked echoes on one server, 16 B then 1 KB strings: CPU per echo."""
    out = {}
    srv = ctx.server(kind, tag, server_args)
    try:
        for payload in (16, 1024):
            res, win, sampler, marks = measured_run(
                ctx, kind, srv, tag,
                ['--mode', 'echo', '--port', srv.port, '--clients', clients,
                 '--inflight', inflight, '--payload', payload,
                 '--duration', duration] + loadgen_args)
            if not res or not win:
                out[str(payload)] = dict(error='the load generator did not complete', loadgen=res)
                continue
            n = res['acked']
            out[str(payload)] = dict(
                echoes=n, rate_per_s=res['rate_per_s'], cpu=win,
                cpu_s_per_M=per_million(win['cpu_s'], n),
                user_s_per_M=per_million(win['user_s'], n),
                sys_s_per_M=per_million(win['sys_s'], n),
                minflt_per_M=per_million(win['minflt'], n),
                server_cpu_pct=round(100 * win['cpu_s'] / win['wall_s'], 1),
                latency_us=res['latency_us'], loadgen=res)
    finally:
        srv.stop()
    return out


def scenario_echo(ctx, kind):
    """100 connections x 10 in flight, acked echoes, 16 B and 1 KB."""
    z = ctx.size
    return echo_runs(ctx, kind, 'echo', [], [], z['echo_clients'], z['echo_inflight'],
                     z['echo_duration'])


NO_TLS_FLOOR = 'the floor peer has no TLS'


def scenario_tls_idle(ctx, kind):
    """The idle scenario over TLS (wss; sioc's opts.tls, Node's https)."""
    if kind == 'floor':
        return dict(skipped=NO_TLS_FLOOR)
    return scenario_idle(ctx, kind, 'tls_idle', ctx.tls_args(), ['--tls'])


def scenario_tls_echo(ctx, kind):
    """The echo scenario over TLS (wss)."""
    if kind == 'floor':
        return dict(skipped=NO_TLS_FLOOR)
    z = ctx.size
    return echo_runs(ctx, kind, 'tls_echo', ctx.tls_args(), ['--tls'], z['echo_clients'],
                     z['echo_inflight'], z['echo_duration'])


def scenario_msgpack(ctx, kind):
    """The echo scenario with socket.io-msgpack-parser on both sides."""
    z = ctx.size
    return echo_runs(ctx, kind, 'msgpack', ['--parser', 'msgpack'], ['--parser', 'msgpack'],
                     z['echo_clients'], z['echo_inflight'], z['echo_duration'])


def scenario_polling(ctx, kind):
    """Acked echoes over HTTP long-polling that never upgrades: a GET held
    and a POST connection per client."""
    z = ctx.size
    return echo_runs(ctx, kind, 'polling', [], ['--transport', 'polling'], z['poll_clients'],
                     z['poll_inflight'], z['poll_duration'])


def broadcast_window(ctx, kind, name, burst, tag):
    """One broadcast window on a fresh server: 10k clients in one room, the
    server emitting bcast_rate a second (burst per tick)."""
    z = ctx.size
    srv = ctx.server(kind, tag)
    try:
        rss_idle = proc_rss_kb(srv.pid)
        res, win, sampler, marks = measured_run(
            ctx, kind, srv, tag,
            ['--mode', 'broadcast', '--port', srv.port, '--clients', z['bcast_clients'],
             '--rate', z['bcast_rate'], '--burst', burst, '--duration', z['bcast_duration'],
             '--payload', 16, '--src', SRC, '--timeout', z['bcast_duration'] * 6 + 60])
    finally:
        srv.stop()
    if not res or not win:
        return dict(error='the load generator did not complete', loadgen=res)
    n = res['received']
    t_from = marks['measuring'].t - sampler.t0
    return dict(
        burst=burst, deliveries=n, expected=res['expected'],
        delivery_rate_per_s=res['rate_per_s'], cpu=win,
        cpu_s_per_M=per_million(win['cpu_s'], n),
        user_s_per_M=per_million(win['user_s'], n),
        sys_s_per_M=per_million(win['sys_s'], n),
        minflt_per_M=per_million(win['minflt'], n),
        server_cpu_pct=round(100 * win['cpu_s'] / win['wall_s'], 1),
        rss_connected_kb=marks['measuring'].rss_kb,
        rss_peak_kb=sampler.peak_kb(t_from), rss_idle_kb=rss_idle,
        latency_us=res['latency_us'], loadgen=res)


# ---------------------------------------------------------------------------
# Rounds: two things compared (A and B) measured in turn, ABBA...

def spread(values, digits=4):
    """The median, min and max of the values that are numbers (None when
    there is none), and every value in order (None for a missing one)."""
    v = [x for x in values if is_num(x)]
    if not v:
        return None
    return dict(median=round(statistics.median(v), digits), min=round(min(v), digits),
                max=round(max(v), digits), n=len(v),
                values=[round(x, digits) if is_num(x) else None for x in values])


def interleaved_rounds(ctx, labels, rounds, run):
    """Runs run(label, i) for each label in each of the rounds, the order
    reversed every other round (A B, B A, A B, ...: a drift of the machine
    over the rounds weighs on both sides alike). Yields (i, order, {label:
    result}); a run that raises gives dict(error=...) for that label."""
    for i in range(rounds):
        if i and ctx.quiet_wait > 0:
            wait_quiet(ctx.quiet_wait)
        order = list(labels) if i % 2 == 0 else list(reversed(labels))
        got = {}
        for label in order:
            log(f'  round {i + 1}/{rounds}: {label}')
            try:
                got[label] = run(label, i)
            except Exception as e:  # report, never fail
                got[label] = dict(error=f'{type(e).__name__}: {e}')
        yield i, order, got


# The steady broadcast's per-window fields summarised over the rounds (medians)
BCAST_FIELDS = ('deliveries', 'expected', 'delivery_rate_per_s', 'cpu_s_per_M', 'user_s_per_M',
                'sys_s_per_M', 'minflt_per_M', 'server_cpu_pct', 'rss_connected_kb',
                'rss_peak_kb', 'rss_idle_kb')
BCAST_RATIOS = ('cpu_s_per_M', 'user_s_per_M', 'sys_s_per_M')
ROUND_KINDS = ('sioc', 'floor')  # the steady broadcast's rounds interleave these


def broadcast_steady_rounds(ctx):
    """The steady broadcast on sioc and the floor peer (those of them this
    run measures) in bcast_rounds interleaved rounds, a fresh server per
    window. For each: every round's window, and the median of each field
    over the rounds (the layout of one window, so the tables read it as
    before); for sioc also vs_floor: sioc / floor per round and their median."""
    z = ctx.size
    kinds = [k for k in ROUND_KINDS if k in ctx.kinds]
    kept = ctx.servers
    ctx.servers = []
    per = {k: [] for k in kinds}
    for i, order, got in interleaved_rounds(
            ctx, kinds, z['bcast_rounds'],
            lambda k, i: broadcast_window(ctx, k, 'steady', 1, f'broadcast-steady-r{i + 1}')):
        for pos, k in enumerate(order):
            w = got[k]
            w['round'], w['position'], w['first'] = i + 1, pos + 1, order[0]
            reasons = {}
            for srv in ctx.servers:
                for _, reason in (srv.disconnects if srv.kind == k else ()):
                    reasons[reason] = reasons.get(reason, 0) + 1
            if reasons:
                w['server_disconnects'] = reasons
            per[k].append(w)
        ctx.servers = []
    ctx.servers = kept
    out = {}
    for k in kinds:
        ok = [w for w in per[k] if 'error' not in w]
        if not ok:
            out[k] = dict(error='no round completed', rounds=per[k])
            continue
        d = dict(burst=1, rounds_completed=len(ok), rounds=per[k])
        for f in BCAST_FIELDS:
            m = spread([w.get(f) for w in ok])
            d[f] = m['median'] if m else None
        d['latency_us'] = {q: statistics.median([w['latency_us'][q] for w in ok])
                           for q in ok[0]['latency_us']
                           if all(is_num(w['latency_us'].get(q)) for w in ok)}
        out[k] = d
    if 'sioc' in per and 'floor' in per:
        vs = {}
        for f in BCAST_RATIOS:
            r = [s.get(f) / fl.get(f) if is_num(s.get(f)) and is_num(fl.get(f)) and fl.get(f) > 0
                 else None for s, fl in zip(per['sioc'], per['floor'])]
            vs[f] = spread(r)
        out['sioc']['vs_floor'] = vs
    return out


def scenario_broadcast(ctx, kind):
    """10k clients in one room; a steady emit rate, then bursts per tick.
    sioc's and the floor peer's steady windows run in interleaved rounds
    (broadcast_steady_rounds(), once for both, on the first of them);
    bcast_rounds=0 gives one window each, as the Node peer's."""
    z = ctx.size
    out = {}
    if kind in ROUND_KINDS and z['bcast_rounds'] > 0:
        if 'broadcast_steady' not in ctx.shared:
            ctx.shared['broadcast_steady'] = broadcast_steady_rounds(ctx)
        out['steady'] = ctx.shared['broadcast_steady'].get(
            kind, dict(error='the steady rounds did not run'))
    else:
        out['steady'] = broadcast_window(ctx, kind, 'steady', 1, 'broadcast-steady')
    try:  # the steady part stays recorded whatever happens here
        out['burst'] = broadcast_window(ctx, kind, 'burst', z['bcast_burst'], 'broadcast-burst')
    except Exception as e:  # report, never fail
        out['burst'] = dict(error=f'{type(e).__name__}: {e}')
    return out


def knee(points, limit_us=10000):
    """The rate at which p99 passes limit_us for good: interpolated between
    the last point at or under it and the next one, when every later point
    is over it (a lone noisy point lower down does not count). None when
    the last point is still under it; below=True when every point is over."""
    pts = [(r, p) for r, p in points if p is not None]
    if not pts or pts[-1][1] <= limit_us:
        return None
    i = len(pts) - 1
    while i > 0 and pts[i - 1][1] > limit_us:
        i -= 1
    if i == 0:
        return dict(rate=pts[0][0], below=True)
    (r0, l0), (r1, l1) = pts[i - 1], pts[i]
    return dict(rate=round(r0 + (r1 - r0) * (limit_us - l0) / (l1 - l0)), below=False)


def scenario_latency(ctx, kind):
    """1000 clients, acked emits at a sweep of fixed rates."""
    z = ctx.size
    points = []
    srv = ctx.server(kind, 'latency')
    try:
        for rate in z['lat_rates']:
            res, win, sampler, marks = measured_run(
                ctx, kind, srv, 'latency',
                ['--mode', 'latency', '--port', srv.port, '--clients', z['lat_clients'],
                 '--rate', rate, '--duration', z['lat_duration'], '--src', SRC])
            if not res or not win:
                points.append(dict(rate=rate, error='the load generator did not complete'))
                continue
            n = res['received']
            points.append(dict(rate=rate, achieved_per_s=res['rate_per_s'],
                               latency_us=res['latency_us'], late=res['late'],
                               lost=res['lost'], cpu=win, echoes=n,
                               cpu_s_per_M=per_million(win['cpu_s'], n),
                               minflt_per_M=per_million(win['minflt'], n),
                               server_cpu_pct=round(100 * win['cpu_s'] / win['wall_s'], 1),
                               loadgen=res))
    finally:
        srv.stop()
    k = knee([(p['rate'], p['latency_us']['p99'] if 'latency_us' in p else None)
              for p in points])
    done = [p for p in points if 'cpu' in p]
    return dict(points=points, p99_10ms_rate=k,
                minflt_per_M=per_million(sum(p['cpu']['minflt'] for p in done),
                                         sum(p['echoes'] for p in done)))


def scenario_handshake(ctx, kind):
    """Thousands of clients at once, polling then upgrade."""
    z = ctx.size
    srv = ctx.server(kind, 'handshake')
    try:
        res, _, sampler, marks = measured_run(
            ctx, kind, srv, 'handshake',
            ['--mode', 'handshake', '--port', srv.port, '--clients', z['storm_clients'],
             '--connect-rate', 0, '--transport', 'polling-upgrade', '--src', SRC,
             '--connect-timeout', 60])
    finally:
        srv.stop()
    if not res or 'connected' not in marks:
        return dict(error='the load generator did not complete', loadgen=res)
    cpu = cpu_between(marks['start'], marks['connected'])
    n = res['connected']
    return dict(clients=res['clients'], connected=n, failed=res['failed'],
                all_connected_ms=res['connect_ms']['total'], connect_ms=res['connect_ms'],
                cpu=cpu, cpu_per_handshake_us=round(cpu['cpu_s'] / n * 1e6, 1) if n else None,
                minflt_per_M=per_million(cpu['minflt'], n),
                rss_peak_kb=sampler.peak_kb(), loadgen=res)


def scenario_slow(ctx, kind):
    """A broadcast where one client stops reading: RSS over time, the rate
    the others still get, whether the slow one is cut off."""
    z = ctx.size
    srv = ctx.server(kind, 'slow')
    try:
        rss_idle = proc_rss_kb(srv.pid)
        res, win, sampler, marks = measured_run(
            ctx, kind, srv, 'slow',
            ['--mode', 'slow', '--port', srv.port, '--clients', z['slow_clients'],
             '--rate', z['slow_rate'], '--payload', z['slow_payload'],
             '--duration', z['slow_duration'], '--slow-rcvbuf', 4096, '--src', SRC,
             '--timeout', z['slow_duration'] * 4 + 60],
            fds=True)
    finally:
        srv.stop()
    if not res or not win or 'measuring' not in marks:
        return dict(error='the load generator did not complete', loadgen=res)
    t0 = marks['measuring'].t - sampler.t0
    t1 = marks['summary'].t - sampler.t0
    series = [(round(s[0] - t0, 3), s[1]) for s in sampler.samples if t0 - 1 <= s[0] <= t1]
    # The stalled client reads nothing, so it cannot see the server close
    # it: watch the server's descriptors instead.
    fds = [(s[0] - t0, s[2]) for s in sampler.samples if t0 <= s[0] <= t1]
    fd_closed = next((round(t, 1) for t, n in fds if fds and n < fds[0][1]), None)
    # ... and the disconnects the server logs
    since = [t - marks['measuring'].wall for t, _ in srv.disconnects
             if marks['measuring'].wall <= t <= marks['summary'].wall]
    cut = round(min(since), 1) if since else None
    others = max(1, res['clients'] - 1)
    run_s = res['duration_s'] or z['slow_duration']
    start_kb = marks['measuring'].rss_kb
    peak_kb = sampler.peak_kb(t0, t1)
    return dict(
        clients=res['clients'], rate=z['slow_rate'], payload=z['slow_payload'],
        rss_idle_kb=rss_idle, rss_start_kb=start_kb, rss_peak_kb=peak_kb,
        rss_end_kb=marks['summary'].rss_kb, rss_growth_kb=peak_kb - start_kb,
        others_rate_per_s=round(res['received'] / others / run_s, 1),
        delivered_fraction=round(res['received'] / res['expected'], 4) if res['expected'] else None,
        slow_dropped=cut is not None, slow_dropped_after_s=cut,
        slow_fd_closed_after_s=fd_closed,
        fds_over_time=[(round(t, 3), n) for t, n in fds],
        cpu=win, deliveries=res['received'],
        cpu_s_per_M=per_million(win['cpu_s'], res['received']),
        minflt_per_M=per_million(win['minflt'], res['received']),
        rss_over_time=series, loadgen=res)


def per_second(samples, t0, t1):
    """(s since t0, rss_kb) once a second from the Sampler's samples in [t0, t1]."""
    out, want = [], 0.0
    for t, rss, _ in samples:
        if t0 <= t <= t1 and t - t0 >= want:
            out.append((round(t - t0, 1), rss))
            want = float(int(t - t0) + 1)
    return out


def scenario_recovery(ctx, kind):
    """Connection state recovery under churn (issue 12): clients in one
    room, the server emitting to it at a steady rate, a fraction of the
    clients dropping their connection every second and coming back
    rec_away s later; once
    with recovery on, once off. RSS every second, the history's size (the
    server's STATS lines), and every client's count checked: with recovery
    each must get every emit exactly once."""
    z = ctx.size
    out = {}
    for mode in ('on', 'off'):
        tag = f'recovery-{mode}'
        srv = ctx.server(kind, tag, ['--recovery', mode, '--stats-every', 1000])
        try:
            rss_idle = proc_rss_kb(srv.pid)
            res, win, sampler, marks = measured_run(
                ctx, kind, srv, tag,
                ['--mode', 'broadcast', '--port', srv.port, '--clients', z['rec_clients'],
                 '--rate', z['rec_rate'], '--burst', 1, '--duration', z['rec_duration'],
                 '--payload', 16, '--churn', z['rec_churn'], '--churn-away', z['rec_away'],
                 '--src', SRC, '--drain', 10,
                 '--timeout', z['rec_duration'] * 3 + 120, '-v'])
            time.sleep(1.2)  # one more STATS line, with the whole history
        finally:
            srv.stop()
        if not res or not win or 'churn' not in res:
            out[mode] = dict(error='the load generator did not complete', loadgen=res)
            continue
        t0 = marks['measuring'].t - sampler.t0
        t1 = marks['summary'].t - sampler.t0
        rss = per_second(sampler.samples, t0, t1)
        # the server's own lines, on the same clock (its start ~ srv.t_start)
        off = marks['measuring'].t - srv.t_start
        hist = [(round(t - off, 1), d) for t, d in srv.stats if t >= off - 0.5]
        peak = max(hist, key=lambda x: x[1]['history_records'])[1] if hist else {}
        last = hist[-1][1] if hist else {}
        n = res['received']
        emits = res['server_sent']
        mid = [r for t, r in rss if t >= z['rec_duration'] / 2]
        out[mode] = dict(
            clients=res['clients'], connected=res['connected'], failed=res['failed'],
            emits=emits, deliveries=n, churn=res['churn'], cpu=win,
            cpu_s_per_M=per_million(win['cpu_s'], n),
            rss_idle_kb=rss_idle, rss_start_kb=marks['measuring'].rss_kb,
            rss_end_kb=marks['summary'].rss_kb,
            rss_growth_kb=marks['summary'].rss_kb - marks['measuring'].rss_kb,
            rss_peak_kb=sampler.peak_kb(t0, t1),
            rss_second_half_growth_kb=(mid[-1] - mid[0]) if len(mid) > 1 else None,
            rss_per_second=rss,
            history_records_peak=peak.get('history_records'),
            history_bytes_peak=peak.get('history_bytes'),
            history_bytes_per_record=round(peak['history_bytes'] / peak['history_records'], 1)
            if peak.get('history_records') else None,
            history_records_per_emit=round(peak['history_records'] / emits, 3)
            if peak.get('history_records') and emits else None,
            recovery_sessions_end=last.get('recovery_sessions'),
            # up to the last delivery (the load generator's clients all leave
            # at its end, and leave sessions behind)
            recovery_sessions_peak=max((d['recovery_sessions'] for t, d in hist
                                        if t <= res['duration_s']), default=None),
            queued_bytes_peak=max((d.get('queued_bytes', 0) for t, d in hist
                                   if t <= res['duration_s']), default=None),
            server_stats=hist, latency_us=res['latency_us'], loadgen=res)
    return out


class Dashboard:
    """bench/peers/dashboard.js: one Admin UI dashboard logged in to a
    server's admin namespace, pinned to the load generator's CPU."""

    def __init__(self, port, logf):
        self.proc = subprocess.Popen(
            ['taskset', '-c', LOADGEN_CPU, 'node', os.path.join(ROOT, 'bench/peers/dashboard.js'),
             str(port)], stdout=subprocess.PIPE, stderr=logf, text=True)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(15):
            self.stop()
            raise RuntimeError(f'the dashboard did not log in: {self.lines}')

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith('SERVER_STATS'):  # logged in and receiving
                self.ready.set()

    def stop(self):
        terminate(self.proc)
        self.reader.join(5)
        return sum(1 for x in self.lines if x.startswith('SERVER_STATS'))


ADMIN_KEYS = ('echo16', 'echo1024', 'bcast_steady', 'bcast_burst')


def admin_variant(ctx, kind, variant, rnd):
    """One side of an admin round: the echo (16 B, 1 KB) on a fresh server,
    then the broadcast (steady, bursts) on another; with variant 'admin'
    each server has the admin namespace in production mode and one
    dashboard logged in, receiving server_stats every 2 s."""
    z = ctx.size
    args = ['--admin', 'production'] if variant == 'admin' else []
    r = {}
    for part, keys in (('echo', ('echo16', 'echo1024')), ('broadcast', ('bcast_steady',
                                                                          'bcast_burst'))):
        tag = f'admin-{variant}-{part}-r{rnd + 1}'
        try:
            srv = ctx.server(kind, tag, args)
        except Exception as e:  # report, never fail
            for key in keys:
                r[key] = dict(error=f'{type(e).__name__}: {e}')
            continue
        dash = None
        try:
            with ctx.loadgen_log(kind, tag) as lf:
                if variant == 'admin':
                    dash = Dashboard(srv.port, lf)
            if part == 'echo':
                for payload in (16, 1024):
                    res, win, _, _ = measured_run(
                        ctx, kind, srv, tag,
                        ['--mode', 'echo', '--port', srv.port, '--clients',
                         z['echo_clients'], '--inflight', z['echo_inflight'], '--payload',
                         payload, '--duration', z['admin_echo_duration']])
                    r[f'echo{payload}'] = dict(
                        echoes=res['acked'], cpu=win, rate_per_s=res['rate_per_s'],
                        cpu_s_per_M=per_million(win['cpu_s'], res['acked']),
                        loadgen=res) if res and win else dict(error='no result', loadgen=res)
            else:
                for name, burst in (('steady', 1), ('burst', z['bcast_burst'])):
                    res, win, _, _ = measured_run(
                        ctx, kind, srv, tag,
                        ['--mode', 'broadcast', '--port', srv.port, '--clients',
                         z['admin_bcast_clients'], '--rate', z['bcast_rate'], '--burst', burst,
                         '--duration', z['admin_bcast_duration'], '--payload', 16, '--src', SRC,
                         '--timeout', z['admin_bcast_duration'] * 6 + 60])
                    r[f'bcast_{name}'] = dict(
                        deliveries=res['received'], cpu=win,
                        cpu_s_per_M=per_million(win['cpu_s'], res['received']),
                        loadgen=res) if res and win else dict(error='no result', loadgen=res)
        except Exception as e:  # report, never fail
            for key in keys:
                r.setdefault(key, dict(error=f'{type(e).__name__}: {e}'))
        finally:
            if dash:
                r[f'{part}_server_stats_received'] = dash.stop()
            srv.stop()
    return r


def scenario_admin(ctx, kind):
    """The cost of the admin namespace (issue 15): the echo (16 B, 1 KB)
    and the broadcast (steady, bursts) without it ('plain') and with it
    attached in production mode and one dashboard logged in ('admin'), in
    admin_rounds interleaved rounds (plain first in the odd rounds, admin
    first in the even ones), fresh servers for each. Every round's values
    and cost (admin / plain - 1, per cent) are in rounds; plain and admin
    hold per measurement the median CPU-s per million over the rounds, and
    admin's cost_pct is the median of the rounds' costs (with min, max)."""
    z = ctx.size
    rounds = []
    for i, order, got in interleaved_rounds(ctx, ('plain', 'admin'), max(1, z['admin_rounds']),
                                            lambda v, i: admin_variant(ctx, kind, v, i)):
        rnd = dict(round=i + 1, first=order[0], plain=got['plain'], admin=got['admin'],
                   cost_pct={})
        for key in ADMIN_KEYS:
            a, b = get(got['admin'], f'{key}.cpu_s_per_M'), get(got['plain'], f'{key}.cpu_s_per_M')
            rnd['cost_pct'][key] = round(100 * (a / b - 1), 1) if is_num(a) and is_num(b) and \
                b > 0 else None
        rounds.append(rnd)
    out = dict(rounds=rounds, plain={}, admin={})
    for key in ADMIN_KEYS:
        for variant in ('plain', 'admin'):
            m = spread([get(r[variant], f'{key}.cpu_s_per_M') for r in rounds])
            out[variant][key] = dict(cpu_s_per_M=m['median'], rounds_completed=m['n']) if m \
                else dict(error='no round completed')
        c = spread([r['cost_pct'][key] for r in rounds], 1)
        if c:
            out['admin'][key].update(cost_pct=c['median'], cost_pct_min=c['min'],
                                     cost_pct_max=c['max'], cost_pct_rounds=c['values'])
    if not any(is_num(get(r, f'{v}.{key}.cpu_s_per_M')) for r in rounds for v in ('plain', 'admin')
               for key in ADMIN_KEYS):
        out['error'] = 'no measurement completed in any round'
    for part in ('echo', 'broadcast'):
        n = [r['admin'].get(f'{part}_server_stats_received') for r in rounds]
        out['admin'][f'{part}_server_stats_received'] = \
            sum(x for x in n if is_num(x)) if any(is_num(x) for x in n) else None
    return out


RUNNERS = dict(idle=scenario_idle, echo=scenario_echo, msgpack=scenario_msgpack,
               polling=scenario_polling, broadcast=scenario_broadcast,
               latency=scenario_latency, handshake=scenario_handshake, slow=scenario_slow,
               recovery=scenario_recovery, admin=scenario_admin,
               tls_idle=scenario_tls_idle, tls_echo=scenario_tls_echo)


# ---------------------------------------------------------------------------
# The cluster scenario (issue 13): two nodes on one Redis

def free_port():
    import socket
    with socket.socket() as so:
        so.bind(('127.0.0.1', 0))
        return so.getsockname()[1]


def redis_command(port, *args, timeout=2.0):
    """One command to the redis-server at 127.0.0.1:port; its raw reply."""
    import socket
    req = f'*{len(args)}\r\n' + ''.join(f'${len(str(a).encode())}\r\n{a}\r\n' for a in args)
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as so:
        so.sendall(req.encode())
        data = b''
        # the replies read here: +PONG, :N, *2 $len channel :N, $len text
        def whole(d):
            if not d.endswith(b'\r\n'):
                return False
            if d.startswith(b'*'):
                return b'\r\n:' in d
            if d.startswith(b'$'):
                head = d.index(b'\r\n')
                return len(d) >= head + 2 + int(d[1:head]) + 2
            return True
        while not whole(data):
            chunk = so.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors='replace')


def redis_subscribers(port, channel):
    """(PUBSUB NUMSUB channel, the pattern subscriptions of all clients:
    the sum of CLIENT LIST's psub=)."""
    sub = re.findall(r':(\d+)', redis_command(port, 'PUBSUB', 'NUMSUB', channel))
    psub = re.findall(r' psub=(\d+)', redis_command(port, 'CLIENT', 'LIST'))
    return (int(sub[-1]) if sub else 0), sum(int(x) for x in psub)


class RedisProc:
    """A redis-server for one scenario: a free loopback port, no
    persistence (no RDB, no AOF, its own temporary dir), pinned to the
    servers' CPU as the nodes are."""

    def __init__(self, logdir, tag):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix='sioc-bench-redis-')
        self.port = free_port()
        self.log = open(os.path.join(logdir, f'{tag}-redis.log'), 'w')
        self.proc = subprocess.Popen(
            ['taskset', '-c', SERVER_CPU, REDIS_SERVER, '--port', str(self.port),
             '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', self.dir,
             '--daemonize', 'no', '--protected-mode', 'no'],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while True:
            try:
                if '+PONG' in redis_command(self.port, 'PING'):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('redis-server did not start (see its log)')
            time.sleep(0.05)

    def stop(self):
        import shutil
        terminate(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def scenario_cluster(ctx, kind):
    """Issue 13: a redis-server and two nodes of the same kind on it (sioc's
    classic Redis adapter, or socket.io with @socket.io/redis-adapter),
    cluster_clients on each in one room; the control client asks node A
    for a steady broadcast to the room, which reaches node B's clients
    through Redis. CPU per delivery on each node and in Redis, every
    delivery counted per node (a lost broadcast shows as received <
    expected)."""
    z = ctx.size
    out = {}
    redis = RedisProc(ctx.logdir, f'cluster-{kind}')
    try:
        a = ctx.server(kind, 'cluster-a', ['--redis-port', redis.port])
        b = ctx.server(kind, 'cluster-b', ['--redis-port', redis.port])
        try:
            # both nodes subscribed (request channel, broadcast pattern)
            deadline = time.monotonic() + 15
            while min(redis_subscribers(redis.port, 'socket.io-request#/#')) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError('the two nodes did not subscribe to Redis in 15 s: '
                                       f'{redis_subscribers(redis.port, "socket.io-request#/#")}')
                time.sleep(0.1)
            pids = dict(a=a.pid, b=b.pid, redis=redis.pid)
            marks = {}

            def at(name):
                return lambda: marks.setdefault(name, {k: Snapshot(p) for k, p in pids.items()})
            n = 2 * z['cluster_clients']
            with ctx.loadgen_log(kind, 'cluster') as lf:
                lg = Loadgen(ctx.build, lf,
                             ['--mode', 'broadcast', '--port', a.port, '--port2', b.port,
                              '--clients', n, '--rate', z['cluster_rate'],
                              '--burst', z['cluster_burst'],
                              '--duration', z['cluster_duration'], '--payload', 16,
                              '--connect-rate', z['cluster_connect_rate'],
                              '--src', SRC, '--drain', 10,
                              '--timeout', z['cluster_duration'] * 6 + 90 +
                              n / z['cluster_connect_rate']],
                             on_measuring=at('measuring'), on_summary=at('summary'))
                res = lg.run()
            marks.setdefault('summary', {k: Snapshot(p) for k, p in pids.items()})
            rss = {k: proc_rss_kb(p) for k, p in pids.items()}
        finally:
            a.stop()
            b.stop()
    finally:
        redis.stop()
    if not res or 'measuring' not in marks or 'port2' not in res:
        return dict(error='the load generator did not complete', loadgen=res)
    m0, m1 = marks['measuring'], marks['summary']
    win = {k: cpu_between(m0[k], m1[k]) for k in pids}
    wall = win['a']['wall_s']
    busy0 = m1['a'].cpu0 - m0['a'].cpu0
    ours = sum(w['cpu_s'] for w in win.values())
    total = res['received']
    got_b, exp_b = res['port2']['received'], res['port2']['expected']
    got_a, exp_a = total - got_b, res['expected'] - exp_b
    pair = win['a']['cpu_s'] + win['b']['cpu_s']
    out = dict(
        clients_per_node=z['cluster_clients'], connected=res['connected'], failed=res['failed'],
        broadcasts=res['server_sent'], rate=z['cluster_rate'],
        deliveries=total, expected=res['expected'], lost=res['expected'] - total,
        node_a=dict(deliveries=got_a, expected=exp_a, cpu=win['a'], rss_kb=rss['a'],
                    cpu_s_per_M=per_million(win['a']['cpu_s'], got_a)),
        node_b=dict(deliveries=got_b, expected=exp_b, cpu=win['b'], rss_kb=rss['b'],
                    cpu_s_per_M=per_million(win['b']['cpu_s'], got_b)),
        redis=dict(cpu=win['redis'], rss_kb=rss['redis'],
                   cpu_s_per_M=per_million(win['redis']['cpu_s'], total),
                   cpu_ms_per_broadcast=round(win['redis']['cpu_s'] * 1e3 / res['server_sent'], 3)
                   if res['server_sent'] else None),
        pair_cpu_s_per_M=per_million(pair, total),
        pair_user_s_per_M=per_million(win['a']['user_s'] + win['b']['user_s'], total),
        pair_sys_s_per_M=per_million(win['a']['sys_s'] + win['b']['sys_s'], total),
        total_cpu_s_per_M=per_million(pair + win['redis']['cpu_s'], total),
        others_on_server_cpu_pct=round(100 * max(0.0, busy0 - ours) / wall, 1) if wall else None,
        latency_us=res['latency_us'], loadgen=res)
    return out


RUNNERS['cluster'] = scenario_cluster


def cluster_table(results, z):
    """Markdown lines: the cluster scenario, sioc's pair against Node's."""
    s, n = results.get('sioc', {}).get('cluster'), results.get('node', {}).get('cluster')
    if not s and not n:
        return []
    s, n = s or {}, n or {}

    def cell(d, path, unit=''):
        v = get(d, path)
        return f'{v:,} {unit}'.strip() if isinstance(v, int) and not isinstance(v, bool) \
            else fmt(v, unit)

    def times(path):
        a, b = get(s, path), get(n, path)
        return f'{b / a:.1f}x' if is_num(a) and is_num(b) and a > 0 else 'n/a'
    lines = [f'Cluster (issue 13): a redis-server and two nodes on it, {z["cluster_clients"]:,} '
             f'clients on each in one room, node A broadcasting to the room at '
             f'{z["cluster_rate"]}/s' +
             (f' in bursts of {z["cluster_burst"]}' if z['cluster_burst'] > 1 else '') +
             f' for {z["cluster_duration"]} s (16 B); node B\'s clients get '
             f'it through Redis. Clients connect at {z["cluster_connect_rate"]}/s, half to each node. CPU from /proc/PID/stat over the measured window.', '',
             '| Metric | sioc pair | Node pair | Node / sioc |', '| --- | ---: | ---: | ---: |']
    for label, path, unit, r in (
            ('Clients connected / failed (both nodes)', 'connected failed', '', False),
            ('Broadcasts (node A)', 'broadcasts', '', False),
            ('Deliveries on node A / expected', 'node_a.deliveries node_a.expected', '', False),
            ('Deliveries on node B (through Redis) / expected',
             'node_b.deliveries node_b.expected', '', False),
            ('Lost deliveries', 'lost', '', False),
            ('Node A CPU-s per million deliveries', 'node_a.cpu_s_per_M', 's', True),
            ('Node B CPU-s per million deliveries', 'node_b.cpu_s_per_M', 's', True),
            ('Redis CPU-s per million deliveries', 'redis.cpu_s_per_M', 's', True),
            ('Redis CPU-ms per broadcast', 'redis.cpu_ms_per_broadcast', 'ms', True),
            ('Both nodes: CPU-s per million deliveries', 'pair_cpu_s_per_M', 's', True),
            ('Both nodes: user CPU-s per million', 'pair_user_s_per_M', 's', True),
            ('Both nodes: system CPU-s per million', 'pair_sys_s_per_M', 's', True),
            ('Nodes and Redis: CPU-s per million deliveries', 'total_cpu_s_per_M', 's', True),
            ('Node A CPU-s', 'node_a.cpu.cpu_s', 's', False),
            ('Node B CPU-s', 'node_b.cpu.cpu_s', 's', False),
            ('Redis CPU-s', 'redis.cpu.cpu_s', 's', False),
            ('Delivery latency p50 (both nodes)', 'latency_us.p50', 'us', False),
            ('Delivery latency p99 (both nodes)', 'latency_us.p99', 'us', False),
            ('Other processes on the servers\' CPU', 'others_on_server_cpu_pct', '%', False)):
        cs, cn = (' / '.join(cell(d, q, unit) for q in path.split()) for d in (s, n))
        lines.append(f'| {label} | {cs} | {cn} | {times(path) if r else ""} |')
    ratio_total = times('total_cpu_s_per_M')
    lines += ['', f'Target (issue 13): at least 5x less CPU per delivery than Node\'s pair: '
              f'{ratio_total} with Redis counted, {times("pair_cpu_s_per_M")} for the nodes '
              'alone.', '']
    if s.get('error') or n.get('error'):
        lines += [f'Errors: sioc {s.get("error", "none")}; Node {n.get("error", "none")}.', '']
    return lines


# ---------------------------------------------------------------------------
# Table

def get(d, path):
    for k in path.split('.'):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def fmt(v, unit=''):
    if v is None:
        return 'n/a'
    if isinstance(v, bool):
        return 'yes' if v else 'no'
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        s = f'{v:,.0f}'
    elif abs(v) >= 100:
        s = f'{v:.0f}'
    elif abs(v) >= 10:
        s = f'{v:.1f}'
    else:
        s = f'{v:.3g}' if v else '0'
    return f'{s} {unit}'.strip()


def compare(s, n, better):
    """How sioc compares with Node: '6.3x less', '1.2x higher', ..."""
    if not isinstance(s, (int, float)) or not isinstance(n, (int, float)) or isinstance(s, bool):
        return ''
    if s <= 0 or n <= 0:
        return ''
    r = n / s if s < n else s / n
    if r < 1.05:
        return 'same'
    if better is None:
        return f'{s / n:.2f}x'
    word = ('less' if s < n else 'more') if better == 'lower' else \
        ('higher' if s > n else 'lower')
    good = (s < n) == (better == 'lower')
    return f'{r:.1f}x {word}' + ('' if good else ' (worse)')


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def ratio(s, f):
    """sioc's value over the floor peer's: '2.31x' (1.00x would be the floor)."""
    if not is_num(s) or not is_num(f) or f <= 0:
        return ''
    return f'{s / f:.2f}x'


# A row of the table. target: None or (text, test(sioc, node, floor), needs),
# needs naming the peer whose value the test takes ('node', 'floor' or None).
# floor: True shows the floor peer's value and sioc / floor; False its value
# only; a string is shown instead of the ratio (why the floor is no floor
# there).
Row = collections.namedtuple('Row', 'label unit path better target floor')

SAME_CAPS = 'no floor: the floor peer cuts at sioc\'s queue caps'


def metrics(cfg):
    """The table's rows (Row), in order."""
    z = cfg
    rows = [
        Row(f'Idle: RSS per connection ({z["idle_clients"]} clients)', 'KB',
            'idle.rss_per_conn_kb', 'lower', ('<= 2.5 KB', lambda s, n, f: s <= 2.5, None), True),
        Row('Idle: CPU per connect (user+sys)', 'us', 'idle.cpu_per_connect_us', 'lower', None,
            True),
        Row(f'Idle: CPU while holding {z["idle_hold"]} s', '%', 'idle.hold_cpu_pct', 'lower', None,
            True),
        Row('Idle: RSS with all connected', 'KB', 'idle.rss_held_kb', 'lower', None, False),
        Row('Idle: minor faults per million connects', '', 'idle.connect_minflt_per_M', 'lower',
            None, False),
    ]
    echoes = [('echo', 'Echo', ('>= 6x less', lambda s, n, f: n / s >= 6, 'node')),
              ('msgpack', 'Msgpack echo', None),
              ('polling', f'Polling echo ({z["poll_clients"]} x {z["poll_inflight"]})', None)]
    for scen, name, target in echoes:
        for p, label in (('16', '16 B'), ('1024', '1 KB')):
            rows += [
                Row(f'{name} {label}: CPU-s per million echoes', 's',
                    f'{scen}.{p}.cpu_s_per_M', 'lower', target, True),
                Row(f'{name} {label}: user CPU-s per million', 's', f'{scen}.{p}.user_s_per_M',
                    'lower', None, True),
                Row(f'{name} {label}: system CPU-s per million', 's', f'{scen}.{p}.sys_s_per_M',
                    'lower', None, True),
                Row(f'{name} {label}: peak rate', '/s', f'{scen}.{p}.rate_per_s', 'higher', None,
                    False),
                Row(f'{name} {label}: server CPU busy', '%', f'{scen}.{p}.server_cpu_pct', None,
                    None, False),
                Row(f'{name} {label}: minor faults per million echoes', '',
                    f'{scen}.{p}.minflt_per_M', 'lower', None, False),
            ]
    for name, label in (('steady', f'{z["bcast_rate"]}/s'),
                        ('burst', f'{z["bcast_rate"]}/s in bursts of {z["bcast_burst"]}')):
        sys_target = ('<= 1.3x floor', lambda s, n, f: s / f <= 1.3, 'floor') \
            if name == 'steady' else None
        rows += [
            Row(f'Broadcast {label}: CPU-s per million deliveries', 's',
                f'broadcast.{name}.cpu_s_per_M', 'lower',
                ('>= 9x less', lambda s, n, f: n / s >= 9, 'node'), True),
            Row(f'Broadcast {label}: user CPU-s per million', 's',
                f'broadcast.{name}.user_s_per_M', 'lower', None, True),
            Row(f'Broadcast {label}: system CPU-s per million', 's',
                f'broadcast.{name}.sys_s_per_M', 'lower', sys_target, True),
            Row(f'Broadcast {label}: deliveries/s', '/s', f'broadcast.{name}.delivery_rate_per_s',
                'higher', None, False),
            Row(f'Broadcast {label}: peak RSS under load', 'KB', f'broadcast.{name}.rss_peak_kb',
                'lower', None, False),
            Row(f'Broadcast {label}: delivery p99', 'ms', f'broadcast.{name}.p99_ms', 'lower',
                None, False),
            Row(f'Broadcast {label}: minor faults per million deliveries', '',
                f'broadcast.{name}.minflt_per_M', 'lower', None, False),
        ]
    for rate in z['lat_rates']:
        tgt = ('<= 1 ms', lambda s, n, f: s <= 1, None) if rate == 20000 else None
        k = f'{rate // 1000}k/s'
        rows += [
            Row(f'Latency {k}: p50', 'ms', f'latency.r{rate}.p50', 'lower', None, False),
            Row(f'Latency {k}: p99', 'ms', f'latency.r{rate}.p99', 'lower', tgt, False),
            Row(f'Latency {k}: p99.9', 'ms', f'latency.r{rate}.p999', 'lower', None, False),
            Row(f'Latency {k}: CPU-s per million echoes', 's', f'latency.r{rate}.cpu_s_per_M',
                'lower', None, True),
        ]
    rows += [
        Row('Latency: rate where p99 passes 10 ms', '/s', 'latency.knee', 'higher', None, False),
        Row('Latency: minor faults per million echoes (all rates)', '', 'latency.minflt_per_M',
            'lower', None, False),
        Row(f'Handshake storm ({z["storm_clients"]}, polling then upgrade): all connected', 'ms',
            'handshake.all_connected_ms', 'lower', None, False),
        Row('Handshake storm: CPU per handshake', 'us', 'handshake.cpu_per_handshake_us', 'lower',
            None, True),
        Row('Handshake storm: failures', '', 'handshake.failed', 'lower', None, False),
        Row('Handshake storm: minor faults per million handshakes', '',
            'handshake.minflt_per_M', 'lower', None, False),
        Row(f'Slow consumer ({z["slow_clients"]} clients, {z["slow_rate"]}/s x '
            f'{z["slow_payload"]} B): RSS growth', 'KB', 'slow.rss_growth_kb', 'lower',
            ('bounded', lambda s, n, f: True, None), SAME_CAPS),
        Row('Slow consumer: rate each other client gets', '/s', 'slow.others_rate_per_s', 'higher',
            None, False),
        Row('Slow consumer: slow client cut off after', 's', 'slow.cut', 'lower', None, SAME_CAPS),
        Row('Slow consumer: CPU-s per million deliveries', 's', 'slow.cpu_s_per_M', 'lower', None,
            True),
        Row('Slow consumer: minor faults per million deliveries', '', 'slow.minflt_per_M',
            'lower', None, False),
    ]
    rows += [
        Row(f'TLS idle: RSS per connection ({z["idle_clients"]} clients)', 'KB',
            'tls_idle.rss_per_conn_kb', 'lower', None, NO_TLS_FLOOR),
        Row('TLS idle: CPU per connect (user+sys, TLS handshake included)', 'us',
            'tls_idle.cpu_per_connect_us', 'lower', None, NO_TLS_FLOOR),
        Row(f'TLS idle: CPU while holding {z["idle_hold"]} s', '%', 'tls_idle.hold_cpu_pct',
            'lower', None, NO_TLS_FLOOR),
        Row('TLS idle: RSS with all connected', 'KB', 'tls_idle.rss_held_kb', 'lower', None,
            False),
    ]
    for p, label in (('16', '16 B'), ('1024', '1 KB')):
        rows += [
            Row(f'TLS echo {label}: CPU-s per million echoes', 's', f'tls_echo.{p}.cpu_s_per_M',
                'lower', None, NO_TLS_FLOOR),
            Row(f'TLS echo {label}: user CPU-s per million', 's', f'tls_echo.{p}.user_s_per_M',
                'lower', None, NO_TLS_FLOOR),
            Row(f'TLS echo {label}: system CPU-s per million', 's', f'tls_echo.{p}.sys_s_per_M',
                'lower', None, NO_TLS_FLOOR),
            Row(f'TLS echo {label}: peak rate', '/s', f'tls_echo.{p}.rate_per_s', 'higher', None,
                False),
            Row(f'TLS echo {label}: server CPU busy', '%', f'tls_echo.{p}.server_cpu_pct', None,
                None, False),
        ]
    return rows


def flatten(res):
    """Adds the derived values the table shows (ms, knee, user/sys text)."""
    out = json.loads(json.dumps(res))
    for kind in out:
        r = out[kind]
        for name in ('steady', 'burst'):
            b = get(r, f'broadcast.{name}')
            if b and 'p99' in (b.get('latency_us') or {}):
                b['p99_ms'] = b['latency_us']['p99'] / 1000
        lat = r.get('latency')
        if lat:
            for p in lat.get('points', []):
                if 'latency_us' in p:
                    lat[f'r{p["rate"]}'] = {q: p['latency_us'][q] / 1000
                                            for q in ('p50', 'p99', 'p999')}
                    lat[f'r{p["rate"]}']['cpu_s_per_M'] = p.get('cpu_s_per_M')
            k = lat.get('p99_10ms_rate')
            mx = max(cfg_rates(lat))
            lat['knee'] = (k['rate'] if k and not k['below'] else
                           f'< {k["rate"]:,}' if k else f'> {mx:,}')
        s = r.get('slow')
        if s and 'slow_dropped' in s:
            s['cut'] = s['slow_dropped_after_s'] if s['slow_dropped'] else 'never'
    return out


def noise_values(d, key='others_on_server_cpu_pct'):
    """Every value of `key` in the results."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key and v is not None:
                yield v
            else:
                yield from noise_values(v, key)
    elif isinstance(d, list):
        for v in d:
            yield from noise_values(v, key)


def noise_summary(results, key):
    v = sorted(noise_values(results, key))
    return dict(median=v[len(v) // 2] if v else None, max=v[-1] if v else None)


def cfg_rates(lat):
    return [p['rate'] for p in lat.get('points', [])] or [0]


def table(results, cfg):
    flat = flatten(results)
    if all(get(flat.get(k, {}), row.path) is None for row in metrics(cfg)
           for k in ('sioc', 'node', 'floor')):
        return ''  # only scenarios with tables of their own ran
    lines = ['| Metric | sioc | Node | floor | sioc vs Node | sioc / floor | Target (sioc) |',
             '| --- | ---: | ---: | ---: | --- | --- | --- |']
    for row in metrics(cfg):
        s, n, f = (get(flat.get(k, {}), row.path) for k in ('sioc', 'node', 'floor'))
        if s is None and n is None and f is None:
            continue
        verdict = ''
        if row.target:
            text, test, needs = row.target
            other = {'node': n, 'floor': f, None: 0}[needs]
            if row.path == 'slow.rss_growth_kb':
                ok = get(flat.get('sioc', {}), 'slow.slow_dropped')
                verdict = f'{text}: ' + ('met (slow client cut off)' if ok else 'not shown')
            elif is_num(s) and is_num(other):
                try:
                    verdict = f'{text}: ' + ('met' if test(s, n, f) else 'missed')
                except (TypeError, ZeroDivisionError):
                    verdict = text
            else:
                verdict = text
        vs_floor = row.floor if isinstance(row.floor, str) else \
            ratio(s, f) if row.floor else ''
        # measured in interleaved rounds: sioc / floor is the median of the
        # rounds' ratios, and a target against the floor is judged on it
        head, _, leaf = row.path.rpartition('.')
        rr = get(flat.get('sioc', {}), f'{head}.vs_floor.{leaf}.median')
        if row.floor is True and is_num(rr) and is_num(f):
            vs_floor = f'{rr:.2f}x (median of rounds)'
            if row.target and row.target[2] == 'floor':
                text, test, _ = row.target
                verdict = f'{text}: ' + ('met' if test(rr, n, 1.0) else 'missed')
        lines.append(f'| {row.label} | {fmt(s, row.unit)} | {fmt(n, row.unit)} | '
                     f'{fmt(f, row.unit)} | {compare(s, n, row.better)} | {vs_floor} | '
                     f'{verdict} |')
    return '\n'.join(lines) + '\n'


def recovery_table(r, z):
    """Markdown lines: the recovery scenario, recovery on against off."""
    if not r:
        return []
    on, off = r.get('on', {}), r.get('off', {})

    def cell(v, unit):  # counts as counts: 64, not 64.0
        return f'{v:,} {unit}'.strip() if is_num(v) and isinstance(v, int) else fmt(v, unit)

    def row(label, path, unit=''):
        return f'| {label} | {cell(get(on, path), unit)} | {cell(get(off, path), unit)} |'
    lines = [f'Connection state recovery under churn (sioc): {z["rec_clients"]} clients in one '
             f'room, {z["rec_rate"]} emits/s to it for {z["rec_duration"]} s, '
             f'{z["rec_churn"] * 100:g} % of the clients dropping their connection every second '
             f'and coming back {z["rec_away"]:g} s later.', '',
             '| Metric | recovery on | recovery off |', '| --- | ---: | ---: |',
             row('RSS at the start (all connected)', 'rss_start_kb', 'KB'),
             row('RSS at the end', 'rss_end_kb', 'KB'),
             row('RSS growth over the run', 'rss_growth_kb', 'KB'),
             row('RSS growth over the second half', 'rss_second_half_growth_kb', 'KB'),
             row('RSS peak', 'rss_peak_kb', 'KB'),
             row('Emits (server)', 'emits'),
             row('History records (peak)', 'history_records_peak'),
             row('History records per emit', 'history_records_per_emit'),
             row('History bytes (peak)', 'history_bytes_peak', 'B'),
             row('History bytes per record', 'history_bytes_per_record', 'B'),
             row('Sessions kept at once (peak, per-second lines)', 'recovery_sessions_peak'),
             row('Bytes waiting in output queues (peak, per-second lines)',
                 'queued_bytes_peak', 'B'),
             row('Connections dropped', 'churn.dropped'),
             row('Came back recovered (same id)', 'churn.recovered'),
             row('Came back as a new session', 'churn.new_sessions'),
             row('Events replayed on return (before the CONNECT reply)', 'churn.replayed'),
             row('Gaps within a session', 'churn.gaps'),
             row('Duplicates within a session', 'churn.duplicates'),
             row('Clients that got every emit exactly once', 'churn.exact_clients'),
             row('Clients short of the last emit', 'churn.short_clients'),
             row('Deliveries', 'deliveries'),
             row('CPU-s per million deliveries', 'cpu_s_per_M', 's'),
             row('Delivery p99 (replays included)', 'latency_us.p99', 'us'), '']
    return lines


def admin_table(r, z):
    """Markdown lines: the admin scenario, with the admin namespace and a
    dashboard against without: the medians over the rounds, then every
    round."""
    if not r:
        return []
    plain, adm, rounds = r.get('plain', {}), r.get('admin', {}), r.get('rounds', [])
    labels = (('echo16', 'Echo 16 B'), ('echo1024', 'Echo 1 KB'),
              ('bcast_steady', f'Broadcast {z["bcast_rate"]}/s'),
              ('bcast_burst', f'Broadcast {z["bcast_rate"]}/s in bursts of {z["bcast_burst"]}'))

    def pct(v):
        return 'n/a' if v is None else f'{v:+.1f} %'
    lines = ['The admin namespace\'s cost (sioc): sio_admin_instrument() in production mode and '
             'one dashboard logged in (server_stats every 2 s), against the same server without '
             f'it; echo {z["echo_clients"]} x {z["echo_inflight"]} for '
             f'{z["admin_echo_duration"]} s, broadcast to {z["admin_bcast_clients"]} clients at '
             f'{z["bcast_rate"]}/s for {z["admin_bcast_duration"]} s; {len(rounds)} round(s), '
             'fresh servers for each side, without admin first in rounds 1, 3, ... and with it '
             'first in rounds 2, 4, .... CPU columns: the median over the rounds; change: the '
             'median of the rounds\' changes (with admin / without - 1), min and max.', '']
    if r.get('error'):
        lines += [f'Error: {r["error"]}.', '']
    lines += ['| CPU-s per million | without admin | with admin and a dashboard | change '
              '(median) | min | max |', '| --- | ---: | ---: | ---: | ---: | ---: |']
    for key, label in labels:
        a = adm.get(key, {})
        lines.append(f'| {label} | {fmt(get(plain, f"{key}.cpu_s_per_M"), "s")} | '
                     f'{fmt(a.get("cpu_s_per_M"), "s")} | {pct(a.get("cost_pct"))} | '
                     f'{pct(a.get("cost_pct_min"))} | {pct(a.get("cost_pct_max"))} |')
    lines += ['', 'server_stats the dashboard received (all rounds): '
              f'{fmt(adm.get("echo_server_stats_received"))} (echo servers), '
              f'{fmt(adm.get("broadcast_server_stats_received"))} (broadcast servers).', '']
    if rounds:
        lines += ['Admin rounds, CPU-s per million without -> with admin (change):', '',
                  '| Round | first | ' + ' | '.join(lb for _, lb in labels) + ' |',
                  '| ---: | --- |' + ' ---: |' * len(labels)]
        for rnd in rounds:
            cells = []
            for key, _ in labels:
                a, b = get(rnd, f'admin.{key}'), get(rnd, f'plain.{key}')
                if is_num(get(a, 'cpu_s_per_M')) and is_num(get(b, 'cpu_s_per_M')):
                    cells.append(f'{fmt(b["cpu_s_per_M"])} -> {fmt(a["cpu_s_per_M"])} '
                                 f'({pct(rnd["cost_pct"].get(key))})')
                else:
                    err = get(b, 'error') or get(a, 'error') or 'no result'
                    cells.append(f'n/a ({err})')
            first = 'without' if rnd['first'] == 'plain' else 'with'
            lines.append(f'| {rnd["round"]} | {first} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    return lines


def broadcast_rounds_table(results, z):
    """Markdown lines: the steady broadcast's rounds, sioc and the floor
    peer interleaved, every round and the median of sioc / floor."""
    s = get(results, 'sioc.broadcast.steady') or {}
    f = get(results, 'floor.broadcast.steady') or {}
    rs, rf = s.get('rounds') or [], f.get('rounds') or []
    if not rs and not rf:
        return []
    kinds = [k for k, r in (('sioc', rs), ('floor', rf)) if r]
    lines = [f'Steady broadcast in rounds ({z["bcast_clients"]} clients, {z["bcast_rate"]}/s for '
             f'{z["bcast_duration"]} s per window, a fresh server each): sioc and the floor '
             'peer take turns, the order reversed every other round (sioc first in rounds 1, '
             '3, ...). The main table\'s steady rows show each server\'s median over the '
             'rounds, and its sioc / floor column on them the median of the rounds\' ratios '
             '(below).' + ('' if len(kinds) == 2 else f' Only {kinds[0]}\'s rounds are here.'),
             '',
             '| Round | first | ' + ' | '.join(f'{k} CPU-s / user / sys per million'
                                                for k in kinds) +
             (' | sioc / floor CPU | sioc / floor sys |' if len(kinds) == 2 else ' |'),
             '| ---: | --- |' + ' ---: |' * (len(kinds) + (2 if len(kinds) == 2 else 0))]
    vs = s.get('vs_floor') or {}

    def cell(w):
        if 'error' in w:
            return f'n/a ({w["error"]})'
        return ' / '.join(fmt(w.get(q)) for q in ('cpu_s_per_M', 'user_s_per_M', 'sys_s_per_M'))

    def x(v):
        return f'{v:.2f}x' if is_num(v) else 'n/a'
    for i in range(max(len(rs), len(rf))):
        ws = [r[i] if i < len(r) else dict(error='no window') for r in (rs, rf) if r]
        first = next((w['first'] for w in ws if 'first' in w), '')
        row = f'| {i + 1} | {first} | ' + ' | '.join(cell(w) for w in ws)
        if len(kinds) == 2:
            row += ' | ' + ' | '.join(x((get(vs, f'{q}.values') or [None] * (i + 1))[i])
                                      for q in ('cpu_s_per_M', 'sys_s_per_M'))
        lines.append(row + ' |')
    if len(kinds) == 2:
        med = ' | '.join(' / '.join(fmt(d.get(q)) for q in ('cpu_s_per_M', 'user_s_per_M',
                                                             'sys_s_per_M')) for d in (s, f))
        rng = ' | '.join(f'{x(get(vs, f"{q}.median"))} ({x(get(vs, f"{q}.min"))} to '
                         f'{x(get(vs, f"{q}.max"))})' for q in ('cpu_s_per_M', 'sys_s_per_M'))
        lines.append(f'| median | | {med} | {rng} |')
        m = get(vs, 'sys_s_per_M.median')
        lines += ['', 'Target (issue 16): steady broadcast system time within 1.3x of the floor '
                  f'peer\'s: {x(m)} (median of {get(vs, "sys_s_per_M.n") or 0} rounds): '
                  + ('n/a' if m is None else 'met' if m <= 1.3 else 'missed') + '.']
    lines.append('')
    return lines


def changes(prev, cur, cfg):
    """Markdown lines comparing sioc's numbers with the previous run's."""
    fp, fc = flatten(prev), flatten(cur)
    lines = []
    for row in metrics(cfg):
        a, b = get(fp.get('sioc', {}), row.path), get(fc.get('sioc', {}), row.path)
        if is_num(a) and is_num(b) and a and abs(b - a) / abs(a) >= 0.10:
            lines.append(f'- {row.label}: {fmt(a, row.unit)} -> {fmt(b, row.unit)}')
    return lines


# ---------------------------------------------------------------------------
# Plot data

def write_dat(outdir, results):
    for kind, r in results.items():
        lat = r.get('latency', {})
        with open(os.path.join(outdir, f'latency-{kind}.dat'), 'w') as f:
            f.write('# target_rate achieved_rate p50_ms p99_ms p999_ms\n')
            for p in lat.get('points', []):
                if 'latency_us' in p:
                    u = p['latency_us']
                    f.write(f'{p["rate"]} {p["achieved_per_s"]} {u["p50"] / 1000} '
                            f'{u["p99"] / 1000} {u["p999"] / 1000}\n')
        with open(os.path.join(outdir, f'rss-{kind}.dat'), 'w') as f:
            f.write('# connections rss_mb\n')
            for t, conns, rss in r.get('idle', {}).get('rss_vs_connections', []):
                f.write(f'{conns} {rss / 1024:.2f}\n')
        rec = r.get('recovery', {})
        if rec:
            with open(os.path.join(outdir, 'recovery-rss.dat'), 'w') as f:
                f.write('# seconds rss_mb_recovery_on rss_mb_recovery_off\n')
                on = dict(rec.get('on', {}).get('rss_per_second', []))
                off = dict(rec.get('off', {}).get('rss_per_second', []))
                for t in sorted(set(int(x) for x in list(on) + list(off))):
                    a = next((v for k, v in on.items() if int(k) == t), None)
                    b = next((v for k, v in off.items() if int(k) == t), None)
                    f.write(f'{t} {a / 1024 if a else "NaN"} {b / 1024 if b else "NaN"}\n')
        with open(os.path.join(outdir, f'slow-{kind}.dat'), 'w') as f:
            f.write('# seconds_since_start rss_mb\n')
            for t, rss in r.get('slow', {}).get('rss_over_time', []):
                f.write(f'{t} {rss / 1024:.2f}\n')


# ---------------------------------------------------------------------------

def wait_quiet(limit_s, busy_pct=10):
    """Waits (at most limit_s) for two seconds in a row with both benchmark
    CPUs under busy_pct busy, so other work on the machine does not land in
    a measurement."""
    deadline = time.monotonic() + limit_s
    calm = 0
    while time.monotonic() < deadline:
        a = [cpu_busy_s(c) for c in (SERVER_CPU, LOADGEN_CPU)]
        time.sleep(1)
        b = [cpu_busy_s(c) for c in (SERVER_CPU, LOADGEN_CPU)]
        calm = calm + 1 if max(y - x for x, y in zip(a, b)) * 100 < busy_pct else 0
        if calm >= 2:
            return True
    log(f'the machine stayed busy for {limit_s:.0f} s: measuring anyway')
    return False


def machine():
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ''
    cpu = ''
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_kb = int(f.readline().split()[1])
    return dict(cpu=cpu, cores=os.cpu_count(), mem_gib=round(mem_kb / 2**20, 1),
                kernel=platform.release(), node=cmd('node', '--version'),
                socket_io=json.load(open(os.path.join(
                    ROOT, 'bench/peers/node/node_modules/socket.io/package.json')))['version'],
                libwebsockets=cmd('pkg-config', '--modversion', 'libwebsockets'),
                cc=cmd('cc', '--version').splitlines()[0] if cmd('cc', '--version') else '',
                git=cmd('git', '-C', ROOT, 'describe', '--always', '--dirty'),
                loadavg=open('/proc/loadavg').read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'),
                    help='the meson build holding the bench server and the load generator')
    ap.add_argument('--out', required=True, help='the folder for this run\'s results')
    ap.add_argument('--quick', action='store_true', help='smaller scenarios: a smoke run')
    ap.add_argument('--only', default=','.join(SCENARIOS),
                    help='comma-separated scenarios (' + ','.join(SCENARIOS) + ')')
    ap.add_argument('--servers', default=','.join(SERVERS),
                    help='comma-separated (' + ','.join(SERVERS) + ')')
    ap.add_argument('--previous', help='an earlier results.json to list changes against')
    ap.add_argument('--quiet-wait', type=float, default=0, metavar='S',
                    help='before each scenario, wait up to S s for the CPUs to be idle')
    ap.add_argument('--set', default='', metavar='KEY=V,...',
                    help='override scenario sizes, e.g. echo_clients=10,echo_duration=1 or '
                    'lat_rates=5000:20000 (keys: ' + ', '.join(FULL) + ')')
    a = ap.parse_args()

    size = dict(QUICK if a.quick else FULL)
    for item in (x for x in a.set.split(',') if x):
        key, _, v = item.partition('=')
        if key not in size or not v:
            ap.error(f'--set: unknown size {key!r} (or no value)')
        try:
            size[key] = [int(x) for x in v.split(':')] if key == 'lat_rates' else \
                type(size[key])(v)
        except ValueError:
            ap.error(f'--set: {key}={v} is not a number')
    for name in a.only.split(','):
        if name not in RUNNERS:
            ap.error(f'--only: unknown scenario {name!r}')
    for kind in a.servers.split(','):
        if kind not in SERVERS:
            ap.error(f'--servers: unknown server {kind!r}')
    os.makedirs(a.out, exist_ok=True)
    ctx = Ctx(a.build, a.out, size)
    kinds = [k for k in a.servers.split(',') if k]
    ctx.kinds, ctx.quiet_wait = kinds, a.quiet_wait
    started = time.monotonic()
    results = {k: {} for k in kinds}
    info = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                machine=machine(), quick=a.quick, size=size,
                command=os.environ.get('BENCH_COMMAND', ' '.join(sys.argv)).strip())
    for name in a.only.split(','):
        for kind in kinds:
            if name in SIOC_ONLY and kind != 'sioc' or name in NO_FLOOR and kind == 'floor':
                continue
            t = time.monotonic()
            log(f'{name} on {kind} ...')
            if a.quiet_wait > 0:
                wait_quiet(a.quiet_wait)
            ctx.servers = []
            try:
                results[kind][name] = RUNNERS[name](ctx, kind)
            except Exception as e:  # report, never fail
                results[kind][name] = dict(error=f'{type(e).__name__}: {e}')
            reasons = {}
            for srv in ctx.servers:
                for _, reason in srv.disconnects:
                    reasons[reason] = reasons.get(reason, 0) + 1
            if reasons:
                results[kind][name]['server_disconnects'] = reasons
            log(f'{name} on {kind}: {time.monotonic() - t:.0f} s')
    info['seconds'] = round(time.monotonic() - started)
    info['machine']['loadavg_end'] = open('/proc/loadavg').read().split()[:3]
    info['others_on_server_cpu_pct'] = noise_summary(results, 'others_on_server_cpu_pct')
    info['others_on_loadgen_cpu_pct'] = noise_summary(results, 'others_on_loadgen_cpu_pct')
    info['loadgen_cpu_pct'] = noise_summary(results, 'loadgen_cpu_pct')
    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(dict(info=info, results=results), f, indent=1)
    write_dat(a.out, results)
    md = [f'Run {info["date"]}, {info["seconds"]} s, `{info["command"]}` at {info["machine"]["git"]}'
          f' (load average before {" ".join(info["machine"]["loadavg"])}, after '
          f'{" ".join(info["machine"]["loadavg_end"])}). Other processes kept the server\'s '
          f'CPU busy {fmt(info["others_on_server_cpu_pct"]["median"])} % of the measured time '
          f'(median over the measured windows; max {fmt(info["others_on_server_cpu_pct"]["max"])}'
          f' %), and the load generator\'s '
          f'{fmt(info["others_on_loadgen_cpu_pct"]["median"])} % (max '
          f'{fmt(info["others_on_loadgen_cpu_pct"]["max"])} %).', '',
          table(results, size),
          'sioc / floor: sioc\'s number over the floor peer\'s (bench/peers/floor: the bytes sioc '
          'sends, on bare epoll, so about the kernel\'s cost of the same traffic); 1.00x is the '
          'floor. Minor page faults are the servers\' (minflt in /proc/PID/stat) over the same '
          'window as the CPU time.', '']
    md += broadcast_rounds_table(results, size)
    md += recovery_table(results.get('sioc', {}).get('recovery'), size)
    md += admin_table(results.get('sioc', {}).get('admin'), size)
    md += cluster_table(results, size)
    if a.previous and os.path.exists(a.previous):
        try:
            prev = json.load(open(a.previous))
            # sizes added since (the rounds) do not make runs incomparable
            if any(prev['info']['size'].get(k, v) != v for k, v in size.items()) or \
                    set(prev['info']['size']) - set(size):
                raise ValueError('different sizes')
            ch = changes(prev['results'], results, size)
            md += ['Changes in sioc\'s numbers since the previous run (10% or more):', '']
            md += ch or ['- none']
            md.append('')
        except (ValueError, KeyError, OSError):
            pass
    with open(os.path.join(a.out, 'table.md'), 'w') as f:
        f.write('\n'.join(md))
    print('\n'.join(md))
    for kind in kinds:
        for name, r in results[kind].items():
            if isinstance(r, dict) and 'error' in r:
                log(f'{name} on {kind} failed: {r["error"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
