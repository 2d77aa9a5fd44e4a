"""The package itself: version, console command, error tree, layering."""
from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import rayemr
from rayemr.cli import main
from rayemr.core import errors

ROOT = Path(rayemr.__file__).parent


def test_version_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"rayemr {rayemr.__version__}"


def test_console_script_installed():
    exe = Path(sys.executable).parent / "rayemr"
    out = subprocess.run([str(exe), "--version"],
                         capture_output=True, text=True, check=True)
    assert rayemr.__version__ in out.stdout


@pytest.mark.parametrize("cls", [errors.UserError, errors.ConfigError, errors.ClusterError,
                                 errors.InputNotFoundError, errors.OutputExistsError])
def test_errors_pickle_with_hint(cls):
    err = cls("table t not found", hint="run SHOW TABLES")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and str(back) == str(err) and back.hint == "run SHOW TABLES"


def test_invalid_transition_pickles_and_names_both_states():
    err = errors.InvalidStateTransition("application", "application_1_0001", "RUNNING", "NEW",
                                        "submit")
    back = pickle.loads(pickle.dumps(err))
    assert "RUNNING" in str(back) and "NEW" in str(back) and "application_1_0001" in str(back)


# Layers import downwards only: fs and yarn know nothing of jobs or SQL; planning and
# scheduling cores import neither ray nor duckdb.
FORBIDDEN = {
    "core": {"rayemr.fs", "rayemr.yarn", "rayemr.engine", "rayemr.mapreduce", "rayemr.hive",
             "rayemr.emr", "rayemr.cli", "ray", "duckdb", "sqlglot"},
    "fs": {"rayemr.yarn", "rayemr.engine", "rayemr.mapreduce", "rayemr.hive", "rayemr.emr",
           "rayemr.cli", "duckdb", "sqlglot"},
    "yarn": {"rayemr.engine", "rayemr.mapreduce", "rayemr.hive", "rayemr.emr", "rayemr.cli",
             "duckdb", "sqlglot"},
    "engine": {"rayemr.mapreduce", "rayemr.hive", "rayemr.emr", "rayemr.cli", "duckdb",
               "sqlglot"},
    "mapreduce": {"rayemr.hive", "rayemr.emr", "rayemr.cli", "duckdb", "sqlglot"},
    "hive": {"rayemr.emr", "rayemr.cli"},
    "kinesis": {"rayemr.aws", "rayemr.cli", "rayemr.emr", "rayemr.hive", "rayemr.mapreduce",
                "rayemr.engine", "rayemr.yarn", "duckdb", "sqlglot", "boto3", "botocore"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_downwards(layer):
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name in _imports(path):
            for banned in FORBIDDEN[layer]:
                if name == banned or name.startswith(banned + "."):
                    bad.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert not bad, "\n".join(bad)
