"""Publishing an INSERT's files into place is roll-forward safe: interrupted after its plan
is stored, the next write into the table finishes it; interrupted before, nothing shows."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import StorageError
from rayemr.hive import publish


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def _setup(session):
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("CREATE TABLE src (id int, dt string)")
    session.execute("INSERT INTO src SELECT 1, 'a' UNION ALL SELECT 2, 'b' UNION ALL "
                    "SELECT 3, 'c' UNION ALL SELECT 4, 'a'")
    session.execute("CREATE TABLE p (id int) PARTITIONED BY (dt string)")
    session.execute("INSERT INTO p PARTITION (dt) SELECT id * 10, dt FROM src")
    return session.metastore.get_table("default", "p").location


def _staging(loc):
    return [e for e in os.listdir(loc) if e.startswith(publish.STAGING_PREFIX)]


OVERWRITE = "INSERT OVERWRITE TABLE p PARTITION (dt) SELECT id, dt FROM src"
EXPECTED = [(1, "a"), (2, "b"), (3, "c"), (4, "a")]


def test_an_interrupted_publish_is_finished_by_the_next_insert(session, monkeypatch):
    loc = _setup(session)
    real_move, moved = publish._move, []

    def crash_after_two(src, dst):
        if len(moved) == 2:
            raise OSError("connection reset")
        real_move(src, dst)
        moved.append(dst)

    monkeypatch.setattr(publish, "_move", crash_after_two)
    with pytest.raises(StorageError, match="rows are committed.*next INSERT"):
        session.execute(OVERWRITE)
    monkeypatch.undo()
    # half published: some partitions new, the others already emptied or still old
    assert rows(session.execute("SELECT id, dt FROM p ORDER BY id")) != EXPECTED
    assert len(_staging(loc)) == 1
    r = session.execute("INSERT INTO p PARTITION (dt) SELECT 99, 'z' FROM src WHERE id = 1")
    assert any("interrupted" in line for line in r.log)
    assert rows(session.execute("SELECT id, dt FROM p WHERE dt <> 'z' ORDER BY id")) == EXPECTED
    assert _staging(loc) == []


def test_a_failure_before_the_plan_is_stored_leaves_nothing(session, monkeypatch):
    loc = _setup(session)
    before = rows(session.execute("SELECT id, dt FROM p ORDER BY id"))

    def fail(plan):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "write_plan", fail)
    with pytest.raises(OSError, match="disk full"):
        session.execute(OVERWRITE)
    monkeypatch.undo()
    assert rows(session.execute("SELECT id, dt FROM p ORDER BY id")) == before
    assert _staging(loc) == []
    session.execute(OVERWRITE)
    assert rows(session.execute("SELECT id, dt FROM p ORDER BY id")) == EXPECTED


def test_recover_finishes_a_stored_plan_and_ignores_running_statements(session):
    """A plan applied twice (a crash, then recovery; or two sessions) gives the same result;
    a staging folder without a plan (a statement still running) is left alone."""
    loc = _setup(session)
    table = session.metastore.get_table("default", "p")
    running = os.path.join(loc, publish.STAGING_PREFIX + "running")
    os.makedirs(running)
    staging = os.path.join(loc, publish.STAGING_PREFIX + "done")
    os.makedirs(os.path.join(staging, "dt=n"))
    with open(os.path.join(staging, "dt=n", "000000_0"), "w") as f:
        f.write("7\n")
    target = os.path.join(loc, "dt=n")
    plan = publish.plan(table, staging, [publish.Target(os.path.join(staging, "dt=n"),
                                                        target)],
                        [publish.Partition(("n",), target)])
    publish.write_plan(plan)
    publish.apply(plan, session.metastore)  # the statement itself got this far ...
    assert publish.recover(table, session.metastore) == 0  # ... so nothing is left to do
    os.makedirs(os.path.join(staging, "dt=n"))
    publish.write_plan(plan)  # as if it had crashed right after storing the plan
    assert publish.recover(table, session.metastore) == 1
    assert rows(session.execute("SELECT id FROM p WHERE dt = 'n'")) == [(7,)]
    assert os.listdir(target) == ["000000_0"]
    assert _staging(loc) == [publish.STAGING_PREFIX + "running"]


def test_plan_names_copies_as_hive_does(tmp_path):
    from rayemr.hive.metastore.models import StorageFormat, Table

    src, dst = tmp_path / "stage", tmp_path / "t"
    src.mkdir()
    dst.mkdir()
    for name in ("000000_0", "000001_0"):
        (src / name).write_text("x")
    (dst / "000000_0").write_text("old")
    (dst / "000000_0_copy_1").write_text("old")
    table = Table("default", "t", (), (), "MANAGED_TABLE", str(dst), StorageFormat())
    plan = publish.plan(table, str(src), [publish.Target(str(src), str(dst))])
    assert sorted(os.path.basename(d) for _, d in plan.moves) == [
        "000000_0_copy_2", "000001_0"]
    assert plan.deletes == ()
    again = publish.PublishPlan.from_json(plan.to_json())
    assert again == plan
    over = publish.plan(table, str(src), [publish.Target(str(src), str(dst), True)])
    assert sorted(os.path.basename(u) for u in over.deletes) == ["000000_0",
                                                                 "000000_0_copy_1"]
    assert sorted(os.path.basename(d) for _, d in over.moves) == ["000000_0", "000001_0"]
