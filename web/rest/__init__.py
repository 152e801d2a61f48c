"""``/engine-rest``: a Camunda 7 compatible subset of the REST API (docs/rest.md, ``/engine-rest/openapi.json``).

Each resource lives in its own module of this package and exposes a ``bp`` blueprint (no url prefix of its own:
``register`` mounts them all under ``/engine-rest``). The shared parts are here and in ``web.rest.common``:
Camunda's error body and status codes (one table), its date format, its variable format.
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
    app.register_blueprint(root)
    common.install_app(app, PREFIX)
