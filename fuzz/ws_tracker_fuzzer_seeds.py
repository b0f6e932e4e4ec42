#!/usr/bin/env python3
"""Writes the hand seeds of ws_tracker_fuzzer into corpus/ws_tracker_fuzzer/, and those of
ws_stream_fuzzer into corpus/ws_stream_fuzzer/.

The fuzzer's input is a script of operations (see the top of ws_tracker_fuzzer.cc). The
seeds are:
  - capture_*: what bittorrent-tracker's two clients sent in
    protocol/ws/testdata/bittorrent_tracker_capture.txt, each client on its own
    connection and worker, every message framed as a browser frames it, with reads and
    mailbox drains between, so the fuzzer starts from offers, answers and scrapes that
    reach other connections;
  - from_ws_webtorrent_*: the hand seeds of ws_webtorrent_fuzzer (client messages), each
    sent on a connection beside a second, announced one;
  - from_ws_frame_*: the hand seeds of ws_frame_fuzzer, fed raw to a connection;
  - scenario_*: fragments and pings, close handshakes, an oversized message, a binary
    message, idle timeouts, a reader that never reads, shutdown.

ws_stream_fuzzer's seeds are byte streams a browser sends on one TCP connection (its
control bytes first: plain and TLS, the scripted peer offering or not, the clock moving):
the upgrade request, then the capture's client messages as masked frames, whole or split
into fragments with pings between; a request before the upgrade; refused upgrades.

Run it from the repository root after changing the format: python3 fuzz/ws_tracker_fuzzer_seeds.py
"""

import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "corpus", "ws_tracker_fuzzer")
SHA1 = re.compile(r"^[0-9a-f]{40}$")
MAX_CHUNK = 4096

OPS = {"open": 0, "raw": 1, "frame": 2, "read": 3, "tick": 4, "close": 5, "mailbox": 6,
       "shutdown": 7}
OPCODES = {"text": 0, "continuation": 1, "binary": 2, "ping": 3, "pong": 4, "close": 5}


def op(name, arg=0):
    return bytes([(arg << 3) | OPS[name]])


def open_conn(worker):
    return op("open", worker)


def frame(conn, payload, opcode="text", fin=True):
    payload = payload[:MAX_CHUNK]
    flags = (OPCODES[opcode] << 1) | (1 if fin else 0)
    return op("frame", conn) + bytes([flags]) + struct.pack("<H", len(payload)) + payload


def raw(conn, data):
    data = data[:MAX_CHUNK]
    return op("raw", conn) + struct.pack("<H", len(data)) + data


def read(conn, n=0):
    return op("read", conn) + bytes([n])


def tick(tenths):
    return op("tick") + struct.pack("<H", tenths)


def settle(conns):
    """Mailboxes drained, then every connection reads everything."""
    out = op("mailbox")
    for c in range(conns):
        out += read(c)
    return out


