"""reflect() / java_method(): the fixed table of Java methods answers as the Java method
would, rendered as Java's toString (reflect's result is a STRING)."""
from __future__ import annotations

import re
import time

import pytest

import rayemr.hive
from rayemr.core.errors import UserError
from rayemr.hive.sql import reflect


@pytest.fixture
def cur(tmp_path):
    conn = rayemr.hive.connect(metastore_path=str(tmp_path / "ms.db"),
                               warehouse=str(tmp_path / "wh"), runner="inline")
    yield conn.cursor()
    conn.close()


def one(cur, sql: str) -> tuple:
    cur.execute(sql)
    (row,) = cur.fetchall()
    return row


def test_languagemanual_example(cur):
    # LanguageManual UDF, "reflect (UDF)": the example and the answers it shows
    assert one(cur, "SELECT reflect('java.lang.String', 'valueOf', 1), "
                    "reflect('java.lang.String', 'isEmpty'), "
                    "reflect('java.lang.Math', 'max', 2, 3), "
                    "reflect('java.lang.Math', 'min', 2, 3), "
                    "reflect('java.lang.Math', 'round', 2.5), "
                    "reflect('java.lang.Math', 'exp', 1.0), "
                    "reflect('java.lang.Math', 'floor', 1.9)") == (
        "1", "true", "3", "2", "3", "2.718281828459045", "1.0")
    assert {d[1] for d in cur.description} == {"STRING_TYPE"}


def test_math_renders_like_java(cur):
    assert one(cur, "SELECT java_method('java.lang.Math', 'pow', 10, 20), "
                    "reflect('java.lang.Math', 'sqrt', 2), reflect('java.lang.Math', 'abs', -4), "
                    "reflect('java.lang.Math', 'abs', -4.5), "
                    "reflect('java.lang.Math', 'log', 0), reflect('java.lang.Math', 'sqrt', -1), "
                    "reflect('java.lang.Math', 'floorMod', -7, 2), "
                    "reflect('java.lang.Math', 'floorDiv', -7, 2), "
                    "reflect('java.lang.Math', 'pow', 10, -4), "
                    "reflect('java.lang.Math', 'max', 2, NULL)") == (
        "1.0E20", "1.4142135623730951", "4", "4.5", "-Infinity", "NaN", "1", "-4", "1.0E-4",
        None)


def test_strings_numbers_and_booleans(cur):
    assert one(cur, "SELECT reflect('java.lang.String', 'valueOf', true), "
                    "reflect('java.lang.String', 'valueOf', 2.5D), "
                    "reflect('java.lang.Integer', 'parseInt', ' 42'), "
                    "reflect('java.lang.Long', 'toHexString', 255), "
                    "reflect('java.lang.Double', 'parseDouble', '1e3'), "
                    "reflect('java.lang.Boolean', 'parseBoolean', 'TRUE')") == (
        "true", "2.5", "42", "ff", "1000.0", "true")


def test_url_coding(cur):
    # URLEncoder: letters, digits and .-*_ kept, ' ' as '+', the rest %XX of UTF-8;
    # URLDecoder reads '+' as ' '
    assert one(cur, "SELECT reflect('java.net.URLEncoder', 'encode', 'a b~*.-_/?&=é', "
                    "'UTF-8'), reflect('java.net.URLDecoder', 'decode', 'a+b%20c%7E%C3%A9'), "
                    "reflect('java.net.URLDecoder', 'decode', reflect('java.net.URLEncoder', "
                    "'encode', 'x y+z'))") == ("a+b%7E*.-_%2F%3F%26%3D%C3%A9", "a b c~é",
                                               "x y+z")
    with pytest.raises(UserError, match="UTF-8"):
        cur.execute("SELECT reflect('java.net.URLEncoder', 'encode', 'a', 'ISO-8859-1')")


def test_uuid_and_time(cur):
    a, b, now = one(cur, "SELECT reflect('java.util.UUID', 'randomUUID'), "
                         "java_method('java.util.UUID', 'randomUUID'), "
                         "reflect('java.lang.System', 'currentTimeMillis')")
    pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert pattern.fullmatch(a) and pattern.fullmatch(b) and a != b
    assert abs(int(now) - time.time() * 1000) < 600_000


def test_thread_sleep_sleeps_and_returns_null(cur):
    started = time.monotonic()
    assert one(cur, "SELECT reflect('java.lang.Thread', 'sleep', 200)") == (None,)
    assert time.monotonic() - started >= 0.2
    with pytest.raises(UserError, match="negative"):
        cur.execute("SELECT reflect('java.lang.Thread', 'sleep', -1)")


@pytest.mark.parametrize("sql,message", [
    ("SELECT reflect('java.lang.Runtime', 'exec', 'id')", "java.lang.Runtime.exec is not"),
    ("SELECT reflect('java.lang.Math', 'abs', 1, 2)", "with 2 argument"),
    ("SELECT reflect('java.lang.Math')", "takes a class name"),
    ("SELECT reflect(concat('java.lang', '.Math'), 'abs', 1)", "must be a string literal"),
])
def test_anything_else_is_a_clear_error(cur, sql, message):
    with pytest.raises(UserError, match=re.escape(message)):
        cur.execute(sql)


def test_table_lists_the_documented_targets():
    names = reflect.supported()
    for name in ("java.lang.Math.max", "java.net.URLDecoder.decode",
                 "java.net.URLEncoder.encode", "java.util.UUID.randomUUID",
                 "java.lang.String.valueOf", "java.lang.Thread.sleep"):
        assert name in names
    assert not [n for n in names if n.split(".")[2] in ("Runtime", "ProcessBuilder", "Class")
                or n.startswith("java.lang.System.get")]
