#!/usr/bin/python3
"""The bench runner: reef beside opentracker, npm bittorrent-tracker and a do-nothing
responder, over loopback.

    load/bench.py                    # full run: builds with --config=opt, ~15 min
    load/bench.py --short            # a few seconds per run (what bench_test runs)
    load/bench.py --protocols udp --servers opentracker,null --runs 5
    load/bench.py --protocols http,http-keepalive,https-keepalive,https-handshake
    load/bench.py --protocols ws --servers reef,bittorrent-tracker    # WebTorrent

It builds //load:reef_load, //load:null_responder and (if it exists) //server:reef with
`bazel build --config=opt` (or takes them from --bin-dir / --reef), then for each protocol
starts one server at a time, pinned to --server-cpu with taskset, and loads it with
reef_load pinned to --load-cpu. Servers alternate (the order rotates every run), each is
run --runs times; a server gets a fresh process for every run. Per run it records the
generator's JSON report, the server's CPU time (the scheduler's, /proc/PID/task/*/schedstat) over
the load and its peak RSS (VmHWM). A last pass per server loads it at a fixed request
rate (--fixed-rate) and divides the server's CPU time by the answers: CPU per request,
the fair comparison when the load side is the bottleneck. For the HTTP(S) modes, wrk
cross-checks the figure with a fixed announce URL.

Protocols (--protocols), each a table row per server that speaks it:
  udp              BEP 15 announces: reef, opentracker, null.
  http             HTTP, a new TCP connection per request (what opentracker does: it closes
                   every connection): reef, opentracker. wrk sends "Connection: close".
  http-keepalive   HTTP over kept-alive connections: reef, npm bittorrent-tracker (the
                   other keep-alive tracker; opentracker has no keep-alive).
  https-keepalive  HTTPS over kept-alive connections: reef.
  https-handshake  HTTPS, a new connection and a full TLS handshake per request: reef.
  https-resumed    HTTPS, a new connection per request resuming the first one's session
                   (a TLS 1.3 ticket): reef.
  ws               WebTorrent over WebSocket: reef (on its HTTP port), npm bittorrent-tracker
                   (the tracker most WebTorrent users run). reef_load's connections are
                   simulated browsers, each announcing its torrents with --ws-offers offers
                   and answering every offer relayed to it; a response is an announce
                   answer, a relayed offer or a relayed answer, each checked.
HTTPS uses a self-signed ECDSA P-256 certificate made here with openssl (the key type
certbot issues by default); reef_load does not verify it.

Writes OUT/results.json (every run), OUT/table.md (the markdown table, also printed) and
OUT/plot.svg (responses/s per server with min-max whiskers); OUT is --out, by default
/tmp/reef-bench (docs/bench holds the figures docs/benchmarks.md shows). Servers:
  reef         //server:reef with one UDP socket worker; skipped, with the reason, while
               the binary is missing or does not answer a BEP 15 connect.
  opentracker  Debian's opentracker -f CONF, whitelist of the bench's torrents (its path
               is relative to tracker.rootdir, PEERS.md), IPv4, UDP and HTTP on one port.
  null         load/null_responder: a fixed BEP 15 reply per request, UDP only: the ceiling.
  bittorrent-tracker
               npm bittorrent-tracker (tools/webtorrent/node_modules, installed by
               scripts/setup.sh) under node, HTTP and WebSocket on one port (--http --ws);
               skipped while missing.
               Its announce answers carry as many peers as the first tracker benched
               returned on average (a short calibration run).
Only loopback addresses are used; every process started here is stopped here.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ("reef", "opentracker", "bittorrent-tracker", "null")
PROTOCOLS = ("udp", "http", "http-keepalive", "https-keepalive", "https-handshake",
             "https-resumed", "ws")
# How each protocol row loads its server: reef_load's --protocol, whether connections are
# kept alive, whether a new connection resumes the last TLS session.
LOAD_MODES = {
    "udp": ("udp", None, False),
    "http": ("http", False, False),
    "http-keepalive": ("http", True, False),
    "https-keepalive": ("https", True, False),
    "https-handshake": ("https", False, False),
    "https-resumed": ("https", False, True),
    "ws": ("ws", None, False),
}
ROW_LABELS = {
    "udp": "udp announce",
    "http": "http announce, new connection each",
    "http-keepalive": "http announce, keep-alive",
    "https-keepalive": "https announce, keep-alive",
    "https-handshake": "https announce, full handshake each",
    "https-resumed": "https announce, resumed session each",
    "ws": "ws (WebTorrent): announces with offers, relayed offers and answers",
}
# What each row is compared with ("vs reference"): opentracker, or for WebTorrent, which
# opentracker does not speak, npm bittorrent-tracker.
REFERENCE = {p: "opentracker" for p in PROTOCOLS} | {"ws": "bittorrent-tracker"}
BITTORRENT_TRACKER = os.path.join(REPO, "tools", "webtorrent", "node_modules",
                                  "bittorrent-tracker", "bin", "cmd.js")
# Put before every server and load command: empty for normal priority, or chrt for
# SCHED_FIFO (--priority=fifo).
PRIORITY_PREFIX = []
# A server that has not answered a probe within this long is not serving.
START_TIMEOUT_S = 10.0
# The longest any one child may run beyond its planned time before it is killed.
SLACK_S = 30.0


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- binaries


def build(args):
    """Returns {name: path} of the binaries, building them unless --bin-dir is given."""
    if args.bin_dir:
        bins = {n: os.path.abspath(os.path.join(args.bin_dir, n))
                for n in ("reef_load", "null_responder")}
        if args.reef:
            bins["reef"] = os.path.abspath(args.reef)
        return bins
    targets = ["//load:reef_load", "//load:null_responder"]
    have_reef = subprocess.run(
        ["bazel", "query", "//server:reef"], cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, timeout=600).returncode == 0
    if have_reef:
        targets.append("//server:reef")
    log("building " + " ".join(targets) + " with --config=opt")
    subprocess.run(["bazel", "build", "--config=opt"] + targets, cwd=REPO, check=True,
                   timeout=3600)
    bin_dir = os.path.join(REPO, "bazel-bin")
    bins = {
        "reef_load": os.path.join(bin_dir, "load", "reef_load"),
        "null_responder": os.path.join(bin_dir, "load", "null_responder"),
    }
    if args.reef:
        bins["reef"] = os.path.abspath(args.reef)
    elif have_reef:
        bins["reef"] = os.path.join(bin_dir, "server", "reef")
    return bins


# ---------------------------------------------------------------- processes


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (opentracker takes one for both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def udp_probe(port, deadline, alive=lambda: True):
    """True once a BEP 15 connect to 127.0.0.1:port is answered, before `deadline` (and
    while `alive()`)."""
    tid = 0x5eed1234
    request = struct.pack(">QII", 0x41727101980, 0, tid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline and alive():
            try:
                s.sendto(request, ("127.0.0.1", port))
                data, _ = s.recvfrom(64)
                if len(data) >= 16 and struct.unpack(">II", data[:8]) == (0, tid):
                    return True
            except OSError:
                time.sleep(0.05)
    return False


def tcp_probe(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    """CPU time of every thread of `pid`, in seconds.

    From the scheduler's own count (/proc/PID/task/*/schedstat, nanoseconds), not from
    utime + stime in /proc/PID/stat: those are sampled at each timer tick, which charges a
    whole tick to whatever runs at that moment and badly misjudges a server that wakes
    briefly in step with the tick (as at a fixed request rate).
    """
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that just ended
        return total / 1e9
    except FileNotFoundError:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14, 15 of proc(5)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Server:
    """One server process pinned to a CPU; stop() ends it (by its pid only)."""

    def __init__(self, name, argv, cpu, workdir, port, protocols, tls_port=None):
        self.name = name
        self.port = port
        self.tls_port = tls_port  # HTTPS, where the server has it
        self.protocols = protocols
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(PRIORITY_PREFIX + ["taskset", "-c", str(cpu)] + argv,
                                     cwd=workdir,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    @property
    def pid(self):
        return self.proc.pid  # taskset execs the server, so this is the server's pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log_file.close()

    def log_tail(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-2000:]

    def tls_handshakes(self):
        """(completed, resumed) TLS handshakes from reef's log after stop(): each TCP worker
        logs its counts when it ends. None for a server that logs none."""
        with open(self.log_path, errors="replace") as f:
            found = re.findall(r"TLS handshakes (\d+) \(resumed (\d+)\)", f.read())
        if not found:
            return None
        return sum(int(a) for a, _ in found), sum(int(b) for _, b in found)


# Peers in each of the do-nothing responder's announce answers: set by calibrate_null_peers
# to the mean that the first tracker benched returned, so the ceiling sends the same bytes.
NULL_PEERS = [0]


def start_null(bins, cpu, workdir, max_seconds):
    port = free_port()
    s = Server("null", [bins["null_responder"], f"--bind=127.0.0.1:{port}",
                        f"--max_seconds={max_seconds}", f"--peers={NULL_PEERS[0]}"],
               cpu, workdir, port, ("udp",))
    return s, udp_probe(port, time.monotonic() + START_TIMEOUT_S)


def start_opentracker(bins, cpu, workdir, max_seconds):
    root = os.path.join(workdir, "opentracker-root")
    os.makedirs(root, exist_ok=True)
    shutil.copy(os.path.join(workdir, "whitelist.txt"), os.path.join(root, "whitelist.txt"))
    port = free_port()
    conf = os.path.join(workdir, "opentracker.conf")
    with open(conf, "w") as f:
        # No trailing comments: opentracker would take them as part of the value.
        f.write(f"listen.tcp_udp 127.0.0.1:{port}\n")
        f.write(f"tracker.rootdir {root}\n")
        f.write("access.whitelist /whitelist.txt\n")  # relative to the chroot
    s = Server("opentracker", ["opentracker", "-f", conf], cpu, workdir, port, ("udp", "http"))
    deadline = time.monotonic() + START_TIMEOUT_S
    return s, udp_probe(port, deadline) and tcp_probe(port, deadline)


def start_bittorrent_tracker(bins, cpu, workdir, max_seconds):
    port = free_port()
    s = Server("bittorrent-tracker",
               ["node", BITTORRENT_TRACKER, "--http", "--ws", f"--port={port}",
                "--http-hostname=127.0.0.1", "--silent", "--no-stats"],
               cpu, workdir, port, ("http-keepalive", "ws"))
    return s, tcp_probe(port, time.monotonic() + START_TIMEOUT_S)


def bittorrent_tracker_unavailable():
    if shutil.which("node") is None:
        return "node is not installed (scripts/setup.sh)"
    if not os.path.exists(BITTORRENT_TRACKER):
        return (f"{os.path.relpath(BITTORRENT_TRACKER, REPO)} is missing (scripts/setup.sh "
                "runs npm ci in tools/webtorrent)")
    return None


def make_certificate(workdir):
    """A self-signed ECDSA P-256 certificate for reef's HTTPS listener: (chain, key)."""
    chain = os.path.join(workdir, "bench-chain.pem")
    key = os.path.join(workdir, "bench-key.pem")
    if not os.path.exists(chain):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-keyout", key, "-out", chain],
                       check=True, capture_output=True, timeout=60)
    return chain, key


