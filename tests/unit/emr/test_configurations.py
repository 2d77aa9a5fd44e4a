"""EMR configuration classifications: parsing, validation, provenance (no Ray)."""
from __future__ import annotations

import json

import pytest

from rayemr.core.errors import ConfigError, UnsupportedError
from rayemr.emr.configurations import (ClusterConfig, load_configurations,
                                       parse_configurations)

QUEUES = {
    "Classification": "capacity-scheduler",
    "Properties": {
        "yarn.scheduler.capacity.root.queues": "prod,dev",
        "yarn.scheduler.capacity.root.prod.capacity": "70",
        "yarn.scheduler.capacity.root.dev.capacity": "30",
        "yarn.scheduler.capacity.root.dev.maximum-capacity": "60",
    },
}


def test_defaults_are_empty_and_components_fill_in():
    cfg = ClusterConfig()
    assert cfg.classification("capacity-scheduler") == {}
    assert cfg.explain() == [] and cfg.to_emr_json() == []


def test_values_and_where_they_came_from():
    cfg = parse_configurations([
        QUEUES,
        {"Classification": "hive-site", "Properties": {"hive.exec.reducers.max": 7}},
        {"Classification": "mapred-site", "Properties": {"mapreduce.job.reduces": "3"}},
    ], source="conf.json")
    assert cfg.get("hive-site", "hive.exec.reducers.max") == "7"  # numbers become text
    assert cfg.source("mapred-site", "mapreduce.job.reduces") == "conf.json[2]"
    assert cfg.classification("capacity-scheduler")[
        "yarn.scheduler.capacity.root.queues"] == "prod,dev"
    lines = cfg.explain()
    assert "mapred-site: mapreduce.job.reduces = 3  (conf.json[2])" in lines
    # non-defaults only, in EMR's own form
    emitted = {c["Classification"] for c in cfg.to_emr_json()}
    assert emitted == {"capacity-scheduler", "hive-site", "mapred-site"}


def test_config_is_frozen():
    cfg = parse_configurations([QUEUES])
    with pytest.raises(TypeError):
        cfg.properties["hive-site"] = {}  # type: ignore[index]
    with pytest.raises(Exception):
        cfg.properties = {}  # type: ignore[misc]


def test_later_entries_override_earlier_ones_and_a_base():
    base = parse_configurations([{"Classification": "hive-site",
                                  "Properties": {"a.b": "1", "c.d": "2"}}], source="one")
    cfg = parse_configurations([{"Classification": "hive-site", "Properties": {"a.b": "9"}}],
                               source="two", base=base)
    assert cfg.get("hive-site", "a.b") == "9" and cfg.source("hive-site", "a.b") == "two[0]"
    assert cfg.get("hive-site", "c.d") == "2" and cfg.source("hive-site", "c.d") == "one[0]"


def test_hadoop_env_nested_export():
    cfg = parse_configurations([{"Classification": "hadoop-env", "Configurations": [
        {"Classification": "export", "Properties": {"TZ": "UTC", "MY_VAR": "x y"}}]}])
    assert cfg.environment == {"TZ": "UTC", "MY_VAR": "x y"}
    with pytest.raises(ConfigError, match="hadoop-env.*'1BAD'"):
        parse_configurations([{"Classification": "hadoop-env", "Configurations": [
            {"Classification": "export", "Properties": {"1BAD": "x"}}]}])


def test_nested_configurations_in_a_site_classification_are_refused():
    with pytest.raises(ConfigError, match="yarn-site: nested"):
        parse_configurations([{"Classification": "yarn-site", "Configurations": [
            {"Classification": "export", "Properties": {}}]}])


def test_unknown_classification_names_it():
    with pytest.raises(ConfigError, match="unknown configuration classification 'hive-sight'"):
        parse_configurations([{"Classification": "hive-sight", "Properties": {}}])


@pytest.mark.parametrize("name", ["hive-env", "spark", "spark-defaults", "hdfs-site"])
def test_emr_classifications_rayemr_does_not_implement(name):
    with pytest.raises(UnsupportedError, match=f"'{name}'.*not supported"):
        parse_configurations([{"Classification": name, "Properties": {}}])


def test_non_numeric_capacity_names_classification_and_property():
    bad = json.loads(json.dumps(QUEUES))
    bad["Properties"]["yarn.scheduler.capacity.root.prod.capacity"] = "seventy"
    with pytest.raises(ConfigError) as err:
        parse_configurations([bad])
    msg = str(err.value)
    assert "capacity-scheduler" in msg and "yarn.scheduler.capacity.root.prod.capacity" in msg


def test_capacities_not_summing_to_100():
    bad = json.loads(json.dumps(QUEUES))
    bad["Properties"]["yarn.scheduler.capacity.root.dev.capacity"] = "20"
    with pytest.raises(ConfigError) as err:
        parse_configurations([bad])
    msg = str(err.value)
    assert "capacity-scheduler" in msg and "'yarn.scheduler.capacity.root.queues'" in msg
    assert "90" in msg and "100" in msg


