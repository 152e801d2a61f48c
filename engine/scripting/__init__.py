"""Sandboxed expressions and scripts: JUEL translation (``juel``) and the RestrictedPython sandbox (``sandbox``)."""

from __future__ import annotations
