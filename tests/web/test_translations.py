"""The English catalogue (issue 5: Chinese by default, English available).

(a) Every text the pages can show — what ``pybabel extract`` finds in web/ with web/babel.cfg, extracted here in
process — has a non-empty, non-fuzzy English translation in web/translations/en/LC_MESSAGES/messages.po, and the
committed messages.mo says the same as the .po.
(b) With English chosen, the main pages show no Chinese except data: the test data (users, departments, the diagram's
names) is ASCII, so the check is strict; what remains allowed is listed in ``ALLOWED`` and ``data_texts``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.web.case_support import FIXTURES, at

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PO = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None,
            "lazy_gettext": None, "_l": None}
HOW_TO_FIX = """To fix, from the repository root (docs/web.md, "Translations"):
  pybabel extract -F web/babel.cfg -k lazy_gettext -k _l -o web/translations/messages.pot \\
      --no-location --sort-output --omit-header .
  pybabel update -i web/translations/messages.pot -d web/translations -l en --ignore-obsolete --no-fuzzy-matching
  # translate the empty entries in web/translations/en/LC_MESSAGES/messages.po, then
  pybabel compile -d web/translations -D messages --statistics"""
# Chinese characters (ideographs); full-width punctuation (：、（）) is not checked yet - a few admin and supervision
# templates still glue it to translated texts
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# the language switcher names the languages in their own words
ALLOWED = ("中文",)


def _source_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every text in web/, as pybabel extract -F web/babel.cfg finds them."""
    method_map = []
    options_map: dict[str, dict[str, str]] = {}
    section = None
    for line in (WEB / "babel.cfg").read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            method, pattern = line[1:-1].split(":", 1)
            pattern = pattern.strip()
            assert pattern.startswith("web/")
            section = pattern[len("web/"):]
            method_map.append((section, method.strip()))
            options_map[section] = {}
        elif "=" in line and section:
            key, value = line.split("=", 1)
            options_map[section][key.strip()] = value.strip()
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(WEB), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.add((context, msgid))
    return found


def _catalog() -> Any:
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def test_every_text_has_an_english_translation_and_the_mo_is_compiled() -> None:
    sources = _source_messages()
    assert len(sources) > 400  # the extraction itself worked
    po = _catalog()
    missing = []
    for context, msgid in sorted(sources, key=lambda m: (m[0] or "", m[1])):
        entry = po.get(msgid, context=context)
        if entry is None or not entry.string or "fuzzy" in entry.flags:
            missing.append(f"  {msgid!r}" + (f" (context {context!r})" if context else "")
                           + ("" if entry is None else " [fuzzy]" if "fuzzy" in entry.flags else " [empty]"))
    assert not missing, (f"{len(missing)} text(s) of web/ have no English translation in {PO.relative_to(ROOT)}:\n"
                         + "\n".join(missing) + "\n" + HOW_TO_FIX)
    fuzzy = [m.id for m in po if m.id and "fuzzy" in m.flags]
    assert not fuzzy, f"fuzzy entries left in the catalogue: {fuzzy}\n{HOW_TO_FIX}"
    with MO.open("rb") as fh:
        mo = read_mo(fh)
    compiled = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m.string for m in mo if m.id}
    written = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m.string for m in po
               if m.id and m.string and "fuzzy" not in m.flags}
    stale = sorted({k for k in written if compiled.get(k) != written[k]} | (set(compiled) - set(written)),
                   key=lambda k: (k[0] or "", k[1]))
    assert not stale, (f"{MO.relative_to(ROOT)} is not compiled from the .po (differs for {stale[:20]}).\n"
                       + HOW_TO_FIX)


def test_the_labels_of_engine_and_sample_are_in_the_catalogue() -> None:
    """The intake pages translate labels that live outside web/ (``web.ui.intake.ENGINE_LABELS`` lists them)."""
    from engine.intake import DELIVERY, STATUS_NAMES
    from processes.sample import FORM_NAMES
    from web.ui.intake import ENGINE_LABELS

    labels = {*DELIVERY.values(), *STATUS_NAMES.values(), *FORM_NAMES.values()}
    assert labels <= set(ENGINE_LABELS), f"add {sorted(labels - set(ENGINE_LABELS))} to web.ui.intake.ENGINE_LABELS"
    po = _catalog()
    assert all(po.get(label) is not None and po.get(label).string for label in labels)


# --- (b) the pages in English ---------------------------------------------------------------------------------
PASSWORD = "correct-horse-1"
USERS = {"clerk1": (("window",), ("clerk",)), "rev_fire": (("fire",), ("reviewer",)),
         "rev_market": (("market",), ("reviewer",)), "boss": ((), ("supervisor",)), "root": ((), ("admin",))}


def _ascii_diagram() -> bytes:
    """tests/fixtures/web/case_view.bpmn with every Chinese name and property value made ASCII."""
    xml = (FIXTURES / "case_view.bpmn").read_text(encoding="utf-8")
    counter = iter(range(1, 1000))
    xml = re.sub(r'(name|value)="([^"]*)"',
                 lambda m: f'{m.group(1)}="Step {next(counter)}"' if CJK.search(m.group(2)) else m.group(0), xml)
    assert not CJK.search(xml)
    return xml.encode("utf-8")


