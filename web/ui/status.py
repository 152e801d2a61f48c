"""办件查询 ``/status`` (public, 最多跑一次): an applicant looks up their case without logging in.

They type the 办件编号 (business key) and the last 4 digits of their phone number. The number is the case variable
``applicantPhone`` (any format: only its digits count); a case without it cannot be looked up. The answer shows
three things only: the stage (a public label, below), the promised completion date (承诺办结日期, from the case
clock) and the delivery method (variable ``deliveryMethod``: ``pickup``/``mail``/``online``/``self-print``, or a
Chinese label as typed at intake). Nothing else leaks: no activity names, no department, no variables.

* **Stage**: ended cases are 已办结 / 已终止; a suspended clock is 暂停计时（<kind>）; else the ``publicStage``
  property (``camunda:properties``) of the case's active activities, joined, and 办理中 when none declares one.
  A clock still waiting for acceptance is 待受理.
* **One answer for every miss**: an unknown number, a wrong phone, a case without a phone all give the same sentence
  (``NOT_FOUND``) with the same status code, so the page does not tell whether a number exists.
* **Rate limit** per client address (``request.remote_addr``; behind a reverse proxy configure Werkzeug's
  ``ProxyFix`` so that this is the applicant's address): ``STATUS_RATE_LIMIT`` lookups (default 10) per
  ``STATUS_RATE_WINDOW`` seconds (default 600), counted in the memory of the server process (each process counts
  on its own; a restart forgets). Every lookup counts, found or not; over the limit the page answers 429 without
  looking anything up.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections import deque
from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.ui import _casepage as page
from web.ui.base import page_blueprint

bp = page_blueprint("status", __name__)

NOT_FOUND = _l("未查询到与该办件编号和手机号后四位相符的办件，请核对后重试。")
RATE_LIMITED = _l("查询过于频繁，请稍后再试。")
DELIVERY = {"pickup": _l("窗口领取"), "mail": _l("邮寄送达"), "online": _l("网上送达（电子证照）"),
            "self-print": _l("自助打印")}
ENDED = {"COMPLETED": _l("已办结"), "TERMINATED": _l("已终止")}
MAX_KEY = 64


class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds (sliding window, in process memory)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> bool:
        """Count one hit; False when the key is over its limit (that hit is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) > 10_000:  # forget quiet addresses now and then
                for k in [k for k, q in self._hits.items() if not q or q[-1] <= now - self.window]:
                    del self._hits[k]
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return False
            q.append(now)
            return True


def init_app(app: Any) -> None:
    app.config.setdefault("STATUS_RATE_LIMIT", 10)
    app.config.setdefault("STATUS_RATE_WINDOW", 600)
    app.extensions["onewindow_status_limiter"] = RateLimiter(int(app.config["STATUS_RATE_LIMIT"]),
                                                             float(app.config["STATUS_RATE_WINDOW"]))


def _limiter() -> RateLimiter:
    return current_app.extensions["onewindow_status_limiter"]  # type: ignore[no-any-return]


def _phone_matches(stored: Any, last4: str) -> bool:
    digits = re.sub(r"\D", "", str(stored or ""))
    return len(digits) >= 4 and hmac.compare_digest(digits[-4:].encode(), last4.encode())


def public_stage(engine: Any, case: Any, clock: Any) -> str:
    if case.state in ENDED:
        return str(ENDED[case.state])
    if clock is not None and clock.state == "SUSPENDED":
        kinds = [s["kind"] for s in clock.suspensions if not s.get("end")]
        return _("暂停计时（%(kind)s）", kind=page.KIND_LABELS.get(kinds[-1], page.KIND_LABELS["other"])
                 if kinds else page.KIND_LABELS["other"])
    stages = page.diagram_facts(engine, case.definition_id)["stages"]
    labels = list(dict.fromkeys(stages[a] for a in case.active_activity_ids if a in stages))
    if labels:
        return _("、").join(labels)
    if clock is not None and clock.state == "WAITING":
        return _("待受理")
    return _("办理中")


def lookup(engine: Any, key: str, last4: str) -> dict[str, str] | None:
    """The public facts of case ``key`` when ``last4`` are the last digits of its applicant's phone, else None."""
    found = engine.runtime.instances(business_key=key)
    case = found[-1] if found else None
    variables = engine.runtime.variables(case.id) if case is not None else {}
    if case is None or not _phone_matches(variables.get("applicantPhone"), last4):
        return None
    clock = engine.cases.clock(case.id)
    promised = page.fmt(engine, clock.promised_due, _("%Y年%m月%d日")) if clock and clock.promised_due \
        else _("受理后确定")
    delivery = variables.get("deliveryMethod")
    delivery_text = str(DELIVERY.get(str(delivery), str(delivery))) if isinstance(delivery, str) and delivery.strip() \
        else _("未选择")
    return {"key": case.business_key or key, "stage": public_stage(engine, case, clock), "promised": promised,
            "delivery": delivery_text[:40]}


@bp.route("/status", methods=["GET", "POST"])
def status() -> Any:
    if request.method == "GET":
        return render_template("status/status.html", result=None, message=None, key="")
    key = (request.form.get("business_key") or "").strip()
    last4 = (request.form.get("phone_last4") or "").strip()
    if not _limiter().hit(request.remote_addr or "unknown"):
        return render_template("status/status.html", result=None, message=RATE_LIMITED, key=key), 429, \
            {"Retry-After": str(int(_limiter().window))}
    if not key or len(key) > MAX_KEY or not re.fullmatch(r"\d{4}", last4):
        return render_template("status/status.html", result=None, key=key[:MAX_KEY],
                               message=_("请输入办件编号和手机号码后四位（4 位数字）。")), 400
    result = lookup(page.engine(), key, last4)
    if result is None:
        return render_template("status/status.html", result=None, message=NOT_FOUND, key=key), 404
    return render_template("status/status.html", result=result, message=None, key=key)
