#!/usr/bin/python3
"""A real BitTorrent transfer through a tracker, with Debian's python3-libtorrent.

    tests/libtorrent_transfer.py --tracker udp://127.0.0.1:6969/announce [--size-mib 4]
        [--leecher-tracker http://127.0.0.1:6969/announce]

A seeder and a leecher, each its own libtorrent session on 127.0.0.1 (or ::1 with
--ipv6), share a v1
torrent whose only tracker is --tracker (the leecher's is --leecher-tracker when given,
so that a seeder known to the tracker by one protocol is found by a leecher using
another). An https:// tracker's certificate is checked against OpenSSL's default CA
paths; SSL_CERT_FILE points them at a test CA. DHT, local service discovery, UPnP, NAT-PMP
and every extension (so peer exchange too) are off: the only way the leecher can learn
the seeder's address is from the tracker. Passes (exit 0) when
  - the leecher has the whole content and its SHA-256 matches the seeder's, and
  - the leecher learned the seeder's listen address from the tracker: it opened a
    connection to the seeder's listen port (a peer_connect_alert; with every other peer
    source off, the tracker is the only way to know that port), or it listed the seeder
    as a peer whose source is the tracker (peer_info.source has the tracker bit).
Fails (exit 1) with what was missing otherwise; gives up after --timeout seconds.
Must be run with Debian's /usr/bin/python3 (the module is not on other Pythons).
"""

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time

import libtorrent as lt

# Alerts worth printing when something goes wrong.
ALERT_MASK = (lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification |
              lt.alert.category_t.status_notification | lt.alert.category_t.peer_notification |
              lt.alert.category_t.connect_notification)


def make_session(name, loopback):
    settings = {
        "listen_interfaces": f"{loopback}:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        # Loopback trackers and peers are the whole point here.
        "ssrf_mitigation": False,
        "announce_to_all_trackers": True,
        "alert_mask": ALERT_MASK,
        "user_agent": f"reef-test-{name}",
    }
    # flags=0: no default plugins (ut_pex, ut_metadata, smart_ban) and no default
    # features (DHT, LSD, UPnP, NAT-PMP).
    return lt.session(settings, 0)


def drain(session, who, log):
    """Pops the session's alerts into the log; returns them."""
    alerts = session.pop_alerts()
    for alert in alerts:
        log.append(f"{time.monotonic():.2f} {who}: {alert.what()}: {alert.message()}")
    return alerts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracker", required=True)
    parser.add_argument("--leecher-tracker", help="the leecher's tracker (default: --tracker)")
    parser.add_argument("--size-mib", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--ipv6", action="store_true",
                        help="seeder and leecher listen on [::1] instead of 127.0.0.1")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="reef-lt-")
    log = []
    try:
        seed_dir = os.path.join(work, "seed")
        leech_dir = os.path.join(work, "leech")
        os.makedirs(seed_dir)
        os.makedirs(leech_dir)
        content = random.Random(1234).randbytes(args.size_mib * 1024 * 1024)
        with open(os.path.join(seed_dir, "payload.bin"), "wb") as f:
            f.write(content)
        want_hash = hashlib.sha256(content).hexdigest()

        files = lt.file_storage()
        lt.add_files(files, os.path.join(seed_dir, "payload.bin"))
        # v1 only: hybrid torrents announce twice (v1 and truncated v2 hash).
        creator = lt.create_torrent(files, 256 * 1024, flags=lt.create_torrent.v1_only)
        lt.set_piece_hashes(creator, seed_dir)
        # No tracker in the torrent: each session gets its own below.
        info = lt.torrent_info(creator.generate())
        leecher_tracker = args.leecher_tracker or args.tracker
        print(f"torrent {info.info_hash()} ({args.size_mib} MiB), seeder's tracker "
              f"{args.tracker}, leecher's tracker {leecher_tracker}")

        loopback = "[::1]" if args.ipv6 else "127.0.0.1"
        seeder = make_session("seeder", loopback)
        leecher = make_session("leecher", loopback)
        seed_port = seeder.listen_port()
        seed_handle = seeder.add_torrent({"ti": info, "save_path": seed_dir,
                                          "trackers": [args.tracker]})

        deadline = time.monotonic() + args.timeout
        # Let the seeder check its data and announce first, so the tracker knows it.
        seeder_announced = False
        while time.monotonic() < deadline and not seeder_announced:
            alerts = drain(seeder, "seeder", log)
            seeder_announced = any(isinstance(a, lt.tracker_reply_alert) for a in alerts)
            time.sleep(0.05)

        leech_handle = leecher.add_torrent({"ti": info, "save_path": leech_dir,
                                            "trackers": [leecher_tracker]})
        saw_seeder_from_tracker = False
        while time.monotonic() < deadline:
            drain(seeder, "seeder", log)
            for alert in drain(leecher, "leecher", log):
                # On loopback a transfer can finish between two polls of the peer list;
                # the connect alert is not missed.
                if isinstance(alert, lt.peer_connect_alert) and alert.endpoint[1] == seed_port:
                    saw_seeder_from_tracker = True
            for peer in leech_handle.get_peer_info():
                if peer.ip[1] == seed_port and peer.source & lt.peer_info.tracker:
                    saw_seeder_from_tracker = True
            if leech_handle.status().is_seeding:
                break
            time.sleep(0.1)

        status = leech_handle.status()
        done = status.is_seeding
        got_hash = None
        path = os.path.join(leech_dir, "payload.bin")
        if done and os.path.exists(path):
            with open(path, "rb") as f:
                got_hash = hashlib.sha256(f.read()).hexdigest()

        problems = []
        if not seeder_announced:
            problems.append("the seeder never got a tracker reply")
        if not done:
            problems.append(f"leecher did not finish: {status.progress * 100:.1f}% after "
                            f"{args.timeout:.0f} s, {status.num_peers} peer(s)")
        if done and got_hash != want_hash:
            problems.append(f"content hash differs: {got_hash} != {want_hash}")
        if not saw_seeder_from_tracker:
            problems.append(f"leecher never connected to the seeder's listen address "
                            f"({loopback}:{seed_port}) nor listed it as a tracker-sourced peer")
        if problems:
            print("FAIL:\n  " + "\n  ".join(problems))
            print("libtorrent alerts:")
            print("\n".join(log[-80:]))
            return 1
        print(f"PASS: {args.size_mib} MiB transferred, sha256 {want_hash[:16]}…, seeder "
              f"{loopback}:{seed_port} learned from the tracker")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
