"""The OpenAPI 3.1 document, built from the route registry and the pydantic models: nothing written twice."""
from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from core.db.queries import MAX_LIMIT
from core.settings import Settings
from core.users import required_role
from dashboard.api.routes import PREFIX, ROUTES, Route
from dashboard.api.schemas import ErrorResponse

REF = "#/components/schemas/{model}"
ERRORS = {
    400: "A parameter is missing, unknown, repeated or not allowed; the message names it and what is allowed.",
    401: "Sign in first: a session cookie from /login, or HTTP Basic credentials.",
    403: "Signed in, but this needs a higher role.",
    404: "Nothing with that name or id.",
    409: "That job is already running.",
    429: "Too many requests from this address; see Retry-After.",
    503: "The forecast model is not loaded (missing or unreadable); the message says how to fix it.",
}
RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed per window for this client address.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the window resets (Unix time, seconds).",
}
DESCRIPTION = f"""Air quality: cities, stations, hourly measurements and the current AQI under US EPA (with
NowCast), India NAQI or the European EAQI.

* Lists take `limit` (1–{MAX_LIMIT}, default 100; more is a 400) and `page` (from 1) and answer
  `{{"data": [...], "meta": {{"page", "limit", "found"}}}}`; GeoJSON keeps the same `meta` beside `features`.
* Errors answer `{{"error": {{"code", "message"}}}}` with a 4xx status; unknown parameters are a 400.
* Times are UTC ISO 8601 with `Z`; every concentration states its unit (PM µg/m³; O3, NO2, SO2 ppb; CO ppm).
* Successes carry a strong `ETag` (send `If-None-Match` for a 304) and `Cache-Control: public, max-age`
  matching how often the data change; errors are `no-store`. Bodies over 1 KB are compressed (gzip, br).
* Rate limit per client address, reported in `X-RateLimit-*` headers; beyond it a 429."""


def document(settings: Settings) -> dict:
    """The OpenAPI document for an app's settings: an operation says it needs credentials when its role does."""
    return _document(tuple(required_role(r.access, settings) for r in ROUTES))


@lru_cache(maxsize=8)
def _document(roles: tuple[str, ...]) -> dict:
    """The whole document for the routes' roles (routes are registered at import, so this is built once)."""
    models = {m for r in ROUTES for m in r.content.values() if isinstance(m, type)} | {ErrorResponse}
    models |= {r.body for r in ROUTES if r.body}
    refs, defs = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=REF)
    schemas = {m: refs[(m, "serialization")] for m in models}
    return {
        "openapi": "3.1.0",
        "info": {"title": "AQI Predictor API", "version": "1.0.0", "description": DESCRIPTION},
        "paths": _paths(schemas, roles),
        "components": {"schemas": defs.get("$defs", {}),
                       "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }


def _paths(schemas: dict, roles: tuple[str, ...]) -> dict:
    paths: dict[str, dict] = {}
    for r, needed in zip(ROUTES, roles):
        paths.setdefault(PREFIX + r.path, {})[r.method.lower()] = _operation(r, schemas, needed)
    return paths


def _operation(route: Route, schemas: dict, needed: str) -> dict:
    parameters = _parameters(route.path_params, "path") + _parameters(route.query, "query")
    rate = {name: {"description": text, "schema": {"type": "integer"}} for name, text in RATE_HEADERS.items()}
    success = {
        "description": "OK",
        "headers": {"Cache-Control": {"description": "public, max-age=seconds", "schema": {"type": "string"}},
                    "ETag": {"description": "Strong validator of the body (not on streamed CSV).",
                             "schema": {"type": "string"}}, **rate},
        "content": {media: {"schema": schemas[model] if isinstance(model, type) else model}
                    for media, model in route.content.items()},
    }
    if route.status != 200:
        success["description"] = "Accepted"
    responses = {str(route.status): success,
                 "304": {"description": "Not modified: If-None-Match matched the ETag."}}
    for status in sorted({*route.errors, 429}):
        responses[str(status)] = {"description": ERRORS[status], "headers": rate if status == 429 else {},
                                  "content": {"application/json": {"schema": schemas[ErrorResponse]}}}
    operation = {"operationId": route.endpoint, "summary": route.summary, "description": route.description,
                 "parameters": parameters, "responses": responses}
    if route.body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": schemas[route.body]}}}
    if needed != "public":
        operation["security"] = [{"basic": []}, {"session": []}]
    return operation


def _parameters(model: type[BaseModel] | None, location: str) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        out.append({"name": name, "in": location, "required": location == "path" or name in required,
                    "description": description, "schema": _without_null(prop)})
    return out


def _without_null(schema: dict) -> dict:
    """A query parameter is absent or a string, never JSON null: drop the null branch of Optional."""
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
    return {**branches[0], **rest} if len(branches) == 1 else schema
