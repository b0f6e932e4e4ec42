#!/usr/bin/python3
"""Records the BEP 15 datagrams real clients send to a UDP tracker, as test vectors.

    /usr/bin/python3 tools/captures/udp_capture.py [--out protocol/udp/testdata]
                                                   [--corpus corpus/udp_request_fuzzer]

Requests: runs a tiny fake UDP tracker on 127.0.0.1 (a random free port) that answers
every connect (so the clients go on), announce (no peers) and scrape (zero counts), and
records each datagram it receives. Two clients talk to it, one after the other:

  - Debian's python3-libtorrent (2.0.x): adds a torrent as a leecher (event started),
    asks for a scrape, then removes the torrent (event stopped);
  - transmission-cli (3.00): the same torrent, from its own config dir, stopped with
    SIGINT after it has announced and scraped.

Responses: starts Debian's opentracker on 127.0.0.1 with the torrent on its whitelist,
sends it a connect, announces from two peers, a scrape, and an announce of a hash off
the whitelist, and records each answer.

The torrent is made here from a fixed 64 KiB file, so its info hash is the same on every
run. The datagrams are written as:

  <out>/captures.inc                 each kept datagram as a C++ array, plus the facts
                                     the tests check (info hash, listen ports, versions)
  <corpus>/capture_<client>_<what>   the requests as request fuzz seeds
  <response-corpus>/capture_opentracker_<what>   the responses as response fuzz seeds

Tests never run this script: they use the stored bytes. Re-run it by hand (needs
/usr/bin/python3 with `import libtorrent`, and transmission-cli) and review the diff.
"""

import argparse
import datetime
import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import libtorrent as lt

PROTOCOL_ID = 0x41727101980
ACTIONS = {0: "connect", 1: "announce", 2: "scrape"}
EVENTS = {0: "none", 1: "completed", 2: "started", 3: "stopped"}
# Every wait below is bounded by this many seconds.
CLIENT_TIMEOUT = 60


