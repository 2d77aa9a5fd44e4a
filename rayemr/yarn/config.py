"""Capacity Scheduler configuration, written the way Hadoop users already write it.

``CapacitySchedulerConfig.from_properties(dict)`` takes ``capacity-scheduler`` property names
(``yarn.scheduler.capacity.root.queues``, ``...root.prod.capacity`` and so on);
``from_file(path)`` reads Hadoop configuration XML, a flat ``key=value`` properties file, or
JSON (a flat object or EMR's ``[{"Classification": "capacity-scheduler", ...}]`` list).
Bad values raise :class:`~rayemr.core.errors.ConfigError` naming the property. The result is
frozen: a tree of :class:`QueueConfig` with relative and absolute capacities resolved.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from rayemr.core.errors import ConfigError, InputNotFoundError
from rayemr.yarn.resources import DEFAULT_CALCULATOR, calculator_name

PREFIX = "yarn.scheduler.capacity."
DEFAULT_MAX_APPLICATIONS = 10000
DEFAULT_MAX_AM_PERCENT = 0.1
QUEUE_ATTRIBUTES = (
    "queues", "capacity", "maximum-capacity", "user-limit-factor", "minimum-user-limit-percent",
    "maximum-applications", "maximum-am-resource-percent", "state", "acl_submit_applications",
    "acl_administer_queue", "ordering-policy",
)
ORDERING_POLICIES = ("fifo", "fair")


@dataclass(frozen=True)
class Acl:
    """A Hadoop ACL: ``"user1,user2 group1,group2"``; ``"*"`` admits everyone, ``" "`` nobody."""

    everyone: bool = False
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Acl:
        if text.strip() == "*":
            return cls(everyone=True)
        users, _, groups = text.partition(" ")
        split = lambda s: frozenset(x.strip() for x in s.split(",") if x.strip())  # noqa: E731
        return cls(users=split(users), groups=split(groups))

    def admits(self, user: str, groups: tuple[str, ...] = ()) -> bool:
        return self.everyone or user in self.users or bool(self.groups.intersection(groups))

    def __str__(self) -> str:
        if self.everyone:
            return "*"
        return f"{','.join(sorted(self.users))} {','.join(sorted(self.groups))}"


NOBODY = Acl()
EVERYONE = Acl(everyone=True)


@dataclass(frozen=True)
class QueueConfig:
    """One queue. ``capacity``/``max_capacity`` are fractions of the parent; ``abs_*`` of root."""

    path: str
    capacity: float
    max_capacity: float
    abs_capacity: float
    abs_max_capacity: float
    user_limit_factor: float = 1.0
    min_user_limit_percent: float = 100.0
    max_applications: int = DEFAULT_MAX_APPLICATIONS
    max_am_percent: float = DEFAULT_MAX_AM_PERCENT
    state: str = "RUNNING"
    acl_submit: Acl = NOBODY
    acl_admin: Acl = NOBODY
    ordering: str = "fifo"
    children: tuple[QueueConfig, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class CapacitySchedulerConfig:
    """The whole queue tree plus cluster-wide scheduler settings; build with ``from_*``."""

    root: QueueConfig
    resource_calculator: str = DEFAULT_CALCULATOR
    properties: Mapping[str, str] = field(default_factory=dict, compare=False)
    source: str = "defaults"

    # -- construction -------------------------------------------------------------------
    @classmethod
    def default(cls) -> CapacitySchedulerConfig:
        """One ``default`` queue with the whole cluster (Hadoop's shipped configuration)."""
        return cls.from_properties({}, source="defaults")

    @classmethod
    def from_properties(cls, props: Mapping[str, object] | None,
                        source: str = "properties") -> CapacitySchedulerConfig:
        raw = {str(k).strip(): _text(k, v) for k, v in (props or {}).items()}
        if PREFIX + "root.queues" not in raw:
            raw.setdefault(PREFIX + "root.queues", "default")
            raw.setdefault(PREFIX + "root.default.capacity", "100")
        calc = calculator_name(raw.get(PREFIX + "resource-calculator", DEFAULT_CALCULATOR))
        defaults = {
            "maximum-applications": _int(raw, PREFIX + "maximum-applications",
                                         DEFAULT_MAX_APPLICATIONS, minimum=0),
            "maximum-am-resource-percent": _frac(raw, PREFIX + "maximum-am-resource-percent",
                                                 DEFAULT_MAX_AM_PERCENT),
        }
        paths = _queue_paths(raw)
        _check_unknown_queues(raw, paths)
        root = _build(raw, "root", None, defaults, paths)
        leaves = {}
        for q in root.walk():
            if q.is_leaf:
                if q.name in leaves:
                    raise ConfigError(
                        f"{PREFIX}{q.path}: leaf queue name {q.name!r} is also used by "
                        f"{leaves[q.name]}", hint="leaf queue names must be unique")
                leaves[q.name] = q.path
        return cls(root=root, resource_calculator=calc, properties=dict(raw), source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> CapacitySchedulerConfig:
        p = Path(path)
        if not p.is_file():
            raise InputNotFoundError(f"capacity scheduler configuration {str(p)!r} not found")
        text = p.read_text()
        suffix = p.suffix.lower()
        if suffix == ".xml" or text.lstrip().startswith("<"):
            props = parse_hadoop_xml(text, str(p))
        elif suffix == ".json" or text.lstrip()[:1] in "[{":
            props = parse_json(text, str(p))
        else:
            props = parse_properties(text)
        return cls.from_properties(props, source=str(p))

    @classmethod
    def load(cls, value: object) -> CapacitySchedulerConfig:
        """Accept a config, a dict of properties, a file path, or ``None`` (the default)."""
        if value is None:
            return cls.default()
        if isinstance(value, CapacitySchedulerConfig):
            return value
        if isinstance(value, Mapping):
            return cls.from_properties(value)
        if isinstance(value, (str, Path)):
            return cls.from_file(value)
        raise ConfigError(f"cannot build a capacity scheduler configuration from {type(value).__name__}")

    # -- lookups --------------------------------------------------------------------------
    def queues(self) -> list[QueueConfig]:
        return list(self.root.walk())

    def find(self, name: str) -> QueueConfig:
        """A queue by full path (``root.prod``) or, for leaves, by short name (``prod``)."""
        for q in self.root.walk():
            if q.path == name or (q.is_leaf and q.name == name):
                return q
        raise InputNotFoundError(f"queue {name!r} does not exist",
                                 hint=f"known queues: {', '.join(q.path for q in self.root.walk())}")


# -- parsing helpers -----------------------------------------------------------------------
def _text(key: object, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(f"{key}: value must be a string or number, got {type(value).__name__}")


def _num(raw: Mapping[str, str], key: str, default: float) -> float:
    if key not in raw:
        return default
    try:
        value = float(raw[key].strip())
    except ValueError:
        raise ConfigError(f"{key}: {raw[key]!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key}: {raw[key]!r} is not a finite number")
    return value


def _int(raw, key, default, minimum=None) -> int:
    value = _num(raw, key, default)
    if value != int(value) or (minimum is not None and value < minimum):
        raise ConfigError(f"{key}: {raw.get(key)!r} must be an integer >= {minimum}")
    return int(value)


def _frac(raw, key, default) -> float:
    value = _num(raw, key, default)
    if not 0 <= value <= 1:
        raise ConfigError(f"{key}: {raw[key]!r} must be between 0 and 1")
    return value


def _queue_paths(raw: Mapping[str, str]) -> list[str]:
    paths, todo = [], ["root"]
    while todo:
        path = todo.pop(0)
        if path in paths:
            raise ConfigError(f"{PREFIX}{path}.queues: queue {path!r} is listed twice")
        paths.append(path)
        children = raw.get(f"{PREFIX}{path}.queues", "")
        for name in (c.strip() for c in children.split(",")):
            if not name:
                continue
            if "." in name or " " in name:
                raise ConfigError(f"{PREFIX}{path}.queues: bad queue name {name!r}")
            todo.append(f"{path}.{name}")
    return paths


def _check_unknown_queues(raw: Mapping[str, str], paths: list[str]) -> None:
    known = set(paths)
    for key in raw:
        if not key.startswith(PREFIX + "root."):
            continue
        rest = key[len(PREFIX):]
        for attr in QUEUE_ATTRIBUTES:
            if rest.endswith("." + attr):
                qpath = rest[: -len(attr) - 1]
                if qpath not in known:
                    raise ConfigError(
                        f"{key}: unknown queue {qpath!r}",
                        hint=f"add it to {PREFIX}{qpath.rsplit('.', 1)[0]}.queues")
                break


def _build(raw, path, parent: QueueConfig | None, defaults, paths) -> QueueConfig:
    key = lambda attr: f"{PREFIX}{path}.{attr}"  # noqa: E731
    if parent is None:
        cap, max_cap = 100.0, 100.0
    else:
        cap = _num(raw, key("capacity"), math.nan)
        if math.isnan(cap):
            raise ConfigError(f"{key('capacity')}: missing", hint="every queue needs a capacity")
        max_cap = _num(raw, key("maximum-capacity"), 100.0)
        if max_cap == -1:
            max_cap = 100.0
    if not 0 <= cap <= 100:
        raise ConfigError(f"{key('capacity')}: {cap:g} must be between 0 and 100")
    if not 0 < max_cap <= 100 or max_cap < cap:
        raise ConfigError(f"{key('maximum-capacity')}: {max_cap:g} must be between the "
                          f"queue's capacity ({cap:g}) and 100")
    abs_cap = cap / 100 * (parent.abs_capacity if parent else 1.0)
    abs_max = max_cap / 100 * (parent.abs_max_capacity if parent else 1.0)
    state = raw.get(key("state"), "RUNNING").strip().upper()
    if state not in ("RUNNING", "STOPPED"):
        raise ConfigError(f"{key('state')}: {raw[key('state')]!r} must be RUNNING or STOPPED")
    if parent is not None and parent.state == "STOPPED":
        state = "STOPPED"
    ordering = raw.get(key("ordering-policy"), "fifo").strip().lower()
    if ordering not in ORDERING_POLICIES:
        raise ConfigError(f"{key('ordering-policy')}: {ordering!r} must be fifo or fair")
    ulf = _num(raw, key("user-limit-factor"), 1.0)
    if ulf <= 0:
        raise ConfigError(f"{key('user-limit-factor')}: {ulf:g} must be > 0")
    mulp = _num(raw, key("minimum-user-limit-percent"), 100.0)
    if not 0 < mulp <= 100:
        raise ConfigError(f"{key('minimum-user-limit-percent')}: {mulp:g} must be in (0, 100]")
    default_apps = int(defaults["maximum-applications"] * abs_cap)
    root_default = "*" if parent is None else None
    acl = lambda attr: (Acl.parse(raw[key(attr)]) if key(attr) in raw  # noqa: E731
                        else (EVERYONE if root_default else NOBODY))
    node = QueueConfig(
        path=path, capacity=cap / 100, max_capacity=max_cap / 100, abs_capacity=abs_cap,
        abs_max_capacity=abs_max, user_limit_factor=ulf, min_user_limit_percent=mulp,
        max_applications=_int(raw, key("maximum-applications"), default_apps, minimum=0),
        max_am_percent=_frac(raw, key("maximum-am-resource-percent"),
                             defaults["maximum-am-resource-percent"]),
        state=state, acl_submit=acl("acl_submit_applications"),
        acl_admin=acl("acl_administer_queue"), ordering=ordering)
    child_paths = [p for p in paths if p.rsplit(".", 1)[0] == path and p != path]
    children = tuple(_build(raw, p, node, defaults, paths) for p in child_paths)
    if children:
        total = sum(c.capacity for c in children) * 100
        if abs(total - 100) > 1e-6:
            raise ConfigError(
                f"{PREFIX}{path}.queues: capacities of the children of {path} add up to "
                f"{total:g}, not 100",
                hint=", ".join(f"{PREFIX}{c.path}.capacity={c.capacity * 100:g}" for c in children))
    return QueueConfig(**{**node.__dict__, "children": children})


def parse_hadoop_xml(text: str, where: str = "XML") -> dict[str, str]:
    """``<configuration><property><name>k</name><value>v</value></property>...``"""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ConfigError(f"{where}: not valid Hadoop configuration XML ({exc})") from None
    props = {}
    for prop in root.iter("property"):
        name, value = prop.findtext("name"), prop.findtext("value")
        if name is None:
            raise ConfigError(f"{where}: a <property> has no <name>")
        props[name.strip()] = (value or "")
    return props


def parse_json(text: str, where: str = "JSON") -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: invalid JSON ({exc})") from None
    if isinstance(data, list):  # EMR configuration classifications
        props: dict[str, str] = {}
        for entry in data:
            if isinstance(entry, dict) and entry.get("Classification") == "capacity-scheduler":
                props.update(entry.get("Properties") or {})
        return props
    if isinstance(data, dict):
        return data
    raise ConfigError(f"{where}: expected an object of properties or a list of classifications")


def parse_properties(text: str) -> dict[str, str]:
    props = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if sep < 0:
            raise ConfigError(f"properties line {number}: expected key=value, got {line!r}")
        props[line[:sep].strip()] = line[sep + 1:].strip()
    return props
