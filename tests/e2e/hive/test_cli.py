"""`rayemr hive` as users run it: -e, -f with --hivevar, --database, the shell on stdin."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


EXE = str(Path(sys.executable).parent / "rayemr")


def run(args, tmp_path, stdin=None):
    env = dict(os.environ, RAYEMR_HOME=str(tmp_path / "home"), RAYEMR_HIVE_RUNNER="inline")
    return subprocess.run([EXE, "hive", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=300)


def test_execute_and_script_with_hivevars(tmp_path):
    r = run(["-e", "CREATE DATABASE web; CREATE TABLE web.hits (page string, n int); "
                   "INSERT INTO web.hits SELECT 'a', 1 UNION ALL SELECT 'b', 2"], tmp_path)
    assert r.returncode == 0, r.stderr
    script = tmp_path / "q.q"
    script.write_text("-- report\nSELECT page, n FROM hits WHERE n >= ${hivevar:min} "
                      "ORDER BY page;\nSELECT count(*) FROM hits;\n")
    r = run(["-f", str(script), "--hivevar", "min=1", "--database", "web", "--header"],
            tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "page\tn\na\t1\nb\t2\n_c0\n2\n"
    assert "Time taken" in r.stderr


def test_user_error_is_one_line(tmp_path):
    r = run(["-e", "SELECT * FROM nosuch"], tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "Table not found 'nosuch'" in r.stderr and "Traceback" not in r.stderr
    r = run(["-e", "SELECT 1 +"], tmp_path)
    assert r.returncode == 1 and "line 1:" in r.stderr


def test_shell_reads_statements_and_prints_tables(tmp_path):
    r = run([], tmp_path, stdin="CREATE TABLE t (a int, b string);\nINSERT INTO t\n"
                                "SELECT 1, 'x';\nSELECT * FROM t;\nSELECT nope FROM t;\n"
                                "quit;\n")
    assert r.returncode == 0, r.stderr
    # Hive's unique column names: SELECT * names its columns t.col
    assert "| t.a | t.b |" in r.stdout and "| 1   | x   |" in r.stdout
    assert "FAILED: Invalid table alias or column reference 'nope'" in r.stderr
