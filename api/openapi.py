"""The OpenAPI document, told as the API behaves: ``install(app)`` replaces ``app.openapi``.

FastAPI's own document is the starting point (paths, parameters and the pydantic models with their
constraints). On top of it, for every operation, from the route itself rather than typed by hand:

* the bearer security scheme (``Authorization: Bearer <api key>``) on every operation that depends
  on ``get_caller``, and none on the others (``/health``);
* the roles the operation admits, read from its ``require*`` dependencies (``api.deps.admits``),
  written in its description and as ``x-roles``;
* every error response it can give, each with ``ErrorBody`` (the one error shape the API sends,
  which replaces FastAPI's ``HTTPValidationError`` everywhere): 401 and 403 from its dependencies,
  404 for a path id, 422 for any input, 503 when it calls the engine, and whatever the domain
  errors (``postloan.errors``) and ``ApiError`` raised along its call graph say (409 where the
  service raises a conflict, …);
* every ``date-time`` documented with its time zone (responses always carry an offset).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, cast

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.deps import OBJECT_VENDOR, OWN_VENDOR, admits, get_caller, get_engine
from api.errors import ApiError, ErrorBody
from postloan.errors import DomainError

#: The packages whose functions the call-graph scan follows.
PROJECT_PACKAGES = ("api", "postloan", "gateway")
#: How deep the scan follows calls from a handler.
MAX_DEPTH = 8
#: A stable description per status, for the document.
ERROR_DESCRIPTIONS = {
    400: "The request cannot be carried out as sent.",
    401: "No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`).",
    403: "The key's role may not do this (see the roles above).",
    404: "No such object (an id of the path, or one the body refers to).",
    409: "Conflicts with the current state (a duplicate id, an object not in the state the "
    "request needs); nothing was saved.",
    422: "Invalid input: every offending field is named in `field` and `problems`; nothing was "
    "saved.",
    503: "The process engine (or another system the request needs) cannot be reached or "
    "refused the call; nothing was saved.",
}
#: On a date-time the API sends, and on one it receives.
TIME_ZONE_NOTE = "RFC 3339 date-time with its time zone offset (UTC is sent as `+00:00`)."
TIME_ZONE_INPUT_NOTE = "RFC 3339 date-time; give its time zone (`Z` or an offset)."
#: A date-time the API sends always ends with its offset.
TIME_ZONE_PATTERN = r"(Z|[+-]\d{2}:\d{2})$"
SECURITY_SCHEME = "apiKey"


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace it


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        openapi_version=app.openapi_version,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    for route in api_routes(app):
        for method in route.methods or ():
            operation = document["paths"][route.path_format].get(method.lower())
            if operation is not None:
                _document_operation(route, operation)
    _document_time_zones(document)
    return document


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every documented API route of ``app``, with the prefixes of the routers that include it
    (FastAPI keeps included routers as a tree)."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield cast(APIRoute, context)


# --- one operation ---------------------------------------------------------------------------


def facts(route: APIRoute) -> dict[str, Any]:
    """What the route's dependencies and call graph say: ``authenticated``, ``roles`` (None for
    any authenticated key) and the error ``statuses`` it can answer with."""
    calls = set(_dependency_calls(route.dependant))
    authenticated = get_caller in calls
    role_sets = [set(r) for r in (admits(c) for c in calls) if r is not None]
    roles: set[str] | None = set.intersection(*role_sets) if role_sets else None
    statuses: set[int] = set()
    if authenticated:
        statuses.add(401)
        if roles is not None:
            statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if _has_input(route.dependant):
        statuses.add(422)
    if get_engine in calls:
        statuses.add(503)
    for call in {route.endpoint, *calls}:
        statuses |= _raised(call)
    return {"authenticated": authenticated, "roles": roles, "statuses": statuses}


def _document_operation(route: APIRoute, operation: dict[str, Any]) -> None:
    found = facts(route)
    if found["authenticated"]:
        operation["security"] = [{SECURITY_SCHEME: []}]
        operation["description"] = _join(operation.get("description"), _roles_text(found["roles"]))
        operation["x-roles"] = _roles_list(found["roles"])
    else:
        operation["security"] = []
        operation["description"] = _join(
            operation.get("description"), "**Roles:** none — no API key needed."
        )
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError: not what the API sends
    for status in sorted(found["statuses"]):
        declared = responses.get(str(status))
        if declared and "content" in declared:
            continue  # the route documents this status with its own body (e.g. /health's 503)
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "Error."),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        if status == 401:
            responses["401"]["headers"] = {
                "WWW-Authenticate": {
                    "description": "`Bearer`: send the API key as a bearer token",
                    "schema": {"type": "string", "const": "Bearer"},
                }
            }


def _roles_list(roles: set[str] | None) -> list[str]:
    if roles is None:
        return ["any"]
    order = ("admin", "integrator", "auditor", "viewer", OWN_VENDOR, OBJECT_VENDOR)
    return sorted(roles, key=lambda r: (order.index(r) if r in order else len(order), r))


def _roles_text(roles: set[str] | None) -> str:
    if roles is None:
        return "**Roles:** any valid API key."
    names = []
    for role in _roles_list(roles):
        if role == OWN_VENDOR:
            names.append("`vendor:<vendor_id>` (only the vendor of the path)")
        elif role == OBJECT_VENDOR:
            names.append("`vendor:<id>` (only the vendor the object belongs to)")
        else:
            names.append(f"`{role}`")
    return f"**Roles:** {', '.join(names)}; any other role gets 403."


def _join(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


def _has_input(dependant: Dependant) -> bool:
    """Parameters or a body the caller sends (the bearer header is the security scheme's)."""
    if dependant.path_params or dependant.query_params or dependant.body_params:
        return True
    if any(p.alias.lower() != "authorization" for p in dependant.header_params):
        return True
    return any(_has_input(sub) for sub in dependant.dependencies)


# --- what a handler can raise ----------------------------------------------------------------


def _raised(call: Callable[..., Any]) -> set[int]:
    return set(_scan(call, MAX_DEPTH))


@cache
def _scan(function: Callable[..., Any], depth: int) -> frozenset[int]:
    """The statuses of the ``DomainError`` subclasses and ``ApiError`` raised in ``function`` and
    the project functions it calls (resolved through module globals), ``depth`` calls deep."""
    tree, namespace = _parse(function)
    if tree is None:
        return frozenset()
    statuses: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            statuses |= _raise_status(node.exc, namespace)
        elif isinstance(node, ast.Call) and depth > 0:
            target = _resolve(node.func, namespace)
            if inspect.isfunction(target) and target is not function:
                statuses |= _scan(target, depth - 1)
    return frozenset(statuses)


def _parse(function: Callable[..., Any]) -> tuple[ast.AST | None, dict[str, Any]]:
    function = inspect.unwrap(function)
    module = getattr(function, "__module__", None) or ""
    if not inspect.isfunction(function) or module.split(".")[0] not in PROJECT_PACKAGES:
        return None, {}
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None, {}
    namespace = dict(function.__globals__)
    if function.__closure__:
        namespace.update(
            zip(
                function.__code__.co_freevars,
                (c.cell_contents for c in function.__closure__),
                strict=False,
            )
        )
    return ast.parse(source), namespace


def _raise_status(exc: ast.expr, namespace: dict[str, Any]) -> set[int]:
    target = _resolve(exc.func if isinstance(exc, ast.Call) else exc, namespace)
    if isinstance(target, type) and issubclass(target, DomainError):
        return {target.status}
    if (
        target is ApiError
        and isinstance(exc, ast.Call)
        and exc.args
        and isinstance(exc.args[0], ast.Constant)
        and isinstance(exc.args[0].value, int)
    ):
        return {exc.args[0].value}
    return set()


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        if inspect.ismodule(owner) or isinstance(owner, type):
            return getattr(owner, node.attr, None)
    return None


# --- time zones ------------------------------------------------------------------------------


def _document_time_zones(document: dict[str, Any]) -> None:
    """Every ``date-time`` says it has a time zone; one only ever sent (in a response schema)
    also carries the pattern, so a response without an offset breaks the document."""
    schemas = document["components"]["schemas"]
    sent_only = _response_only_schemas(document)
    for name, schema in schemas.items():
        for node in _date_times(schema):
            if name in sent_only:
                node["description"] = _join(node.get("description"), TIME_ZONE_NOTE)
                node["pattern"] = TIME_ZONE_PATTERN
            else:
                node["description"] = _join(node.get("description"), TIME_ZONE_INPUT_NOTE)
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                for node in _date_times(parameter.get("schema", {})):
                    node["description"] = _join(node.get("description"), TIME_ZONE_INPUT_NOTE)


def _date_times(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            yield node
        for value in node.values():
            yield from _date_times(value)
    elif isinstance(node, list):
        for value in node:
            yield from _date_times(value)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return seen


def _response_only_schemas(document: dict[str, Any]) -> set[str]:
    schemas = document["components"]["schemas"]
    sent: set[str] = set()
    received: set[str] = set()
    for path in document["paths"].values():
        for operation in path.values():
            sent |= set(_refs(operation.get("responses", {})))
            received |= set(_refs(operation.get("requestBody", {})))
            received |= set(_refs(operation.get("parameters", [])))
    return _closure(sent, schemas) - _closure(received, schemas)
