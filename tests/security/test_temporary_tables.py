"""A session's TEMPORARY tables live in that session only."""
from __future__ import annotations


def test_temporary_tables_are_private_to_their_session(target, attempt):
    with target.connect() as a, target.connect() as b:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("CREATE TEMPORARY TABLE scratch (v string)")
        ca.execute("INSERT INTO scratch SELECT 'mine'")
        ca.execute("SELECT v FROM scratch")
        assert ca.fetchall() == [("mine",)]
        out = attempt(cb, "SELECT v FROM scratch")
        assert out.refused and "scratch" in out.error, out
        cb.execute("SHOW TABLES")
        assert ("scratch",) not in cb.fetchall()
        assert attempt(cb, "DROP TABLE scratch").refused
        assert attempt(cb, "INSERT INTO scratch SELECT 'theirs'").refused
        # the other session may create its own table of that name
        cb.execute("CREATE TEMPORARY TABLE scratch (v string)")
        cb.execute("INSERT INTO scratch SELECT 'theirs'")
        cb.execute("SELECT v FROM scratch")
        assert cb.fetchall() == [("theirs",)]
        ca.execute("SELECT v FROM scratch")
        assert ca.fetchall() == [("mine",)]
    with target.connect() as c:  # gone with their sessions, data included
        out = attempt(c.cursor(), "SELECT v FROM scratch")
        assert out.refused
    leftovers = [p for p in target.warehouse.rglob("*")
                 if p.is_file() or p.name == "default.scratch"]
    assert not [p for p in leftovers if ".hive-scratch" in str(p)], leftovers


def test_a_temporary_table_shadows_a_permanent_one_in_its_session_only(target):
    with target.connect() as a, target.connect() as b:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("CREATE TABLE IF NOT EXISTS shadowed (v string)")
        ca.execute("INSERT OVERWRITE TABLE shadowed SELECT 'permanent'")
        ca.execute("CREATE TEMPORARY TABLE shadowed (v string)")
        ca.execute("INSERT INTO shadowed SELECT 'temporary'")
        ca.execute("SELECT v FROM shadowed")
        assert ca.fetchall() == [("temporary",)]
        cb.execute("SELECT v FROM shadowed")
        assert cb.fetchall() == [("permanent",)]
