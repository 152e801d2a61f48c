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


OPENAPI: dict[str, Any] = {"paths": {
    "/engine": {"get": {"operationId": "getProcessEngineNames", "tags": ["Engine"], "summary": "The engines",
                        "responses": {"200": {"description": "[{name: default}]", "content": {"application/json": {
                            "schema": {"type": "array", "items": {"type": "object", "properties": {
                                "name": {"type": "string"}}}}}}}}}},
    "/version": {"get": {"operationId": "getRestAPIVersion", "tags": ["Version"],
                         "summary": "The Camunda REST API level followed",
                         "responses": {"200": {"description": "{version}", "content": {"application/json": {
                             "schema": {"type": "object", "properties": {"version": {"type": "string"}}}}}}}}},
}}
