"""Real servers started locally for the scale-out tests: a 3-node Redis Cluster and a PostgreSQL primary with its
streaming standby (initdb, then pg_basebackup -R), each on free ports in a directory of their own.

`python -m tests.services.local_servers COMMAND…` runs COMMAND with TEST_DATABASE_URL on a private primary and
TEST_DATABASE_READ_URL on its synchronous standby (what `make test-replica` does).
"""
from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from tests.conftest import free_port


def _pg_bin(name: str) -> str:
    """A PostgreSQL server binary: on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server package")
    return candidates[-1]


class PostgresPair:
    """A private primary and its streaming standby in `root`; `synchronous` makes every commit wait until the
    standby has applied it (remote_apply), so a read on the standby sees any write that committed before it."""

    def __init__(self, root: Path, synchronous: bool = False) -> None:
        self.root, self.synchronous = root, synchronous
        self.primary_port, self.replica_port = free_port(), free_port()
        self.primary_dir, self.replica_dir = root / "primary", root / "replica"
        # PostgreSQL refuses to run as root: then it runs as the postgres user, which must own the directory.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as, *command], capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(_pg_bin("initdb"), "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        settings = {"listen_addresses": "'127.0.0.1'", "port": self.primary_port,
                    "unix_socket_directories": f"'{self.root}'", "wal_level": "replica", "max_wal_senders": 5,
                    "fsync": "off", "full_page_writes": "off", "shared_buffers": "'64MB'", "max_connections": 200,
                    "hot_standby_feedback": "on"}  # read on the standby, so long queries are not cancelled
        if self.synchronous:
            settings |= {"synchronous_standby_names": "'*'", "synchronous_commit": "remote_apply"}
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self._pg_ctl(self.primary_dir, "start")
        # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
        self._run(_pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                  "-D", str(self.replica_dir), "-R", "-X", "stream", "-c", "fast")
        with open(self.replica_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.replica_port}\n")
        self.start_replica()

    def _pg_ctl(self, data_dir: Path, action: str) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "server.log"), "-w", "-t", "60",
                  *(["-m", "fast"] if action == "stop" else []), action)

    def start_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "start")
        self.wait_streaming()

    def stop_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "stop")

    def wait_streaming(self, timeout_s: float = 30) -> None:
        """Until the primary lists the standby as streaming."""
        engine = create_engine(self.primary_url, isolation_level="AUTOCOMMIT")
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM pg_stat_replication "
                                         "WHERE state = 'streaming'")).scalar_one():
                        return
                time.sleep(0.1)
            raise RuntimeError("the standby did not start streaming")
        finally:
            engine.dispose()

    def stop(self) -> None:
        for data_dir in (self.replica_dir, self.primary_dir):
            if (data_dir / "postmaster.pid").exists():
                self._pg_ctl(data_dir, "stop")


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = random.randint(20000, 50000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue


class LocalRedisCluster:
    """Three redis-server nodes with --cluster-enabled yes, joined by `redis-cli --cluster create` (no replicas)."""

    def __init__(self, root: Path, nodes: int = 3) -> None:
        self.root = root
        self.ports = [_cluster_port() for _ in range(nodes)]
        self.procs: list[subprocess.Popen] = []
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"
        self.settings = {"redis_url": self.url, "redis_cluster": True}

    def _start_node(self, port: int) -> subprocess.Popen:
        node_dir = self.root / str(port)
        node_dir.mkdir(exist_ok=True)
        proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                 "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                                 "--dir", str(node_dir)], stdout=subprocess.PIPE)
        for line in iter(proc.stdout.readline, b""):
            if b"Ready to accept connections" in line:
                return proc
        raise RuntimeError(f"redis-server on {port} did not start (exit code {proc.wait()})")

    def start(self) -> None:
        """Start the nodes; the first time, create the cluster. Returns once every node says cluster_state:ok."""
        created = (self.root / str(self.ports[0]) / "nodes.conf").exists()
        self.procs = [self._start_node(port) for port in self.ports]
        if not created:
            subprocess.run([shutil.which("redis-cli"), "--cluster", "create",
                            *[f"127.0.0.1:{port}" for port in self.ports], "--cluster-replicas", "0",
                            "--cluster-yes"], check=True, capture_output=True, timeout=60)
        self.wait_ok()

    def wait_ok(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(redis.Redis(port=port).cluster("info").get("cluster_state") == "ok" for port in self.ports):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster.from_url(self.url)

    def flush(self) -> None:
        for port in self.ports:
            redis.Redis(port=port).flushall()

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)
            proc.stdout.close()


def main(command: list[str]) -> int:
    """Run command against a private synchronous primary + standby pair; its exit code."""
    with tempfile.TemporaryDirectory(prefix="aqi-pg-pair-") as tmp:
        pair = PostgresPair(Path(tmp), synchronous=True)
        try:
            pair.start()
            env = {**os.environ, "TEST_DATABASE_URL": pair.primary_url, "TEST_DATABASE_READ_URL": pair.replica_url}
            return subprocess.run(command, env=env).returncode
        finally:
            pair.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m tests.services.local_servers COMMAND…")
    sys.exit(main(sys.argv[1:]))
