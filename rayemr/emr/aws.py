"""cluster.yaml's security group: node-to-node traffic, and SSH from one CIDR only.

Ray's launcher gives a security group it creates its own default rules, SSH from anywhere
included, but uses a group that already has rules as it is. ``create_security_group`` makes
the group cluster.yaml names (``provider.security_group.GroupName``) with exactly the inbound
rules cluster.yaml lists plus "all traffic from this same group", before ``ray up``.
``security_group_plan`` is the pure part: it reads and checks the rules.
"""
from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass
from typing import Any

from rayemr.core.errors import ConfigError, InputNotFoundError, UserError

WORLD = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class SecurityGroupPlan:
    group_name: str
    region: str
    ingress: tuple[dict[str, Any], ...]
    ssh_cidrs: tuple[str, ...]


def load_cluster_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise InputNotFoundError(f"cluster config {path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cluster config {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"cluster config {path}: expected a mapping at the top")
    return data


def security_group_plan(config: dict[str, Any], *, ssh_cidr: str | None = None,
                        region: str | None = None) -> SecurityGroupPlan:
    """The group's name, region and inbound rules; refuses any rule open to the world
    except SSH (port 22)."""
    provider = config.get("provider") or {}
    sg = provider.get("security_group") or {}
    name = sg.get("GroupName")
    if not name:
        raise ConfigError("cluster config: provider.security_group.GroupName is not set")
    rules = copy.deepcopy(sg.get("IpPermissions") or [])
    if ssh_cidr is not None:
        _check_cidr(ssh_cidr)
        for rule in rules:
            if _is_ssh(rule):
                rule["IpRanges"] = [{"CidrIp": ssh_cidr, "Description": "SSH"}]
    ssh = []
    for rule in rules:
        for rng in rule.get("IpRanges", []) + rule.get("Ipv6Ranges", []):
            cidr = rng.get("CidrIp") or rng.get("CidrIpv6")
            _check_cidr(cidr)
            if cidr in WORLD and not _is_ssh(rule):
                raise ConfigError(
                    f"cluster config: security group rule for ports "
                    f"{rule.get('FromPort')}-{rule.get('ToPort')} is open to the world "
                    f"({cidr})", hint="reach services through SSH port forwards instead")
            if _is_ssh(rule):
                ssh.append(cidr)
    if not ssh:
        raise ConfigError("cluster config: no SSH rule in provider.security_group.IpPermissions",
                          hint="ray up needs SSH to the nodes")
    return SecurityGroupPlan(group_name=name, region=region or provider.get("region", ""),
                             ingress=tuple(rules), ssh_cidrs=tuple(ssh))


def _is_ssh(rule: dict[str, Any]) -> bool:
    return (str(rule.get("IpProtocol")) == "tcp" and rule.get("FromPort") == 22
            and rule.get("ToPort") == 22)


def _check_cidr(cidr: Any) -> None:
    try:
        ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise ConfigError(f"cluster config: {cidr!r} is not a CIDR block "
                          f"(like 203.0.113.7/32)") from None


def create_security_group(path: str, *, vpc_id: str | None = None,
                          ssh_cidr: str | None = None,
                          region: str | None = None) -> dict[str, Any]:
    """Create (or find) the cluster's security group in ``vpc_id`` (default VPC if None)."""
    plan = security_group_plan(load_cluster_yaml(path), ssh_cidr=ssh_cidr, region=region)
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise UserError("creating the security group needs boto3: pip install boto3") from None
    try:
        ec2 = boto3.client("ec2", region_name=plan.region or None)
        if vpc_id is None:
            vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise UserError(f"no default VPC in {plan.region}; pass --vpc-id")
            vpc_id = vpcs[0]["VpcId"]
        found = ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [plan.group_name]},
            {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        if found:
            group = found[0]
            return {"GroupId": group["GroupId"], "GroupName": plan.group_name, "VpcId": vpc_id,
                    "Created": False, "IpPermissions": group.get("IpPermissions", [])}
        group_id = ec2.create_security_group(
            GroupName=plan.group_name, VpcId=vpc_id,
            Description="rayemr cluster: node-to-node traffic, SSH from the operator only",
        )["GroupId"]
        ingress = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]},
                   *plan.ingress]
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"security group {plan.group_name}: {exc}") from None
    return {"GroupId": group_id, "GroupName": plan.group_name, "VpcId": vpc_id,
            "Created": True, "IpPermissions": group.get("IpPermissions", [])}
