"""cluster.yaml's security group: node-to-node traffic, and SSH from one CIDR only.

Ray's launcher gives a security group it creates its own default rules, SSH from anywhere
included, but uses a group that already has rules as it is. ``create_security_group`` makes
the group cluster.yaml names (``provider.security_group.GroupName``) with exactly the inbound
rules cluster.yaml lists plus "all traffic from this same group", before ``ray up``; run
again (say with a new ``--ssh-cidr``), it makes the existing group's SSH sources the plan's.
``security_group_plan`` is the pure part: it reads and checks the rules (CIDRs as EC2 takes
them) and names placeholders and SSH open to the world.
"""
from __future__ import annotations

import copy
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Callable

from rayemr.core.errors import ConfigError, InputNotFoundError, UserError

log = logging.getLogger(__name__)

WORLD = ("0.0.0.0/0", "::/0")


#: Address ranges reserved for documentation (RFC 5737, RFC 3849): a CIDR inside one is a
#: placeholder copied from an example (cluster.yaml ships 203.0.113.0/24), never a real network.
PLACEHOLDERS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


@dataclass(frozen=True)
class SecurityGroupPlan:
    group_name: str
    region: str
    ingress: tuple[dict[str, Any], ...]
    ssh_cidrs: tuple[str, ...]
    warnings: tuple[str, ...] = ()


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
    """The group's name, region and inbound rules, every CIDR checked; refuses any rule open
    to the world except SSH (port 22), and warns about world-open SSH and placeholders."""
    provider = config.get("provider") or {}
    sg = provider.get("security_group") or {}
    name = sg.get("GroupName")
    if not name:
        raise ConfigError("cluster config: provider.security_group.GroupName is not set")
    rules = copy.deepcopy(sg.get("IpPermissions") or [])
    if ssh_cidr is not None:
        ssh_cidr = check_cidr(ssh_cidr, where="--ssh-cidr")
        for rule in rules:
            if _is_ssh(rule):
                rule["IpRanges"] = [{"CidrIp": ssh_cidr, "Description": "SSH"}]
                rule.pop("Ipv6Ranges", None)
    ssh: list[str] = []
    for rule in rules:
        for key, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")):
            for rng in rule.get(key, []):
                cidr = rng[field] = check_cidr(rng.get(field), where="cluster config")
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
                             ingress=tuple(rules), ssh_cidrs=tuple(ssh),
                             warnings=tuple(_warnings(ssh)))


def _warnings(ssh: list[str]) -> list[str]:
    out = []
    for cidr in ssh:
        net = ipaddress.ip_network(cidr)
        if cidr in WORLD:
            out.append(f"SSH is open to the whole internet ({cidr}): anyone can try to log "
                       "in to every node; pass --ssh-cidr YOUR.IP/32")
        elif any(net.version == p.version and net.subnet_of(p) for p in PLACEHOLDERS):
            out.append(f"SSH CIDR {cidr} is a documentation placeholder, not your network: "
                       "nobody (you included) can reach the nodes; pass --ssh-cidr "
                       "YOUR.IP/32")
    return out


def _is_ssh(rule: dict[str, Any]) -> bool:
    return (str(rule.get("IpProtocol")) == "tcp" and rule.get("FromPort") == 22
            and rule.get("ToPort") == 22)


def check_cidr(cidr: Any, *, where: str) -> str:
    """A CIDR block as EC2 takes it (``203.0.113.7/32``): a prefix length is required, and
    the address must be the network's first (no host bits)."""
    text = str(cidr or "").strip()
    example = "like 203.0.113.7/32 for one address"
    if "/" not in text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ConfigError(f"{where}: {cidr!r} is not a CIDR block ({example})") from None
        single = f"{text}/{32 if ':' not in text else 128}"
        raise ConfigError(f"{where}: {cidr!r} has no prefix length; for this one address "
                          f"write {single}")
    try:
        return ipaddress.ip_network(text).with_prefixlen
    except ValueError:
        pass
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ConfigError(f"{where}: {cidr!r} is not a CIDR block ({example})") from None
    raise ConfigError(f"{where}: {cidr!r} has host bits set; the network is "
                      f"{net.with_prefixlen}")