# The config reef gets: one socket worker each for UDP and for HTTP(S), UDP and HTTP on the
# bench's port (as opentracker), HTTPS on a second one; everything else its defaults.
REEF_CONFIG = """\
[udp]
listen = ["127.0.0.1:{port}"]
{udp_lines}

[http]
listen = ["127.0.0.1:{port}"]
socket_workers = 1

[http.tls]
listen = ["127.0.0.1:{tls_port}"]
certificate_chain = "{chain}"
private_key = "{key}"

[swarm]
# Every simulated peer announces from 127.0.0.1: no cap on entries per address (as
# opentracker), or the cap would evict most of them.
prefix_cap = 0
"""
REEF_PROTOCOLS = PROTOCOLS
# [udp] keys other than listen, "KEY = VALUE" lines by key; --reef-udp adds or replaces.
REEF_UDP = {"socket_workers": "socket_workers = 1"}


def start_reef(bins, cpu, workdir, max_seconds):
    port = free_port()
    tls_port = free_port()
    chain, key = make_certificate(workdir)
    conf = os.path.join(workdir, "reef.toml")
    with open(conf, "w") as f:
        f.write(REEF_CONFIG.format(port=port, tls_port=tls_port, chain=chain, key=key,
                                   udp_lines="\n".join(REEF_UDP.values())))
    s = Server("reef", [bins["reef"], "--config", conf], cpu, workdir, port, REEF_PROTOCOLS,
               tls_port)
    deadline = time.monotonic() + START_TIMEOUT_S
    return s, (udp_probe(port, deadline, s.alive) and tcp_probe(port, deadline)
               and tcp_probe(tls_port, deadline))


