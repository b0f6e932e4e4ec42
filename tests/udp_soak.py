#!/usr/bin/python3
"""A soak test of reef's store budget over UDP (issue 11 §7).

Starts the reef binary on a free loopback port (IPv4 and IPv6) with a small store budget,
then floods it with announces from many source addresses (127.0.i.2 for several i: each
its own /32 prefix, and ::1, one /64, from several ports) for random info hashes and for
a few popular torrents, and checks:
  - reef's RSS stays under its RSS at start plus the budget's worst case in bytes plus a
    stated overhead (OVERHEAD_BYTES), sampled throughout;
  - a swarm made before the flood (two witnesses at their own addresses) is still
    answered correctly once the store is full: counts and the other witness as the peer;
  - a new torrent is then refused with the BEP 15 error "tracker is full";
  - reef counts its refusals: the "tracker full" figures of its workers' stop lines add
    up to at least the errors the clients received (a reply can be lost, a refusal not);
  - reef exits 0 on SIGTERM.
Bounded: --announces datagrams at most and --max-seconds of flooding (the test stops at
whichever comes first), every wait has a deadline. Run by hand for a longer soak:
  bazel build --config=opt //server:reef
  tests/udp_soak.py --reef bazel-bin/server/reef --announces 5000000 --max-seconds 600
"""

import argparse
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PROTOCOL_ID = 0x41727101980
ACTION_CONNECT, ACTION_ANNOUNCE, ACTION_ERROR = 0, 1, 3
EVENT_NONE, EVENT_COMPLETED, EVENT_STARTED = 0, 1, 2

# The budget reef runs with, and the measured worst case per entry (swarm_benchmark,
# docs/benchmarks.md): a peer at most 180 bytes (an IPv6 peer in its own /64 just after
# its swarm's arrays doubled), a torrent with one peer 287 bytes plus 94 for its record
# of `completed`.
MAX_PEERS = 20000
MAX_TORRENTS = 10000
BUDGET_BYTES = MAX_PEERS * 180 + MAX_TORRENTS * (287 + 94)
# What else reef may hold once it has served a flood: the allocator's free lists and
# per-thread caches, socket buffers, the cleaner's copy of a shard's keys. Without the
# budget, the default run's random info hashes alone would add ~80 MB.
OVERHEAD_BYTES = 24 * 1024 * 1024

V4_SOURCES = 48  # 127.0.i.2 for i in 1..48
V6_SOURCES = 4  # ::1, ephemeral ports
POPULAR = 32  # torrents that many sources announce to, filling the peer budget
BATCH = 16  # datagrams per socket before draining replies


def free_port():
    for _ in range(100):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            b.bind(("::1", port))
        except OSError:
            continue
        finally:
            b.close()
        a.close()
        return port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Client:
    """One UDP socket at one source address, with its connection id."""

    def __init__(self, family, source, target):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((source, 0))
        self.sock.setblocking(False)
        self.target = target
        self.family = family
        self.connection_id = None
        self.connected_at = 0.0

    def fileno(self):
        return self.sock.fileno()

    def connect(self, deadline):
        tid = random.getrandbits(32)
        while time.monotonic() < deadline:
            self.sock.sendto(struct.pack("!QII", PROTOCOL_ID, ACTION_CONNECT, tid), self.target)
            ready, _, _ = select.select([self.sock], [], [], 0.5)
            while ready:
                try:
                    data = self.sock.recv(2048)
                except BlockingIOError:
                    break
                if len(data) >= 16 and struct.unpack("!II", data[:8]) == (ACTION_CONNECT, tid):
                    self.connection_id = struct.unpack("!Q", data[8:16])[0]
                    self.connected_at = time.monotonic()
                    return
        raise RuntimeError("no connect reply from reef")

    def announce(self, tid, info_hash, port, left, event=EVENT_STARTED, key=0, num_want=50):
        peer_id = b"-SK0001-" + random.randbytes(12)
        self.sock.sendto(
            struct.pack("!QII20s20sQQQIIIiH", self.connection_id, ACTION_ANNOUNCE, tid,
                        info_hash, peer_id, 0, left, 0, event, 0, key, num_want, port),
            self.target)


