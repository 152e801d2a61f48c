"""DMN as Camunda Modeler writes it, made digestible for SpiffWorkflow's DMN engine.

* SpiffWorkflow reads one decision per document: a decision requirements graph (several decisions, one feeding
  another through ``requiredDecision``) is split into one document per decision, and the requirements are kept so
  the runtime evaluates required decisions first (Camunda's DRG evaluation).
* Camunda's tables use FEEL unary tests; SpiffWorkflow evaluates Python with ``?`` for the input value. The common
  FEEL forms are translated: ``-``/empty (any), ``< 250``, ``[250..1000]``/``]a..b[``/``(a..b)``, comma lists
  ``"a","b"``, ``not("a")``, ``true``/``false``/``null``. Other entries are left as they are (Python dialect).
"""

from __future__ import annotations

import copy
import re

from lxml import etree

_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$")
_NOT = re.compile(r"^not\s*\((.*)\)$", re.DOTALL)
_LITERALS = {"true": "True", "false": "False", "null": "None"}


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _value(text: str) -> str:
    return _LITERALS.get(text.strip(), text.strip())


def feel_unary_test(text: str | None) -> str | None:
    """One FEEL unary test → a SpiffWorkflow match expression (``None`` = matches anything)."""
    if text is None:
        return None
    t = text.strip()
    if t in ("", "-"):
        return None  # no text: SpiffWorkflow's "any" (an empty string would be evaluated and match nothing)
    m = _NOT.match(t)
    if m:
        items = [_value(p) for p in _split_top_level(m.group(1))]
        return f"? not in ({', '.join(items)},)"
    m = _RANGE.match(t)
    if m:
        lo_op = "<=" if m.group(1) == "[" else "<"
        hi_op = "<=" if m.group(4) == "]" else "<"
        return f"{_value(m.group(2))} {lo_op} ? {hi_op} {_value(m.group(3))}"
    parts = _split_top_level(t)
    if len(parts) > 1:
        return f"? in ({', '.join(_value(p) for p in parts)},)"
    return _value(t)


def translate_feel(root: etree._Element) -> None:
    ns = etree.QName(root).namespace
    for entry in root.iter(f"{{{ns}}}inputEntry"):
        text_el = entry.find(f"{{{ns}}}text")
        if text_el is not None:
            text_el.text = feel_unary_test(text_el.text)
    for entry in root.iter(f"{{{ns}}}outputEntry"):
        text_el = entry.find(f"{{{ns}}}text")
        if text_el is not None and text_el.text:
            text_el.text = _value(text_el.text)


def split_decisions(root: etree._Element) -> tuple[list[etree._Element], dict[str, list[str]]]:
    """One document per decision, and each decision's required decisions (ids, in document order)."""
    ns = etree.QName(root).namespace
    decisions = root.findall(f"{{{ns}}}decision")
    requirements: dict[str, list[str]] = {}
    for d in decisions:
        requirements[d.get("id", "")] = [
            (r.get("href") or "").lstrip("#") for r in d.iter(f"{{{ns}}}requiredDecision") if r.get("href")]
    if len(decisions) <= 1:
        return [root], requirements
    docs = []
    for keep in decisions:
        doc = copy.deepcopy(root)
        for other in doc.findall(f"{{{ns}}}decision"):
            if other.get("id") != keep.get("id"):
                doc.remove(other)
        for extra in list(doc):
            if etree.QName(extra).localname in ("inputData", "knowledgeSource", "businessKnowledgeModel") or \
                    etree.QName(extra).namespace != ns:
                doc.remove(extra)
        docs.append(doc)
    return docs, requirements


def evaluation_order(decision: str, requirements: dict[str, list[str]]) -> list[str]:
    """Required decisions of ``decision``, deepest first (each once), not including ``decision`` itself."""
    order: list[str] = []

    def visit(d: str, seen: tuple[str, ...]) -> None:
        for r in requirements.get(d, []):
            if r in seen:
                continue
            visit(r, (*seen, r))
            if r not in order:
                order.append(r)

    visit(decision, (decision,))
    return order
