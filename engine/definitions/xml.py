"""Safe XML loading: no DTD, no entities, no network. A document with a DOCTYPE is refused outright."""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_document(content: bytes, filename: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse one uploaded document. Returns the tree, or None and the problems found."""
    if len(content) > MAX_DOCUMENT_BYTES:
        return None, [Problem(f"document is larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB", file=filename)]
    if not content.strip():
        return None, [Problem("document is empty", file=filename)]
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        return None, [Problem(f"malformed XML: {exc.msg}", file=filename, line=line)]
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [Problem("a DOCTYPE declaration is not allowed (entities are never expanded)", file=filename, line=1)]
    return tree, []


def document_kind(tree: etree._ElementTree) -> str | None:
    root = tree.getroot()
    ns = etree.QName(root).namespace
    local = etree.QName(root).localname
    if ns == BPMN_NS and local == "definitions":
        return "bpmn"
    if local == "definitions" and ns in DMN_NAMESPACES:
        return "dmn"
    return None