def test_nested_queue_capacities_checked_too():
    props = dict(QUEUES["Properties"])
    props.update({"yarn.scheduler.capacity.root.prod.queues": "etl,bi",
                  "yarn.scheduler.capacity.root.prod.etl.capacity": "50",
                  "yarn.scheduler.capacity.root.prod.bi.capacity": "40"})
    with pytest.raises(ConfigError, match="root.prod.queues"):
        parse_configurations([{"Classification": "capacity-scheduler", "Properties": props}])


def test_missing_queue_capacity():
    props = dict(QUEUES["Properties"])
    del props["yarn.scheduler.capacity.root.dev.capacity"]
    with pytest.raises(ConfigError, match="root.dev.capacity.*missing"):
        parse_configurations([{"Classification": "capacity-scheduler", "Properties": props}])


@pytest.mark.parametrize("cls,key,value", [
    ("yarn-site", "yarn.nodemanager.resource.memory-mb", "lots"),
    ("yarn-site", "yarn.nodemanager.resource.cpu-vcores", "0"),
    ("mapred-site", "mapreduce.job.reduces", "2.5"),
    ("hive-site", "hive.auto.convert.join", "maybe"),
    ("mapred-site", "mapreduce.map.cpu.vcores", "nan"),
])
def test_bad_typed_values_name_classification_and_property(cls, key, value):
    with pytest.raises(ConfigError) as err:
        parse_configurations([{"Classification": cls, "Properties": {key: value}}])
    assert cls in str(err.value) and key in str(err.value) and value in str(err.value)


def test_bad_shapes():
    with pytest.raises(ConfigError, match="Properties"):
        parse_configurations([{"Classification": "hive-site", "Properties": ["a"]}])
    with pytest.raises(ConfigError, match="unknown key"):
        parse_configurations([{"Classification": "hive-site", "Props": {}}])
    with pytest.raises(ConfigError, match="must be a string"):
        parse_configurations([{"Classification": "hive-site", "Properties": {"a": {"b": 1}}}])
    with pytest.raises(ConfigError, match="list of classifications"):
        parse_configurations("hive-site")


def test_load_from_json_text_file_and_file_url(tmp_path):
    text = json.dumps([QUEUES])
    assert load_configurations(text).get(
        "capacity-scheduler", "yarn.scheduler.capacity.root.prod.capacity") == "70"
    path = tmp_path / "conf.json"
    path.write_text(text)
    for src in (str(path), f"file://{path}"):
        cfg = load_configurations(src)
        assert cfg.get("capacity-scheduler", "yarn.scheduler.capacity.root.dev.capacity") == "30"
        assert str(path) in cfg.source("capacity-scheduler",
                                       "yarn.scheduler.capacity.root.dev.capacity")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("[{")
        load_configurations(str(tmp_path / "bad.json"))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_configurations(str(tmp_path / "nope.json"))


def test_secrets_are_masked():
    cfg = parse_configurations([{"Classification": "core-site", "Properties": {
        "fs.s3a.secret.key": "hunter2"}}])
    assert "hunter2" not in "\n".join(cfg.explain())
    assert "hunter2" not in json.dumps(cfg.to_emr_json())


def test_job_queue_must_be_a_leaf_queue_of_the_cluster_scheduler():
    ok = parse_configurations([QUEUES, {"Classification": "mapred-site", "Properties": {
        "mapreduce.job.queuename": "dev"}}])
    assert ok.get("mapred-site", "mapreduce.job.queuename") == "dev"
    with pytest.raises(ConfigError) as err:
        parse_configurations([QUEUES, {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": "etl"}}])
    msg = str(err.value)
    assert "mapred-site" in msg and "mapreduce.job.queuename" in msg and "'etl'" in msg
    assert "prod, dev" in msg
    # without a capacity-scheduler classification the running ResourceManager decides
    parse_configurations([{"Classification": "mapred-site", "Properties": {
        "mapreduce.job.queuename": "etl"}}])


@pytest.mark.parametrize("queue", ["prod", "root.prod", "root"])
def test_a_parent_queue_is_refused_by_name(queue):
    tree = {"Classification": "capacity-scheduler", "Properties": {
        "yarn.scheduler.capacity.root.queues": "prod,dev",
        "yarn.scheduler.capacity.root.prod.capacity": "60",
        "yarn.scheduler.capacity.root.dev.capacity": "40",
        "yarn.scheduler.capacity.root.prod.queues": "etl,adhoc",
        "yarn.scheduler.capacity.root.prod.etl.capacity": "50",
        "yarn.scheduler.capacity.root.prod.adhoc.capacity": "50"}}
    with pytest.raises(ConfigError) as err:
        parse_configurations([tree, {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": queue}}])
    assert str(err.value) == (
        f"mapred-site: property 'mapreduce.job.queuename' names queue '{queue}', which is a "
        "parent queue, not a leaf queue (jobs go to a leaf queue: etl, adhoc, dev)")
    for leaf in ("etl", "root.prod.etl", "dev"):
        parse_configurations([tree, {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": leaf}}])
    with pytest.raises(ConfigError, match="is not a queue"):
        parse_configurations([tree, {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": "root.dev.etl"}}])
    with pytest.raises(ConfigError, match="'root', which is a parent queue"):
        parse_configurations([{"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": "root"}}])
