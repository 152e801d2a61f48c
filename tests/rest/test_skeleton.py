"""The /engine-rest skeleton: engine and version, Camunda's error body, dates and variables."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_engine_and_version_over_real_http(live):
    assert _get(f"{live.rest}/engine") == (200, [{"name": "default"}])
    status, body = _get(f"{live.rest}/version")
    assert status == 200 and body["version"].startswith("7.")


def test_unknown_resource_gets_camunda_error_body(live):
    status, body = _get(f"{live.rest}/no-such-thing")
    assert status == 404 and body["type"] == "NotFoundException" and "/engine-rest/no-such-thing" in body["message"]


def test_dates_and_variables(app):
    from web.rest import common

    with app.test_request_context():
        assert common.camunda_date(datetime(2026, 11, 22, 12, 30, tzinfo=UTC)) == "2026-11-22T20:30:00.000+0800"
        assert common.parse_date("2026-11-22T20:30:00.000+0800", "x") == datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
        assert common.variables_in({"a": {"value": 5}, "b": {"value": "x", "type": None},
                                    "c": {"value": "7", "type": "Integer"}, "d": {"type": "Null"},
                                    "e": {"value": "{\"k\": 1}", "type": "Json"}}) == \
            {"a": 5, "b": "x", "c": 7, "d": None, "e": {"k": 1}}
        for bad in ({"value": 1, "type": "Weird"}, {"value": "x", "type": "Integer"}, {"value": 2**40, "type": "Integer"},
                    {"value": "maybe", "type": "Boolean"}):
            with pytest.raises(common.RestError) as err:
                common.variables_in({"v": bad})
            assert err.value.status == 400 and "'v'" in err.value.message
        out = common.variables_out({"n": 3, "big": 2**40, "s": "x", "j": {"k": [1]}, "z": None, "ok": True})
        assert [out[k]["type"] for k in ("n", "big", "s", "j", "z", "ok")] == \
            ["Integer", "Long", "String", "Json", "Null", "Boolean"]
