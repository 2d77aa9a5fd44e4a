"""A rule of the unit tier (tests/unit): no fixed sleeps.

A fixed sleep is either too short on a busy machine or wasted time on a quiet one; a unit test
waits for a condition (``rayemr.core.waiting.wait_for``) or does not wait at all.
"""
from __future__ import annotations

import ast
from pathlib import Path

UNIT = Path(__file__).parent


def _sleeps(path: Path) -> list[int]:
    """Lines that call ``time.sleep`` (or a ``sleep`` imported from time)."""
    tree = ast.parse(path.read_text(), str(path))
    names = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "time" for a in node.names if a.name == "sleep"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        if (isinstance(fn, ast.Attribute) and fn.attr == "sleep"
                and isinstance(fn.value, ast.Name) and fn.value.id == "time") or (
                isinstance(fn, ast.Name) and fn.id in names):
            lines.append(node.lineno)
    return lines


def test_no_fixed_sleeps_in_unit_tests():
    found = [f"{p.relative_to(UNIT.parent.parent)}:{n}" for p in sorted(UNIT.rglob("*.py"))
             for n in _sleeps(p)]
    assert not found, "time.sleep in unit tests (wait for a condition instead):\n" + \
        "\n".join(found)


def test_the_sleep_finder_finds_both_spellings(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import time\nfrom time import sleep as nap\n\ntime.sleep(1)\nnap(2)\n")
    assert _sleeps(probe) == [4, 5]
