"""Cached values are JSON, never pickle: a value planted in Redis cannot run code, and values round-trip."""
import pickle
from datetime import date, datetime, timezone

import httpx
import numpy as np
import redis

from core.cache import AppCache, JSONSerializer
from dashboard import create_app


class Planted:
    """Unpickling this creates a file: proof that code from Redis ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_pickle_planted_in_redis_never_runs(own_context, serve_app, private_redis, tmp_path):
    base = serve_app(create_app(ctx=own_context(redis_url=private_redis.url)))
    marker = tmp_path / "ran"
    key = "aqi:cache:" + AppCache.key("stations", "cities")
    # What Flask-Caching's pickle serializer would have read back: "!" + a pickle.
    redis.Redis.from_url(private_redis.url).set(key, b"!" + pickle.dumps(Planted(str(marker))))
    response = httpx.get(f"{base}/api/v1/cities")
    assert response.status_code == 200 and response.json()["data"]
    assert not marker.exists()


def test_values_round_trip_with_their_types():
    value = (1.5, {"as_of": datetime(2026, 11, 20, 12, tzinfo=timezone.utc), "day": date(2026, 11, 20),
                   "z": np.array([1.5, 2.0]), "n": np.int64(3), "none": None, 7: "int key"})
    back = JSONSerializer().loads(JSONSerializer().dumps(value))
    assert back == [1.5, {"as_of": datetime(2026, 11, 20, 12, tzinfo=timezone.utc), "day": date(2026, 11, 20),
                          "z": [1.5, 2.0], "n": 3, "none": None, "7": "int key"}]
    assert isinstance(back[1]["as_of"], datetime) and back[1]["as_of"].tzinfo is not None
