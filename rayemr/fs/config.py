"""EMRFS configuration: a frozen, picklable set of S3 overrides on top of what botocore finds.

``EmrfsConfig()`` overrides nothing: credentials, region and endpoint come from the standard
AWS places (environment, shared config/credentials files, profiles, instance roles), including
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``. ``EmrfsConfig.from_properties`` reads an
``emrfs-site``-style dict; both EMRFS (``fs.s3.*``) and S3A (``fs.s3a.*``) spellings work.

Environment lookups happen where a filesystem is built (``effective_endpoint``), not when the
config is made, so a config pickled to a Ray worker uses that worker's environment for
whatever it does not override. Secrets never appear in ``repr``/``str``/``describe``.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from rayemr.core.errors import ConfigError

log = logging.getLogger(__name__)

MiB = 1024 * 1024

#: Retry modes botocore understands.
RETRY_MODES = ("standard", "adaptive", "legacy")

#: Server-side encryption settings: config value -> S3 ``ServerSideEncryption`` header.
_SSE_ALIASES = {
    "": None, "none": None, "false": None,
    "sse-s3": "AES256", "aes256": "AES256", "true": "AES256",
    "sse-kms": "aws:kms", "aws:kms": "aws:kms",
}

#: property key (lower-cased) -> EmrfsConfig field. EMRFS names first, then S3A aliases.
_KEYS: dict[str, str] = {
    "fs.s3.endpoint": "endpoint_url",
    "fs.s3a.endpoint": "endpoint_url",
    "fs.s3.endpoint.region": "region",
    "fs.s3.region": "region",
    "fs.s3a.endpoint.region": "region",
    "fs.s3.path.style.access": "path_style",
    "fs.s3a.path.style.access": "path_style",
    "fs.s3.enableserversideencryption": "_sse_enable",
    "fs.s3.serversideencryption.kms.keyid": "sse_kms_key_id",
    "fs.s3.server-side-encryption-algorithm": "sse",
    "fs.s3a.server-side-encryption-algorithm": "sse",
    "fs.s3a.encryption.algorithm": "sse",
    "fs.s3.server-side-encryption.key": "sse_kms_key_id",
    "fs.s3a.server-side-encryption.key": "sse_kms_key_id",
    "fs.s3a.encryption.key": "sse_kms_key_id",
    "fs.s3.retry.mode": "retry_mode",
    "fs.s3a.retry.mode": "retry_mode",
    "fs.s3.maxretries": "_max_retries",
    "fs.s3a.retry.limit": "_max_retries",
    "fs.s3.retry.maxattempts": "max_attempts",
    "fs.s3a.attempts.maximum": "max_attempts",
    "fs.s3.multipart.threshold": "multipart_threshold",
    "fs.s3a.multipart.threshold": "multipart_threshold",
    "fs.s3.multipart.part.size": "multipart_part_size",
    "fs.s3n.multipart.uploads.split.size": "multipart_part_size",
    "fs.s3a.multipart.size": "multipart_part_size",
    "fs.s3.connection.establish.timeout": "connect_timeout",
    "fs.s3a.connection.establish.timeout": "connect_timeout",
    "fs.s3.connection.attempts": "connect_attempts",
    "fs.s3.maxconnections": "max_connections",
    "fs.s3a.connection.maximum": "max_connections",
    "fs.s3.block.size": "split_size",
    "fs.s3a.block.size": "split_size",
    "fs.s3.read.block.size": "read_block_size",
    "fs.s3.read.native": "native_reads",
    "fs.s3.profile": "profile",
    "fs.s3a.aws.profile": "profile",
    "fs.s3.access.key": "access_key",
    "fs.s3.awsaccesskeyid": "access_key",
    "fs.s3a.access.key": "access_key",
    "fs.s3.secret.key": "secret_key",
    "fs.s3.awssecretaccesskey": "secret_key",
    "fs.s3a.secret.key": "secret_key",
    "fs.s3.session.token": "session_token",
    "fs.s3a.session.token": "session_token",
}

_SECRET_FIELDS = ("access_key", "secret_key", "session_token")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB, "t": 1024 * 1024 * MiB}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration_ms(key: str, value: Any) -> float:
    """Hadoop durations -> seconds: a bare number is milliseconds; ``5s``, ``500ms``, ``1m``."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected a duration such as 5s or 5000")
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ConfigError(f"{key}={value!r}: expected a duration such as 5s or 5000 (ms)")
    seconds = float(m.group(1)) * _SECONDS[(m.group(2) or "ms").lower()]
    if seconds <= 0:
        raise ConfigError(f"{key}={value!r}: must be positive")
    return seconds


