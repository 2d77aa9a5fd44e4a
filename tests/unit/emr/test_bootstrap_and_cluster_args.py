"""Bootstrap action specs, running them on this machine, and Cluster(...) validation (no Ray)."""
from __future__ import annotations

import pytest

from rayemr.core.errors import ConfigError, UnsupportedError
from rayemr.emr.bootstrap import BootstrapAction, run_on_node
from rayemr.emr.cluster import Cluster


def test_bootstrap_action_forms():
    a = BootstrapAction.from_any({"Name": "setup", "ScriptBootstrapAction": {
        "Path": "s3://b/setup.sh", "Args": ["x", 1]}})
    assert a == BootstrapAction("s3://b/setup.sh", ("x", "1"), "setup")
    assert BootstrapAction.from_any("Path=s3://b/setup.sh,Args=[x,1],Name=setup") == a
    assert BootstrapAction.from_any("s3://b/other.sh").name == "other.sh"
    assert BootstrapAction.from_any(a.to_dict()) == a
    for bad, match in [({"Args": []}, "Path is required"),
                       ({"Path": "x.sh", "Args": "a b"}, "Args must be a list"),
                       ({"Path": "x.sh", "Bogus": 1}, "unknown key")]:
        with pytest.raises(ConfigError, match=match):
            BootstrapAction.from_any(bad)


def test_actions_run_in_order_and_stop_at_the_first_failure(tmp_path):
    ok = tmp_path / "ok.sh"
    ok.write_text("echo \"ok $1 $MY_VAR $RAYEMR_NODE_ID\"\n")
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\necho oops >&2\nexit 3\n")
    never = tmp_path / "never.sh"
    never.write_text("touch " + str(tmp_path / "ran") + "\n")
    result = run_on_node("node-1", (BootstrapAction(str(ok), ("a",)), BootstrapAction(str(bad)),
                                    BootstrapAction(str(never))), {"MY_VAR": "v"})
    assert [a.exit_code for a in result.actions] == [0, 3]
    assert result.actions[0].stdout == b"ok a v node-1\n"
    assert not result.ok and "bad.sh" in result.failure and "oops" in result.failure
    assert not (tmp_path / "ran").exists()


def test_missing_script_is_a_failure_not_a_crash(tmp_path):
    result = run_on_node("n", (BootstrapAction(str(tmp_path / "nope.sh")),), {})
    assert not result.ok and "no such file" in result.failure


def test_cluster_arguments_are_validated_before_anything_starts():
    with pytest.raises(ConfigError, match="hive-sight"):
        Cluster(configurations=[{"Classification": "hive-sight", "Properties": {}}])
    with pytest.raises(UnsupportedError, match="spark"):
        Cluster(configurations=[{"Classification": "spark", "Properties": {}}])
    with pytest.raises(ConfigError, match="a Hive step needs -f"):
        Cluster(steps=[{"Type": "HIVE", "Args": []}])
    with pytest.raises(ConfigError, match="Path is required"):
        Cluster(bootstrap_actions=[{"Name": "x"}])
    with pytest.raises(ConfigError, match="idle timeout"):
        Cluster(idle_timeout=0)
    with pytest.raises(ConfigError, match="Spark"):
        Cluster(applications=["Spark"])
    with pytest.raises(UnsupportedError, match="hive-site.*ConnectionURL.*SQLite"):
        Cluster(configurations=[{"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionURL": "jdbc:mysql://db/hive"}}])
    c = Cluster(configurations=[{"Classification": "mapred-site",
                                 "Properties": {"mapreduce.job.reduces": "2"}}])
    assert c.spec.config.get("mapred-site", "mapreduce.job.reduces") == "2" and c.id is None
