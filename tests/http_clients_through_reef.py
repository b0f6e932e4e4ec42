#!/usr/bin/python3
"""Real BitTorrent clients through the reef binary over HTTP and HTTPS.

    tests/http_clients_through_reef.py --reef bazel-bin/server/reef CASE

Cases (each starts its own reef on free loopback ports, and stops it with SIGTERM, which
must give exit status 0):
  libtorrent        a python3-libtorrent seeder and leecher move 4 MiB through reef over
                    HTTP, IPv4 then IPv6 (tests/libtorrent_transfer.py)
  libtorrent-https  the same over HTTPS, IPv4 and IPv6, libtorrent checking reef's
                    certificate against a test CA made now (SSL_CERT_FILE)
  udp-http          one swarm: the seeder announces over HTTP, the leecher over UDP, and
                    the leecher still finds the seeder (and the other way round)
  aria2             an aria2c leecher downloads from a python3-libtorrent seeder, both
                    announcing over HTTP; the file's SHA-256 must match
  transmission      transmission-cli seeds a torrent for a while: reef must count its
                    HTTP announces and scrapes, and a scrape must show it as a seeder
                    (transmission refuses loopback peers, so it moves no data here; it
                    sometimes announces "stopped" before "started" when it starts, and
                    sends nothing when SIGINT ends it)
Every wait is bounded; every process is stopped by its PID. Exit status 0 on success.
Must run under Debian's /usr/bin/python3 (python3-libtorrent).
"""

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reef_process import ReefProcess, free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFER = os.path.join(HERE, "libtorrent_transfer.py")


def transfer(tracker, ipv6=False, leecher_tracker=None, env=None, timeout=60):
    args = ["/usr/bin/python3", TRANSFER, "--tracker", tracker, "--timeout", str(timeout)]
    if ipv6:
        args.append("--ipv6")
    if leecher_tracker:
        args += ["--leecher-tracker", leecher_tracker]
    print("$", " ".join(args), flush=True)
    return subprocess.run(args, env=env, timeout=timeout + 60).returncode == 0


def counted(log, what):
    """reef's HTTP counters from its log lines at stop ("http-0: ... announces N, scrapes M")."""
    total = 0
    for m in re.finditer(rf"http announces (\d+), scrapes (\d+)", log):
        total += int(m.group(1) if what == "announces" else m.group(2))
    return total


def case_libtorrent(reef_path, work):
    ok = True
    with ReefProcess(reef_path, work) as reef:
        ok &= transfer(reef.url("http", 4))
        ok &= transfer(reef.url("http", 6), ipv6=True)
    return ok, reef


def case_libtorrent_https(reef_path, work):
    ok = True
    with ReefProcess(reef_path, work, https=True) as reef:
        env = dict(os.environ, SSL_CERT_FILE=reef.ca_file)
        ok &= transfer(reef.url("https", 4), env=env)
        ok &= transfer(reef.url("https", 6), ipv6=True, env=env)
    if ok and "TLS handshakes 0," in reef.log:
        print("FAIL: reef counted no TLS handshake")
        ok = False
    return ok, reef


def case_udp_http(reef_path, work):
    ok = True
    with ReefProcess(reef_path, work) as reef:
        ok &= transfer(reef.url("http", 4), leecher_tracker=reef.url("udp", 4))
        ok &= transfer(reef.url("udp", 6), ipv6=True, leecher_tracker=reef.url("http", 6))
    return ok, reef


def make_torrent(work, tracker, size):
    import libtorrent as lt
    seed_dir = os.path.join(work, "seed")
    os.makedirs(seed_dir, exist_ok=True)
    content = random.Random(99).randbytes(size)
    with open(os.path.join(seed_dir, "payload.bin"), "wb") as f:
        f.write(content)
    files = lt.file_storage()
    lt.add_files(files, os.path.join(seed_dir, "payload.bin"))
    creator = lt.create_torrent(files, 256 * 1024, flags=lt.create_torrent.v1_only)
    creator.add_tracker(tracker)
    lt.set_piece_hashes(creator, seed_dir)
    torrent = os.path.join(work, "payload.torrent")
    with open(torrent, "wb") as f:
        f.write(lt.bencode(creator.generate()))
    return torrent, seed_dir, hashlib.sha256(content).hexdigest(), lt.torrent_info(torrent)