def create_security_group(path: str, *, vpc_id: str | None = None,
                          ssh_cidr: str | None = None, region: str | None = None,
                          warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Create the cluster's security group in ``vpc_id`` (default VPC if None), or bring the
    SSH rule of the existing one in line with the plan. Everything is checked before the
    first AWS call (``warn`` hears about placeholders and world-open SSH then); a group whose
    rules cannot be added is deleted again."""
    plan = security_group_plan(load_cluster_yaml(path), ssh_cidr=ssh_cidr, region=region)
    for warning in plan.warnings:
        (warn or log.warning)(warning)
    ec2, errors = _ec2(plan.region)
    try:
        vpc_id = vpc_id or _default_vpc(ec2, plan.region)
        found = ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [plan.group_name]},
            {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        if found:
            group_id = found[0]["GroupId"]
            changes = _sync_ssh(ec2, found[0], plan)
            created = False
        else:
            group_id = _create(ec2, plan, vpc_id)
            changes, created = [], True
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    except errors as exc:
        raise UserError(f"security group {plan.group_name}: {exc}") from None
    return {"GroupId": group_id, "GroupName": plan.group_name, "VpcId": vpc_id,
            "Created": created, "Changes": changes, "Warnings": list(plan.warnings),
            "IpPermissions": group.get("IpPermissions", [])}


def _ec2(region: str):
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise UserError("creating the security group needs boto3: "
                        "pip install 'rayemr[aws]'") from None
    return boto3.client("ec2", region_name=region or None), (BotoCoreError, ClientError)


def _default_vpc(ec2, region: str) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise UserError(f"no default VPC in {region}; pass --vpc-id")
    return vpcs[0]["VpcId"]


def _create(ec2, plan: SecurityGroupPlan, vpc_id: str) -> str:
    group_id = ec2.create_security_group(
        GroupName=plan.group_name, VpcId=vpc_id,
        Description="rayemr cluster: node-to-node traffic, SSH from the operator only",
    )["GroupId"]
    ingress = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]},
               *plan.ingress]
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
    except Exception:
        ec2.delete_security_group(GroupId=group_id)  # no group left without its rules
        raise
    return group_id


def _ssh_ranges(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(range list key, CIDR) of every SSH rule's source."""
    out = set()
    for rule in rules:
        if _is_ssh(rule):
            out |= {("IpRanges", r["CidrIp"]) for r in rule.get("IpRanges", [])}
            out |= {("Ipv6Ranges", r["CidrIpv6"]) for r in rule.get("Ipv6Ranges", [])}
    return out


def _sync_ssh(ec2, group: dict[str, Any], plan: SecurityGroupPlan) -> list[str]:
    """Make the existing group's SSH sources exactly the plan's; returns what changed."""
    have = _ssh_ranges(group.get("IpPermissions", []))
    want = _ssh_ranges(list(plan.ingress))
    field = {"IpRanges": "CidrIp", "Ipv6Ranges": "CidrIpv6"}

    def perm(ranges: set[tuple[str, str]]) -> list[dict[str, Any]]:
        rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
        for key, cidr in sorted(ranges):
            rule.setdefault(key, []).append({field[key]: cidr})
        return [rule]

    changes = []
    if want - have:  # add before removing, so SSH never has no source at all
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"],
                                             IpPermissions=perm(want - have))
        changes += [f"SSH from {cidr} added" for _, cidr in sorted(want - have)]
    if have - want:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"],
                                          IpPermissions=perm(have - want))
        changes += [f"SSH from {cidr} removed" for _, cidr in sorted(have - want)]
    return changes