STARTERS = {"null": start_null, "opentracker": start_opentracker, "reef": start_reef,
            "bittorrent-tracker": start_bittorrent_tracker}
LABELS = {"null": "do-nothing (ceiling)", "reef": "reef", "opentracker": "opentracker",
          "bittorrent-tracker": "bittorrent-tracker"}
SERVER_PROTOCOLS = {"null": ("udp",), "opentracker": ("udp", "http"), "reef": REEF_PROTOCOLS,
                    "bittorrent-tracker": ("http-keepalive", "ws")}


def reef_unavailable(bins, args, workdir):
    """Why reef cannot be benched now, or None."""
    path = bins.get("reef")
    if not path or not os.path.exists(path):
        return "//server:reef is not built yet"
    s, ok = start_reef(bins, args.server_cpu, workdir, 60)
    try:
        if not ok and not s.alive():
            return (f"reef exited with code {s.proc.returncode} at start "
                    f"(log: {s.log_tail().strip()[-300:]!r})")
        if not ok:
            return ("reef did not answer a BEP 15 connect and accept TCP connections within "
                    f"{START_TIMEOUT_S:.0f} s (log: {s.log_tail().strip()[-300:]!r})")
    finally:
        s.stop()
    return None


# ---------------------------------------------------------------- load


def calibrate_null_peers(bins, args, servers, workdir):
    """Sets NULL_PEERS to the mean peers per announce answer of the first tracker in
    `servers` (a short unmeasured run), so the ceiling answers with as many peers as the
    trackers do: the same bytes on the wire. Returns (tracker, mean) or None."""
    for name in servers:
        if name == "null" or "udp" not in SERVER_PROTOCOLS[name]:
            continue
        server, ok = STARTERS[name](bins, args.server_cpu, workdir, 60)
        try:
            if not ok:
                return None
            r = run_load(bins, args, server, "udp", ["--duration=2s", "--warmup=1s"])
        finally:
            server.stop()
        rep = r["report"]
        answers = rep["types"].get("announce", {}).get("ok", 0)
        if answers == 0:
            return None
        mean = rep.get("peers_received", 0) / answers
        NULL_PEERS[0] = min(80, round(mean))
        return name, mean
    return None


