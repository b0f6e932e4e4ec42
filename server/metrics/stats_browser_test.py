#!/usr/bin/python3
"""The statistics page in a real browser: headless Chromium (Debian's chromium) loads
/stats from the reef binary's HTTP tracker port, and every number it shows must be the one
/stats.json gives.

Starts reef (UDP, HTTP with [ws] on, and the metrics listener on 127.0.0.1 port 0, no
snapshot), makes a small swarm over BEP 15 (three peers of one torrent from 127.0.0.1, one
a seeder) and a WebTorrent one (one browser-like seeder over a WebSocket, kept open), then,
with no more traffic, reads /stats.json and the DOM Chromium built from /stats (--dump-dom) and
compares each element's data-stat value with its key in the JSON. Also checks what the
page must not do: load anything (the Content-Security-Policy forbids it; the DOM has no
script, img or link element), and that the announce URLs are the ones the JSON gives.
Saves Chromium's screenshot of the page to $TEST_UNDECLARED_OUTPUTS_DIR/stats_page.png;
with --screenshot PATH (run by hand), to PATH (docs/stats_page.png, which the README
shows). The metrics listener serves the same page too: its /stats.json must agree.
"""

import argparse
import html.parser
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

# The binary: server/reef in the test's runfiles; REEF=bazel-bin/server/reef by hand.
REEF = os.environ.get("REEF", "server/reef")
DEADLINE_S = 60


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def wait_for_line(log_path, pattern, proc):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        with open(log_path, errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(log_path, errors="replace") as f:
        fail("reef did not log %r:\n%s" % (pattern, f.read()))


def udp_exchange(sock, datagram):
    sock.send(datagram)
    return sock.recv(2048)


def make_swarm(udp_port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", udp_port))
    reply = udp_exchange(sock, struct.pack(">QII", 0x41727101980, 0, 7))
    action, tid, connection_id = struct.unpack(">IIQ", reply[:16])
    if action != 0 or tid != 7:
        fail("no BEP 15 connect reply")
    info_hash = bytes([0x5a] * 20)
    for port, left in ((1001, 0), (1002, 500), (1003, 500)):
        peer_id = ("-qB4500-%012d" % port).encode()
        request = struct.pack(">QII20s20sQQQIIIiH", connection_id, 1, port, info_hash, peer_id,
                              0, left, 0, 2, 0, 0, -1, port)
        reply = udp_exchange(sock, request)
        if struct.unpack(">I", reply[:4])[0] != 1:
            fail("announce not answered: %r" % reply)
    sock.close()


def webtorrent_seeder(http_port):
    """Announces one WebTorrent seeder over a WebSocket and waits for the answer; the
    socket is returned open (the peer leaves the swarm when it closes)."""
    sock = socket.create_connection(("127.0.0.1", http_port), timeout=5)
    sock.sendall(b"GET /announce HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            fail("no answer to the WebSocket upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101 "):
        fail("WebSocket upgrade refused: %r" % head)
    announce = json.dumps({"action": "announce", "info_hash": "W" * 20, "peer_id": "-WW0100-" + "w" * 12,
                           "left": 0, "event": "started", "numwant": 0, "offers": []}).encode()
    mask = bytes(random.randrange(256) for _ in range(4))
    # A masked text frame; the message is under 64 KiB: a 16-bit extended length.
    sock.sendall(bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(announce)) + mask +
                 bytes(b ^ mask[i % 4] for i, b in enumerate(announce)))
    reply = head[head.index(b"\r\n\r\n") + 4:]
    while b"interval" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            fail("no answer to the WebTorrent announce: %r" % reply)
        reply += chunk
    return sock


class StatCollector(html.parser.HTMLParser):
    """data-stat elements' text (or data-value), announce URLs, and any element that
    would load something."""

    def __init__(self):
        super().__init__()
        self.stats = {}
        self.urls = []
        self.loaders = []
        self._open = None  # (kind, key) while inside a data-stat or URL element
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "object", "embed") or (
                tag == "link" and a.get("rel") != "noopener noreferrer"):
            self.loaders.append(tag)
        if "data-stat" in a:
            if "data-value" in a:
                self.stats[a["data-stat"]] = a["data-value"]
            else:
                self._open, self._text = ("stat", a["data-stat"]), ""
        elif "data-announce-url" in a:
            self._open, self._text = ("url", None), ""

    def handle_data(self, data):
        if self._open:
            self._text += data

    def handle_endtag(self, tag):
        if self._open and tag in ("span", "code"):
            kind, key = self._open
            if kind == "stat":
                self.stats[key] = self._text
            else:
                self.urls.append(self._text)
            self._open = None


def json_value(data, key):
    """The /stats.json value a data-stat key names: "peers.ipv4" is
    data["peers_by_family"]["ipv4"], "requests.udp" data["requests"]["udp"], ..."""
    if "." in key:
        group, name = key.split(".", 1)
        group = {"peers": "peers_by_family"}.get(group, group)
        if group == "requests_per_second":
            group = "requests_per_second_by_protocol"
        return data[group][name]
    return data[key]


def chromium(args, url):
    profile = tempfile.mkdtemp(prefix="reef-chromium-")
    try:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--user-data-dir=" + profile] + args + [url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE_S)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot", help="also save the screenshot here")
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        fail("chromium not found: install Debian's chromium (bash scripts/setup.sh)")
    tmp = os.environ.get("TEST_TMPDIR", tempfile.gettempdir())
    config = os.path.join(tmp, "stats_browser.toml")
    with open(config, "w") as f:
        f.write('[udp]\nlisten = ["127.0.0.1:0"]\n[http]\nlisten = ["127.0.0.1:0"]\n'
                '[metrics]\nlisten = ["127.0.0.1:0"]\npublic_host = "tracker.example.org"\n'
                'homepage = "https://example.org/about?a=1&b=<2>"\n'
                '[snapshot]\nenabled = false\n')
    log_path = os.path.join(tmp, "stats_browser_reef.log")
    with open(log_path, "w") as log:
        reef = subprocess.Popen([REEF, "--config", config], stderr=log, stdout=log)
    try:
        udp_port = int(wait_for_line(log_path, r"udp: listening on 127\.0\.0\.1:(\d+)", reef).group(1))
        http_port = int(wait_for_line(log_path, r"http: listening on 127\.0\.0\.1:(\d+)", reef).group(1))
        port = int(wait_for_line(log_path, r"metrics: serving http://127\.0\.0\.1:(\d+)", reef).group(1))
        wait_for_line(log_path, r"supervisor: ", reef)
        make_swarm(udp_port)
        browser = webtorrent_seeder(http_port)
        # The page is the HTTP tracker's, on the port clients announce to.
        base = "http://127.0.0.1:%d" % http_port
        data = json.load(urllib.request.urlopen(base + "/stats.json", timeout=DEADLINE_S))
        on_metrics = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%d/stats.json" % port, timeout=DEADLINE_S))
        for key in ("torrents", "peers", "seeders", "leechers", "webtorrent", "announce_urls"):
            if on_metrics[key] != data[key]:
                fail("%s: the metrics listener says %r, the HTTP listener %r"
                     % (key, on_metrics[key], data[key]))
        page = chromium(["--dump-dom"], base + "/stats")
        if page.returncode != 0 or "data-stat" not in page.stdout:
            fail("chromium --dump-dom failed (%d):\n%s" % (page.returncode, page.stderr[-2000:]))
        collected = StatCollector()
        collected.feed(page.stdout)
        if data["torrents"] != 1 or data["peers"] != 3 or data["seeders"] != 1:
            fail("unexpected /stats.json after a swarm of 3 peers: %r" % data)
        if (data["webtorrent"] != {"torrents": 1, "peers": 1, "seeders": 1, "leechers": 0} or
                data["requests"].get("webtorrent") != 1):
            fail("unexpected /stats.json after one WebTorrent announce: %r" % data)
        # Uptime and rates move while the page loads: each number the page shows must be
        # what /stats.json said just before or just after (a rate it does not know yet is
        # "-" on the page, null in the JSON); the counts are the same in both.
        after = json.load(urllib.request.urlopen(base + "/stats.json", timeout=DEADLINE_S))
        checked = 0
        for key, shown in sorted(collected.stats.items()):
            expected = {json_value(data, key), json_value(after, key)}
            if key == "uptime_s":
                ok = min(expected) <= int(shown) <= max(expected)
            else:
                ok = shown in {"-" if v is None else str(v) for v in expected}
            if not ok and key.startswith("requests_per_second") and len(expected) > 1:
                # A rate is sampled every 5 s: on a busy machine Chromium can take longer
                # than that to load the page, and the rate moves through a value neither
                # JSON saw. It must still be a rate, not a placeholder.
                ok = re.fullmatch(r"\d+(\.\d+)?(e[+-]\d+)?", shown) is not None
            if not ok:
                fail("%s: the page shows %r, /stats.json says %r" % (key, shown, sorted(map(str, expected))))
            checked += 1
        for key in ("torrents", "peers", "seeders", "leechers", "peers.ipv4", "peers.ipv6",
                    "requests.udp", "version", "uptime_s", "webtorrent.torrents",
                    "webtorrent.peers", "webtorrent.seeders", "webtorrent.leechers",
                    "requests.webtorrent"):
            if key not in collected.stats:
                fail("the page shows no %s" % key)
        if (collected.urls != data["announce_urls"] or collected.urls != [
                "udp://tracker.example.org:%d/announce" % udp_port,
                "http://tracker.example.org:%d/announce" % http_port,
                "ws://tracker.example.org:%d/announce" % http_port]):
            fail("announce URLs: page %r, JSON %r" % (collected.urls, data["announce_urls"]))
        if collected.loaders:
            fail("the page has elements that load things: %r" % collected.loaders)
        if "https://example.org/about?a=1&amp;b=&lt;2&gt;" not in page.stdout:
            fail("the homepage link is not there, escaped")
        out_dir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmp)
        shot = os.path.join(out_dir, "stats_page.png")
        taken = chromium(["--screenshot=" + shot, "--window-size=900,1000",
                          "--hide-scrollbars"], base + "/stats")
        if taken.returncode != 0 or not os.path.exists(shot) or os.path.getsize(shot) < 1000:
            fail("no screenshot (%d):\n%s" % (taken.returncode, taken.stderr[-2000:]))
        if args.screenshot:
            shutil.copyfile(shot, args.screenshot)
        browser.close()
        print("stats page in chromium: %d numbers match /stats.json; screenshot %s" % (checked, shot))
    finally:
        reef.send_signal(signal.SIGTERM)
        try:
            reef.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            reef.kill()
            reef.wait()


if __name__ == "__main__":
    main()
