"""Bad input gives one-line UserErrors naming the object, never a traceback from inside."""
from __future__ import annotations

import pytest

from rayemr.core.errors import InputNotFoundError, UnsupportedError, UserError
from rayemr.hive.sql.lexer import HiveParseError


@pytest.fixture
def hive(session):
    session.execute("CREATE TABLE t (a int, s string, arr array<int>)")
    return session


def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_query_syntax_error_line_and_column(hive):
    with pytest.raises(HiveParseError) as exc:
        hive.execute("SELECT a,\n  s FROM t WHERE a = = 1")
    msg = _one_line(exc)
    assert "line 2:" in msg


def test_unknown_table(hive):
    with pytest.raises(InputNotFoundError) as exc:
        hive.execute("SELECT * FROM nosuch")
    # Hive's words: where, which error, the name as written
    assert _one_line(exc).startswith("Line 1:14 Table not found 'nosuch'")
    assert exc.value.error.code == 10001 and exc.value.sql_state == "42S02"


def test_unknown_database(hive):
    with pytest.raises(InputNotFoundError) as exc:
        hive.execute("SELECT * FROM nodb.t")
    assert "nodb" in _one_line(exc)


def test_unknown_column(hive):
    with pytest.raises(UserError) as exc:
        hive.execute("SELECT b FROM t")
    assert "'b'" in _one_line(exc)


def test_type_mismatch(hive):
    with pytest.raises(UserError) as exc:
        hive.execute("SELECT a + arr FROM t")
    assert "type mismatch" in _one_line(exc).lower() or "convert" in str(exc.value).lower()


def test_unknown_function(hive):
    with pytest.raises(UserError, match="Invalid function") as exc:
        hive.execute("SELECT no_such_fn(a) FROM t")
    assert "no_such_fn" in _one_line(exc)


def test_unknown_function_is_found_when_compiling(hive):
    """Named by the compiler, before any task runs (and in EXPLAIN, which runs none)."""
    with pytest.raises(UserError, match="Invalid function no_such_fn"):
        hive.compile("SELECT upper(s), no_such_fn(a) FROM t")
    with pytest.raises(UserError, match="Invalid function no_such_fn"):
        hive.execute("EXPLAIN SELECT count(*) FROM t GROUP BY no_such_fn(a)")
    hive.compile("SELECT upper(s), pmod(a, 2), nvl(a, 0), concat_ws('-', s, s) FROM t")


def test_unsupported_statement(hive):
    with pytest.raises(UnsupportedError) as exc:
        hive.execute("DELETE FROM t WHERE a = 1")
    assert "DELETE" in _one_line(exc)


def test_bad_type_in_ddl(hive):
    with pytest.raises(UserError) as exc:
        hive.execute("CREATE TABLE bad (a integr)")
    assert "integr" in _one_line(exc)


def test_cli_shows_one_line(capsys, session, tmp_path, monkeypatch):
    from rayemr.cli import main

    monkeypatch.setenv("RAYEMR_HOME", str(tmp_path / "home"))
    code = main(["hive", "--runner", "inline", "-e", "SELECT * FROM nosuch"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "nosuch" in err