def load_args(args, protocol, server):
    wire, keep_alive, resume = LOAD_MODES[protocol]
    a = [f"--protocol={wire}", f"--torrents={args.torrents}", "--popularity=zipf",
         f"--popularity_shape={args.zipf}", f"--peers_per_torrent={args.peers}",
         f"--num_want={args.num_want}", f"--threads={args.load_threads}", "--json",
         "--progress=false"]
    if protocol == "udp":
        a += [f"--sockets={args.udp_sockets}", f"--in_flight={args.udp_in_flight}"]
    elif protocol == "ws":
        # Simulated browsers: one announce outstanding per connection, as browsers do.
        a += [f"--sockets={args.ws_connections}", "--in_flight=1",
              f"--ws_offers={args.ws_offers}"]
    else:
        # "http": opentracker closes every connection, so that row runs one request per
        # connection for every server, as wrk does against it. The keep-alive rows send one
        # request at a time per connection (no pipelining), as clients do.
        a += [f"--sockets={args.http_connections}", "--in_flight=1",
              f"--keep_alive={'true' if keep_alive else 'false'}"]
        if resume:
            a.append("--tls_resume")
    return a


def target_port(server, protocol):
    return server.tls_port if LOAD_MODES[protocol][0] == "https" else server.port


def run_load(bins, args, server, protocol, extra):
    argv = (PRIORITY_PREFIX + ["taskset", "-c", str(args.load_cpu), bins["reef_load"],
             f"--target=127.0.0.1:{target_port(server, protocol)}"] +
            load_args(args, protocol, server) + extra)
    planned = args.warmup + args.duration + 2
    cpu0 = cpu_seconds(server.pid)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=planned + SLACK_S)
    wall = time.monotonic() - t0
    cpu1 = cpu_seconds(server.pid)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_cpu_s = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime +
                                                                children0.ru_stime)
    if p.returncode != 0:
        raise RuntimeError(f"reef_load failed ({p.returncode}): {p.stderr.strip()}")
    report = json.loads(p.stdout)
    cpu_s = cpu1 - cpu0
    return {
        "report": report,
        "server_cpu_s": cpu_s,
        "wall_s": wall,
        "server_cpu_share": cpu_s / wall if wall > 0 else 0,
        "load_cpu_share": load_cpu_s / wall if wall > 0 else 0,
        "peak_rss_kib": peak_rss_kib(server.pid),
    }


def wrk_url(scheme, port):
    with open(os.path.join(os.environ.get("BENCH_WORKDIR", "."), "whitelist.txt")) as f:
        first = f.readline().strip()
    info_hash = urllib.parse.quote_from_bytes(bytes.fromhex(first), safe="")
    return (f"{scheme}://127.0.0.1:{port}/announce?info_hash={info_hash}"
            "&peer_id=-RL0001-wrkwrkwrkwrk&port=6881&uploaded=0&downloaded=0&left=0"
            "&compact=1&numwant=50")


