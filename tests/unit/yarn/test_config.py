"""Capacity Scheduler configuration: property names, file formats, validation errors."""
from __future__ import annotations

import json

import pytest

from rayemr.core.errors import ConfigError, InputNotFoundError
from rayemr.yarn import CapacitySchedulerConfig, YarnConfig
from rayemr.yarn.config import Acl
from rayemr.yarn.resources import DOMINANT_CALCULATOR

P = "yarn.scheduler.capacity."
TWO = {P + "root.queues": "prod,dev", P + "root.prod.capacity": "70",
       P + "root.dev.capacity": "30", P + "root.dev.maximum-capacity": "50"}


def test_default_is_one_queue_with_everything():
    conf = CapacitySchedulerConfig.default()
    (leaf,) = [q for q in conf.queues() if q.is_leaf]
    assert leaf.path == "root.default" and leaf.abs_capacity == 1.0
    assert leaf.acl_submit == Acl() and conf.root.acl_submit.everyone


def test_hierarchy_absolute_capacities_and_attributes():
    conf = CapacitySchedulerConfig.from_properties({
        P + "root.queues": "eng,ops", P + "root.eng.capacity": 60, P + "root.ops.capacity": 40,
        P + "root.eng.queues": "a,b", P + "root.eng.a.capacity": "25", P + "root.eng.b.capacity": 75,
        P + "root.eng.maximum-capacity": "80", P + "root.eng.a.user-limit-factor": "2",
        P + "root.eng.a.maximum-applications": "7", P + "root.eng.a.maximum-am-resource-percent": "0.5",
        P + "root.eng.b.ordering-policy": "fair", P + "root.ops.state": "STOPPED",
        P + "root.ops.acl_submit_applications": "alice,bob admins",
        P + "resource-calculator": DOMINANT_CALCULATOR,
    })
    a, b, ops = conf.find("a"), conf.find("root.eng.b"), conf.find("ops")
    assert a.abs_capacity == pytest.approx(0.15) and b.abs_capacity == pytest.approx(0.45)
    assert a.abs_max_capacity == pytest.approx(0.8) and ops.abs_max_capacity == 1.0
    assert (a.user_limit_factor, a.max_applications, a.max_am_percent) == (2.0, 7, 0.5)
    assert b.ordering == "fair" and ops.state == "STOPPED"
    assert ops.acl_submit.admits("alice") and ops.acl_submit.admits("zed", ("admins",))
    assert not ops.acl_submit.admits("zed", ("users",))
    assert conf.resource_calculator == DOMINANT_CALCULATOR
    with pytest.raises(InputNotFoundError, match="nope"):
        conf.find("nope")


@pytest.mark.parametrize("props, message", [
    ({P + "root.prod.capacity": "seventy"}, r"root\.prod\.capacity: 'seventy' is not a number"),
    ({P + "root.prod.capacity": "60"}, r"root\.queues: capacities of the children of root add up to 90"),
    ({P + "root.qa.capacity": "10"}, r"root\.qa\.capacity: unknown queue 'root\.qa'"),
    ({P + "root.dev.maximum-capacity": "20"}, r"root\.dev\.maximum-capacity: 20 must be between"),
    ({P + "root.dev.state": "PAUSED"}, r"root\.dev\.state: 'PAUSED' must be RUNNING or STOPPED"),
    ({P + "root.dev.user-limit-factor": "0"}, r"root\.dev\.user-limit-factor"),
    ({P + "root.dev.maximum-am-resource-percent": "3"}, r"maximum-am-resource-percent"),
    ({P + "root.dev.ordering-policy": "lifo"}, r"ordering-policy"),
    ({P + "resource-calculator": "Foo"}, r"resource-calculator: unknown calculator"),
    ({P + "root.dev.maximum-applications": "1.5"}, r"maximum-applications"),
])
def test_bad_values_are_config_errors_naming_the_property(props, message):
    with pytest.raises(ConfigError, match=message):
        CapacitySchedulerConfig.from_properties({**TWO, **props})


