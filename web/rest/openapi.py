"""``GET /openapi.json``: the OpenAPI 3 document of everything under ``/engine-rest``, merged from the ``OPENAPI``
fragment of every resource module of this package (``{"paths": {...}, "components": {"schemas": {...}}}``, paths
relative to ``/engine-rest``). A module documents its routes by defining that dict; nothing else is needed."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from flask import Blueprint, jsonify

from . import PREFIX

bp = Blueprint("rest_openapi", __name__)


def _merge(into: dict[str, Any], fragment: dict[str, Any], where: str = "") -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, f"{where}/{key}")
        elif key in into and into[key] != value:
            raise ValueError(f"OpenAPI fragments disagree at {where}/{key}")
        else:
            into[key] = value


def build() -> dict[str, Any]:
    from . import __path__ as package_path
    from .engine_info import CAMUNDA_VERSION

    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "OneWindow engine REST API (Camunda 7 compatible subset)", "version": CAMUNDA_VERSION,
                 "description": "See docs/rest.md for what is served and how it differs from Camunda 7."},
        "servers": [{"url": PREFIX}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
    }
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        fragment = getattr(module, "OPENAPI", None)
        if isinstance(fragment, dict):
            _merge(doc, fragment, info.name)
    return doc


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build())


OPENAPI: dict[str, Any] = {"paths": {"/openapi.json": {"get": {
    "operationId": "getOpenApi", "tags": ["OpenAPI"], "security": [],
    "summary": "This document (OpenAPI 3), merged from the resource modules",
    "responses": {"200": {"description": "The OpenAPI document", "content": {
        "application/json": {"schema": {"type": "object"}}}}}}}}}