def parse_reply(data):
    """("announce", tid, leechers, seeders, peers bytes) or ("error", tid, message)."""
    if len(data) < 8:
        return None
    action, tid = struct.unpack("!II", data[:8])
    if action == ACTION_ANNOUNCE and len(data) >= 20:
        _, leechers, seeders = struct.unpack("!III", data[8:20])
        return ("announce", tid, leechers, seeders, data[20:])
    if action == ACTION_ERROR:
        return ("error", tid, data[8:].decode("utf-8", "replace"))
    return None


def request_reply(client, tid, deadline, **announce):
    """Sends one announce and waits for its reply (retrying: UDP may drop)."""
    while time.monotonic() < deadline:
        client.announce(tid, **announce)
        end = min(deadline, time.monotonic() + 0.5)
        while time.monotonic() < end:
            ready, _, _ = select.select([client], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                break
            try:
                data = client.sock.recv(65536)
            except BlockingIOError:
                continue
            reply = parse_reply(data)
            if reply is not None and reply[1] == tid:
                return reply
    raise RuntimeError("no reply from reef")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reef", required=True)
    ap.add_argument("--announces", type=int, default=300000)
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-budget", action="store_true",
                    help="run reef with a budget too large to reach, as before issue 11: "
                         "the RSS check must then fail (to check the test)")
    args = ap.parse_args()
    budget = (1 << 31) - 1 if args.no_budget else None
    random.seed(args.seed)

    work = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
    port = free_port()
    config = os.path.join(work, "soak.toml")
    with open(config, "w") as f:
        f.write(f"""[udp]
listen = ["127.0.0.1:{port}", "[::1]:{port}"]
socket_workers = 2

[http]
enabled = false

[swarm]
max_peers = {budget or MAX_PEERS}
max_torrents = {budget or MAX_TORRENTS}
shards = 16
""")
    log_path = os.path.join(work, "reef.log")
    log = open(log_path, "w")
    reef = subprocess.Popen([args.reef, "--config", config], stderr=log)
    failures = []
    try:
        deadline = time.monotonic() + 10
        while "running" not in open(log_path).read():
            if reef.poll() is not None or time.monotonic() > deadline:
                sys.exit("FAIL: reef did not start:\n" + open(log_path).read())
            time.sleep(0.05)
        rss_start = rss_bytes(reef.pid)
        rss_limit = rss_start + BUDGET_BYTES + OVERHEAD_BYTES

        v4_target = ("127.0.0.1", port)
        v6_target = ("::1", port)
        deadline = time.monotonic() + 30
        # The witnesses' swarm, made before the flood.
        witness_hash = random.randbytes(20)
        seeder = Client(socket.AF_INET, "127.0.200.1", v4_target)
        leecher = Client(socket.AF_INET, "127.0.200.2", v4_target)
        for c in (seeder, leecher):
            c.connect(deadline)
        request_reply(seeder, 1, deadline, info_hash=witness_hash, port=7001, left=0, key=1)
        request_reply(leecher, 2, deadline, info_hash=witness_hash, port=7002, left=5, key=2)

        clients = [Client(socket.AF_INET, f"127.0.{i}.2", v4_target)
                   for i in range(1, V4_SOURCES + 1)]
        clients += [Client(socket.AF_INET6, "::1", v6_target) for _ in range(V6_SOURCES)]
        for c in clients:
            c.connect(deadline)
        popular = [random.randbytes(20) for _ in range(POPULAR)]

        sent = announced = full_errors = other_errors = 0
        rss_max = rss_start
        started = time.monotonic()
        stop_at = started + args.max_seconds
        tid = 1000
        while sent < args.announces and time.monotonic() < stop_at:
            for c in clients:
                if time.monotonic() - c.connected_at > 60:  # ids last 128 s at least
                    c.connect(time.monotonic() + 10)
                for _ in range(BATCH):
                    tid = (tid + 1) & 0xFFFFFFFF
                    if random.random() < 0.7:
                        info_hash = random.randbytes(20)
                    else:
                        info_hash = random.choice(popular)
                    event = EVENT_COMPLETED if random.random() < 0.1 else EVENT_STARTED
                    c.announce(tid, info_hash, random.randint(1024, 65535),
                               random.choice((0, 1000)), event=event,
                               key=random.getrandbits(32), num_want=random.choice((0, 50)))
                    sent += 1
            # Drain what came back: until every reply of the round is in, or none came for
            # 50 ms (a reply that does not come by then is lost to UDP).
            outstanding = len(clients) * BATCH
            while outstanding > 0:
                ready, _, _ = select.select(clients, [], [], 0.05)
                if not ready:
                    break
                for c in ready:
                    while True:
                        try:
                            data = c.sock.recv(65536)
                        except BlockingIOError:
                            break
                        outstanding -= 1
                        reply = parse_reply(data)
                        if reply is None:
                            other_errors += 1
                        elif reply[0] == "announce":
                            announced += 1
                        elif reply[2] == "tracker is full":
                            full_errors += 1
                        else:
                            other_errors += 1
            rss_max = max(rss_max, rss_bytes(reef.pid))
        seconds = time.monotonic() - started

        # The witnesses' swarm is answered as before the flood.
        deadline = time.monotonic() + 30
        for c in (seeder, leecher):
            c.connect(deadline)
        reply = request_reply(seeder, 3, deadline, info_hash=witness_hash, port=7001, left=0,
                              key=1, event=EVENT_NONE)
        if reply[0] != "announce" or reply[2:4] != (1, 1):
            failures.append(f"witness seeder: expected 1 leecher and 1 seeder, got {reply}")
        elif reply[4] != socket.inet_aton("127.0.200.2") + struct.pack("!H", 7002):
            failures.append(f"witness seeder: expected the leecher as its peer, got {reply[4]!r}")
        reply = request_reply(leecher, 4, deadline, info_hash=witness_hash, port=7002, left=5,
                              key=2, event=EVENT_NONE)
        if reply[0] != "announce" or reply[4] != socket.inet_aton("127.0.200.1") + struct.pack("!H", 7001):
            failures.append(f"witness leecher: expected the seeder as its peer, got {reply}")
        # A new torrent now: refused, the store is full.
        reply = request_reply(leecher, 5, deadline, info_hash=random.randbytes(20), port=7003,
                              left=5)
        if reply != ("error", 5, "tracker is full"):
            failures.append(f"a new torrent in a full store: expected 'tracker is full', got {reply}")
        rss_max = max(rss_max, rss_bytes(reef.pid))
        rss_end = rss_bytes(reef.pid)
    finally:
        if reef.poll() is None:
            reef.send_signal(signal.SIGTERM)
        try:
            reef_exit = reef.wait(timeout=15)
        except subprocess.TimeoutExpired:
            reef.kill()
            reef_exit = reef.wait()
        log.close()

    text = open(log_path).read()
    logged_full = sum(int(n) for n in re.findall(r"tracker full (\d+)", text))
    logged_announces = sum(int(n) for n in re.findall(r", announces (\d+),", text))
    print(f"announces sent {sent} in {seconds:.1f} s ({sent / max(seconds, 1e-9):.0f}/s); "
          f"answered {announced}, 'tracker is full' {full_errors}, other {other_errors}; "
          f"reef counted {logged_announces} served, {logged_full} refused as full")
    print(f"RSS: at start {rss_start / 2**20:.1f} MiB, at most {rss_max / 2**20:.1f} MiB, "
          f"at the end {rss_end / 2**20:.1f} MiB; limit {rss_limit / 2**20:.1f} MiB "
          f"(start + budget {BUDGET_BYTES / 2**20:.1f} MiB + overhead "
          f"{OVERHEAD_BYTES / 2**20:.0f} MiB)")
    if rss_max > rss_limit:
        failures.append(f"RSS {rss_max} bytes is over the limit {rss_limit}")
    if full_errors == 0:
        failures.append("no announce was refused: the flood did not reach the budget")
    if logged_full < full_errors + 1:  # + the new torrent refused after the flood
        failures.append(f"reef logged {logged_full} refusals, the clients got {full_errors + 1}")
    if logged_full > sent + 1:
        failures.append(f"reef logged {logged_full} refusals for {sent + 1} announces")
    if other_errors != 0:
        failures.append(f"{other_errors} replies were neither announces nor 'tracker is full'")
    if reef_exit != 0:
        failures.append(f"reef exited {reef_exit} on SIGTERM")
    if failures:
        print(text[-4000:], file=sys.stderr)
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
