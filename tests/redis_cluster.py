#!/usr/bin/python3
"""Starts a real Redis Cluster on loopback for a test, runs the test, stops the cluster.

    with RedisCluster(work_dir) as cluster:      # 3 masters + 3 replicas by default
        cluster.masters                          # ["127.0.0.1:PORT", ...]
        cluster.nodes                            # masters and replicas
        cluster.cli(port, "CLUSTER", "INFO")     # redis-cli against one node
    # after the block every redis-server it started has been stopped by its PID

As a test wrapper (what server/redis's cluster tests are):

    tests/redis_cluster.py [--masters 3] [--replicas 1] [--max-seconds 240] -- TEST [ARGS]

starts the cluster, runs TEST with REEF_REDIS_NODES (every node, comma-separated
ip:port, masters first), REEF_REDIS_MASTERS and REEF_REDIS_PIDS (port:pid of every
node, so a test can kill one as a machine would fail) in its environment, bounded by
--max-seconds, stops the cluster and exits with TEST's status. It fails (never skips)
when redis-server or redis-cli is missing: `bash scripts/setup.sh` installs them.

Each node is its own `redis-server` process with its own config file and directory under
the work directory ($TEST_TMPDIR under Bazel), on a port free on 127.0.0.1 whose cluster
bus port (port + 10000) is free too; no persistence (save "", appendonly no), a 3 s
cluster-node-timeout so a replica takes over a dead master within seconds (and a node
slowed down by a loaded machine is not taken for dead: 1 s did cause failovers under
load), and
cluster-require-full-coverage no so the slots of live masters keep being served while one
is down; it is up when every node reports cluster_state:ok and every replica has finished
its first sync. The system's redis-server service (port 6379) is never used. Every wait has a
deadline; every server started is stopped with SIGTERM, then SIGKILL after 10 s.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NODE_TIMEOUT_MS = 3000
START_SECONDS = 60
CREATE_SECONDS = 120
STABLE_SECONDS = 120
START_ATTEMPTS = 3


class NodeExited(RuntimeError):
    """A redis-server exited while the cluster was being set up: most often a port that
    another process took between the probe and the bind, so main() tries new ports."""


def free_cluster_port():
    """A port free on 127.0.0.1 (TCP) whose bus port, port + 10000, is free too."""
    for _ in range(500):
        probes = []
        try:
            a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(a)
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port + 10000 > 65535:
                continue
            b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(b)
            b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
    raise RuntimeError("no free port pair for a redis cluster node")


def require_tools():
    missing = [t for t in ("redis-server", "redis-cli") if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found: install Debian's redis-server "
                           f"and redis-tools (bash scripts/setup.sh)")


class RedisCluster:
    def __init__(self, work, masters=3, replicas=1):
        require_tools()
        self.work = work
        self.count = masters * (1 + replicas)
        self.master_count = masters
        self.replicas = replicas
        self.ports = []
        self.procs = {}  # port -> Popen
        self.masters = []
        self.nodes = []

    def _start_node(self, port):
        directory = os.path.join(self.work, f"redis-{port}")
        os.makedirs(directory, exist_ok=True)
        config = os.path.join(directory, "redis.conf")
        with open(config, "w") as f:
            f.write(f"port {port}\n"
                    f"bind 127.0.0.1\n"
                    f"dir {directory}\n"
                    f"logfile {directory}/redis.log\n"
                    "daemonize no\n"
                    "save \"\"\n"
                    "appendonly no\n"
                    "cluster-enabled yes\n"
                    "cluster-config-file nodes.conf\n"
                    f"cluster-node-timeout {NODE_TIMEOUT_MS}\n"
                    "cluster-require-full-coverage no\n"
                    "cluster-replica-validity-factor 0\n"
                    "maxmemory 256mb\n"
                    "maxmemory-policy noeviction\n"
                    # a replica's first full sync starts at once, not after 5 s
                    "repl-diskless-sync-delay 0\n")
        self.procs[port] = subprocess.Popen(["redis-server", config],
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def cli(self, port, *args, timeout=10):
        result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                                capture_output=True, text=True, timeout=timeout)
        return result.stdout

    def _wait(self, what, seconds, ready):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for port, proc in self.procs.items():
                if proc.poll() is not None:
                    raise NodeExited(f"redis-server on {port} exited while waiting for "
                                     f"{what}:\n{self.log(port)}")
            try:
                if ready():
                    return
            except (subprocess.TimeoutExpired, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"redis cluster: no {what} within {seconds} s\n" + self.logs())

    def log(self, port):
        path = os.path.join(self.work, f"redis-{port}", "redis.log")
        try:
            with open(path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def logs(self):
        return "\n".join(f"--- redis {p}:\n{self.log(p)}" for p in self.ports)

    def _stable(self):
        """Every node says cluster_state:ok and sees every slot served, by masters that
        each have their replicas."""
        for port in self.ports:
            info = self.cli(port, "CLUSTER", "INFO")
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return False
        nodes = self.cli(self.ports[0], "CLUSTER", "NODES").splitlines()
        masters = [l for l in nodes if " master " in l or ",master " in l]
        replicas = [l for l in nodes if "slave" in l]
        if len(masters) != self.master_count or \
                len(replicas) != self.master_count * self.replicas:
            return False
        # Every replica has finished its first sync and follows its master's stream.
        for line in replicas:
            port = int(line.split()[1].split("@")[0].rsplit(":", 1)[1])
            info = self.cli(port, "INFO", "REPLICATION")
            if "master_link_status:up" not in info or "master_sync_in_progress:0" not in info:
                return False
        return True

    def __enter__(self):
        try:
            self.ports = [free_cluster_port() for _ in range(self.count)]
            if len(set(self.ports)) != len(self.ports):
                raise NodeExited("the same port twice")
            for port in self.ports:
                self._start_node(port)
            self._wait("PONG from every node", START_SECONDS,
                       lambda: all(self.cli(p, "PING").strip() == "PONG" for p in self.ports))
            addresses = [f"127.0.0.1:{p}" for p in self.ports]
            create = subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas",
                 str(self.replicas), "--cluster-yes"],
                capture_output=True, text=True, timeout=CREATE_SECONDS)
            if create.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed:\n{create.stdout}\n"
                                   f"{create.stderr}")
            self._wait("cluster_state:ok on every node", STABLE_SECONDS, self._stable)
            self._find_roles()
            return self
        except BaseException:
            self.stop()
            raise

    def _find_roles(self):
        self.masters, replicas = [], []
        for line in self.cli(self.ports[0], "CLUSTER", "NODES").splitlines():
            fields = line.split()
            address = fields[1].split("@")[0]
            (self.masters if "master" in fields[2] else replicas).append(address)
        self.nodes = self.masters + replicas

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __exit__(self, *exc):
        self.stop()
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=240)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no test command after --")
    # A SIGTERM (Bazel's timeout) unwinds through the with-block, which stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    for attempt in range(1, START_ATTEMPTS + 1):
        work = tempfile.mkdtemp(prefix="redis-cluster-", dir=os.environ.get("TEST_TMPDIR"))
        cluster = RedisCluster(work, args.masters, args.replicas)
        try:
            cluster.__enter__()
            break
        except NodeExited as e:
            print(f"redis cluster start {attempt} of {START_ATTEMPTS} failed: {e}",
                  file=sys.stderr)
            if attempt == START_ATTEMPTS:
                raise
    try:
        print(f"redis cluster up in {time.monotonic() - started:.1f} s: masters "
              f"{' '.join(cluster.masters)}", flush=True)
        env = dict(os.environ, REEF_REDIS_NODES=",".join(cluster.nodes),
                   REEF_REDIS_MASTERS=",".join(cluster.masters),
                   REEF_REDIS_PIDS=",".join(f"{port}:{proc.pid}"
                                            for port, proc in cluster.procs.items()))
        try:
            status = subprocess.run(command, env=env, timeout=args.max_seconds).returncode
        except subprocess.TimeoutExpired:
            print(f"FAIL: {command[0]} still running after {args.max_seconds} s",
                  file=sys.stderr)
            status = 1
        if status != 0:
            print(cluster.logs(), file=sys.stderr)
    finally:
        cluster.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
