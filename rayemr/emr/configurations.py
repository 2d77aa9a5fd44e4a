"""EMR configuration classifications: parsing, validation and a frozen ``ClusterConfig``.

Users write configurations the way EMR takes them::

    [{"Classification": "capacity-scheduler",
      "Properties": {"yarn.scheduler.capacity.root.queues": "prod,dev", ...}},
     {"Classification": "hadoop-env",
      "Configurations": [{"Classification": "export", "Properties": {"TZ": "UTC"}}]}]

from a Python list, a JSON string, a local JSON file, or a ``file://``/``s3://`` URL (read
through EMRFS). ``parse_configurations`` validates every classification and value and returns a
``ClusterConfig`` that remembers where each value came from (a built-in default or which entry
of which source), so ``ClusterConfig.explain()`` can print it.

Pure: no Ray, no I/O except ``load_configurations`` reading a source through ``rayemr.fs``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from rayemr.core.errors import ConfigError, RayEmrError, UnsupportedError
from rayemr.core.secrets import is_hidden, redact

#: Classifications rayemr reads, and who reads them.
SUPPORTED: Mapping[str, str] = MappingProxyType({
    "capacity-scheduler": "the ResourceManager's Capacity Scheduler queues",
    "yarn-site": "the ResourceManager and NodeManagers",
    "mapred-site": "MapReduce steps (passed as job configuration)",
    "hive-site": "Hive steps, the metastore and HiveServer2",
    "emrfs-site": "EMRFS (S3 access by every component, log uploads)",
    "core-site": "Hadoop-wide settings passed to MapReduce and Hive steps",
    "hadoop-env": "environment of steps and bootstrap actions (nested 'export' only)",
    "kinesis-site": "Kinesis Data Streams (rayemr.kinesis.*; streams made at start)",
    "aws-endpoint": "the AWS-style endpoint the master serves (rayemr.aws.endpoint.*)",
})

#: Classifications EMR knows that rayemr deliberately does not implement.
NOT_SUPPORTED = frozenset({
    "hive-env", "hive-log4j2", "hive-exec-log4j2", "hive-parquet-logging", "hiveserver2-site",
    "spark", "spark-defaults", "spark-env", "spark-log4j", "spark-hive-site",
    "spark-metrics", "hdfs-site", "hdfs-encryption-zones", "httpfs-site", "httpfs-env",
    "hadoop-log4j", "hadoop-ssl-server", "hadoop-ssl-client", "hadoop-kms-site",
    "yarn-env", "mapred-env", "tez-site", "pig-properties", "pig-log4j", "presto-config",
    "trino-config", "hbase-site", "hbase-env", "hbase", "oozie-site", "oozie-env", "hue-ini",
    "livy-conf", "livy-env", "zeppelin-env", "zookeeper-config", "jupyter-notebook-conf",
    "flink-conf", "sqoop-env", "hcatalog-env", "hcatalog-server-jndi", "webhcat-site",
    "emrfs-site-override", "container-executor", "iceberg-defaults", "delta-defaults",
    "hudi-defaults", "recordserver-env", "ranger-kms-site",
})

#: Built-in defaults. Components apply their own defaults for anything not given (the
#: ResourceManager's is one ``default`` queue with the whole cluster, as Hadoop ships it).
DEFAULTS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "capacity-scheduler": MappingProxyType({}),
    "yarn-site": MappingProxyType({}),
    "mapred-site": MappingProxyType({}),
    "hive-site": MappingProxyType({}),
    "emrfs-site": MappingProxyType({}),
    "core-site": MappingProxyType({}),
    "hadoop-env": MappingProxyType({}),
    "kinesis-site": MappingProxyType({}),
    "aws-endpoint": MappingProxyType({}),
})

_INT = "an integer"
_POS_INT = "a positive integer"
_NUM = "a number"
_BOOL = "true or false"

#: Properties whose value type rayemr checks at cluster start (others pass through as text).
TYPED: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "yarn-site": {
        "yarn.nodemanager.resource.cpu-vcores": _POS_INT,
        "yarn.nodemanager.resource.memory-mb": _POS_INT,
        "yarn.scheduler.minimum-allocation-mb": _POS_INT,
        "yarn.scheduler.maximum-allocation-mb": _POS_INT,
        "yarn.scheduler.minimum-allocation-vcores": _POS_INT,
        "yarn.scheduler.maximum-allocation-vcores": _POS_INT,
        "yarn.resourcemanager.max-completed-applications": _INT,
        "yarn.resourcemanager.webapp.port": _POS_INT,
        "yarn.log-aggregation-enable": _BOOL,
    },
    "mapred-site": {
        "mapreduce.job.reduces": _INT,
        "mapreduce.job.maps": _INT,
        "mapreduce.map.memory.mb": _POS_INT,
        "mapreduce.reduce.memory.mb": _POS_INT,
        "mapreduce.map.cpu.vcores": _NUM,
        "mapreduce.reduce.cpu.vcores": _NUM,
        "mapreduce.map.maxattempts": _POS_INT,
        "mapreduce.reduce.maxattempts": _POS_INT,
        "mapreduce.input.fileinputformat.split.maxsize": _POS_INT,
        "mapreduce.input.fileinputformat.split.minsize": _INT,
        "mapreduce.map.speculative": _BOOL,
        "mapreduce.reduce.speculative": _BOOL,
        "mapreduce.job.priority": "",
    },
    "hive-site": {
        "hive.server2.thrift.port": _POS_INT,
        "hive.exec.reducers.max": _POS_INT,
        "hive.exec.reducers.bytes.per.reducer": _POS_INT,
        "hive.auto.convert.join": _BOOL,
        "hive.auto.convert.join.noconditionaltask.size": _INT,
        "hive.exec.dynamic.partition": _BOOL,
        "hive.exec.parallel": _BOOL,
        "hive.server2.enable.doAs": _BOOL,
    },
    "core-site": {
        "io.file.buffer.size": _POS_INT,
        "fs.s3.maxRetries": _INT,
    },
})

_QUEUE_NUMERIC = re.compile(
    r"^yarn\.scheduler\.capacity\.(?P<path>root(?:\.[^.]+)*)\."
    r"(?P<prop>capacity|maximum-capacity|user-limit-factor|maximum-applications|"
    r"maximum-am-resource-percent|minimum-user-limit-percent)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ClusterConfig:
    """Validated configuration of one cluster: classification -> property -> value (text).

    ``sources`` maps ``(classification, property)`` to where the value came from, e.g.
    ``"default"`` or ``"configurations.json[2]"``.
    """

    properties: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: _freeze({k: dict(v) for k, v in DEFAULTS.items()}))
    sources: Mapping[tuple[str, str], str] = field(
        default_factory=lambda: MappingProxyType(
            {(c, k): "default" for c, props in DEFAULTS.items() for k in props}))

    def __repr__(self) -> str:  # values of secret-looking keys never shown
        shown = {cls: redact(props) for cls, props in self.properties.items() if props}
        return f"ClusterConfig({shown!r})"

    def __reduce__(self):  # mapping proxies do not pickle; configs cross Ray
        return (_rebuild_config, ({k: dict(v) for k, v in self.properties.items()},
                                  dict(self.sources)))

    def classification(self, name: str) -> dict[str, str]:
        """The properties of one classification (a copy; empty when none were given)."""
        _check_known(name, where="lookup")
        return dict(self.properties.get(name, {}))

    def get(self, classification: str, key: str, default: str | None = None) -> str | None:
        return self.properties.get(classification, {}).get(key, default)

    def source(self, classification: str, key: str) -> str | None:
        return self.sources.get((classification, key))

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables from ``hadoop-env``'s nested ``export`` classification."""
        return self.classification("hadoop-env")

    def explain(self) -> list[str]:
        """One line per value: ``classification: key = value  (source)``."""
        lines = []
        for cls in sorted(self.properties):
            for key in sorted(self.properties[cls]):
                value = self.properties[cls][key]
                if _looks_secret(key):
                    value = "****"
                lines.append(f"{cls}: {key} = {value}  ({self.sources.get((cls, key), '?')})")
        return lines

    def to_emr_json(self) -> list[dict[str, Any]]:
        """The non-default values in EMR's own JSON form (for describe-cluster)."""
        out = []
        for cls in sorted(self.properties):
            props = {k: ("****" if _looks_secret(k) else v)
                     for k, v in sorted(self.properties[cls].items())
                     if self.sources.get((cls, k)) != "default"}
            if not props:
                continue
            if cls == "hadoop-env":
                out.append({"Classification": cls, "Properties": {}, "Configurations": [
                    {"Classification": "export", "Properties": props}]})
            else:
                out.append({"Classification": cls, "Properties": props})
        return out

    def with_overrides(self, classification: str, props: Mapping[str, str],
                       source: str) -> "ClusterConfig":
        """A new config with ``props`` set in ``classification`` (validated)."""
        entry = {"Classification": classification, "Properties": dict(props)}
        if classification == "hadoop-env":
            entry = {"Classification": "hadoop-env",
                     "Configurations": [{"Classification": "export", "Properties": dict(props)}]}
        return parse_configurations([entry], source=source, base=self)


