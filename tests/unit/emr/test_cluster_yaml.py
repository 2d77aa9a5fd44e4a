"""cluster.yaml: valid for Ray's own autoscaler schema, secure, and consistent with YARN.

Offline: Ray's schema and config preparation read only files shipped with Ray; no AWS call.
"""
from __future__ import annotations

import copy
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from rayemr.core.errors import ConfigError
from rayemr.emr.aws import security_group_plan

ROOT = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024
#: vCPUs and memory (GiB) of the instance types cluster.yaml may use.
INSTANCES = {"m5.xlarge": (4, 16), "m5.2xlarge": (8, 32), "m5.4xlarge": (16, 64),
             "r5.2xlarge": (8, 64), "c5.2xlarge": (8, 16)}


@pytest.fixture()
def config():
    with open(ROOT / "cluster.yaml") as f:
        return yaml.safe_load(f)


def test_valid_for_rays_autoscaler(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(config)
    prepared = prepare_config(copy.deepcopy(config))  # merges Ray's AWS defaults, offline
    validate_config(prepared)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["head_node_type"] == "master"


def test_the_validation_can_fail(config):
    from ray.autoscaler._private.util import validate_config

    bad = copy.deepcopy(config)
    bad["available_node_types"]["core"]["resources"]["CPU"] = "eight"
    with pytest.raises(jsonschema.ValidationError):
        validate_config(bad)
    bad = copy.deepcopy(config)
    bad["max_workers"] = 1  # below the core minimum
    with pytest.raises(ValueError, match="max_workers"):
        validate_config(bad)


def test_node_types_are_emr_roles(config):
    types = config["available_node_types"]
    assert set(types) == {"master", "core", "task"}
    core, task = types["core"], types["task"]
    assert core["min_workers"] >= 1 and "InstanceMarketOptions" not in core["node_config"]
    assert task["min_workers"] == 0 and task["max_workers"] > 0
    assert task["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot"
    assert config["max_workers"] >= core["max_workers"] + task["max_workers"]
    for name, t in types.items():
        profile = t["node_config"]["IamInstanceProfile"]
        assert profile.get("Name") or profile.get("Arn"), name


def test_security_rules(config):
    # The only inbound rule reaching outside the cluster is SSH, from a CIDR parameter.
    plan = security_group_plan(config)
    assert plan.ssh_cidrs and "0.0.0.0/0" not in plan.ssh_cidrs
    for rule in plan.ingress:
        assert (rule["FromPort"], rule["ToPort"]) == (22, 22)
    # the parameter is honoured
    assert security_group_plan(config, ssh_cidr="198.51.100.7/32").ssh_cidrs == (
        "198.51.100.7/32",)
    with pytest.raises(ConfigError, match="not a CIDR"):
        security_group_plan(config, ssh_cidr="my laptop")
    # a world-open service port is refused
    bad = copy.deepcopy(config)
    bad["provider"]["security_group"]["IpPermissions"].append(
        {"IpProtocol": "tcp", "FromPort": 8265, "ToPort": 8265,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    with pytest.raises(ConfigError, match="8265-8265 is open to the world"):
        security_group_plan(bad)
    # no node type bypasses the group with its own SecurityGroupIds
    for t in config["available_node_types"].values():
        assert "SecurityGroupIds" not in t["node_config"]


def _commands(config, key):
    return " ; ".join(config[key])


def test_services_and_dashboard_are_not_exposed(config):
    head = _commands(config, "head_start_ray_commands")
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        for cmd in config[key]:
            if "ray start" in cmd:
                assert "RAY_AUTH_MODE=token" in cmd, cmd


def test_token_and_rayemr_reach_every_node(config):
    mounts = config["file_mounts"]
    assert mounts["~/.ray/auth_token"] == "~/.ray/auth_token"
    # uploads come from under the home folder, never the current directory or a venv/
    for remote, local in mounts.items():
        assert local.startswith("~/"), (remote, local)
        assert "venv" not in local and local not in (".", "./")
    assert mounts["~/rayemr-cluster"] == "~/.rayemr/cluster"
    setup = _commands(config, "setup_commands")
    assert "~/rayemr-cluster/rayemr-*.whl" in setup and "[aws]" in setup
    # a Python of rayemr's own, whatever the AMI: uv makes a venv every command uses
    assert "uv venv --python 3.11 ~/rayemr-venv" in setup
    assert "export PATH=$HOME/rayemr-venv/bin:$PATH" in setup


def test_ray_is_pinned_to_the_laptops_version_within_setup_cfg(config):
    import configparser
    import re

    import ray
    from packaging.requirements import Requirement

    setup = _commands(config, "setup_commands")
    pins = re.findall(r'ray\[default\]==([0-9.]+)', setup)
    assert pins == [ray.__version__]  # client and cluster run the same Ray
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    (ray_req,) = [Requirement(line) for line in cfg["options"]["install_requires"].split("\n")
                  if line.strip().startswith("ray")]
    assert ray_req.specifier.contains(pins[0])
    aws = [Requirement(line) for line in cfg["options.extras_require"]["aws"].split("\n")
           if line.strip()]
    assert [r.name for r in aws] == ["boto3"]  # what create-security-group imports


def test_logs_and_metastore_outlive_ray_down(config):
    head = _commands(config, "head_start_ray_commands")
    setup = _commands(config, "setup_commands")
    assert "export RAYEMR_S3=s3://" in setup
    assert "--log-uri $RAYEMR_S3/logs" in head
    restore = head.index("metastore-restore --from $RAYEMR_S3/metastore.db")
    assert restore < head.index("start-services")  # restored before the services open it
    assert "metastore-backup --to $RAYEMR_S3/metastore.db --every 60" in head


def test_iam_documents_match_the_profiles_cluster_yaml_names(config):
    import json

    iam = ROOT / "rayemr" / "emr" / "examples" / "iam"
    for t in config["available_node_types"].values():
        name = t["node_config"]["IamInstanceProfile"]["Name"]
        policy = json.loads((iam / f"{name}-policy.json").read_text())
        actions = {a for st in policy["Statement"] for a in st["Action"]}
        assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= actions
    master = json.loads((iam / "rayemr-master-policy.json").read_text())
    actions = {a for st in master["Statement"] for a in st["Action"]}
    assert {"ec2:RunInstances", "ec2:TerminateInstances", "iam:PassRole"} <= actions
    script = (iam / "create-instance-profiles.sh").read_text()
    for step in ("create-role", "put-role-policy", "create-instance-profile",
                 "add-role-to-instance-profile"):
        assert f"aws iam {step}" in script
    json.loads((iam / "ec2-trust.json").read_text())


def test_start_services_command_parses(config):
    from rayemr.cli import build_parser

    (cmd,) = [c for c in config["head_start_ray_commands"] if "start-services" in c]
    argv = shlex.split(cmd.replace("$HOME", "/ec2-home").replace("$RAYEMR_S3", "s3://b/p"))
    argv = argv[argv.index("rayemr") + 1:]
    args = build_parser().parse_args(argv)
    assert args.emr_command == "start-services" and args.address == "auto"
    # it names the configurations uploaded with the wheel; the ones docs/emr.md copies
    # there exist in this checkout and are valid
    assert args.configurations == "file:///ec2-home/rayemr-cluster/configurations.json"
    conf = "rayemr/emr/examples/configurations.json"
    from rayemr.emr.configurations import load_configurations

    cfg = load_configurations(str(ROOT / conf))
    assert cfg.get("capacity-scheduler", "yarn.scheduler.capacity.root.queues")


def test_node_resources_match_what_node_managers_offer(config):
    """NodeManagers offer a node's Ray CPUs as vcores and its Ray memory as memory-mb; the
    resources cluster.yaml declares must be what the instance has, and what YARN's
    containers (at the configured minimum allocation) can use."""
    from rayemr.emr.configurations import load_configurations
    from rayemr.yarn.resources import Resource

    cfg = load_configurations(str(ROOT / "rayemr/emr/examples/configurations.json"))
    site = cfg.classification("yarn-site")
    min_mb = int(site.get("yarn.scheduler.minimum-allocation-mb", 1024))
    for name, t in config["available_node_types"].items():
        vcpus, gib = INSTANCES[t["node_config"]["InstanceType"]]
        res = t["resources"]
        if name == config["head_node_type"]:
            # EMR's master runs no containers: its NodeManager offers 0 vcores
            assert res["CPU"] == 0
            continue
        assert res["CPU"] == vcpus, name
        assert isinstance(res["memory"], int) and res["memory"] % MiB == 0, name
        memory_mb = res["memory"] // MiB
        # Ray's object store and the OS keep some of the instance's memory
        assert 0.6 * gib * 1024 <= memory_mb <= 0.9 * gib * 1024, name
        offered = Resource(vcores=float(res["CPU"]), memory_mb=memory_mb)
        assert offered.memory_mb >= min_mb and offered.vcores >= 1
        if "yarn.nodemanager.resource.cpu-vcores" in site:
            assert int(site["yarn.nodemanager.resource.cpu-vcores"]) <= res["CPU"]
        if "yarn.nodemanager.resource.memory-mb" in site:
            assert int(site["yarn.nodemanager.resource.memory-mb"]) <= memory_mb
        assert res.get(f"rayemr_{name}") == 1  # role resource, for placement by role
