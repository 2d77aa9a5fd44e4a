"""Help text helpers: module docstrings are reStructuredText; ``--help`` is plain text."""
from __future__ import annotations


def plain(text: str | None) -> str:
    """``text`` without reST literal markup (double and single backticks)."""
    return (text or "").replace("``", "").replace("`", "'")