def capture_seeds():
    path = os.path.join(ROOT, "protocol", "ws", "testdata", "bittorrent_tracker_capture.txt")
    client_messages = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            direction, _, text = line.rstrip("\n").partition("\t")
            if direction == "client":
                client_messages.append(text)
    # Each peer id gets its own connection, in order of appearance; scrapes go on the first.
    peers = []
    script = open_conn(0) + open_conn(1) + open_conn(0)
    for text in client_messages:
        try:
            peer = json.loads(text).get("peer_id")
        except ValueError:
            peer = None
        if peer is not None and peer not in peers and len(peers) < 2:
            peers.append(peer)
        conn = peers.index(peer) if peer in peers else 2
        script += frame(conn, text.encode("utf-8")) + settle(3)
    yield "capture_two_clients", script
    # The same, with every message split into three fragments and a ping between.
    script = open_conn(0) + open_conn(1)
    for i, text in enumerate(client_messages[:6]):
        data = text.encode("utf-8")
        third = max(1, len(data) // 3)
        conn = i % 2
        script += frame(conn, data[:third], "text", fin=False)
        script += frame(conn, b"p", "ping")
        script += frame(conn, data[third:2 * third], "continuation", fin=False)
        script += frame(conn, data[2 * third:], "continuation", fin=True)
        script += settle(2)
    yield "capture_fragmented_with_pings", script


def webtorrent_corpus_seeds():
    src = os.path.join(ROOT, "corpus", "ws_webtorrent_fuzzer")
    announce = json.dumps({"action": "announce", "info_hash": "A" * 20, "peer_id": "B" * 20,
                           "event": "started", "numwant": 5, "left": 0}).encode()
    for name in sorted(os.listdir(src)):
        if SHA1.match(name) or "server" in name:
            continue
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        script = open_conn(0) + open_conn(1) + frame(1, announce) + settle(2)
        script += frame(0, data) + settle(2)
        yield "from_ws_webtorrent_" + name, script


def frame_corpus_seeds():
    src = os.path.join(ROOT, "corpus", "ws_frame_fuzzer")
    for name in sorted(os.listdir(src)):
        if SHA1.match(name) or not name.startswith(("client", "error")):
            continue
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()[1:]  # the first byte is that fuzzer's own control byte
        yield "from_ws_frame_" + name, open_conn(0) + raw(0, data) + read(0)


def scenario_seeds():
    announce = lambda peer, offers: json.dumps({
        "action": "announce", "info_hash": "T" * 20, "peer_id": peer * 20, "numwant": offers,
        "left": 1000, "event": "started",
        "offers": [{"offer_id": chr(ord("a") + i) * 20, "offer": {"type": "offer", "sdp": "v=0"}}
                   for i in range(offers)]}).encode()
    yield "scenario_close_handshake", (open_conn(0) + frame(0, announce("A", 0)) +
                                       frame(0, b"\x03\xe8bye", "close") + read(0))
    yield "scenario_oversized_message", (open_conn(0) + frame(0, b"x" * 3000) + read(0))
    yield "scenario_binary_message", (open_conn(0) + frame(0, b"\x01\x02", "binary") + read(0))
    yield "scenario_idle_timeout", (open_conn(0) + open_conn(1) + frame(0, announce("A", 0)) +
                                    frame(1, announce("B", 1)) + settle(2) + tick(15) +
                                    settle(2) + frame(1, b"", "pong") + tick(45) + settle(2))
    slow = open_conn(0) + frame(0, announce("S", 0))
    slow += open_conn(1)
    for _ in range(40):
        slow += frame(1, announce("T", 1)) + read(1) + op("mailbox")
    yield "scenario_reader_never_reads", slow + read(0, 3) + read(0)
    yield "scenario_shutdown", (open_conn(0) + open_conn(1) + frame(0, announce("A", 1)) +
                                frame(1, announce("B", 1)) + op("shutdown") + settle(2) +
                                frame(0, b"\x03\xe9", "close") + read(0) + op("close", 1))


UPGRADE = (b"GET /announce HTTP/1.1\r\nHost: tracker.example\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


def masked(payload, opcode="text", fin=True, key=b"\x11\x22\x33\x44"):
    """A client frame, as browsers write them."""
    op = {"text": 1, "continuation": 0, "binary": 2, "ping": 9, "pong": 10, "close": 8}[opcode]
    head = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def stream_seeds():
    path = os.path.join(ROOT, "protocol", "ws", "testdata", "bittorrent_tracker_capture.txt")
    messages = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            direction, _, text = line.rstrip("\n").partition("\t")
            if direction == "client":
                messages.append(text.encode("utf-8"))
    # The scripted peer's torrent ('T' * 16 bytes then 1 as 4 little-endian bytes; the
    # test utility's Id20 puts 0x00, '"' and 0xe9 at 1..3).
    torrent = bytearray(b"T" * 20)
    torrent[1], torrent[2], torrent[3] = 0x00, ord('"'), 0xE9
    torrent[16:20] = struct.pack("<I", 1)
    info_hash = json.dumps(torrent.decode("latin-1"))
    announce = ('{"action":"announce","info_hash":%s,"peer_id":"-WW0208-abcdefghijkl",'
                '"event":"started","numwant":5,"left":1000}' % info_hash).encode("utf-8")
    frames = b"".join(masked(m) for m in messages)
    for mode, name in ((0x02, "plain"), (0x0A, "plain_clock"), (0x03, "tls"), (0x06, "plain_closes")):
        yield f"{name}_capture", bytes([mode, 1, 2, 3]) + UPGRADE + frames
        yield f"{name}_joins_peer", bytes([mode, 4, 5, 6]) + UPGRADE + masked(announce) + frames[:2000]
    split = b""
    for m in messages[:6]:
        third = max(1, len(m) // 3)
        split += (masked(m[:third], "text", False) + masked(b"p", "ping") +
                  masked(m[third:2 * third], "continuation", False) +
                  masked(m[2 * third:], "continuation", True))
    yield "plain_fragments_and_pings", bytes([0x02, 7, 8, 9]) + UPGRADE + split
    yield "plain_request_then_upgrade", (bytes([0x02, 1, 1, 1]) +
                                         b"GET /announce?x HTTP/1.1\r\nHost: x\r\n\r\n" +
                                         UPGRADE + masked(announce))
    yield "plain_version_12_refused", bytes([0x00, 1, 1, 1]) + UPGRADE.replace(b"13", b"12")
    yield "plain_close_handshake", (bytes([0x02, 3, 3, 3]) + UPGRADE + masked(announce) +
                                    masked(b"\x03\xe8bye", "close"))
    yield "plain_oversized", bytes([0x00, 2, 2, 2]) + UPGRADE + masked(b"x" * 3000)
    yield "plain_idle_then_pong", bytes([0x08, 9, 9, 9]) + UPGRADE + masked(announce) + masked(b"", "pong")


def write(out, generators):
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if not SHA1.match(name):
            os.remove(os.path.join(out, name))
    count = 0
    for generator in generators:
        for name, data in generator():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
            count += 1
    print(f"wrote {count} seeds to {out}")


def main():
    write(OUT, (capture_seeds, webtorrent_corpus_seeds, frame_corpus_seeds, scenario_seeds))
    write(os.path.join(ROOT, "corpus", "ws_stream_fuzzer"), (stream_seeds,))


if __name__ == "__main__":
    main()