def _rebuild_config(props: dict, sources: dict) -> ClusterConfig:
    return ClusterConfig(properties=_freeze(props), sources=MappingProxyType(sources))


def _looks_secret(key: str) -> bool:
    return is_hidden(key)


def _freeze(props: dict[str, dict[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in props.items()})


def _check_known(name: str, *, where: str) -> None:
    if name in SUPPORTED:
        return
    if name in NOT_SUPPORTED:
        raise UnsupportedError(
            f"configuration classification {name!r} ({where}) is not supported by rayemr",
            hint=f"supported: {', '.join(sorted(SUPPORTED))}")
    raise ConfigError(
        f"unknown configuration classification {name!r} ({where})",
        hint=f"supported: {', '.join(sorted(SUPPORTED))}")


def parse_configurations(entries: Any, *, source: str = "configurations",
                         base: ClusterConfig | None = None) -> ClusterConfig:
    """Validate EMR-style ``entries`` and return them merged over ``base`` (or the defaults).

    Raises ``ConfigError`` naming the classification and property for anything wrong, and
    ``UnsupportedError`` for classifications EMR has but rayemr does not implement.
    """
    base = base or ClusterConfig()
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(f"{source}: expected a list of classifications, "
                          f"got {type(entries).__name__}")
    props = {k: dict(v) for k, v in base.properties.items()}
    sources = dict(base.sources)
    touched: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{source}[{i}]"
        cls, values = _parse_entry(entry, where)
        for key, value in values.items():
            props.setdefault(cls, {})[key] = value
            sources[(cls, key)] = where
        touched.add(cls)
    for cls in sorted(touched):
        _validate_classification(cls, props.get(cls, {}))
    _check_job_queue(props)
    return ClusterConfig(properties=_freeze(props), sources=MappingProxyType(sources))


def _parse_entry(entry: Any, where: str) -> tuple[str, dict[str, str]]:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected an object with 'Classification', "
                          f"got {type(entry).__name__}")
    unknown = set(entry) - {"Classification", "Properties", "Configurations"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                          hint="an entry has Classification, Properties, Configurations")
    cls = entry.get("Classification")
    if not isinstance(cls, str) or not cls:
        raise ConfigError(f"{where}: 'Classification' must be a non-empty string")
    _check_known(cls, where=where)
    values = _properties(cls, entry.get("Properties", {}), where)
    nested = entry.get("Configurations") or []
    if not isinstance(nested, (list, tuple)):
        raise ConfigError(f"{where} {cls}: 'Configurations' must be a list")
    if cls == "hadoop-env":
        if values:
            raise ConfigError(f"{where} hadoop-env: put variables under a nested 'export' "
                              f"classification, not in Properties ({', '.join(sorted(values))})")
        for j, sub in enumerate(nested):
            sub_where = f"{where}.Configurations[{j}]"
            if not isinstance(sub, Mapping) or sub.get("Classification") != "export":
                raise ConfigError(f"{sub_where} hadoop-env: only a nested 'export' "
                                  f"classification is allowed")
            if sub.get("Configurations"):
                raise ConfigError(f"{sub_where} hadoop-env/export: no further nesting allowed")
            for name, value in _properties("hadoop-env", sub.get("Properties", {}),
                                           sub_where).items():
                if not _ENV_NAME.match(name):
                    raise ConfigError(f"hadoop-env/export: {name!r} is not a valid "
                                      f"environment variable name ({sub_where})")
                values[name] = value
    elif nested:
        raise ConfigError(f"{where} {cls}: nested 'Configurations' are not used by {cls}",
                          hint="only *-env classifications nest an 'export' classification")
    return cls, values


