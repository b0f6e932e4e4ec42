"""Starts the reef binary for a real-client test and stops it, bounded in time.

    with ReefProcess(reef_path, work_dir, https=True) as reef:
        reef.url("http", 4)      # "http://127.0.0.1:PORT/announce"
        reef.url("udp", 6)       # "udp://[::1]:PORT/announce"
        reef.ca_file             # the test CA (https=True), for clients to trust
    reef.exit_code, reef.log     # after the block: reef was stopped with SIGTERM

reef listens on loopback only: UDP and plain HTTP on one port free on both 127.0.0.1 and
::1, HTTPS on another. With https=True a test CA and a certificate for localhost,
127.0.0.1 and ::1 signed by it are made with the openssl command line first. reef is
stopped by its PID (SIGTERM, then SIGKILL after 30 s); the log is kept for the test to
print and grep.
"""

import os
import signal
import socket
import subprocess
import time


def free_port(kind):
    """A port free for `kind` (SOCK_DGRAM or SOCK_STREAM) on 127.0.0.1 and ::1 right now,
    and for the other kind too, so UDP and TCP can share it."""
    for _ in range(200):
        probes = []
        try:
            a = socket.socket(socket.AF_INET, kind)
            probes.append(a)
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            for family, host in ((socket.AF_INET6, "::1"),):
                for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(family, k)
                    probes.append(s)
                    s.bind((host, port))
            other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET, other)
            probes.append(s)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
    raise RuntimeError("no free port")


def make_test_ca(work):
    """A CA and a localhost certificate signed by it; returns (ca, chain, key) paths."""
    ca_key = os.path.join(work, "ca.key")
    ca = os.path.join(work, "ca.pem")
    key = os.path.join(work, "key.pem")
    csr = os.path.join(work, "leaf.csr")
    leaf = os.path.join(work, "leaf.pem")
    ext = os.path.join(work, "leaf.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True,
                                       timeout=60)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=reef test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", leaf, "-days", "2", "-extfile", ext)
    return ca, leaf, key


class ReefProcess:
    def __init__(self, reef, work, https=False, extra_config=""):
        self.reef = reef
        self.work = work
        self.port = free_port(socket.SOCK_DGRAM)
        self.tls_port = free_port(socket.SOCK_STREAM) if https else None
        self.ca_file = None
        config = (f'[udp]\nlisten = ["127.0.0.1:{self.port}", "[::1]:{self.port}"]\n\n'
                  f'[http]\nlisten = ["127.0.0.1:{self.port}", "[::1]:{self.port}"]\n')
        if https:
            self.ca_file, chain, key = make_test_ca(work)
            config += (f'\n[http.tls]\n'
                       f'listen = ["127.0.0.1:{self.tls_port}", "[::1]:{self.tls_port}"]\n'
                       f'certificate_chain = "{chain}"\nprivate_key = "{key}"\n')
        config += extra_config
        self.config_path = os.path.join(work, "reef.toml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.log_path = os.path.join(work, "reef.log")
        self.proc = None
        self.exit_code = None
        self.log = ""

    def url(self, scheme, family=4, path="announce"):
        host = "127.0.0.1" if family == 4 else "[::1]"
        port = self.tls_port if scheme == "https" else self.port
        return f"{scheme}://{host}:{port}/{path}"

    def __enter__(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.reef, "--config", self.config_path],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"reef exited at start:\n{self.read_log()}")
            if "supervisor: running" in self.read_log():
                # Real clients talk to reef under its seccomp filter (the default).
                if " system calls allowed" not in self.read_log():
                    raise RuntimeError(f"reef runs without seccomp:\n{self.read_log()}")
                return self
            time.sleep(0.1)
        raise RuntimeError(f"reef did not start in 30 s:\n{self.read_log()}")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, signo):
        self.proc.send_signal(signo)

    def stop(self):
        if self.proc is None or self.exit_code is not None:
            return self.exit_code
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.exit_code = -9
        self.log = self.read_log()
        return self.exit_code

    def __exit__(self, *exc):
        self.stop()
        return False
