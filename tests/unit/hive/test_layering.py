"""sqlglot is imported only under rayemr/hive/sql, duckdb only by the executor (exec.py and
its connection sandbox)."""
from __future__ import annotations

import ast
from pathlib import Path

import rayemr.hive

ROOT = Path(rayemr.hive.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_dependencies_imported_where_they_belong():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("server/"):
            continue
        mods = _imports(path)
        if "sqlglot" in mods:
            assert rel.startswith("sql/"), rel
        if "duckdb" in mods:
            assert rel in ("exec.py", "sandbox.py"), rel
