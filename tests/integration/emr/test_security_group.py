"""`rayemr emr create-security-group` against EC2's API (moto's server on loopback)."""
from __future__ import annotations

import json
from pathlib import Path

import boto3

from rayemr.cli import main

ROOT = Path(__file__).resolve().parents[3]


def test_creates_group_with_ssh_from_the_parameter_only(s3_server, capsys, tmp_path):
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=s3_server)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    code = main(["emr", "create-security-group", str(ROOT / "cluster.yaml"), "--vpc-id", vpc,
                 "--ssh-cidr", "198.51.100.7/32"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["Created"] is True and out["VpcId"] == vpc
    group = ec2.describe_security_groups(GroupIds=[out["GroupId"]])["SecurityGroups"][0]
    rules = group["IpPermissions"]
    cidrs = [r["CidrIp"] for rule in rules for r in rule.get("IpRanges", [])]
    assert cidrs == ["198.51.100.7/32"]
    ssh = [r for r in rules if r.get("FromPort") == 22]
    assert len(ssh) == 1 and ssh[0]["IpRanges"][0]["CidrIp"] == "198.51.100.7/32"
    self_rule = [r for r in rules if r.get("UserIdGroupPairs")]
    assert self_rule and self_rule[0]["UserIdGroupPairs"][0]["GroupId"] == out["GroupId"]
    # idempotent: a second run finds the group and changes nothing
    assert main(["emr", "create-security-group", str(ROOT / "cluster.yaml"),
                 "--vpc-id", vpc]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["Created"] is False and again["GroupId"] == out["GroupId"]


def test_world_open_service_port_is_refused(s3_server, capsys, tmp_path):
    import yaml

    cfg = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    cfg["provider"]["security_group"]["IpPermissions"].append(
        {"IpProtocol": "tcp", "FromPort": 10000, "ToPort": 10000,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["emr", "create-security-group", str(path)]) == 1
    err = capsys.readouterr().err
    assert "10000-10000 is open to the world" in err and "Traceback" not in err
