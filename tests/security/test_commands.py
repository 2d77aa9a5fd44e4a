"""TRANSFORM runs only what the operator allowed; nothing a client writes is ever run."""
from __future__ import annotations

import os
import sys

import pytest


def _pwned(target) -> list[str]:
    return sorted(p for p in os.listdir(target.root) if p.startswith("pwned"))


COMMANDS = [
    # the old guard's tokenizer ended a -- comment only at \n; the executor also at \r
    "SELECT TRANSFORM(a) --\rUSING 'sh -c \"touch {root}/pwned1\"' AS (b) FROM t",
    "SELECT TRANSFORM(a) --\r\nUSING 'sh -c \"touch {root}/pwned2\"' AS (b) FROM t",
    "SELECT TRANSFORM(a) /* x */ USING 'sh -c \"touch {root}/pwned3\"' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING 'touch {root}/pwned4' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING '/usr/bin/env touch {root}/pwned5' AS (b) FROM t",
    "SELECT TRANSFORM(a) USING 'python3 -c \"open(\\'{root}/pwned6\\', \\'w\\')\"' FROM t",
    "SELECT TRANSFORM(a) USING 'cat; touch {root}/pwned7' FROM t",
    "SELECT TRANSFORM(a) USING 'cat | sh' FROM t",
    "SELECT TRANSFORM(a) USING 'cat {root}/outside/secret.txt' FROM t",
    "FROM t SELECT TRANSFORM(a) USING 'sh -c \"touch {root}/pwned8\"' AS (b)",
    "SELECT * FROM (SELECT TRANSFORM(a) USING 'sh -c \"touch {root}/pwned9\"' AS (b) "
    "FROM t) x",
    "CREATE TABLE c1 AS SELECT TRANSFORM(a) USING 'sh -c \"touch {root}/pwned10\"' AS (b) "
    "FROM t",
    "INSERT OVERWRITE TABLE t SELECT TRANSFORM(a) USING 'sh -c \"touch {root}/pwned11\"' "
    "AS (b) FROM t",
]


@pytest.mark.parametrize("sql", COMMANDS)
def test_no_command_runs(target, attempt, canary, sql):
    with target.connect() as conn:
        out = attempt(conn.cursor(), sql.format(root=target.root))
    assert out.refused, out
    assert canary not in out.text()
    assert _pwned(target) == []


def test_a_script_written_into_the_warehouse_never_runs(start, attempt):
    """Even without --allow-path: a client writes a script into a table, then points
    TRANSFORM at the table's file."""
    target = start(allow_paths=())
    code = f"import pathlib; pathlib.Path('{target.root}/pwned_script').touch()"
    with target.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE pwn (line string)")
        cur.execute(f'INSERT OVERWRITE TABLE pwn SELECT "{code}"')
        files = [os.path.join(d, f) for d, _, fs in os.walk(target.warehouse / "pwn")
                 for f in fs]
        assert files, "the INSERT wrote no file"
        for f in files:
            for using in (f"python3 {f}", f"{sys.executable} {f}", f"sh {f}", f):
                out = attempt(cur, f"SELECT TRANSFORM(line) USING '{using}' FROM pwn")
                assert out.refused, (using, out)
    assert _pwned(target) == []


def test_operator_allowed_commands_run_without_a_shell(start, attempt):
    target = start(transform_commands=("cat", "tr a-z A-Z"))
    with target.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE w (a string)")
        cur.execute("INSERT OVERWRITE TABLE w SELECT 'abc'")
        cur.execute("SELECT TRANSFORM(a) USING 'cat' AS (b) FROM w")
        assert cur.fetchall() == [("abc",)]
        cur.execute("SELECT TRANSFORM(a) USING 'tr  a-z  A-Z' AS (b) FROM w")  # same words
        assert cur.fetchall() == [("ABC",)]
        for using in ("tr a-z A-Z; touch pwned", "cat -", "tr a-z a-z", "/bin/cat"):
            assert attempt(cur, f"SELECT TRANSFORM(a) USING '{using}' FROM w").refused


def test_operator_commands_never_come_from_client_writable_folders(tmp_path):
    from rayemr.core.errors import ConfigError
    from rayemr.hive.server import HiveServer2

    writable = tmp_path / "warehouse"
    writable.mkdir()
    script = writable / "job.py"
    script.write_text("print(1)\n")
    with pytest.raises(ConfigError, match="can write"):
        HiveServer2(host="127.0.0.1", port=0, warehouse=str(writable),
                    transform_commands=(f"python3 {script}",))
