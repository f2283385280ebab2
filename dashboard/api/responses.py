"""Response bodies: compact JSON, GeoJSON, streamed CSV; and the caching headers every success carries."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson
from flask import Response, request

JSON = "application/json"
GEOJSON = "application/geo+json"
CSV = "text/csv"
HTML = "text/html"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def json_response(payload, status: int = 200, mimetype: str = JSON) -> Response:
    """`payload` as compact JSON; datetimes become UTC ISO 8601 with Z (naive ones are UTC by our storage rule)."""
    return Response(orjson.dumps(payload, option=_OPTIONS), status=status, mimetype=mimetype)


def feature_collection(page: dict, properties_of) -> dict:
    """A list page as a GeoJSON FeatureCollection of points, its meta kept as a foreign member."""
    features = []
    for row in page["data"]:
        lon, lat = row["lon"], row["lat"]
        features.append({"type": "Feature", "id": row["id"],
                         "geometry": None if lon is None or lat is None else
                         {"type": "Point", "coordinates": [lon, lat]},
                         "properties": properties_of(row)})
    return {"type": "FeatureCollection", "features": features, "meta": page["meta"]}


def csv_response(chunks: Iterable[str], filename: str) -> Response:
    """A streamed CSV download: `chunks` is consumed as the client reads, never held whole."""
    response = Response(chunks, mimetype=CSV)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def cacheable(response: Response, max_age: int) -> Response:
    """Cache-Control for shared caches and, unless streamed, a strong ETag of the body (304 when it matches).

    max_age 0: a private answer (signed-in users, actions) that no cache may keep.
    """
    if max_age == 0:
        response.headers["Cache-Control"] = "no-store"
        return response
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if not response.is_streamed:
        response.set_etag(hashlib.blake2b(response.get_data(), digest_size=16).hexdigest())
        response.make_conditional(request)
    return response