@pytest.fixture
def english(engine, clock):  # type: ignore[no-untyped-def]
    from web.app import create_app

    engine.repository.deploy([("case_view.bpmn", _ascii_diagram())])
    for group in ("window", "fire", "market", "civil", "lead"):
        engine.identity.add_group(group, group.title() + " Bureau")
    for uid, (groups, roles) in USERS.items():
        engine.identity.add_user(uid, PASSWORD, name=uid.title(), groups=groups, roles=roles, actor="test")
    app = create_app(engine, config={"REST_AUTH": False, "SECRET_KEY": "test-secret", "TESTING": True,
                                     "WTF_CSRF_ENABLED": False})
    clock.set(at(2026, 4, 1, 9, 0))
    case = engine.runtime.start("case_view", business_key="EN-0001", variables={
        "applicantPhone": "138-0013-1234", "deliveryMethod": "mail", "applicantName": "Zhang San"})
    (intake,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(intake.id, "clerk1")
    tasks = {t.task_definition_key: t for t in engine.tasks.list(instance_id=case.id)}
    engine.tasks.complete(tasks["review_market"].id, "rev_market")
    clock.set(at(2026, 4, 8, 9, 0))  # the fire review is overdue
    engine.cases.urge(case.id, tasks["review_fire"].id, "Please hurry", actor="boss")
    engine.cases.extend(case.id, days=2, reason="Complex case", approver="Director", actor="boss")
    engine.cases.suspend(case.id, reason="Expert opinion", kind="expert-review", expected_days=3, actor="boss")
    client = app.test_client()
    client.post("/lang", data={"lang": "en", "next": "/login"})
    return engine, client, tasks


def _login(client: Any, user: str) -> None:
    client.post("/logout")
    r = client.post("/login", data={"username": user, "password": PASSWORD})
    assert r.status_code in (302, 303), r.text


def data_texts(engine: Any, users: tuple[str, ...] = ()) -> list[str]:
    """Business data that may be Chinese whatever the language: the service items' names and materials, and the
    notifications the engine wrote (stored text: their subject and body are in Chinese)."""
    texts: list[str] = []
    for user in users:
        for note in engine.notifications.for_user(user):
            texts += [note.subject or "", note.body or ""]
    try:
        items = engine.intake.items()
    except Exception:  # noqa: BLE001 - no intake configured
        return texts
    for item in items:
        for value in vars(item).values():
            if isinstance(value, str):
                texts.append(value)
        for material in getattr(item, "materials", ()):
            texts += [v for v in vars(material).values() if isinstance(v, str)]
    return sorted({t for t in texts if t}, key=len, reverse=True)


def _chinese_left(html: str, data: list[str]) -> list[str]:
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S)
    for text in [*ALLOWED, *data]:
        html = html.replace(text, "")
    lines = [line.strip() for line in html.splitlines() if CJK.search(line)]
    return lines


def _check(client: Any, path: str, data: list[str]) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    html = r.get_data(as_text=True)
    assert 'lang="en"' in html, path
    left = _chinese_left(html, data)
    assert not left, f"{path} shows Chinese in English:\n" + "\n".join(left[:30])
    return html


def test_main_pages_show_no_chinese_in_english(english) -> None:  # type: ignore[no-untyped-def]
    engine, client, tasks = english
    data = data_texts(engine, tuple(USERS))
    html = _check(client, "/login", data)
    assert "Sign in" in html
    _check(client, "/status", data)
    r = client.post("/status", data={"business_key": "EN-0001", "phone_last4": "1234"})
    assert r.status_code == 200 and not _chinese_left(r.get_data(as_text=True), data), \
        _chinese_left(r.get_data(as_text=True), data)
    r = client.post("/status", data={"business_key": "EN-0001", "phone_last4": "0000"})
    assert r.status_code == 404 and "No case matches" in r.get_data(as_text=True)

    _login(client, "rev_fire")
    for tab in ("mine", "group", "delegated", "done"):
        _check(client, f"/inbox?tab={tab}", data)
    html = _check(client, f"/tasks/{tasks['review_fire'].id}", data)
    assert "Task" in html
    _check(client, "/notifications", data)

    _login(client, "boss")
    html = _check(client, "/cases/EN-0001", data)
    assert "Case tracking: EN-0001" in html and "Resume the clock" in html and "Expert review" in html
    assert "Overdue" in html and "Urge" in html
    for path in ("/supervision", "/supervision/cases", "/supervision/tasks"):
        if client.get(path).status_code != 404:
            _check(client, path, data)

    _login(client, "clerk1")
    _check(client, "/intake", data)

    _login(client, "root")
    for path in ("/admin", "/admin/users", "/admin/groups", "/admin/calendar", "/admin/log"):
        if client.get(path).status_code != 404:
            _check(client, path, data)


def test_chinese_stays_the_default(english) -> None:  # type: ignore[no-untyped-def]
    engine, client, _tasks = english
    client.post("/lang", data={"lang": "zh_CN", "next": "/login"})
    _login(client, "boss")
    html = client.get("/cases/EN-0001").get_data(as_text=True)
    assert "流程跟踪：EN-0001" in html and "恢复计时" in html and "专家评审" in html
