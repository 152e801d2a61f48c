"""``/engine-rest``: a Camunda 7 compatible subset of the REST API (docs/rest.md, ``/engine-rest/openapi.json``).

Each resource lives in its own module of this package and exposes a ``bp`` blueprint (no url prefix of its own:
``register`` mounts them all under ``/engine-rest``). The shared parts are here and in ``web.rest.common``:
Camunda's error body and status codes (one table), its date format, its variable format.

**Documenting a resource**: a module defines ``OPENAPI: dict`` - ``{"paths": {"/task/{id}/claim": {"post":
{...}}}, "components": {"schemas": {...}}}`` with paths relative to ``/engine-rest`` - and ``web.rest.openapi``
merges every module's fragment into ``/engine-rest/openapi.json`` (fragments may share a path or a schema as long
as they agree). ``tests/rest/test_openapi.py`` fails when a served route is undocumented or a documented path is
not served. ``web.rest.common`` has small builders (``operation``, ``json_response``, ``props``, ...).

**Authentication** (``app.config["REST_AUTH"]``, on by default): every request but ``/openapi.json`` needs HTTP
Basic credentials of an active user of ``engine.identity``; otherwise 401 with ``WWW-Authenticate: Basic
realm="engine-rest"`` and Camunda's error body. The handler then has ``common.current_user()`` (the user id) and
``common.access()`` (their ``engine.identity.Access``; None when authentication is off): task lists and counts
are limited to the caller's scope, task actions check ``common.require_task``, other actions
``common.require(capability)`` (403 AuthorizationException).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from flask import Blueprint, Flask

PREFIX = "/engine-rest"


def register(app: Flask) -> None:
    from . import common

    root = Blueprint("engine_rest", __name__, url_prefix=PREFIX)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in ("common",) or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp: Any = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            root.register_blueprint(bp)
    common.install(root)
    root.before_request(_authenticate)
    app.register_blueprint(root)
    common.install_app(app, PREFIX)


PUBLIC = ("/openapi.json",)


def _authenticate() -> Any:
    from flask import current_app, g, request

    from . import common

    if not current_app.config.get("REST_AUTH", True) or request.path[len(PREFIX):] in PUBLIC:
        return None
    auth = request.authorization
    user = None
    if auth is not None and auth.type == "basic" and auth.username and auth.password is not None:
        user = common.engine().identity.authenticate(auth.username, auth.password)
    if user is None:
        response = common.error_response(401, "AuthenticationException",
                                         "HTTP Basic credentials of an active user are required")
        response.headers["WWW-Authenticate"] = 'Basic realm="engine-rest"'
        return response
    from engine.identity import Access

    g.rest_user = user.id
    g.rest_access = Access.from_user(user)
    return None