# The rows wrk cross-checks. "http" asks every server to close each connection (opentracker
# does anyway), so wrk opens one per request there too.
WRK_PROTOCOLS = ("http", "http-keepalive", "https-keepalive")


def run_wrk(args, server, protocol, duration):
    wire, keep_alive, _ = LOAD_MODES[protocol]
    url = wrk_url(wire, target_port(server, protocol))
    close = [] if keep_alive else ["-H", "Connection: close"]
    argv = PRIORITY_PREFIX + ["taskset", "-c", str(args.load_cpu), "wrk", "-t1",
                              f"-c{args.http_connections}",
            f"-d{duration}s", "--latency"] + close + [url]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + SLACK_S)
    out = p.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 1, "ms": 1000, "s": 1e6}
    return {
        "url": url,
        "headers": close,
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "p99_us": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "socket_errors": errors.group(1) if errors else "",
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "raw": out,
    }


# ---------------------------------------------------------------- report


def median(xs):
    return statistics.median(xs) if xs else 0.0


def fmt_int(x):
    return f"{x:,.0f}"


def summarize(results, protocols):
    """Rows for the table: one per (protocol, server) with runs."""
    rows = []
    for protocol in protocols:
        by_server = {}
        for r in results["runs"]:
            if r["protocol"] == protocol:
                by_server.setdefault(r["server"], []).append(r)
        base = {}
        for server, runs in by_server.items():
            rates = [r["report"]["responses_per_s"] for r in runs]
            base[server] = median(rates)
        for server in SERVERS:
            runs = by_server.get(server)
            if not runs:
                continue
            rates = [r["report"]["responses_per_s"] for r in runs]
            p99s = [r["report"]["types"]["announce"]["latency_us"]["p99"] for r in runs
                    if "announce" in r["report"]["types"]]
            fixed = results["fixed_rate"].get(f"{protocol}/{server}")
            row = {
                "protocol": protocol,
                "server": server,
                "runs": len(runs),
                "median": median(rates),
                "min": min(rates),
                "max": max(rates),
                "p99_us": median(p99s),
                "cpu_share": median([r["server_cpu_share"] for r in runs]),
                "load_cpu_share": median([r["load_cpu_share"] for r in runs]),
                "rss_mib": max(r["peak_rss_kib"] for r in runs) / 1024,
                "failed": sum(r["report"]["failed_total"] for r in runs),
                "sent": sum(r["report"]["sent_total"] for r in runs),
                "vs_opentracker": (median(rates) / base[REFERENCE[protocol]]
                                   if base.get(REFERENCE[protocol]) else None),
                "vs_ceiling": median(rates) / base["null"] if base.get("null") else None,
                "cpu_us_per_request": fixed["cpu_us_per_request"] if fixed else None,
                "fixed_rate": fixed["rate"] if fixed else None,
                "fixed_reached": fixed["reached"] if fixed else None,
                "wrk": results["wrk"].get(f"{protocol}/{server}"),
            }
            rows.append(row)
    return rows


def fixed_cell(row):
    """CPU per request at the fixed rate, saying so when the rate was not reached (then
    the server, or the load side, was saturated and the figure is not a fixed-rate one)."""
    cell = f"{row['cpu_us_per_request']:.1f} (at {fmt_int(row['fixed_rate'])}/s"
    if row["fixed_reached"] < 0.95 * row["fixed_rate"]:
        cell += f"; only {fmt_int(row['fixed_reached'])}/s reached"
    return cell + ")"


