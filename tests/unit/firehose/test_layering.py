"""rayemr.firehose imports Ray only where hosts run on it (and the REST route that asks them),
Kinesis only where it reads a stream (``source``), and nothing of Hive but the metastore and its
types; duckdb and sqlglot never."""
from __future__ import annotations

import ast
from pathlib import Path

import rayemr.firehose

ROOT = Path(rayemr.firehose.__file__).parent
ALLOWED_HIVE = ("rayemr.hive.metastore", "rayemr.hive.types")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_firehose_imports():
    for path in sorted(ROOT.rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in ("duckdb", "sqlglot", "boto3", "botocore"), (path.name, name)
            if name.startswith("rayemr.hive"):
                assert name.startswith(ALLOWED_HIVE), (path.name, name)
            for banned in ("rayemr.emr", "rayemr.cli", "rayemr.engine", "rayemr.mapreduce"):
                assert not name.startswith(banned), (path.name, name)
            if name.startswith("rayemr.kinesis"):  # the consumer library, for Kinesis sources
                assert path.name == "source.py", (path.name, name)
            if top == "ray":
                assert path.name in ("pools.py", "rest.py"), (path.name, name)
