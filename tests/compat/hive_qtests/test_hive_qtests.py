"""Hive's own qtests through rayemr.hive: every statement of the vendored excerpts runs and is
compared with Hive's .q.out; the ones recorded in agreeing.json must agree, and the total is
reported (docs/hive.md has the figures). ``-m slow`` with RAYEMR_HIVE_SOURCE pointing at a
checkout of apache/hive runs every qtest the runner chooses from it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import runner

HERE = Path(__file__).resolve().parent
QOUT = HERE / "qout"
#: name -> indexes (in parse_qout order) of the statements whose results agree with Hive's
AGREEING: dict[str, list[int]] = json.loads((HERE / "agreeing.json").read_text())


@pytest.fixture(scope="module")
def results() -> dict[str, runner.FileResult]:
    """Every vendored excerpt run once, every query statement compared."""
    return {name: runner.run_qout(name, (QOUT / f"{name}.q.out").read_text())
            for name in sorted(AGREEING)}


def test_vendored_files_are_listed():
    assert sorted(p.name[:-len(".q.out")] for p in QOUT.glob("*.q.out")) == sorted(AGREEING)
    assert sum(len(v) for v in AGREEING.values()) > 0


@pytest.mark.parametrize("name", sorted(AGREEING))
def test_agreeing_statements_still_agree(results, name):
    outcomes = [results[name].outcomes[i] for i in AGREEING[name]]
    assert [o.status for o in outcomes] == ["agree"] * len(outcomes), [
        (o.sql, o.status, o.detail) for o in outcomes if o.status != "agree"]


def test_agreement_total(results, capsys):
    # a statement rayemr refuses (an error) counts as one that does not agree
    compared = sum(r.count("agree") + r.count("differ") + r.count("error")
                   for r in results.values())
    agree = sum(r.count("agree") for r in results.values())
    newly = {name: [i for i, o in enumerate(r.outcomes)
                    if o.status == "agree" and i not in AGREEING[name]]
             for name, r in results.items()}
    with capsys.disabled():
        print(f"\nvendored Hive qtests: {agree} of {compared} statements agree "
              f"({len(results)} files)")
    # a statement that starts agreeing is recorded, so that it keeps agreeing
    assert not any(newly.values()), f"record in agreeing.json: {newly}"
    assert agree == sum(len(v) for v in AGREEING.values())


def test_a_different_answer_differs():
    # the comparison itself: Hive's INT 5 is not rayemr's 5.0, a missing row is a difference
    assert not runner.rows_agree(["5\t5.0"], ["5.0\t5.0"])
    assert not runner.rows_agree(["1", "2"], ["1"])
    assert runner.rows_agree(["0.30000000000000004"], ["0.3000000000000000444"])
    text = ("PREHOOK: query: SELECT CAST('7' AS INT) + 1\nPREHOOK: type: QUERY\n9\n")
    res = runner.run_qout("wrong", text)
    assert [o.status for o in res.outcomes] == ["differ"], res.outcomes


@pytest.mark.slow
def test_chosen_qtests_of_a_hive_checkout(tmp_path):
    source = os.environ.get("RAYEMR_HIVE_SOURCE")
    if not source:
        pytest.skip("set RAYEMR_HIVE_SOURCE to a checkout of apache/hive")
    out = tmp_path / "qtests.json"
    assert runner.main(["--hive", source, "--json", str(out)]) == 0
    summary = json.loads(out.read_text())["summary"]
    assert summary["statements_agreeing"] > 0
