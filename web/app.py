"""The Flask application factory. The web app is a thin layer: a view or REST handler parses input, calls the
engine façade (one call = one transaction), renders the result. The engine never imports Flask."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from engine.settings import Settings


def create_app(engine: Any = None, *, settings: Settings | None = None, config: dict[str, Any] | None = None) -> Flask:
    """Build the app on ``engine`` (or on an engine built from ``settings`` / the environment).

    ``config`` keys: ``REST_AUTH`` (True by default: HTTP Basic against the engine's users on /engine-rest).
    """
    if engine is None:
        from engine.bootstrap import build_engine

        engine = build_engine(settings or Settings.from_env())
    app = Flask(__name__)
    app.config.update(REST_AUTH=True, JSON_AS_ASCII=False)
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["onewindow"] = engine

    from web.rest import register as register_rest
    from web.ui import register as register_ui

    register_rest(app)
    register_ui(app)
    return app


def engine_of_app() -> Any:
    """The engine of the running app (inside a request)."""
    return current_app.extensions["onewindow"]
