"""Task forms generated from ``camunda:formField``s: widgets, server-side validation, typed values.

Widgets by field type: ``string`` text box, ``long``/``double`` number box, ``boolean`` 是/否 radio buttons (so
that "required" means "answered"), ``date`` date picker (stored as ``YYYY-MM-DD``), ``enum`` drop-down,
``textarea`` multi-line text, ``file`` upload (a material: stored by its SHA-256 in ``<data folder>/materials/``;
the variable holds ``{"name", "sha256", "size", "contentType"}``). A ``string`` field becomes a text area or an
upload with the field property ``<camunda:property id="widget" value="textarea|file"/>``.

Validation (``camunda:validation`` constraints): ``required``, ``min``/``max`` (numbers; dates as
``YYYY-MM-DD``), ``minlength``/``maxlength`` (characters), ``pattern`` (a regular expression the whole value must
match), ``readonly`` (shown, never taken from the request). A field with errors keeps what the user typed.

**The 不同意 rule** (审批意见 required): the comment is required when the submitted decision is a disagreement.
The decision fields of a form are the fields marked ``<camunda:property id="decision" value="true"/>``, or, when
no field is marked, the ``boolean`` fields named ``approved``, ``approve``, ``agree``, ``agreed``, ``accepted``,
``passed`` and the ``enum`` fields named ``decision``, ``result``, ``outcome``. A disagreement is a decision
boolean answered 否 (false), or a decision enum whose chosen value's id is one of ``DISAGREE_VALUES`` (reject,
rejected, disagree, deny, denied, refuse, refused, return, returned, no) or whose label contains 不同意, 不予,
驳回 or 退回.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

DECISION_BOOLEANS = ("approved", "approve", "agree", "agreed", "accepted", "passed")
DECISION_ENUMS = ("decision", "result", "outcome")
DISAGREE_VALUES = ("reject", "rejected", "disagree", "deny", "denied", "refuse", "refused", "return", "returned",
                   "no")
DISAGREE_LABELS = ("不同意", "不予", "驳回", "退回")
COMMENT_FIELD = "_comment"


@dataclass
class Field:
    id: str
    label: str
    type: str
    widget: str  # text number checkboxes... see WIDGETS
    required: bool
    readonly: bool
    constraints: dict[str, str | None]
    options: tuple[tuple[str, str], ...]
    properties: dict[str, str]
    value: Any = None  # the current (typed) value
    raw: str = ""  # what the input shows
    error: str | None = None
    decision: bool = False

    @property
    def step(self) -> str:
        return "any" if self.type == "double" else "1"


@dataclass
class FormResult:
    fields: list[Field]
    variables: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    comment_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.comment_error is None and not any(f.error for f in self.fields)


def _widget(view: Any, props: dict[str, str]) -> str:
    if view.type in ("textarea", "file"):
        return view.type
    if view.type == "string" and props.get("widget") in ("textarea", "file"):
        return props["widget"]
    return {"long": "number", "double": "number", "boolean": "yesno", "date": "date", "enum": "select"}.get(
        view.type, "text")


def _show(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value is True or str(value).lower() == "true" else "false"
    if isinstance(value, dict):
        return str(value.get("name", ""))
    return str(value)


def build(form_fields: list[tuple[Any, Any]]) -> list[Field]:
    """Fields of the task page from ``engine.tasks.form_fields(task_id)`` (each shows its current value)."""
    fields = []
    for view, value in form_fields:
        props = dict(getattr(view, "properties", ()) or ())
        cons = {name: cfg for name, cfg in view.constraints}
        widget = _widget(view, props)
        fields.append(Field(id=view.id, label=view.label or view.id, type=view.type, widget=widget,
                            required="required" in cons, readonly="readonly" in cons, constraints=cons,
                            options=tuple(view.options), properties=props, value=value,
                            raw=_show(value, view.type)))
    marked = [f for f in fields if f.properties.get("decision", "").lower() == "true"]
    for f in marked or fields:
        f.decision = bool(marked) or (f.type == "boolean" and f.id in DECISION_BOOLEANS) or (
            f.type == "enum" and f.id in DECISION_ENUMS)
    return fields


def _number(text: str, kind: str) -> int | float:
    return int(text) if kind == "long" else float(text)


def _check(f: Field, text: str) -> tuple[Any, str | None]:
    """(typed value, error) of one submitted text; an empty text is None."""
    c = f.constraints
    if text == "":
        return None, (_("此项为必填项。") if f.required else None)
    if f.type in ("long", "double"):
        try:
            value: Any = _number(text, f.type)
        except ValueError:
            return None, _("请输入整数。") if f.type == "long" else _("请输入数字。")
        try:
            if c.get("min") not in (None, "") and value < _number(str(c["min"]), f.type):
                return value, _("不能小于 %(min)s。", min=c["min"])
            if c.get("max") not in (None, "") and value > _number(str(c["max"]), f.type):
                return value, _("不能大于 %(max)s。", max=c["max"])
        except ValueError:
            pass  # a constraint the diagram got wrong is not the user's fault
        return value, None
    if f.type == "boolean":
        if text not in ("true", "false"):
            return None, _("请选择“是”或“否”。")
        return text == "true", None
    if f.type == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None, _("请输入有效日期（年-月-日）。")
        if c.get("min") and text < str(c["min"]):
            return text, _("不能早于 %(min)s。", min=c["min"])
        if c.get("max") and text > str(c["max"]):
            return text, _("不能晚于 %(max)s。", max=c["max"])
        return day.isoformat(), None
    if f.type == "enum":
        if text not in {k for k, _label in f.options}:
            return None, _("请选择列表中的一项。")
        return text, None
    if c.get("minlength") not in (None, "") and len(text) < int(str(c["minlength"])):
        return text, _("至少填写 %(n)s 个字符。", n=c["minlength"])
    if c.get("maxlength") not in (None, "") and len(text) > int(str(c["maxlength"])):
        return text, _("最多填写 %(n)s 个字符。", n=c["maxlength"])
    if c.get("pattern"):
        try:
            if re.fullmatch(str(c["pattern"]), text) is None:
                return text, _("格式不正确。")
        except re.error:
            pass
    return text, None


def disagrees(f: Field, value: Any) -> bool:
    if not f.decision or value is None:
        return False
    if f.type == "boolean":
        return value is False
    if f.type == "enum":
        label = dict(f.options).get(value, "")
        return str(value).lower() in DISAGREE_VALUES or any(w in label for w in DISAGREE_LABELS)
    return False


def parse(fields: list[Field], form: Any, files: Any, store: Path | None) -> FormResult:
    """Validate a submitted form (``request.form``/``request.files``): typed variables, or errors next to the
    fields; every field keeps what was sent."""
    result = FormResult(fields=fields, comment=(form.get(COMMENT_FIELD) or "").strip())
    disagreement = False
    for f in fields:
        if f.readonly:
            continue
        if f.widget == "file":
            upload = files.get(f.id) if files is not None else None
            if upload is None or not upload.filename:
                f.error = _("请上传文件。") if f.required else None
                continue
            if store is None:
                f.error = _("文件无法保存。")
                continue
            result.variables[f.id] = save_material(store, upload)
            f.raw = upload.filename
            continue
        text = (form.get(f.id) or "").strip() if f.type != "textarea" and f.widget != "textarea" else (
            form.get(f.id) or "").strip()
        f.raw = text
        value, f.error = _check(f, text)
        if f.error is None:
            result.variables[f.id] = value
            disagreement = disagreement or disagrees(f, value)
    if disagreement and not result.comment:
        result.comment_error = _("选择不同意时，必须填写审批意见。")
    return result


def save_material(store: Path, upload: Any) -> dict[str, Any]:
    """Store an uploaded file by its SHA-256 (same content, one file) and describe it."""
    data = upload.read()
    digest = hashlib.sha256(data).hexdigest()
    store.mkdir(parents=True, exist_ok=True)
    path = store / digest
    if not path.exists():
        tmp = store / f".{digest}.part"
        tmp.write_bytes(data)
        tmp.replace(path)
    name = Path(str(upload.filename).replace("\\", "/")).name
    return {"name": name, "sha256": digest, "size": len(data), "contentType": upload.mimetype or
            "application/octet-stream"}
