"""Scale-out fixtures: Redis single or a real 3-node cluster for the cache and metrics tests, and a real PostgreSQL
primary + streaming standby pair for the read-replica tests."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import redis

from tests.conftest import TEST_REDIS_URL, RedisServer
from tests.services.local_servers import LocalRedisCluster, PostgresPair


class SingleRedis(RedisServer):
    """tests.conftest's throwaway redis-server, with the settings and client shape LocalRedisCluster has."""

    @property
    def settings(self) -> dict:
        return {"redis_url": self.url, "redis_cluster": False}

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A 3-node Redis Cluster on free ports, started once per run (about 2 s)."""
    cluster = LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["single", "cluster"])
def cache_redis(request):
    """A Redis of this test's own: a redis-server started for it, or the cluster emptied for it (both can be
    stopped and started again)."""
    if request.param == "single":
        server = SingleRedis()
        server.start()
        yield server
        if server.proc.poll() is None:
            server.stop()
        return
    cluster = request.getfixturevalue("redis_cluster")
    if any(proc.poll() is not None for proc in cluster.procs):
        cluster.start()
    cluster.flush()
    yield cluster
    if any(proc.poll() is not None for proc in cluster.procs):
        cluster.start()  # a test that stopped it leaves it running for the next


@pytest.fixture(params=["single", "cluster"])
def shared_redis(request) -> dict:
    """Settings (redis_url, redis_cluster) of an emptied Redis: database 13 of the local server, or the cluster."""
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        yield cluster.settings
        cluster.flush()
        return
    url = TEST_REDIS_URL.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield {"redis_url": url, "redis_cluster": False}
    client.flushdb()


@pytest.fixture(scope="session")
def pg_pair():
    """A private PostgreSQL primary and its asynchronous streaming standby (initdb, pg_basebackup -R), about 1 s."""
    # Not under pytest's tmp_path: its parent is private to this user, and the servers may run as postgres.
    with tempfile.TemporaryDirectory(prefix="aqi-pg-pair-") as root:
        pair = PostgresPair(Path(root))
        try:
            pair.start()
            yield pair
        finally:
            pair.stop()
