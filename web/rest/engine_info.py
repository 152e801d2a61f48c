"""``GET /engine`` and ``GET /version``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

bp = Blueprint("rest_engine", __name__)

CAMUNDA_VERSION = "7.22.0"  # the REST API level this subset follows


@bp.get("/engine")
def engines() -> Any:
    return jsonify([{"name": "default"}])


@bp.get("/version")
def version() -> Any:
    return jsonify({"version": CAMUNDA_VERSION})
