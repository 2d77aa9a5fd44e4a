"""Statement splitting, variable substitution, the settings allowlist and path confinement."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import AccessDeniedError, UserError
from rayemr.hive.server import guard


@pytest.mark.parametrize("sql,count", [
    ("SELECT 1", 1), ("SELECT 1;", 1), ("SELECT ';'", 1), ('SELECT ";" -- ; x\n', 1),
    ("SELECT 1; SELECT 2", 2), ("/* ; */ SELECT `a;b` FROM t;;", 1),
    ("SELECT 'it\\'s;'", 1), ("", 0), (" ; -- nothing\n", 0),
])
def test_split_statements(sql, count):
    assert len(guard.split_statements(sql)) == count


def test_single_statement():
    assert guard.single_statement("SELECT 1 ;") == "SELECT 1"
    with pytest.raises(UserError, match="one statement"):
        guard.single_statement("SELECT 1; DROP TABLE t")
    with pytest.raises(UserError, match="empty"):
        guard.single_statement("-- only a comment")
    with pytest.raises(UserError, match="unterminated"):
        guard.single_statement("SELECT 'open")


def test_substitute():
    hv, hc = {"a": "1", "b": "${hivevar:a}2"}, {"x.y": "conf"}
    assert guard.substitute("${hivevar:b} ${a} ${hiveconf:x.y} ${x.y} ${nope}", hv, hc) == \
        "12 1 conf conf ${nope}"
    for sql in ("${env:HOME}", "${system:user.dir}", "${ENV:PATH}", "${env:HOME/x}",
                "${ env:A B}", "${v}"):
        with pytest.raises(AccessDeniedError):
            guard.substitute(sql, {"v": "${env:HOME}"}, {})
    with pytest.raises(UserError, match="settle"):
        guard.substitute("${a}", {"a": "${a}x"}, {})


def test_set_statements_and_allowlist():
    policy = guard.PropertyPolicy()
    for ok in ("SET mapreduce.job.reduces=4", "set hive.exec.dynamic.partition.mode = x",
               "SET hivevar:v=/etc", "SET", "SET hive.metastore.warehouse.dir",
               "SET tez.queue.name=q", "SET hiveconf:hive.auto.convert.join=false"):
        guard.check_set_statement(ok, policy)
    for bad in ("SET hive.metastore.warehouse.dir=/etc", "SET fs.s3.awsSecretAccessKey=x",
                "SET hiveconf:javax.jdo.option.ConnectionURL=x", "SET env:HOME=/",
                "SET -v hive.server2.authentication=NONE"):
        with pytest.raises(AccessDeniedError):
            guard.check_set_statement(bad, policy)
    with pytest.raises(UserError):
        guard.check_set_statement("SET hivevar:bad name=1", policy)
    extended = guard.PropertyPolicy(guard.DEFAULT_PROPERTY_ALLOWLIST + (r"my\.key",))
    guard.check_set_statement("SET my.key=1", extended)


@pytest.fixture
def tree(tmp_path):
    allowed, warehouse, outside = (tmp_path / n for n in ("allowed", "warehouse", "outside"))
    for d in (allowed, warehouse, outside):
        d.mkdir()
    (allowed / "link").symlink_to(outside)
    (allowed / "script.py").write_text("print(1)\n")
    policy = guard.PathPolicy.build([str(warehouse), f"file://{allowed}"])
    return policy, allowed, warehouse, outside


def test_paths_inside_roots(tree):
    policy, allowed, warehouse, outside = tree
    for p in (str(allowed), f"{allowed}/new/dir", f"file://{warehouse}/t", f"file:{allowed}/x",
              "s3://bucket/any/prefix", "s3a://b/k", "memory://x"):
        policy.check_path(p)


def test_paths_outside_roots(tree):
    policy, allowed, warehouse, outside = tree
    for p in ("/etc", "file:///etc/passwd", f"{allowed}/../outside", str(outside),
              f"{allowed}/link", f"{allowed}/link/file", f"{allowed}x", "relative/path",
              "http://example.com/x", "hdfs://nn/x", "file://otherhost/etc", "/a\\b",
              f"{allowed}/\x00"):
        with pytest.raises(AccessDeniedError):
            policy.check_path(p)


def test_s3_prefixes_restrict_s3_when_listed(tmp_path):
    policy = guard.PathPolicy.build([str(tmp_path), "s3://data/shared"])
    policy.check_path("s3://data/shared/t1")
    policy.check_path("s3a://data/shared")
    for p in ("s3://data/sharedother", "s3://data/private", "s3://data/shared/../private"):
        with pytest.raises(AccessDeniedError):
            policy.check_path(p)
    with pytest.raises(UserError):
        guard.PathPolicy.build(["gs://bucket"])


def test_statements_are_scanned_for_paths(tree):
    policy, allowed, warehouse, outside = tree
    ok = [f"CREATE EXTERNAL TABLE t (a int) LOCATION '{allowed}/t'",
          f"LOAD DATA LOCAL INPATH \"{allowed}/f.txt\" INTO TABLE t",
          f"INSERT OVERWRITE LOCAL DIRECTORY '{warehouse}/out' SELECT 1",
          f"SELECT TRANSFORM (a) USING 'python3 {allowed}/script.py' AS (b) FROM t",
          "SELECT TRANSFORM (a) USING 'cat' AS (b) FROM t",
          f"SELECT TRANSFORM (a) USING '{allowed}/script.py' AS (b) FROM t",
          f"ADD FILE {allowed}/script.py",
          "SELECT location FROM t WHERE location = '/etc'",  # a column and a value, no path
          "SELECT * FROM t JOIN u USING (id)"]
    for sql in ok:
        guard.check_statement_paths(sql, policy)
    bad = [f"ALTER TABLE t SET LOCATION '{outside}'",
           "ALTER TABLE t ADD PARTITION (d='1') LOCATION 'file:///etc'",
           "LOAD DATA INPATH '/etc/shadow' INTO TABLE t",
           "SELECT TRANSFORM (a) USING 'bash' AS (b) FROM t",
           "SELECT TRANSFORM (a) USING 'python3 -c \"import os\"' AS (b) FROM t",
           "SELECT TRANSFORM (a) USING 'cat /etc/passwd' AS (b) FROM t",
           "SELECT TRANSFORM (a) USING 'cat | sh' AS (b) FROM t",
           f"SELECT TRANSFORM (a) USING 'python3 {outside}/x.py' AS (b) FROM t",
           "ADD JAR /tmp/evil.jar", "ADD FILES a.py, /etc/passwd",
           "CREATE FUNCTION f AS 'x.Y' USING JAR 'file:///tmp/x.jar'",
           "SOURCE /etc/profile", "dfs -ls /", "! ls"]
    for sql in bad:
        with pytest.raises(AccessDeniedError):
            guard.check_statement_paths(sql, policy)
