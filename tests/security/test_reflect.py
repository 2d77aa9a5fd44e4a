"""reflect() / java_method() are a fixed table of Java methods, never a way to run code,
read the environment or reach the DuckDB functions behind the table."""
from __future__ import annotations

import pytest

REFUSED = [
    "SELECT reflect('java.lang.Runtime', 'exec', 'id')",
    "SELECT reflect('java.lang.ProcessBuilder', 'start')",
    "SELECT reflect('java.lang.System', 'getenv', 'AWS_SECRET_ACCESS_KEY')",
    "SELECT java_method('java.lang.System', 'getProperty', 'user.home')",
    "SELECT reflect('java.lang.System', 'exit', 0)",
    "SELECT reflect('java.nio.file.Files', 'readAllLines', '{secret}')",
    "SELECT reflect('java.io.FileInputStream', 'read', '{secret}')",
    "SELECT reflect('java.lang.Class', 'forName', 'java.lang.Runtime')",
    "SELECT reflect('java.lang.Math ', 'abs', 1)",
    "SELECT reflect('JAVA.LANG.MATH', 'abs', 1)",
    "SELECT reflect('java.lang.Math', 'abs')",
    "SELECT reflect(a, 'abs', 1) FROM t",
    "SELECT reflect(concat('java.lang.', 'Runtime'), 'exec', 'id')",
    "SELECT java_method('java.lang.Math', a, 1) FROM t",
    "SELECT reflect2(a, 'length') FROM t",
    "SELECT reflect('java.lang.Thread', 'sleep', 1) FROM t WHERE "
    "reflect('java.lang.System', 'getenv', 'HOME') IS NOT NULL",
    # the DuckDB macros and functions the table maps to are not HiveQL themselves
    "SELECT hive_sleep(1)",
    "SELECT hive_java_double(1.0)",
    "SELECT url_encode('a b')",
    "SELECT uuid()",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_arbitrary_classes_and_methods_are_refused(target, attempt, canary, sql):
    with target.connect() as conn:
        out = attempt(conn.cursor(), sql.format(secret=target.outside / "secret.txt"))
        assert out.refused, out
        assert canary not in out.text()


def test_refusal_names_the_class_and_method(target, attempt):
    with target.connect() as conn:
        out = attempt(conn.cursor(), "SELECT reflect('java.lang.Runtime', 'exec', 'id')")
    assert "java.lang.Runtime.exec is not available" in out.error


def test_mapped_methods_answer(target, attempt):
    with target.connect() as conn:
        out = attempt(conn.cursor(), "SELECT reflect('java.lang.Math', 'max', 2, 3), "
                                     "java_method('java.net.URLEncoder', 'encode', 'a b') "
                                     "FROM t")
    assert out.rows == [("3", "a+b")]
