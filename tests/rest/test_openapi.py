"""/engine-rest/openapi.json documents every route served under /engine-rest, and serves every path it documents."""

from __future__ import annotations

import re

import requests


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_is_documented_and_every_documented_path_is_served(app, live):
    doc = requests.get(f"{live.rest}/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    documented = {(_normal(path), method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/engine-rest/"):
            continue
        path = _normal(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/engine-rest"):]))
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    schemas = doc["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', requests.get(f"{live.rest}/openapi.json").text))
    assert refs <= set(schemas), refs - set(schemas)


def test_fragments_that_disagree_are_refused():
    from web.rest.openapi import _merge

    doc = {"paths": {"/a": {"get": {"operationId": "x"}}}}
    _merge(doc, {"paths": {"/a": {"post": {"operationId": "y"}}}})
    assert set(doc["paths"]["/a"]) == {"get", "post"}
    try:
        _merge(doc, {"paths": {"/a": {"get": {"operationId": "z"}}}})
    except ValueError as exc:
        assert "/a" in str(exc)
    else:
        raise AssertionError("a conflicting fragment was merged")