def libtorrent_seeder(info, seed_dir):
    import libtorrent as lt
    session = lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False, "ssrf_mitigation": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.tracker_notification}, 0)
    handle = session.add_torrent({"ti": info, "save_path": seed_dir})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(isinstance(a, lt.tracker_reply_alert) for a in session.pop_alerts()):
            return session, handle
        time.sleep(0.1)
    raise RuntimeError("the libtorrent seeder got no tracker reply")


def case_aria2(reef_path, work):
    with ReefProcess(reef_path, work) as reef:
        torrent, seed_dir, want, info = make_torrent(work, reef.url("http", 4), 4 << 20)
        session, _ = libtorrent_seeder(info, seed_dir)
        leech = os.path.join(work, "aria2")
        os.makedirs(leech)
        args = ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--enable-peer-exchange=false", "--seed-time=0",
                f"--listen-port={free_port(socket.SOCK_STREAM)}",
                "--summary-interval=0", "--console-log-level=warn", "--bt-stop-timeout=60",
                "--dir", leech, torrent]
        print("$", " ".join(args), flush=True)
        try:
            result = subprocess.run(args, timeout=90, capture_output=True, text=True)
            print(result.stdout[-2000:], result.stderr[-2000:])
            code = result.returncode
        except subprocess.TimeoutExpired:
            print("FAIL: aria2c did not finish in 90 s")
            code = -1
        del session
    path = os.path.join(leech, "payload.bin")
    got = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None
    ok = code == 0 and got == want
    if not ok:
        print(f"FAIL: aria2c exit {code}, sha256 {got} (want {want})")
    else:
        print(f"PASS: aria2c downloaded 4 MiB from the libtorrent seeder, sha256 {want[:16]}…")
    return ok, reef


def scrape(url, info_hash):
    query = "info_hash=" + urllib.parse.quote_from_bytes(info_hash)
    with urllib.request.urlopen(url.replace("/announce", "/scrape") + "?" + query, timeout=10) as r:
        return r.read()


def case_transmission(reef_path, work):
    ok = True
    with ReefProcess(reef_path, work) as reef:
        torrent, seed_dir, _, info = make_torrent(work, reef.url("http", 4), 1 << 20)
        config = os.path.join(work, "transmission")
        os.makedirs(config)
        peer_port = free_port(socket.SOCK_STREAM)
        args = ["transmission-cli", "-g", config, "-w", seed_dir, "-p", str(peer_port), "-M",
                torrent]
        print("$", " ".join(args), flush=True)
        log = open(os.path.join(work, "transmission.log"), "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        seen_as_seeder = False
        ours = 0  # scrapes this test sends; transmission's own come on top
        deadline = time.monotonic() + 40
        hash_bytes = bytes.fromhex(str(info.info_hash()))
        while time.monotonic() < deadline and not seen_as_seeder:
            time.sleep(1)
            body = scrape(reef.url("http", 4), hash_bytes)
            ours += 1
            seen_as_seeder = b"8:completei1e" in body
        # Let it scrape too (transmission scrapes after its first announce).
        time.sleep(12)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    print(open(os.path.join(work, "transmission.log"), "rb").read().decode("utf-8", "replace")[-1500:])
    announces = counted(reef.log, "announces")
    scrapes = counted(reef.log, "scrapes")
    print(f"reef counted {announces} HTTP announces and {scrapes} HTTP scrapes")
    if not seen_as_seeder:
        print("FAIL: no scrape showed transmission as a seeder")
        ok = False
    if announces < 1:
        print("FAIL: reef counted no HTTP announce")
        ok = False
    if scrapes <= ours:
        print(f"FAIL: no HTTP scrape from transmission (reef counted {scrapes}, this test sent {ours})")
        ok = False
    return ok, reef


CASES = {
    "libtorrent": case_libtorrent,
    "libtorrent-https": case_libtorrent_https,
    "udp-http": case_udp_http,
    "aria2": case_aria2,
    "transmission": case_transmission,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reef", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix=f"reef-{args.case}-", dir=os.environ.get("TEST_TMPDIR"))
    try:
        ok, reef = CASES[args.case](os.path.abspath(args.reef), work)
        print("--- reef's log")
        print(reef.log[-6000:])
        if reef.exit_code != 0:
            print(f"FAIL: reef exited with {reef.exit_code} after SIGTERM")
            ok = False
        print("PASS" if ok else "FAIL", args.case)
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