def _properties(cls: str, raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} {cls}: 'Properties' must be an object of name: value")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{where} {cls}: property names must be non-empty strings")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            raise ConfigError(f"{cls}: property {key!r} must be a string, "
                              f"got {type(value).__name__} ({where})")
        out[key.strip()] = value
    return out


# ---------------------------------------------------------------------------------- validation

def _validate_classification(cls: str, props: Mapping[str, str]) -> None:
    for key, kind in TYPED.get(cls, {}).items():
        if key in props and kind:
            _check_value(cls, key, props[key], kind)
    validator = _VALIDATORS.get(cls)
    if validator:
        validator(props)


def _check_value(cls: str, key: str, value: str, kind: str) -> None:
    text = value.strip()
    ok = True
    if kind in (_INT, _POS_INT):
        ok = bool(re.fullmatch(r"[+-]?\d+", text)) and (kind == _INT or int(text) > 0)
    elif kind == _NUM:
        ok = _is_number(text)
    elif kind == _BOOL:
        ok = text.lower() in ("true", "false")
    if not ok:
        raise ConfigError(f"{cls}: property {key!r} must be {kind}, got {value!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _validate_capacity(props: Mapping[str, str]) -> None:
    """Check capacity-scheduler values; the YARN layer's own parser has the last word."""
    for key, value in props.items():
        m = _QUEUE_NUMERIC.match(key)
        if m and not _is_number(value.strip()):
            raise ConfigError(f"capacity-scheduler: property {key!r} must be a number, "
                              f"got {value!r}")
        if m and m["prop"] in ("capacity", "maximum-capacity", "maximum-am-resource-percent",
                               "minimum-user-limit-percent"):
            v = float(value)
            limit = 1.0 if m["prop"] == "maximum-am-resource-percent" else 100.0
            if not 0 <= v <= limit and not (m["prop"] == "maximum-capacity" and v == -1):
                raise ConfigError(f"capacity-scheduler: property {key!r} must be between 0 "
                                  f"and {limit:g}, got {value!r}")
    _check_queue_tree(props, "root")
    delegate = _yarn_validator()
    if delegate is not None:
        delegate(dict(props))


def _check_queue_tree(props: Mapping[str, str], path: str) -> None:
    key = f"yarn.scheduler.capacity.{path}.queues"
    if key not in props:
        return
    children = [c.strip() for c in props[key].split(",") if c.strip()]
    if not children:
        raise ConfigError(f"capacity-scheduler: property {key!r} names no queues")
    if len(set(children)) != len(children):
        raise ConfigError(f"capacity-scheduler: property {key!r} names a queue twice")
    total = 0.0
    for child in children:
        cap_key = f"yarn.scheduler.capacity.{path}.{child}.capacity"
        if cap_key not in props:
            raise ConfigError(f"capacity-scheduler: property {cap_key!r} is missing",
                              hint=f"every queue listed in {key} needs a capacity")
        total += float(props[cap_key])
        _check_queue_tree(props, f"{path}.{child}")
    if abs(total - 100.0) > 1e-6:
        raise ConfigError(
            f"capacity-scheduler: capacities of the queues in {key!r} "
            f"({', '.join(children)}) sum to {total:g}, not 100")


def leaf_queues(props: Mapping[str, str], path: str = "root") -> list[str]:
    """The leaf queues a capacity-scheduler classification defines (short names)."""
    key = f"yarn.scheduler.capacity.{path}.queues"
    if key not in props:
        return [path.rsplit(".", 1)[-1]] if path != "root" else []
    out: list[str] = []
    for child in (c.strip() for c in props[key].split(",") if c.strip()):
        out += leaf_queues(props, f"{path}.{child}")
    return out


def _check_job_queue(props: Mapping[str, Mapping[str, str]]) -> None:
    """Jobs must go to a leaf queue of the cluster's own capacity-scheduler, as YARN refuses
    to submit to a parent. Without that classification a running ResourceManager keeps its
    queues, so only ``root`` (never a leaf) is refused here."""
    queue = (props.get("mapred-site", {}).get(JOB_QUEUE) or "").strip()
    if not queue:
        return
    scheduler = dict(props.get("capacity-scheduler", {}))
    if "yarn.scheduler.capacity.root.queues" not in scheduler:
        if queue != "root":
            return
        scheduler["yarn.scheduler.capacity.root.queues"] = "default"
    leaves = leaf_queues(scheduler)
    parts = queue.split(".")
    path = parts if parts[0] == "root" else None
    name = parts[-1]
    parents = _parent_queues(scheduler)
    if name in leaves and (path is None or _defined(scheduler, path)):
        return
    what = ("is a parent queue, not a leaf queue" if name in parents
            else "is not a queue of the cluster's capacity-scheduler")
    raise ConfigError(f"mapred-site: property {JOB_QUEUE!r} names queue {queue!r}, which "
                      f"{what}", hint=f"jobs go to a leaf queue: {', '.join(leaves)}")


def _parent_queues(props: Mapping[str, str], path: str = "root") -> list[str]:
    """Queues with children (short names), ``root`` included."""
    key = f"yarn.scheduler.capacity.{path}.queues"
    if key not in props:
        return []
    out = [path.rsplit(".", 1)[-1]]
    for child in (c.strip() for c in props[key].split(",") if c.strip()):
        out += _parent_queues(props, f"{path}.{child}")
    return out


def _defined(props: Mapping[str, str], path: list[str]) -> bool:
    """True when the full queue path ``root.a.b`` is a leaf of the tree."""
    for depth in range(1, len(path)):
        key = f"yarn.scheduler.capacity.{'.'.join(path[:depth])}.queues"
        children = [c.strip() for c in props.get(key, "").split(",")]
        if path[depth] not in children:
            return False
    return f"yarn.scheduler.capacity.{'.'.join(path)}.queues" not in props


def _yarn_validator() -> Callable[[dict], Any] | None:
    """The YARN layer's capacity-scheduler parser (it has the last word on queues)."""
    try:
        from rayemr.yarn.config import CapacitySchedulerConfig
    except ImportError:
        return None
    return _wrap_user_errors(
        "capacity-scheduler",
        lambda props: CapacitySchedulerConfig.from_properties(props, source="capacity-scheduler"))


def _validate_emrfs(props: Mapping[str, str]) -> None:
    try:
        from rayemr.fs import EmrfsConfig  # type: ignore[attr-defined]
    except ImportError:
        return
    _wrap_user_errors("emrfs-site", EmrfsConfig.from_properties)(dict(props))


def _wrap_user_errors(cls: str, fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
    def call(props: dict) -> Any:
        try:
            return fn(props)
        except RayEmrError as exc:
            msg = str(exc)
            if cls in msg:
                raise
            raise ConfigError(f"{cls}: {msg}") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{cls}: {exc}") from None
    return call


#: hive-site keys that say where the metastore and the warehouse are.
#: The queue MapReduce and Hive jobs go to (``mapred-site``).
JOB_QUEUE = "mapreduce.job.queuename"
METASTORE_URL = "javax.jdo.option.ConnectionURL"
WAREHOUSE_DIR = "hive.metastore.warehouse.dir"


def hive_metastore_options(config: ClusterConfig) -> tuple[str | None, str | None]:
    """(metastore SQLite path, warehouse URL) from ``hive-site``; None = Hive's default."""
    site = config.properties.get("hive-site", {})
    url = site.get(METASTORE_URL)
    path = None
    if url:
        path = _sqlite_path(url)
    return path, site.get(WAREHOUSE_DIR) or None


def _sqlite_path(url: str) -> str:
    for prefix in ("jdbc:sqlite:", "sqlite:///", "sqlite://"):
        if url.startswith(prefix):
            path = url[len(prefix):]
            if path:
                return path
    raise UnsupportedError(
        f"hive-site: property {METASTORE_URL!r} = {url!r}: rayemr's metastore is SQLite",
        hint="use jdbc:sqlite:/path/to/metastore.db")


def _validate_hive_site(props: Mapping[str, str]) -> None:
    if props.get(METASTORE_URL):
        _sqlite_path(props[METASTORE_URL])
    try:
        from rayemr.hive.server import ServerConfig
    except ImportError:
        return
    _wrap_user_errors("hive-site", ServerConfig.from_properties)(dict(props))


def _validate_yarn_site(props: Mapping[str, str]) -> None:
    try:
        from rayemr.yarn import YarnConfig
    except ImportError:
        return
    site = {k: v for k, v in props.items() if not k.startswith("yarn.scheduler.capacity.")}
    _wrap_user_errors("yarn-site", YarnConfig.from_properties)(site)


#: kinesis-site: streams an EMR cluster creates when it starts, ``name:shards[,name:shards]``.
KINESIS_STREAMS = "rayemr.kinesis.create-streams"
#: aws-endpoint: properties and their types (every one optional; enabled defaults to false).
AWS_ENDPOINT = {"rayemr.aws.endpoint.enabled": _BOOL, "rayemr.aws.endpoint.host": "",
                "rayemr.aws.endpoint.port": _INT, "rayemr.aws.endpoint.services": "",
                "rayemr.aws.endpoint.credentials": ""}


def kinesis_streams(props: Mapping[str, str]) -> list[tuple[str, int]]:
    """The ``rayemr.kinesis.create-streams`` entries as ``(name, shards)``."""
    out = []
    for item in (props.get(KINESIS_STREAMS) or "").split(","):
        name, _, shards = item.strip().partition(":")
        if not name:
            continue
        if not re.fullmatch(r"[a-zA-Z0-9_.-]{1,128}", name) or not shards.isdigit() \
                or int(shards) < 1:
            raise ConfigError(f"kinesis-site: {KINESIS_STREAMS} entry {item.strip()!r} is not "
                              "NAME:SHARDS (a stream name and a positive shard count)")
        out.append((name, int(shards)))
    return out


def _validate_kinesis(props: Mapping[str, str]) -> None:
    kinesis_streams(props)
    from rayemr.kinesis import KinesisSettings

    rest = {k: v for k, v in props.items() if k != KINESIS_STREAMS}
    _wrap_user_errors("kinesis-site", KinesisSettings.from_properties)(rest)


def _validate_aws_endpoint(props: Mapping[str, str]) -> None:
    for key, value in props.items():
        kind = AWS_ENDPOINT.get(key)
        if kind is None:
            raise ConfigError(f"aws-endpoint: unknown property {key!r}; known: "
                              f"{', '.join(sorted(AWS_ENDPOINT))}")
        if kind:
            _check_value("aws-endpoint", key, value, kind)


_VALIDATORS: dict[str, Callable[[Mapping[str, str]], None]] = {
    "kinesis-site": _validate_kinesis,
    "aws-endpoint": _validate_aws_endpoint,
    "capacity-scheduler": _validate_capacity,
    "yarn-site": _validate_yarn_site,
    "hive-site": _validate_hive_site,
    "emrfs-site": _validate_emrfs,
}


# ---------------------------------------------------------------------------------- loading

def load_configurations(source: Any, *, base: ClusterConfig | None = None,
                        emrfs: Any = None) -> ClusterConfig:
    """Build a ``ClusterConfig`` from a list, a JSON string, a local file or a URL.

    URLs (``file://``, ``s3://``) and paths are read through ``rayemr.fs``.
    """
    if source is None:
        return base or ClusterConfig()
    if isinstance(source, ClusterConfig):
        return source
    if isinstance(source, (list, tuple, Mapping)):
        return parse_configurations(source, source="configurations", base=base)
    if not isinstance(source, str):
        raise ConfigError(f"configurations: expected a list, JSON text, a file or a URL, "
                          f"got {type(source).__name__}")
    text = source.strip()
    if text.startswith(("[", "{")):
        label = "configurations"
    else:
        label = source
        text = _read_text(source, emrfs)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"configurations {label}: not valid JSON: {exc.msg} "
                          f"at line {exc.lineno} column {exc.colno}") from None
    return parse_configurations(data, source=_short(label), base=base)


def _short(label: str) -> str:
    return label if len(label) <= 80 else "..." + label[-77:]


def _read_text(url: str, emrfs: Any) -> str:
    from rayemr.emr import storage

    return storage.read_text(url, emrfs, what="configurations")


def iter_env(config: ClusterConfig) -> Iterable[tuple[str, str]]:
    return sorted(config.environment.items())
