"""The pages of the web app (server-rendered, Chinese by default, English available).

Each page family lives in its own module of this package and exposes a ``bp`` blueprint; ``register`` mounts every
module's ``bp`` (modules are imported in name order; a module may also define ``init_app(app)`` for app-wide set-up,
called before the blueprints are registered). The engine façade is the only way pages change anything (no second
code path next to the REST API).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from flask import Blueprint, Flask


def register(app: Flask) -> None:
    modules = [importlib.import_module(f"{__name__}.{m.name}")
               for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name) if not m.name.startswith("_")]
    for module in modules:
        init: Any = getattr(module, "init_app", None)
        if callable(init):
            init(app)
    for module in modules:
        bp: Any = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            app.register_blueprint(bp)