class FakeTracker(threading.Thread):
    """Answers BEP 15 requests on 127.0.0.1 and records every datagram it receives."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = []  # (client tag, bytes)
        self.tag = "none"
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        while not self.stopping:
            ready, _, _ = select.select([self.sock], [], [], 0.2)
            if not ready:
                continue
            data, addr = self.sock.recvfrom(65535)
            with self.lock:
                self.received.append((self.tag, data))
            reply = self.answer(data)
            if reply is not None:
                self.sock.sendto(reply, addr)

    @staticmethod
    def answer(data):
        if len(data) < 16:
            return None
        connection_id, action, transaction_id = struct.unpack(">QII", data[:16])
        if action == 0 and connection_id == PROTOCOL_ID:
            return struct.pack(">IIQ", 0, transaction_id, 0x0123456789ABCDEF)
        if action == 1 and len(data) >= 98:
            # interval, leechers, seeders; no peers.
            return struct.pack(">IIiii", 1, transaction_id, 1800, 1, 0)
        if action == 2 and len(data) >= 36:
            n = (len(data) - 16) // 20
            return struct.pack(">II", 2, transaction_id) + struct.pack(">iii", 0, 0, 1) * n
        return None

    def set_tag(self, tag):
        with self.lock:
            self.tag = tag

    def of(self, tag):
        with self.lock:
            return [d for t, d in self.received if t == tag]

    def wait_for(self, tag, predicate, what):
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while time.monotonic() < deadline:
            if predicate(self.of(tag)):
                return
            time.sleep(0.1)
        raise SystemExit(f"capture: {tag} did not send {what} within {CLIENT_TIMEOUT} s; got "
                         f"{[describe(d) for d in self.of(tag)]}")


def action_of(data):
    return struct.unpack(">I", data[8:12])[0] if len(data) >= 16 else None


def event_of(data):
    return struct.unpack(">I", data[80:84])[0] if action_of(data) == 1 and len(data) >= 98 else None


def describe(data):
    action = ACTIONS.get(action_of(data), "?")
    if action == "announce":
        return f"announce/{EVENTS.get(event_of(data), '?')}({len(data)} bytes)"
    return f"{action}({len(data)} bytes)"


def has(action, event=None):
    def predicate(datagrams):
        return any(action_of(d) == action and (event is None or event_of(d) == event)
                   for d in datagrams)
    return predicate


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_torrent(workdir, tracker_port):
    """A one-file torrent with a fixed payload, so its info hash never changes."""
    payload_dir = os.path.join(workdir, "payload")
    os.makedirs(payload_dir)
    with open(os.path.join(payload_dir, "reef-capture.bin"), "wb") as f:
        f.write(bytes((i * 7 + 3) % 251 for i in range(64 * 1024)))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(payload_dir, "reef-capture.bin"))
    # v1 only: a hybrid torrent would announce twice (v1 and truncated v2 hash).
    t = lt.create_torrent(fs, 16 * 1024, flags=lt.create_torrent.v1_only)
    t.add_tracker(f"udp://127.0.0.1:{tracker_port}/announce")
    lt.set_piece_hashes(t, payload_dir)
    data = lt.bencode(t.generate())
    path = os.path.join(workdir, "reef-capture.torrent")
    with open(path, "wb") as f:
        f.write(data)
    info = lt.torrent_info(path)
    return path, str(info.info_hash())


def run_libtorrent(tracker, torrent_path, workdir):
    port = free_tcp_port()
    tracker.set_tag("libtorrent")
    session = lt.session({
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "ssrf_mitigation": False,
        "alert_mask": lt.alert.category_t.all_categories,
    })
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent_path)
    params.save_path = os.path.join(workdir, "libtorrent-download")
    handle = session.add_torrent(params)
    tracker.wait_for("libtorrent", has(1, 2), "an announce (started)")
    handle.scrape_tracker()
    tracker.wait_for("libtorrent", has(2), "a scrape")
    session.remove_torrent(handle)
    tracker.wait_for("libtorrent", has(1, 3), "an announce (stopped)")
    del session
    return port


def run_transmission(tracker, torrent_path, workdir):
    port = free_tcp_port()
    tracker.set_tag("transmission")
    config = os.path.join(workdir, "transmission-config")
    download = os.path.join(workdir, "transmission-download")
    os.makedirs(config)
    os.makedirs(download)
    proc = subprocess.Popen(
        ["transmission-cli", "-g", config, "-w", download, "-p", str(port), "-M", torrent_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        tracker.wait_for("transmission", has(1, 2), "an announce (started)")
        tracker.wait_for("transmission", has(2), "a scrape")
        proc.send_signal(signal.SIGINT)
        tracker.wait_for("transmission", has(1, 3), "an announce (stopped)")
        proc.wait(timeout=CLIENT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return port


def build_request(connection_id, action, transaction_id, body=b""):
    return struct.pack(">QII", connection_id, action, transaction_id) + body


def build_announce(connection_id, transaction_id, info_hash, peer_id, port, event=2):
    body = bytes.fromhex(info_hash) + peer_id + struct.pack(
        ">qqqIIIiH", 0, 64 * 1024, 0, event, 0, 0x5eed, 50, port)
    return build_request(connection_id, 1, transaction_id, body)


def run_opentracker(info_hash, workdir):
    """Asks opentracker for one of each response; returns {what: datagram}."""
    port = free_tcp_port()
    root = os.path.join(workdir, "opentracker-root")
    os.makedirs(root)
    os.chmod(root, 0o755)
    with open(os.path.join(root, "whitelist.txt"), "w") as f:
        f.write(info_hash + "\n")
    conf = os.path.join(workdir, "opentracker.conf")
    with open(conf, "w") as f:
        # The whitelist is opened after the chroot into rootdir (PEERS.md).
        f.write(f"listen.tcp_udp 127.0.0.1:{port}\naccess.whitelist /whitelist.txt\n"
                f"tracker.rootdir {root}\ntracker.user _opentracker\n")
    proc = subprocess.Popen(["opentracker", "-f", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    got = {}

    def ask(what, request):
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while time.monotonic() < deadline:
            sock.sendto(request, ("127.0.0.1", port))
            try:
                got[what] = sock.recvfrom(65535)[0]
                return got[what]
            except socket.timeout:
                continue
        raise SystemExit(f"capture: opentracker did not answer the {what} request")

    try:
        connect = ask("connect_response", build_request(PROTOCOL_ID, 0, 0x1001))
        connection_id = struct.unpack(">Q", connect[8:16])[0]
        ask("announce_response_first_peer",
            build_announce(connection_id, 0x1002, info_hash, b"-RF0001-peer-one----", 6881))
        ask("announce_response_second_peer",
            build_announce(connection_id, 0x1003, info_hash, b"-RF0001-peer-two----", 6882))
        ask("scrape_response", build_request(connection_id, 2, 0x1004, bytes.fromhex(info_hash)))
        ask("announce_refused_off_whitelist",
            build_announce(connection_id, 0x1005, "ff" * 20, b"-RF0001-peer-one----", 6881))
    finally:
        sock.close()
        proc.send_signal(signal.SIGINT)  # it stops through abort() in the chroot: harmless
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return got


def keep(datagrams):
    """The first connect, the first announce of each event, and the first scrape."""
    kept = {}
    for d in datagrams:
        action = action_of(d)
        if action == 0:
            kept.setdefault("connect", d)
        elif action == 1:
            kept.setdefault("announce_" + EVENTS.get(event_of(d), "unknown"), d)
        elif action == 2:
            kept.setdefault("scrape", d)
    return kept


def cxx_name(client, what):
    return "k" + "".join(p.capitalize() for p in f"{client}_{what}".split("_"))


def cxx_bytes(data):
    lines = []
    for i in range(0, len(data), 12):
        lines.append("    " + " ".join(f"0x{b:02x}," for b in data[i:i + 12]))
    return "\n".join(lines)


def write_outputs(out_dir, corpus_dir, response_corpus_dir, captures, facts):
    inc = [
        "// Generated by tools/captures/udp_capture.py: datagrams real clients sent to a",
        "// fake UDP tracker on 127.0.0.1. Do not edit; re-run the script instead.",
        f"// Captured {facts['date']} with libtorrent {lt.__version__} and {facts['transmission']}.",
        "#ifndef REEF_PROTOCOL_UDP_TESTDATA_CAPTURES_INC_",
        "#define REEF_PROTOCOL_UDP_TESTDATA_CAPTURES_INC_",
        "",
        "#include <cstdint>",
        "#include <string_view>",
        "",
        "namespace reef::udp::captures {",
        "",
        "// The torrent every client was given (v1, one 64 KiB file); opentracker had it on",
        "// its whitelist.",
        f"inline constexpr std::string_view kInfoHashHex = \"{facts['info_hash']}\";",
        f"inline constexpr uint16_t kLibtorrentPort = {facts['libtorrent_port']};",
        f"inline constexpr uint16_t kTransmissionPort = {facts['transmission_port']};",
        f"inline constexpr std::string_view kTrackerPath = \"/announce\";",
        "",
        "// Everything each client sent, in order (the first of each kind is kept below):",
    ]
    for client, sequence in facts["sequences"].items():
        inc.append(f"//   {client}: {sequence}")
    inc.append("")
    for (client, what), data in sorted(captures.items()):
        name = f"{client}_{what}"
        seed_dir = response_corpus_dir if client == "opentracker" else corpus_dir
        with open(os.path.join(seed_dir, "capture_" + name), "wb") as f:
                f.write(data)
        inc.append(f"// {client}: " + (f"{what} ({len(data)} bytes)" if client == "opentracker"
                                         else describe(data)))
        inc.append(f"inline constexpr uint8_t {cxx_name(client, what)}[] = {{")
        inc.append(cxx_bytes(data))
        inc.append("};")
        inc.append("")
    inc += ["}  // namespace reef::udp::captures", "",
            "#endif  // REEF_PROTOCOL_UDP_TESTDATA_CAPTURES_INC_", ""]
    with open(os.path.join(out_dir, "captures.inc"), "w") as f:
        f.write("\n".join(inc))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "protocol", "udp", "testdata"))
    parser.add_argument("--corpus", default=os.path.join(root, "corpus", "udp_request_fuzzer"))
    parser.add_argument("--response-corpus",
                        default=os.path.join(root, "corpus", "udp_response_fuzzer"))
    args = parser.parse_args()

    tracker = FakeTracker()
    tracker.start()
    captures = {}
    facts = {"date": datetime.date.today().isoformat()}
    version = subprocess.run(["transmission-cli", "--version"], capture_output=True, text=True)
    facts["transmission"] = (version.stdout + version.stderr).strip().split("(")[0].strip()
    with tempfile.TemporaryDirectory(prefix="reef-capture-") as workdir:
        torrent_path, facts["info_hash"] = make_torrent(workdir, tracker.port)
        facts["libtorrent_port"] = run_libtorrent(tracker, torrent_path, workdir)
        facts["transmission_port"] = run_transmission(tracker, torrent_path, workdir)
        for what, data in run_opentracker(facts["info_hash"], workdir).items():
            captures[("opentracker", what)] = data
    tracker.stopping = True
    tracker.join(timeout=5)
    facts["sequences"] = {}
    for client in ("libtorrent", "transmission"):
        datagrams = tracker.of(client)
        facts["sequences"][client] = ", ".join(describe(d) for d in datagrams)
        print(f"capture: {client}: " + facts["sequences"][client])
        for what, data in keep(datagrams).items():
            captures[(client, what)] = data
    os.makedirs(args.corpus, exist_ok=True)
    os.makedirs(args.response_corpus, exist_ok=True)
    write_outputs(args.out, args.corpus, args.response_corpus, captures, facts)
    print(f"capture: wrote {len(captures)} datagrams to {args.out}, {args.corpus} and "
          f"{args.response_corpus}")


if __name__ == "__main__":
    main()
