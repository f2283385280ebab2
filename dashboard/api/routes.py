"""The route registry: one decorator mounts a view and records what the OpenAPI document says about it."""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ValidationError

from dashboard import context
from dashboard.api.errors import APIError
from dashboard.api.responses import cacheable, json_response, reused
from dashboard.auth import PUBLIC

PREFIX = "/api/v1"
blueprint = Blueprint("api", __name__, url_prefix="/api", template_folder="templates")


@dataclass(frozen=True)
class Route:
    path: str  # OpenAPI form under PREFIX: /stations/{station_id}
    endpoint: str
    summary: str
    description: str
    query: type[BaseModel] | None
    path_params: type[BaseModel] | None
    content: dict[str, type[BaseModel] | dict]  # media type -> response model, or a plain JSON schema
    errors: tuple[int, ...]
    cache: str | int  # a settings TTL namespace, or seconds (0: private, never stored)
    method: str = "GET"
    # A settings field naming the role needed ("access_admin") or "public"; dashboard.access refuses a route
    # without one, and any method but GET needs an admin.
    access: str | None = None
    reuse: bool = False  # a busy public GET built from the app cache: each worker reuses its finished answer
    body: type[BaseModel] | None = None  # a JSON request body, validated and passed after the query model
    status: int = 200  # the success status (202: accepted, more to come)

    def max_age(self) -> int:
        return context.settings().ttl(self.cache) if isinstance(self.cache, str) else self.cache


ROUTES: list[Route] = []


def route(path: str, *, summary: str, content: dict[str, type[BaseModel] | dict], cache: str | int,
          query: type[BaseModel] | None = None, path_params: type[BaseModel] | None = None,
          errors: tuple[int, ...] = (400,), method: str = "GET", access: str | None = None,
          reuse: bool = False, body: type[BaseModel] | None = None, status: int = 200) -> Callable:
    """Mount a GET view at PREFIX + path and record it for the OpenAPI document.

    The view receives the validated query model (if any) and the validated path parameters as keywords, and
    returns a dict (sent as JSON) or a Response. Successes get Cache-Control and an ETag. `access` is enforced
    by dashboard.access, which wraps every view of the blueprint.
    """
    def register(view: Callable) -> Callable:
        spec = Route(path, view.__name__, summary, inspect.getdoc(view) or "", query, path_params,
                     content, (*errors, 401, 403) if access != PUBLIC else errors, cache, method, access, reuse, body, status)
        ROUTES.append(spec)

        # No timer here: dashboard.monitoring times every /api request, errors included.
        @functools.wraps(view)
        def handle(**raw: str) -> Response:
            def make() -> Response:
                args = [params(query)] if query else []
                if body:
                    args.append(json_body(body))
                result = view(*args, **path_values(path_params, raw))
                return result if isinstance(result, Response) else json_response(result)
            if spec.reuse:
                # An answer is kept only once make() has validated its query: an invalid one never keeps anything.
                return reused((view.__name__, request.query_string, *sorted(raw.items())), spec.max_age(), make)
            return cacheable(make(), spec.max_age())

        blueprint.add_url_rule(PREFIX.removeprefix("/api") + re.sub(r"{(\w+)}", r"<\1>", path),
                               view.__name__, handle, methods=[method])
        return view

    return register


def allowed_methods(path: str) -> list[str]:
    """The methods the registry documents for a path (the JSON-404 catch-all would add GET to every path)."""
    methods = {r.method for r in ROUTES if re.fullmatch(PREFIX + re.sub(r"{\w+}", "[^/]+", r.path), path)}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"}) if methods else []


def params(model: type[BaseModel]) -> Any:
    """The query string validated against `model`; a 400 naming the parameter otherwise."""
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    if repeated:
        raise APIError(400, "invalid_parameter", f"{repeated[0]}: given more than once")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise APIError(400, "invalid_parameter", _first_problem(exc)) from None


def json_body(model: type[BaseModel]) -> Any:
    """The request's JSON object validated against `model`; a 400 naming the field otherwise."""
    data = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if not isinstance(data, dict):
        raise APIError(400, "invalid_body", "send a JSON object with Content-Type: application/json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise APIError(400, "invalid_body", _first_problem(exc)) from None


def path_values(model: type[BaseModel] | None, raw: dict[str, str]) -> dict:
    """Path parameters validated against `model`: a value that cannot name anything is a 404."""
    if model is None:
        return {}
    try:
        return model.model_validate(raw).model_dump()
    except ValidationError as exc:
        raise APIError(404, "not_found", f"nothing at {request.path} ({_first_problem(exc)})") from None


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or "query"
    return f"{name}: {err['msg'].removeprefix('Value error, ')}"
