"""The EMR demo runs its bundled steps end to end and prints the expected result."""
from __future__ import annotations

import io

import pytest

from rayemr.emr.demo import expected_seconds_per_page, run_demo


@pytest.mark.slow
def test_demo_cluster_end_to_end(ray_local, tmp_path):
    out = io.StringIO()
    final = run_demo(out, folder=str(tmp_path))
    text = out.getvalue()
    states = {s["Name"]: s["Status"]["State"] for s in final["Steps"]}
    assert states == {"Load visits (Hive)": "COMPLETED",
                      "Seconds per page (MapReduce)": "COMPLETED",
                      "A failing check (CONTINUE)": "FAILED",
                      "Show the result": "COMPLETED"}, text
    assert final["Cluster"]["Status"]["State"] == "TERMINATED"
    assert final["Output"] == expected_seconds_per_page()
    assert "bootstrapped" in text and "seconds per page: cart=" in text
    cid = final["Cluster"]["Id"]
    for step in final["Steps"]:
        assert (tmp_path / "logs" / cid / "steps" / step["Id"] / "stderr").exists()
    # the MapReduce step ran with mapred-site's reducer count
    assert len(list((tmp_path / "out").glob("part-*"))) == 2