def test_missing_capacity_and_duplicate_leaf_names():
    with pytest.raises(ConfigError, match=r"root\.dev\.capacity: missing"):
        CapacitySchedulerConfig.from_properties({P + "root.queues": "prod,dev",
                                                 P + "root.prod.capacity": "100"})
    with pytest.raises(ConfigError, match="leaf queue name 'x'"):
        CapacitySchedulerConfig.from_properties({
            P + "root.queues": "a,b", P + "root.a.capacity": 50, P + "root.b.capacity": 50,
            P + "root.a.queues": "x", P + "root.b.queues": "x",
            P + "root.a.x.capacity": 100, P + "root.b.x.capacity": 100})


def test_stopped_parent_stops_children():
    conf = CapacitySchedulerConfig.from_properties({
        P + "root.queues": "a", P + "root.a.capacity": 100, P + "root.a.queues": "x",
        P + "root.a.x.capacity": 100, P + "root.a.state": "STOPPED"})
    assert conf.find("x").state == "STOPPED"


def test_files_xml_properties_json_and_emr_classification(tmp_path):
    xml = tmp_path / "capacity-scheduler.xml"
    xml.write_text("<?xml version='1.0'?><configuration>" + "".join(
        f"<property><name>{k}</name><value>{v}</value></property>" for k, v in TWO.items())
        + "</configuration>")
    props = tmp_path / "cs.properties"
    props.write_text("# queues\n" + "\n".join(f"{k}={v}" for k, v in TWO.items()))
    flat = tmp_path / "cs.json"
    flat.write_text(json.dumps(TWO))
    emr = tmp_path / "emr.json"
    emr.write_text(json.dumps([{"Classification": "capacity-scheduler", "Properties": TWO},
                               {"Classification": "yarn-site", "Properties": {"x": "y"}}]))
    for path in (xml, props, flat, emr):
        conf = CapacitySchedulerConfig.from_file(path)
        assert conf.find("dev").abs_max_capacity == pytest.approx(0.5), path
        assert conf.source == str(path)
    bad = tmp_path / "bad.xml"
    bad.write_text("<configuration><property>")
    with pytest.raises(ConfigError, match="bad.xml"):
        CapacitySchedulerConfig.from_file(bad)
    with pytest.raises(InputNotFoundError):
        CapacitySchedulerConfig.from_file(tmp_path / "missing.xml")


def test_yarn_config_from_site_properties():
    cfg = YarnConfig.from_properties({**TWO, "yarn.resourcemanager.webapp.address": "0.0.0.0:9099",
                                      "yarn.resourcemanager.recovery.enabled": "false"})
    assert (cfg.webapp_host, cfg.webapp_port, cfg.recovery_enabled) == ("0.0.0.0", 9099, False)
    assert cfg.scheduler.find("prod").abs_capacity == pytest.approx(0.7)
    with pytest.raises(ConfigError, match="webapp.address"):
        YarnConfig.from_properties({"yarn.resourcemanager.webapp.address": "nohost"})


def test_acl_parse():
    assert Acl.parse("*").admits("anyone")
    assert not Acl.parse(" ").admits("anyone")
    acl = Acl.parse("u1,u2 g1")
    assert acl.admits("u2") and acl.admits("x", ("g1",)) and not acl.admits("x", ("g2",))
    assert Acl.parse(" g1").admits("x", ("g1",)) and not Acl.parse(" g1").admits("g1")


def test_yarn_site_keys_reach_the_resource_manager_settings():
    from rayemr.yarn.settings import YarnConfig

    cfg = YarnConfig.from_properties({"rayemr.yarn.am.pool-size": "0",
                                      "yarn.resourcemanager.max-completed-applications": "7",
                                      "yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    assert (cfg.am_pool_size, cfg.max_completed_apps, cfg.webapp_port) == (0, 7, 0)
    assert YarnConfig().am_pool_size == 2
    with pytest.raises(ConfigError, match="rayemr.yarn.am.pool-size"):
        YarnConfig.from_properties({"rayemr.yarn.am.pool-size": "-1"})
    with pytest.raises(ConfigError, match="rayemr.yarn.am.max-applications.*too small"):
        YarnConfig.from_properties({"rayemr.yarn.am.max-applications": "0"})
    assert YarnConfig.from_properties({"yarn.am.liveness-monitor.expiry-interval-ms": "1500"}
                                      ).am_expiry_s == 1.5
    with pytest.raises(ConfigError, match="max-completed-applications.*integer"):
        YarnConfig.from_properties({"yarn.resourcemanager.max-completed-applications": "x"})
