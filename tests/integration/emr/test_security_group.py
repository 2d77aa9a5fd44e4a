"""`rayemr emr create-security-group` against EC2's API (moto's server on loopback)."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from rayemr.cli import main
from rayemr.emr.aws import check_cidr, security_group_plan
from rayemr.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
CLUSTER_YAML = str(ROOT / "cluster.yaml")


@pytest.fixture
def ec2(s3_server):
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=s3_server)


@pytest.fixture
def vpc(ec2):
    return ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]


def ssh_sources(ec2, group_id: str) -> list[str]:
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return sorted(r["CidrIp"] for rule in group["IpPermissions"] if rule.get("FromPort") == 22
                  for r in rule.get("IpRanges", []))


def sg(capsys, *argv):
    code = main(["emr", "create-security-group", CLUSTER_YAML, *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_creates_group_with_ssh_from_the_parameter_only(ec2, vpc, capsys):
    code, out, err = sg(capsys, "--vpc-id", vpc, "--ssh-cidr", "10.20.30.40/32")
    assert code == 0 and out["Created"] is True and out["VpcId"] == vpc
    assert "WARNING" not in err
    group = ec2.describe_security_groups(GroupIds=[out["GroupId"]])["SecurityGroups"][0]
    rules = group["IpPermissions"]
    cidrs = [r["CidrIp"] for rule in rules for r in rule.get("IpRanges", [])]
    assert cidrs == ["10.20.30.40/32"]
    self_rule = [r for r in rules if r.get("UserIdGroupPairs")]
    assert self_rule and self_rule[0]["UserIdGroupPairs"][0]["GroupId"] == out["GroupId"]
    # a second run with the same CIDR finds the group and changes nothing
    code, again, err = sg(capsys, "--vpc-id", vpc, "--ssh-cidr", "10.20.30.40/32")
    assert code == 0 and again["Created"] is False and again["GroupId"] == out["GroupId"]
    assert again["Changes"] == []


def test_rerun_with_a_new_ssh_cidr_updates_the_rule(ec2, vpc, capsys):
    code, first, _ = sg(capsys, "--vpc-id", vpc, "--ssh-cidr", "10.1.1.1/32")
    assert code == 0
    code, second, err = sg(capsys, "--vpc-id", vpc, "--ssh-cidr", "10.2.2.0/24")
    assert code == 0 and second["Created"] is False
    assert second["Changes"] == ["SSH from 10.2.2.0/24 added", "SSH from 10.1.1.1/32 removed"]
    assert ssh_sources(ec2, first["GroupId"]) == ["10.2.2.0/24"]
    assert "SSH from 10.1.1.1/32 removed" in err


@pytest.mark.parametrize("cidr,message", [
    ("10.0.0.1", "'10.0.0.1' has no prefix length; for this one address write 10.0.0.1/32"),
    ("10.0.0.1/24", "'10.0.0.1/24' has host bits set; the network is 10.0.0.0/24"),
    ("my-laptop", "'my-laptop' is not a CIDR block (like 203.0.113.7/32 for one address)"),
])
def test_an_invalid_cidr_is_refused_before_aws_is_touched(ec2, vpc, capsys, cidr, message):
    before = ec2.describe_security_groups()["SecurityGroups"]
    code, _, err = sg(capsys, "--vpc-id", vpc, "--ssh-cidr", cidr)
    assert code == 1
    assert err.strip().splitlines() == [f"rayemr emr: --ssh-cidr: {message}"]
    assert ec2.describe_security_groups()["SecurityGroups"] == before


@pytest.mark.parametrize("cidr,words", [
    (None, "SSH CIDR 203.0.113.0/24 is a documentation placeholder"),
    ("0.0.0.0/0", "SSH is open to the whole internet (0.0.0.0/0)"),
])
def test_placeholder_and_world_open_ssh_warn_loudly(ec2, vpc, capsys, cidr, words):
    code, out, err = sg(capsys, "--vpc-id", vpc, *(["--ssh-cidr", cidr] if cidr else []))
    assert code == 0
    assert f"rayemr emr: WARNING: {words}" in err
    assert any(words in w for w in out["Warnings"])


def test_world_open_service_port_is_refused(s3_server, capsys, tmp_path):
    cfg = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    cfg["provider"]["security_group"]["IpPermissions"].append(
        {"IpProtocol": "tcp", "FromPort": 10000, "ToPort": 10000,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["emr", "create-security-group", str(path)]) == 1
    err = capsys.readouterr().err
    assert "10000-10000 is open to the world" in err and "Traceback" not in err


def test_check_cidr_normalizes_and_plans_are_pure():
    assert check_cidr("2001:db8::/32", where="x") == "2001:db8::/32"
    assert check_cidr(" 10.0.0.0/8 ", where="x") == "10.0.0.0/8"
    with pytest.raises(ConfigError):
        check_cidr("", where="x")
    plan = security_group_plan(yaml.safe_load((ROOT / "cluster.yaml").read_text()),
                               ssh_cidr="10.9.0.0/16")
    assert plan.ssh_cidrs == ("10.9.0.0/16",) and plan.warnings == ()