def parse_size(key: str, value: Any) -> int:
    """``"64M"``, ``"128MB"``, ``"1g"``, ``8388608`` -> bytes (binary units, as Hadoop)."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected a size such as 64M")
    if isinstance(value, int):
        size = value
    else:
        m = _SIZE_RE.match(str(value))
        if not m:
            raise ConfigError(f"{key}={value!r}: expected a size such as 64M or 8388608")
        size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size <= 0:
        raise ConfigError(f"{key}={value!r}: must be positive")
    return size


def _parse_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{key}={value!r}: expected true or false")


def _parse_int(key: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{key}={value!r}: expected an integer") from None
    if number < minimum:
        raise ConfigError(f"{key}={value!r}: must be at least {minimum}")
    return number


@dataclass(frozen=True)
class EmrfsConfig:
    """S3 settings EMRFS applies on top of botocore's defaults. ``None`` = not overridden."""

    endpoint_url: str | None = None
    region: str | None = None
    path_style: bool | None = None
    #: ``"AES256"`` (SSE-S3) or ``"aws:kms"`` (SSE-KMS), applied to every write.
    sse: str | None = None
    sse_kms_key_id: str | None = None
    retry_mode: str = "standard"
    #: Total attempts per request (first try + retries), as botocore counts them.
    max_attempts: int = 10
    #: Seconds to wait for a TCP connection to the endpoint.
    connect_timeout: float = 5.0
    #: Attempts for a request that cannot connect at all (refused, unknown host, connect
    #: timeout): a wrong or dead endpoint fails in seconds; throttling and 5xx keep
    #: ``max_attempts``.
    connect_attempts: int = 2
    multipart_threshold: int = 64 * MiB
    multipart_part_size: int = 16 * MiB
    max_connections: int = 32
    #: Default input split size for text files (Hadoop's block size for s3).
    split_size: int = 128 * MiB
    #: Size of the ranged reads a text split is read with.
    read_block_size: int = 16 * MiB
    #: Read text splits from S3 with pyarrow's native client (C++, no GIL) instead of s3fs.
    native_reads: bool = True
    profile: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    #: (field, property key) pairs: where each overridden value came from.
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: Property keys that were given but mean nothing to EMRFS here.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.retry_mode not in RETRY_MODES:
            raise ConfigError(f"retry mode {self.retry_mode!r}: expected one of "
                              + ", ".join(RETRY_MODES))
        if self.sse not in (None, "AES256", "aws:kms"):
            raise ConfigError(f"server-side encryption {self.sse!r}: expected SSE-S3 or SSE-KMS")
        if self.sse_kms_key_id and self.sse is None:
            object.__setattr__(self, "sse", "aws:kms")
        if self.max_attempts < 1:
            raise ConfigError(f"max attempts {self.max_attempts}: must be at least 1")
        if self.connect_attempts < 1:
            raise ConfigError(f"connect attempts {self.connect_attempts}: must be at least 1")
        if not self.connect_timeout > 0:
            raise ConfigError(f"connect timeout {self.connect_timeout!r}: must be positive")
        if self.multipart_part_size < 5 * MiB:
            raise ConfigError(f"multipart part size {self.multipart_part_size}: S3 needs at "
                              "least 5 MiB (5242880)")
        if self.endpoint_url is not None and "://" not in self.endpoint_url:
            object.__setattr__(self, "endpoint_url", "https://" + self.endpoint_url)
        if bool(self.access_key) != bool(self.secret_key):
            raise ConfigError("S3 credentials: give both the access key and the secret key, "
                              "or neither")

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_properties(cls, props: Mapping[str, Any] | None = None, **overrides: Any
                        ) -> "EmrfsConfig":
        """Build from ``emrfs-site``-style properties (keys are case-insensitive)."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        ignored: list[str] = []
        sse_enable = None
        for raw_key, value in (props or {}).items():
            key = str(raw_key).strip()
            name = _KEYS.get(key.lower())
            if name is None:
                ignored.append(key)
                continue
            if value is None:
                continue
            if name == "_sse_enable":
                sse_enable = _parse_bool(key, value)
                sources.setdefault("sse", key)
                continue
            if name == "_max_retries":
                name, value = "max_attempts", _parse_int(key, value, 0) + 1
            values[name] = _convert(name, key, value)
            sources[name] = key
        if sse_enable and "sse" not in values:
            values["sse"] = "aws:kms" if values.get("sse_kms_key_id") else "AES256"
        elif sse_enable is False and "sse" not in values and not values.get("sse_kms_key_id"):
            values["sse"] = None
        for name, value in overrides.items():
            values[name] = value
            sources[name] = "argument"
        if ignored:
            log.info("emrfs-site: ignoring unknown properties %s", ", ".join(sorted(ignored)))
        return cls(**values, sources=tuple(sorted(sources.items())), ignored=tuple(ignored))

    # -- effective values (read the environment of the process that uses them) ------------
    def effective_endpoint(self) -> str | None:
        """The endpoint override, else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``."""
        if self.endpoint_url:
            return self.endpoint_url
        if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        return (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or _profile_endpoint(self.profile) or None)

    def write_kwargs(self) -> dict[str, str]:
        """Extra S3 request parameters for every write (server-side encryption)."""
        if self.sse is None:
            return {}
        kwargs = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.sse_kms_key_id:
            kwargs["SSEKMSKeyId"] = self.sse_kms_key_id
        return kwargs

    def describe(self) -> dict[str, str]:
        """Every setting with its value and where it came from; secrets masked."""
        origin = dict(self.sources)
        out = {}
        for f in fields(self):
            if f.name in ("sources", "ignored"):
                continue
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                value = "****" if value else None
            out[f.name] = f"{value!r} ({origin.get(f.name, 'default')})"
        out["effective_endpoint"] = repr(self.effective_endpoint())
        return out

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            if f.name in ("sources", "ignored"):
                continue
            value = getattr(self, f.name)
            if value == f.default:
                continue
            if f.name in _SECRET_FIELDS:
                value = "****"
            parts.append(f"{f.name}={value!r}")
        return f"EmrfsConfig({', '.join(parts)})"

    __str__ = __repr__


def _convert(name: str, key: str, value: Any) -> Any:
    if name in ("multipart_threshold", "multipart_part_size", "split_size", "read_block_size"):
        return parse_size(key, value)
    if name in ("path_style", "native_reads"):
        return _parse_bool(key, value)
    if name in ("max_attempts", "connect_attempts"):
        return _parse_int(key, value, 1)
    if name == "connect_timeout":
        return parse_duration_ms(key, value)
    if name == "max_connections":
        return _parse_int(key, value, 1)
    if name == "retry_mode":
        mode = str(value).strip().lower()
        if mode not in RETRY_MODES:
            raise ConfigError(f"{key}={value!r}: expected one of {', '.join(RETRY_MODES)}")
        return mode
    if name == "sse":
        text = str(value).strip().lower()
        if text not in _SSE_ALIASES:
            raise ConfigError(f"{key}={value!r}: expected SSE-S3, SSE-KMS or none")
        return _SSE_ALIASES[text]
    text = str(value).strip()
    return text or None


def _profile_endpoint(profile: str | None) -> str | None:
    """``endpoint_url`` from the shared AWS config file (profile or ``s3`` section)."""
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - botocore comes with s3fs
        return None
    try:
        session = botocore.session.Session(profile=profile)
        scoped = session.get_scoped_config()
    except Exception:  # noqa: BLE001 - a broken config file is botocore's error to report
        return None
    s3_section = scoped.get("s3")
    if isinstance(s3_section, dict) and s3_section.get("endpoint_url"):
        return s3_section["endpoint_url"]
    return scoped.get("endpoint_url")
