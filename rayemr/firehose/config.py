"""A delivery stream's configuration, parsed from Firehose's API shapes and checked at the edge.

``parse_create(params)`` turns a ``CreateDeliveryStream`` request into a frozen
:class:`StreamConfig`; ``apply_update`` merges an ``ExtendedS3DestinationUpdate`` into one;
``describe_destination`` renders it back as ``DescribeDeliveryStream`` shows it. Every rule
AWS applies between fields (prefix expressions and dynamic partitioning, conversion and
compression, one destination) is checked here, so a running stream never meets a bad config.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from rayemr.firehose.buffers import BufferingHints
from rayemr.firehose.errors import InvalidArgumentException, ValidationException
from rayemr.firehose.prefixes import KeyLayout, key_layout

NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
BUCKET_ARN = re.compile(r"^arn:[^:]*:s3:::([\w.\-]{1,255})$")
COMPRESSIONS = ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
SOURCE_TYPES = ("DirectPut", "KinesisStreamAsSource")
PROCESSOR_TYPES = ("MetadataExtraction", "Lambda", "AppendDelimiterToRecord")
UNSUPPORTED_DESTINATIONS = (
    "RedshiftDestinationConfiguration", "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration", "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration", "AmazonOpenSearchServerlessDestinationConfiguration",
    "SnowflakeDestinationConfiguration", "IcebergDestinationConfiguration")
DESTINATION_ID = "destinationId-000000000001"


@dataclass(frozen=True)
class S3Location:
    """A bucket and its key layout, with buffering and compression (backup or main)."""

    bucket: str
    layout: KeyLayout
    hints: BufferingHints = field(default_factory=BufferingHints)
    compression: str = "UNCOMPRESSED"
    role_arn: str = ""


@dataclass(frozen=True)
class Conversion:
    """JSON -> Parquet/ORC with a Hive table's schema (the Glue table's role)."""

    database: str
    table: str
    output: str  # "parquet" | "orc"
    deserializer: str = "OpenXJsonSerDe"  # or "HiveJsonSerDe"
    case_insensitive: bool = True
    dots_to_underscores: bool = False
    column_to_key: tuple[tuple[str, str], ...] = ()
    timestamp_formats: tuple[str, ...] = ()
    codec: str = "SNAPPY"
    raw: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Processing:
    """The processors of ``ProcessingConfiguration``, as far as rayemr runs them."""

    metadata_query: str | None = None
    lambda_arn: str | None = None
    lambda_retries: int = 3
    append_delimiter: str | None = None
    raw: tuple[Any, ...] = ()


@dataclass(frozen=True)
class StreamConfig:
    name: str
    source: str = "DirectPut"
    kinesis_arn: str | None = None
    destination: S3Location | None = None
    processing: Processing = field(default_factory=Processing)
    dynamic_partitioning: bool = False
    conversion: Conversion | None = None
    backup: S3Location | None = None
    file_extension: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    raw_destination: tuple[tuple[str, Any], ...] = ()

    @property
    def destination_api(self) -> dict[str, Any]:
        return dict(self.raw_destination)


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise InvalidArgumentException(f"{where}.{key} is required")
    return d[key]


def check_name(name: Any, field_name: str = "DeliveryStreamName") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationException(
            f"1 validation error detected: Value {name!r} at '{field_name}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ "
            "and have length from 1 to 64")
    return name


def bucket_of(arn: Any, where: str) -> str:
    m = BUCKET_ARN.match(arn) if isinstance(arn, str) else None
    if not m:
        raise InvalidArgumentException(
            f"{where}.BucketARN {arn!r} is not an S3 bucket ARN (arn:aws:s3:::bucket)")
    return m.group(1)


def _compression(value: Any, where: str) -> str:
    value = value or "UNCOMPRESSED"
    if value not in COMPRESSIONS:
        raise ValidationException(f"{where}.CompressionFormat {value!r}: expected one of "
                                  + ", ".join(COMPRESSIONS))
    return value


def parse_s3(d: Mapping[str, Any], where: str, dynamic: bool = False) -> S3Location:
    if not isinstance(d, Mapping):
        raise InvalidArgumentException(f"{where} must be an object")
    bucket = bucket_of(_req(d, "BucketARN", where), where)
    layout = key_layout(d.get("Prefix"), d.get("ErrorOutputPrefix"), dynamic_partitioning=dynamic)
    return S3Location(bucket, layout, BufferingHints.from_api(d.get("BufferingHints")),
                      _compression(d.get("CompressionFormat"), where), d.get("RoleARN") or "")


def _params(proc: Mapping[str, Any]) -> dict[str, str]:
    return {p.get("ParameterName"): p.get("ParameterValue")
            for p in proc.get("Parameters") or [] if isinstance(p, Mapping)}


def parse_processing(d: Mapping[str, Any] | None) -> Processing:
    if not d or not d.get("Enabled", False):
        return Processing(raw=())
    query = arn = delim = None
    retries = 3
    for proc in d.get("Processors") or []:
        kind = proc.get("Type")
        params = _params(proc)
        if kind not in PROCESSOR_TYPES:
            raise InvalidArgumentException(
                f"ProcessingConfiguration: processor type {kind!r} is not supported; use "
                + ", ".join(PROCESSOR_TYPES))
        if kind == "MetadataExtraction":
            query = params.get("MetadataExtractionQuery")
            engine = params.get("JsonParsingEngine", "JQ-1.6")
            if not query:
                raise InvalidArgumentException(
                    "MetadataExtraction processor needs a MetadataExtractionQuery parameter")
            if engine != "JQ-1.6":
                raise InvalidArgumentException(
                    f"JsonParsingEngine {engine!r} is not supported; use JQ-1.6")
        elif kind == "Lambda":
            arn = params.get("LambdaArn")
            if not arn:
                raise InvalidArgumentException("Lambda processor needs a LambdaArn parameter")
            retries = _int_param(params, "NumberOfRetries", 3, 0, 300)
        else:
            delim = params.get("Delimiter", "\\n").encode().decode("unicode_escape")
    return Processing(query, arn, retries, delim, raw=(dict(d),))


def _int_param(params: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    value = params.get(key)
    if value is None:
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidArgumentException(f"{key} {value!r} is not an integer") from None
    if not lo <= n <= hi:
        raise InvalidArgumentException(f"{key} {n} is out of range {lo}-{hi}")
    return n


def parse_conversion(d: Mapping[str, Any] | None) -> Conversion | None:
    if not d or not d.get("Enabled", True):
        return None
    where = "DataFormatConversionConfiguration"
    schema = d.get("SchemaConfiguration") or {}
    database = _req(schema, "DatabaseName", f"{where}.SchemaConfiguration")
    table = _req(schema, "TableName", f"{where}.SchemaConfiguration")
    serializer = (d.get("OutputFormatConfiguration") or {}).get("Serializer") or {}
    if "ParquetSerDe" in serializer:
        output, codec = "parquet", (serializer["ParquetSerDe"] or {}).get("Compression",
                                                                           "SNAPPY")
        if codec not in ("UNCOMPRESSED", "GZIP", "SNAPPY"):
            raise InvalidArgumentException(f"ParquetSerDe.Compression {codec!r}: expected "
                                           "UNCOMPRESSED, GZIP or SNAPPY")
    elif "OrcSerDe" in serializer:
        output, codec = "orc", (serializer["OrcSerDe"] or {}).get("Compression", "SNAPPY")
        if codec not in ("NONE", "ZLIB", "SNAPPY"):
            raise InvalidArgumentException(f"OrcSerDe.Compression {codec!r}: expected NONE, "
                                           "ZLIB or SNAPPY")
    else:
        raise InvalidArgumentException(
            f"{where}.OutputFormatConfiguration.Serializer needs ParquetSerDe or OrcSerDe")
    deser = (d.get("InputFormatConfiguration") or {}).get("Deserializer") or {}
    if "HiveJsonSerDe" in deser:
        fmts = tuple((deser["HiveJsonSerDe"] or {}).get("TimestampFormats") or ())
        return Conversion(database, table, output, "HiveJsonSerDe", True, False, (), fmts,
                          codec, tuple(d.items()))
    openx = deser.get("OpenXJsonSerDe") or {}
    return Conversion(database, table, output, "OpenXJsonSerDe",
                      bool(openx.get("CaseInsensitive", True)),
                      bool(openx.get("ConvertDotsInJsonKeysToUnderscores", False)),
                      tuple(sorted((openx.get("ColumnToJsonKeyMappings") or {}).items())),
                      (), codec, tuple(d.items()))


def parse_extended_s3(name: str, d: Mapping[str, Any], **base: Any) -> StreamConfig:
    where = "ExtendedS3DestinationConfiguration"
    dynamic = bool((d.get("DynamicPartitioningConfiguration") or {}).get("Enabled", False))
    dest = parse_s3(d, where, dynamic)
    processing = parse_processing(d.get("ProcessingConfiguration"))
    if dynamic and dest.layout.prefix.uses("partitionKeyFromQuery") and not processing.metadata_query:
        raise InvalidArgumentException(
            "Prefix uses partitionKeyFromQuery but no MetadataExtraction processor with a "
            "MetadataExtractionQuery is configured")
    if dynamic and processing.metadata_query:
        from rayemr.firehose.partitioning import Partitioner

        Partitioner(processing.metadata_query, dest.layout.prefix.partition_keys)  # compiles
    if dest.layout.prefix.uses("partitionKeyFromLambda") and not processing.lambda_arn:
        raise InvalidArgumentException(
            "Prefix uses partitionKeyFromLambda but no Lambda processor is configured")
    conversion = parse_conversion(d.get("DataFormatConversionConfiguration"))
    if conversion and dest.compression != "UNCOMPRESSED":
        raise InvalidArgumentException(
            "CompressionFormat must be UNCOMPRESSED when data format conversion is enabled "
            "(compress with the serializer's Compression instead)")
    backup = None
    mode = d.get("S3BackupMode", "Disabled")
    if mode not in ("Disabled", "Enabled"):
        raise ValidationException(f"S3BackupMode {mode!r}: expected Disabled or Enabled")
    if mode == "Enabled":
        backup = parse_s3(_req(d, "S3BackupConfiguration", where), "S3BackupConfiguration")
    ext = d.get("FileExtension")
    if ext is not None and not re.match(r"^$|\.[0-9a-z!\-_.*'()]+$", ext):
        raise InvalidArgumentException(f"FileExtension {ext!r} must start with '.' and use "
                                       "lower-case letters, digits and !-_.*'()")
    return StreamConfig(name, destination=dest, processing=processing,
                        dynamic_partitioning=dynamic, conversion=conversion, backup=backup,
                        file_extension=ext, raw_destination=tuple(d.items()), **base)


def parse_create(params: Mapping[str, Any]) -> StreamConfig:
    """A ``CreateDeliveryStream`` request as a checked :class:`StreamConfig`."""
    name = check_name(params.get("DeliveryStreamName"))
    source = params.get("DeliveryStreamType") or "DirectPut"
    if source not in SOURCE_TYPES:
        raise InvalidArgumentException(
            f"DeliveryStreamType {source!r} is not supported; use DirectPut or "
            "KinesisStreamAsSource")
    kinesis_arn = None
    if source == "KinesisStreamAsSource":
        src = params.get("KinesisStreamSourceConfiguration") or {}
        kinesis_arn = _req(src, "KinesisStreamARN", "KinesisStreamSourceConfiguration")
    tags = tuple((t.get("Key"), t.get("Value", "")) for t in params.get("Tags") or [])
    base = {"source": source, "kinesis_arn": kinesis_arn, "tags": tags}
    given = [k for k in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration",
                         *UNSUPPORTED_DESTINATIONS) if params.get(k)]
    if len(given) != 1:
        raise InvalidArgumentException(
            "exactly one destination configuration is required"
            + (f"; got {', '.join(given)}" if given else ""))
    if given[0] in UNSUPPORTED_DESTINATIONS:
        raise InvalidArgumentException(
            f"{given[0]} is not supported by rayemr; use ExtendedS3DestinationConfiguration "
            "(a Hive table is bound through its DataFormatConversionConfiguration)")
    d = params[given[0]]
    if not isinstance(d, Mapping):
        raise InvalidArgumentException(f"{given[0]} must be an object")
    return parse_extended_s3(name, d, **base)


def apply_update(config: StreamConfig, update: Mapping[str, Any]) -> StreamConfig:
    """A new config with an ``ExtendedS3DestinationUpdate`` merged in (then re-checked)."""
    merged = dict(config.raw_destination)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "S3BackupUpdate" in merged:
        merged["S3BackupConfiguration"] = {**(merged.get("S3BackupConfiguration") or {}),
                                           **merged.pop("S3BackupUpdate")}
    return parse_extended_s3(config.name, merged, source=config.source,
                             kinesis_arn=config.kinesis_arn, tags=config.tags)


def describe_destination(config: StreamConfig) -> dict[str, Any]:
    """``Destinations[0]`` of ``DescribeDeliveryStream``."""
    d = config.destination
    ext = config.destination_api
    ext.setdefault("BufferingHints", d.hints.to_api())
    ext["BufferingHints"] = d.hints.to_api()
    ext["CompressionFormat"] = d.compression
    ext.setdefault("Prefix", d.layout.prefix.text)
    ext.setdefault("ErrorOutputPrefix", d.layout.error_prefix.text)
    ext.setdefault("S3BackupMode", "Enabled" if config.backup else "Disabled")
    ext.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    ext.setdefault("RoleARN", d.role_arn)
    s3 = {"RoleARN": ext["RoleARN"], "BucketARN": ext["BucketARN"],
          "Prefix": ext["Prefix"], "ErrorOutputPrefix": ext["ErrorOutputPrefix"],
          "BufferingHints": ext["BufferingHints"], "CompressionFormat": d.compression,
          "EncryptionConfiguration": ext["EncryptionConfiguration"]}
    return {"DestinationId": DESTINATION_ID, "S3DestinationDescription": s3,
            "ExtendedS3DestinationDescription": ext}
