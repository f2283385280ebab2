"""Response bodies: compact JSON, GeoJSON, streamed CSV; the caching headers every success carries; and finished
answers reused for a moment, so a hit on a busy endpoint is a lookup and a write."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from flask import Response, current_app, request
from werkzeug.http import quote_etag
# Flask-Compress's own choice of encoding and compressor, so a reused answer is encoded exactly as it would be.
from flask_compress.flask_compress import _choose_algorithm, _compress_data, _format

from dashboard import context

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


# Request headers that can make an answer a 304, 412 or 206; without any, make_conditional changes nothing.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE",
               "HTTP_RANGE")
ANSWERS = "aqi_answers"  # server.extensions key: this app's reused answers
MAX_ANSWERS = 1024  # distinct queries kept per worker
MAX_ANSWER_BYTES = 32 << 20  # their bodies, per worker (the compressed copies are smaller): past either, expired
# answers are dropped, and if that is not enough the memo starts again


@dataclass
class Answer:
    """A finished 200 answer: body, ETag and Cache-Control, and its compressed copies, each made once."""
    body: bytes
    mimetype: str
    max_age: int
    etag: str
    generation: int  # the app cache's generation it was built from
    made: float
    encoded: dict[str | None, tuple[bytes, list[tuple[str, str]]]] = field(default_factory=dict)

    def respond(self) -> Response:
        """This answer to the current request: compressed as Flask-Compress would, 304 when the ETag matches."""
        encoding = None
        config = current_app.config
        if len(self.body) >= config["COMPRESS_MIN_SIZE"] and self.mimetype in config["COMPRESS_MIMETYPES"]:
            encoding = _choose_algorithm(_format(config["COMPRESS_ALGORITHM"]),
                                         request.environ.get("HTTP_ACCEPT_ENCODING", ""))
        if encoding not in self.encoded:
            self.encoded[encoding] = self._encode(encoding)
        body, headers = self.encoded[encoding]
        response = Response(body, headers=headers)
        return response.make_conditional(request) if any(h in request.environ for h in CONDITIONAL) else response

    def _encode(self, encoding: str | None) -> tuple[bytes, list[tuple[str, str]]]:
        headers = [("Content-Type", self.mimetype), ("Cache-Control", f"public, max-age={self.max_age}")]
        if encoding is None:
            return self.body, [*headers, ("ETag", quote_etag(self.etag))]
        return _compress_data(current_app, self.body, encoding), [
            *headers, ("ETag", quote_etag(f"{self.etag}:{encoding}")), ("Content-Encoding", encoding),
            ("Vary", "Accept-Encoding")]


def reused(key: tuple, max_age: int, make: Callable[[], Response]) -> Response:
    """The answer for `key` (the request's parameters) if this worker made it within settings.api_answer_reuse_s
    and the app cache has not changed since; otherwise make() it (which validates the parameters: only a valid
    request's 200 is kept), with the headers of `cacheable`."""
    ctx = context.current()
    reuse_s = ctx.settings.api_answer_reuse_s if ctx.settings.cache_enabled else 0
    answers: dict[tuple, Answer] = current_app.extensions.setdefault(ANSWERS, {})
    answer = answers.get(key)
    if answer is not None and answer.generation == ctx.cache.generation and time.monotonic() - answer.made < reuse_s:
        return answer.respond()
    generation = ctx.cache.generation  # read before computing: a change meanwhile makes the answer stale
    response = make()
    if not reuse_s or not max_age or response.status_code != 200 or response.is_streamed:
        return cacheable(response, max_age)
    body = response.get_data()
    answer = Answer(body, response.mimetype, max_age, hashlib.blake2b(body, digest_size=16).hexdigest(), generation,
                    time.monotonic())
    if len(answers) >= MAX_ANSWERS or sum(len(a.body) for a in list(answers.values())) > MAX_ANSWER_BYTES:
        now = time.monotonic()
        answers = {k: a for k, a in list(answers.items()) if a.generation == generation and now - a.made < reuse_s}
        if len(answers) >= MAX_ANSWERS or sum(len(a.body) for a in answers.values()) > MAX_ANSWER_BYTES:
            answers = {}
        current_app.extensions[ANSWERS] = answers  # a new dict: requests reading the old one are not disturbed
    answers[key] = answer
    return answer.respond()
