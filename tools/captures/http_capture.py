#!/usr/bin/python3
"""Captures what real BitTorrent clients send to an HTTP tracker, on loopback.

    bazel build //protocol/http:respond_tool
    /usr/bin/python3 tools/captures/http_capture.py [--out DIR]
                                                    [--clients libtorrent,transmission,aria2]

Runs a tiny fake HTTP tracker on 127.0.0.1 (a free port) that records the raw bytes of
every request head it receives, and answers each one through
bazel-bin/protocol/http/respond_tool, i.e. with a response written by reef's own
protocol/http library. Then it points real clients at it, one after the other, each for
a bounded time:
  - python3-libtorrent (Debian's, through /usr/bin/python3): a seeding session and a
    leeching session on the same torrent, a forced scrape, then a stop;
  - transmission-cli: seeds the torrent for a few seconds, then SIGINT (stopped);
  - aria2c: leeches (no data) for a few seconds, then SIGINT.
Each request is saved as DIR/<client>_<path>_<event>[_n].http, e.g.
libtorrent_announce_started.http, transmission_scrape.http. The files are test vectors
(protocol/http/capture_test.cc parses every one) and fuzz seeds.

Everything listens on and talks to 127.0.0.1 only; every wait is bounded; each client is
stopped through the PID this script started. DHT, LSD, UPnP, NAT-PMP and PEX are off.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESPOND = os.path.join(ROOT, "bazel-bin", "protocol", "http", "respond_tool")
MAX_HEAD = 65536
CLIENT_SECONDS = 12


class FakeTracker:
    """Records request heads and answers them through respond_tool."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.client = "unknown"
        self.names = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.saved = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        buf = b""
        try:
            for _ in range(32):  # requests per connection, bounded
                while b"\r\n\r\n" not in buf and b"\n\n" not in buf and len(buf) < MAX_HEAD:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                end = buf.find(b"\r\n\r\n")
                end = end + 4 if end >= 0 else buf.find(b"\n\n") + 2
                head, buf = buf[:end], buf[end:]
                self._save(head)
                answer = subprocess.run([RESPOND], input=head, capture_output=True, timeout=10)
                if answer.returncode not in (0, 1):
                    print(f"respond_tool failed: {answer.stderr!r}", file=sys.stderr)
                    return
                if answer.returncode == 1:
                    print(f"  refused: {answer.stderr.decode().strip()}", file=sys.stderr)
                conn.sendall(answer.stdout)
                if b"Connection: close" in answer.stdout:
                    return
        except (socket.timeout, ConnectionError):
            return
        finally:
            conn.close()

    def _save(self, head):
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        target = line.split(" ")[1] if line.count(" ") >= 2 else ""
        path = target.split("?")[0].strip("/").replace("/", "_") or "root"
        event = re.search(r"[?&]event=([a-z]*)", target)
        name = f"{self.client}_{path}" + (f"_{event.group(1)}" if event and event.group(1) else "")
        with self.lock:
            n = self.names.get(name, 0)
            self.names[name] = n + 1
            file_name = name + (f"_{n + 1}" if n else "") + ".http"
            with open(os.path.join(self.out_dir, file_name), "wb") as f:
                f.write(head)
            self.saved.append(file_name)
        print(f"  {file_name}: {line[:100]}")


def make_torrent(work, tracker_url):
    import libtorrent as lt
    data_dir = os.path.join(work, "seed")
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "payload.bin"), "wb") as f:
        f.write(os.urandom(256 * 1024))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(data_dir, "payload.bin"))
    t = lt.create_torrent(fs, 16 * 1024, flags=lt.create_torrent.v1_only)
    t.add_tracker(tracker_url)
    lt.set_piece_hashes(t, data_dir)
    path = os.path.join(work, "capture.torrent")
    with open(path, "wb") as f:
        f.write(lt.bencode(t.generate()))
    return path, data_dir