def table(rows, args):
    head = ("| protocol | server | responses/s (median) | spread (min–max) | p99 µs | "
            "server CPU | load CPU | peak RSS MiB | vs opentracker (ws: bittorrent-tracker) | vs ceiling | "
            "server CPU µs/request (at a fixed rate) | failed / sent | wrk req/s |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        ratio = lambda x: f"{x:.2f}×" if x is not None else "—"
        wrk = r["wrk"]
        lines.append(
            f"| {ROW_LABELS[r['protocol']]} | {r['server']} | {fmt_int(r['median'])} | "
            f"{fmt_int(r['min'])}–{fmt_int(r['max'])} | {r['p99_us']:.0f} | "
            f"{100 * r['cpu_share']:.0f} % | {100 * r['load_cpu_share']:.0f} % | {r['rss_mib']:.1f} | {ratio(r['vs_opentracker'])} | "
            f"{ratio(r['vs_ceiling'])} | "
            + (fixed_cell(r) if r["cpu_us_per_request"] is not None else "—")
            + f" | {r['failed']} / {fmt_int(r['sent'])} | "
            + (fmt_int(wrk["requests_per_s"]) if wrk else "—") + " |")
    return "\n".join(lines)


def svg_plot(rows, title):
    """Horizontal bars: median responses/s per (protocol, server), min-max whiskers."""
    colors = {"reef": "#2a7ab0", "opentracker": "#d9822b", "null": "#8a8a8a"}
    bar_h, gap, left, right, top = 22, 8, 190, 110, 50
    width = 820
    largest = max([r["max"] for r in rows] + [1])
    # Round ticks: a step of 1, 2 or 5 times a power of ten, five or fewer of them.
    step = min(m * 10 ** k for k in range(0, 12) for m in (1, 2, 5) if largest / (m * 10 ** k) <= 5)
    top_value = step * -(-largest // step)
    scale = (width - left - right) / top_value
    y = top
    parts = []
    for protocol in PROTOCOLS:
        group = [r for r in rows if r["protocol"] == protocol]
        if not group:
            continue
        parts.append(f'<text x="10" y="{y + 14}" font-weight="bold">'
                     f'{ROW_LABELS[protocol]}</text>')
        y += 22
        for r in group:
            w = r["median"] * scale
            color = colors.get(r["server"], "#444")
            label = LABELS.get(r["server"], r["server"])
            parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{label}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{color}"/>')
            x0, x1 = left + r["min"] * scale, left + r["max"] * scale
            cy = y + bar_h / 2
            parts.append(f'<line x1="{x0:.1f}" y1="{cy}" x2="{x1:.1f}" y2="{cy}" '
                         'stroke="black"/>')
            for x in (x0, x1):
                parts.append(f'<line x1="{x:.1f}" y1="{y + 5}" x2="{x:.1f}" '
                             f'y2="{y + bar_h - 5}" stroke="black"/>')
            parts.append(f'<text x="{left + max(w, r["max"] * scale) + 6:.1f}" y="{y + 15}">'
                         f'{fmt_int(r["median"])}/s</text>')
            y += bar_h + gap
        y += 10
    # x axis with 5 ticks
    axis = [f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="black"/>']
    ticks = int(round(top_value / step))
    for i in range(ticks + 1):
        v = step * i
        x = left + v * scale
        axis.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="black"/>')
        axis.append(f'<text x="{x:.1f}" y="{y + 18}" text-anchor="middle">'
                    f'{v / 1000:g}k</text>')
    axis.append(f'<text x="{left + (width - left - right) / 2:.1f}" y="{y + 34}" '
                'text-anchor="middle">responses/s (median; whiskers: min–max of the runs)</text>')
    height = y + 48
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12">\n'
            f'<rect width="{width}" height="{height}" fill="white"/>\n'
            f'<text x="10" y="24" font-size="14" font-weight="bold">{title}</text>\n'
            + "\n".join(parts + axis) + "\n</svg>\n")


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release,
            "loadavg": open("/proc/loadavg").read().split()[:3]}


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true",
                   help="a few seconds per run, one run, fewer torrents (the test)")
    p.add_argument("--protocols", default=",".join(PROTOCOLS))
    p.add_argument("--servers", default="reef,opentracker,bittorrent-tracker,null")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--duration", type=float, default=10, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each")
    p.add_argument("--torrents", type=int, default=100_000)
    p.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of popularity")
    p.add_argument("--peers", type=int, default=100, help="simulated peers per torrent")
    p.add_argument("--num-want", type=int, default=50)
    p.add_argument("--udp-sockets", type=int, default=4)
    p.add_argument("--udp-in-flight", type=int, default=32)
    p.add_argument("--http-connections", type=int, default=16)
    p.add_argument("--fixed-rate", type=float, default=50_000,
                   help="UDP requests/s of the CPU-per-request pass (below every server's "
                        "capacity)")
    p.add_argument("--fixed-rate-http", type=float, default=5_000,
                   help="HTTP(S) requests/s of the CPU-per-request pass")
    p.add_argument("--fixed-rate-handshake", type=float, default=1_000,
                   help="requests/s of the CPU-per-request pass of the rows with a TLS "
                        "handshake per request")
    p.add_argument("--ws-connections", type=int, default=64,
                   help="WebSocket connections (simulated browsers) of the ws row")
    p.add_argument("--ws-offers", type=int, default=5, help="offers per ws announce")
    p.add_argument("--fixed-rate-ws", type=float, default=1_000,
                   help="ws announces/s of the CPU-per-request pass")
    p.add_argument("--server-cpu", default="0", help="CPU list for taskset, e.g. 0 or 0,1")
    p.add_argument("--load-cpu", default="1", help="CPU list for taskset, e.g. 1 or 0,1")
    p.add_argument("--load-threads", type=int, default=1,
                   help="reef_load threads (each with --udp-sockets sockets)")
    p.add_argument("--reef-udp", action="append", default=[], metavar="'KEY = VALUE'",
                   help="a line for reef's [udp] section, replacing the bench's for that key "
                        "(repeatable), e.g. --reef-udp 'backend = \"io_uring\"'")
    p.add_argument("--priority", choices=("normal", "fifo"), default="normal",
                   help="fifo runs server and load at SCHED_FIFO priority 1 (chrt -f 1): on a "
                        "machine busy with other work, wakeups then do not wait behind it; "
                        "other work on the two cores nearly stops while a run lasts (the "
                        "kernel keeps 5 %% for it)")
    p.add_argument("--no-wrk", action="store_true")
    p.add_argument("--bin-dir", help="take reef_load and null_responder from here, no build")
    p.add_argument("--reef", help="path of the reef binary (default: built, if it exists)")
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "reef-bench"),
                   help="where table.md, results.json and plot.svg go (docs/bench for the "
                        "figures in docs/benchmarks.md)")
    args = p.parse_args()
    if args.short:
        args.runs, args.duration, args.warmup = 1, 2.0, 0.5
        args.torrents = min(args.torrents, 10_000)
        args.fixed_rate = min(args.fixed_rate, 5_000)
        args.fixed_rate_http = min(args.fixed_rate_http, 2_000)
        args.fixed_rate_handshake = min(args.fixed_rate_handshake, 200)
        args.fixed_rate_ws = min(args.fixed_rate_ws, 200)
    if not (1 <= args.runs <= 50 and 0.5 <= args.duration <= 600 and 0 <= args.warmup <= 60):
        p.error("runs must be 1..50, duration 0.5..600 s, warmup 0..60 s")
    for line in args.reef_udp:
        key = line.split("=", 1)[0].strip()
        if "=" not in line or not key or key == "listen":
            p.error(f"--reef-udp wants 'KEY = VALUE' for a key other than listen, got {line!r}")
        REEF_UDP[key] = line
    protocols = [x for x in args.protocols.split(",") if x]
    servers = [x for x in args.servers.split(",") if x]
    for x in protocols:
        if x not in PROTOCOLS:
            p.error(f"unknown protocol {x}")
    for x in servers:
        if x not in SERVERS:
            p.error(f"unknown server {x}")
    if "bittorrent-tracker" in servers:
        why = bittorrent_tracker_unavailable()
        if why:
            log(f"skipping bittorrent-tracker: {why}")
            servers.remove("bittorrent-tracker")
    for tool in ("taskset", "opentracker", "wrk"):
        if shutil.which(tool) is None and (tool != "wrk" or not args.no_wrk) and (
                tool != "opentracker" or "opentracker" in servers):
            sys.exit(f"bench: {tool} not found: run scripts/setup.sh")

    if args.priority == "fifo":
        PRIORITY_PREFIX[:] = ["chrt", "-f", "1"]
    bins = build(args)
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="reef-bench-")
    os.environ["BENCH_WORKDIR"] = workdir
    results = {"machine": machine(), "args": vars(args), "runs": [], "fixed_rate": {},
               "wrk": {}, "skipped": {}}
    if "bittorrent-tracker" not in servers and "bittorrent-tracker" in args.servers.split(","):
        results["skipped"]["bittorrent-tracker"] = bittorrent_tracker_unavailable()
    log(f"machine: {results['machine']}")
    try:
        with open(os.path.join(workdir, "whitelist.txt"), "w") as f:
            subprocess.run([bins["reef_load"], "--print_info_hashes",
                            f"--torrents={args.torrents}"], stdout=f, check=True, timeout=120)
        if "reef" in servers:
            why = reef_unavailable(bins, args, workdir)
            if why:
                log(f"skipping reef: {why}")
                results["skipped"]["reef"] = why
                servers.remove("reef")
        max_seconds = int(args.warmup + args.duration + SLACK_S + 10)
        if "udp" in protocols and "null" in servers:
            calibrated = calibrate_null_peers(bins, args, servers, workdir)
            if calibrated:
                results["null_peers"] = {"from": calibrated[0], "mean": calibrated[1],
                                         "peers": NULL_PEERS[0]}
                log(f"null responder answers with {NULL_PEERS[0]} peers ({calibrated[0]} "
                    f"returned {calibrated[1]:.1f} per announce)")
        for protocol in protocols:
            group = [s for s in servers if protocol in SERVER_PROTOCOLS[s]]
            for run in range(args.runs):
                order = group[run % len(group):] + group[:run % len(group)] if group else []
                for name in order:
                    server, ok = STARTERS[name](bins, args.server_cpu, workdir, max_seconds)
                    try:
                        if not ok:
                            raise RuntimeError(f"{name} did not start: {server.log_tail()}")
                        extra = [f"--duration={args.duration}s", f"--warmup={args.warmup}s",
                                 f"--seed={run + 1}"]
                        r = run_load(bins, args, server, protocol, extra)
                    finally:
                        server.stop()
                    if LOAD_MODES[protocol][0] == "https":
                        r["server_tls_handshakes"] = server.tls_handshakes()
                    r.update({"protocol": protocol, "server": name, "run": run})
                    results["runs"].append(r)
                    rep = r["report"]
                    log(f"{protocol} {name} run {run + 1}/{args.runs}: "
                        f"{rep['responses_per_s']:,.0f} responses/s, failed "
                        f"{rep['failed_total']}/{rep['sent_total']}, CPU server "
                        f"{100 * r['server_cpu_share']:.0f} % load "
                        f"{100 * r['load_cpu_share']:.0f} %")
            # CPU per request at a fixed rate, and the wrk cross-check.
            for name in group:
                server, ok = STARTERS[name](bins, args.server_cpu, workdir, max_seconds)
                try:
                    if not ok:
                        raise RuntimeError(f"{name} did not start: {server.log_tail()}")
                    rate = (args.fixed_rate if protocol == "udp" else
                            args.fixed_rate_ws if protocol == "ws" else
                            args.fixed_rate_handshake if protocol.startswith("https-") and
                            not LOAD_MODES[protocol][1] else args.fixed_rate_http)
                    extra = [f"--duration={args.duration}s", f"--warmup={args.warmup}s",
                             f"--rate={rate}"]
                    r = run_load(bins, args, server, protocol, extra)
                    answered = r["report"]["ok_total"]
                    results["fixed_rate"][f"{protocol}/{name}"] = {
                        "rate": rate,
                        "reached": r["report"]["responses_per_s"],
                        "answered": answered,
                        "server_cpu_s": r["server_cpu_s"],
                        "cpu_us_per_request": (1e6 * r["server_cpu_s"] / answered
                                               if answered else None),
                        "report": r["report"],
                    }
                    if protocol in WRK_PROTOCOLS and not args.no_wrk:
                        w = run_wrk(args, server, protocol, max(1, int(args.duration)))
                        results["wrk"][f"{protocol}/{name}"] = w
                        log(f"wrk {name}: {w['requests_per_s']:,.0f} req/s, non-2xx "
                            f"{w['non_2xx']}, socket errors {w['socket_errors'] or 'none'}")
                finally:
                    server.stop()
                fr = results["fixed_rate"][f"{protocol}/{name}"]
                log(f"{protocol} {name} at {fr['rate']:,.0f}/s: "
                    + (f"{fr['cpu_us_per_request']:.1f} µs CPU per request"
                       if fr["cpu_us_per_request"] is not None else "no answers"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    rows = summarize(results, protocols)
    results["rows"] = rows
    m = results["machine"]
    text = table(rows, args)
    text += (f"\n\nMachine: {m['nproc']} × {m['cpu']}, kernel {m['kernel']}; server on CPU "
             f"{args.server_cpu}, load on CPU {args.load_cpu}, priority {args.priority}; "
             f"{args.runs} run(s) of {args.duration:g} s (+{args.warmup:g} s warm-up) per "
             f"server; {fmt_int(args.torrents)} torrents, Zipf {args.zipf:g}, "
             f"{args.peers} peers per torrent, num_want {args.num_want}; load average "
             f"{' '.join(m['loadavg'])} at start, {' '.join(results['loadavg_end'])} at end.")
    if "null_peers" in results:
        np_ = results["null_peers"]
        text += (f"\n\nThe do-nothing responder answers every announce with {np_['peers']} "
                 f"peers: the mean {np_['from']} returned ({np_['mean']:.1f}) in a calibration "
                 "run, so the ceiling sends as many bytes as the trackers do.")
    for name, why in results["skipped"].items():
        text += f"\n\n{name}: skipped: {why}"
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "plot.svg"), "w") as f:
        f.write(svg_plot(rows, f"Announce responses/s, 1 server core + 1 load core "
                               f"({m['nproc']} × {m['cpu']})"))
    print(text)
    log(f"wrote {args.out}/results.json, table.md, plot.svg")


if __name__ == "__main__":
    main()
