"""Sandboxed expressions and scripts: JUEL translation and the RestrictedPython sandbox."""