def run_libtorrent(torrent, data_dir, work):
    import libtorrent as lt
    settings = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "ssrf_mitigation": False,
        "alert_mask": lt.alert.category_t.tracker_notification,
    }
    info = lt.torrent_info(torrent)
    sessions = []
    for role, save in (("seed", data_dir), ("leech", os.path.join(work, "lt-leech"))):
        os.makedirs(save, exist_ok=True)
        ses = lt.session(settings)
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = save
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        params.flags |= lt.torrent_flags.disable_pex if hasattr(lt.torrent_flags, "disable_pex") else 0
        handle = ses.add_torrent(params)
        sessions.append((ses, handle))
    deadline = time.monotonic() + CLIENT_SECONDS
    scraped = False
    seen = {"tracker_reply": 0, "scrape_reply": 0, "errors": []}

    def drain():
        # libtorrent's view of our responses: replies it accepted, errors it saw.
        for ses, _ in sessions:
            for alert in ses.pop_alerts():
                kind = type(alert).__name__
                if kind == "tracker_reply_alert":
                    seen["tracker_reply"] += 1
                elif kind == "scrape_reply_alert":
                    seen["scrape_reply"] += 1
                elif kind in ("tracker_error_alert", "scrape_failed_alert"):
                    seen["errors"].append(alert.message())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        drain()
        if not scraped and time.monotonic() > deadline - CLIENT_SECONDS + 4:
            for _, handle in sessions:
                handle.scrape_tracker()
            scraped = True
    drain()
    print(f"  libtorrent accepted {seen['tracker_reply']} announce and {seen['scrape_reply']} "
          f"scrape responses; errors: {seen['errors'] or 'none'}")
    for ses, handle in sessions:
        ses.remove_torrent(handle)  # sends event=stopped
    time.sleep(3)
    del sessions


def run_process(args, seconds, cwd):
    log_path = os.path.join(cwd, os.path.basename(args[0]) + ".log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # both clients send event=stopped on SIGINT
        try:
            proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    log.close()
    # What the client said about the tracker: its view of our responses.
    with open(log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").replace("\r", "\n").splitlines()
    notes = sorted({line.strip() for line in lines
                    if re.search(r"tracker|announce|scrape|error|peer|interval", line, re.I)})
    for line in notes[-12:]:
        print(f"  {os.path.basename(args[0])} said: {line[:160]}")


def run_transmission(torrent, data_dir, work):
    config = os.path.join(work, "transmission-config")
    os.makedirs(config, exist_ok=True)
    run_process(["transmission-cli", "-g", config, "-w", data_dir, "-p", "51999", "-M",
                 torrent], CLIENT_SECONDS, work)


def run_aria2(torrent, data_dir, work):
    leech = os.path.join(work, "aria2-leech")
    os.makedirs(leech, exist_ok=True)
    run_process(["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                 "--enable-peer-exchange=false", "--listen-port=51998", "--seed-time=0",
                 "--summary-interval=0", "--log=-", "--log-level=info", "--dir", leech, torrent], CLIENT_SECONDS, work)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "protocol", "http", "testdata",
                                                      "captures"))
    parser.add_argument("--clients", default="libtorrent,transmission,aria2")
    args = parser.parse_args()
    if not os.access(RESPOND, os.X_OK):
        print("build it first: bazel build //protocol/http:respond_tool", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    tracker = FakeTracker(args.out)
    url = f"http://127.0.0.1:{tracker.port}/announce"
    runners = {"libtorrent": run_libtorrent, "transmission": run_transmission,
               "aria2": run_aria2}
    with tempfile.TemporaryDirectory() as work:
        torrent, data_dir = make_torrent(work, url)
        for client in args.clients.split(","):
            print(f"{client}: tracker {url}")
            tracker.client = client
            runners[client](torrent, data_dir, work)
            time.sleep(1)
    tracker.stop()
    print(f"{len(tracker.saved)} requests saved in {args.out}")
    return 0 if tracker.saved else 1


if __name__ == "__main__":
    sys.exit(main())
