"""URL -> filesystem: the only place rayemr builds filesystems.

``s3://``, ``s3a://`` and ``s3n://`` are the same S3 object; ``file://`` and plain paths are
local files; ``memory://`` is fsspec's in-process store (for tests). ``resolve`` gives an
fsspec filesystem for general work (listing, small files, writes); ``arrow_filesystem`` gives
pyarrow's native filesystem built from the same settings, for large columnar reads.

Filesystems are cached per (kind, config) in each process and built lazily, so a config
pickled to a Ray worker builds its own there; ``clear_cache()`` drops them.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rayemr.core.errors import UnsupportedError, UserError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.s3 import S3_SCHEMES, EmrfsS3FileSystem, register_schemes, s3fs_options

_LOCAL_SCHEMES = ("", "file", "local")
SUPPORTED = "s3://, s3a://, s3n://, file://, memory:// or a local path"

_cache: dict[tuple[Any, ...], Any] = {}
_cache_lock = threading.Lock()
_DEFAULT = EmrfsConfig()

register_schemes()


@dataclass(frozen=True)
class ParsedUrl:
    """A URL split into the scheme the user wrote, the filesystem kind and the fs path."""

    url: str
    scheme: str  # as written: s3, s3a, s3n, file, memory, or "" for a plain path
    kind: str  # "s3", "local" or "memory"
    path: str  # the filesystem's own path: "bucket/key", "/abs/path", "/mem/path"

    def to_url(self, fs_path: str) -> str:
        """A URL in this URL's spelling for another path of the same filesystem."""
        if self.kind == "s3":
            return f"{self.scheme}://{fs_path.lstrip('/')}"
        if self.kind == "memory":
            return f"memory://{fs_path}"
        if self.scheme == "file":
            return f"file://{fs_path}"
        return fs_path


def parse_url(url: str) -> ParsedUrl:
    """Check a URL's scheme and shape; raise a one-line ``UserError`` if it is unusable."""
    if not isinstance(url, str) or not url.strip():
        raise UserError(f"{url!r}: empty path; expected {SUPPORTED}")
    text = os.fspath(url).strip()
    scheme = ""
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
    elif len(text) > 2 and text[1] == ":" and text[0].isalpha():
        scheme = ""  # a Windows drive letter, not a scheme
    if scheme in S3_SCHEMES:
        parts = urlsplit(text)
        bucket = parts.netloc
        if not bucket:
            raise UserError(f"{url}: no bucket in S3 URL; expected s3://bucket/key")
        key = parts.path.lstrip("/")
        return ParsedUrl(text, scheme, "s3", f"{bucket}/{key}" if key else bucket)
    if scheme in _LOCAL_SCHEMES:
        path = text.split("://", 1)[1] if "://" in text else text
        path = os.path.abspath(os.path.expanduser(path)) if path else ""
        if not path:
            raise UserError(f"{url}: empty path")
        return ParsedUrl(text, "file" if scheme in ("file", "local") else "", "local", path)
    if scheme == "memory":
        path = "/" + text.split("://", 1)[1].lstrip("/")
        return ParsedUrl(text, scheme, "memory", path.rstrip("/") or "/")
    if scheme in ("hdfs", "viewfs", "gs", "abfs", "abfss", "wasb", "wasbs", "http", "https",
                  "ftp", "sftp", "hf"):
        raise UnsupportedError(f"{url}: {scheme}:// is not supported by EMRFS; "
                               f"use {SUPPORTED}")
    raise UserError(f"{url}: unknown URL scheme '{scheme}'; use {SUPPORTED}")


def _cached(key: tuple[Any, ...], build):
    key = (os.getpid(), *key)
    with _cache_lock:
        fs = _cache.get(key)
    if fs is None:
        fs = build()
        with _cache_lock:
            fs = _cache.setdefault(key, fs)
    return fs


def clear_cache() -> None:
    """Forget every filesystem built so far (new settings or environment take effect)."""
    from rayemr.fs.blocks import clear_open_files

    with _cache_lock:
        _cache.clear()
    clear_open_files()


def filesystem_for(parsed: ParsedUrl, config: EmrfsConfig | None = None):
    """The fsspec filesystem for an already parsed URL."""
    config = config or _DEFAULT
    if parsed.kind == "s3":
        endpoint = config.effective_endpoint()
        return _cached(("s3", config, endpoint), lambda: _s3(config))
    if parsed.kind == "memory":
        from fsspec.implementations.memory import MemoryFileSystem

        return _cached(("memory",), MemoryFileSystem)
    from fsspec.implementations.local import LocalFileSystem

    return _cached(("local",), lambda: LocalFileSystem(auto_mkdir=True))


def _s3(config: EmrfsConfig) -> EmrfsS3FileSystem:
    fs = EmrfsS3FileSystem(**s3fs_options(config))
    fs.multipart_threshold = config.multipart_threshold
    fs.connect_attempts = config.connect_attempts
    return fs


def resolve(url: str, config: EmrfsConfig | None = None):
    """``(fsspec filesystem, path)`` for a URL; the path is in the filesystem's own form."""
    parsed = parse_url(url)
    return filesystem_for(parsed, config), parsed.path


def arrow_filesystem(url: str, config: EmrfsConfig | None = None, sdk_retries: bool = True):
    """``(pyarrow.fs.FileSystem, path)``: native S3 (or local) filesystem for fast reads.

    The S3 client retries inside the AWS SDK (the config's attempts; not in ``s3_stats()``).
    With ``sdk_retries=False`` it makes one attempt per request, for callers that retry and
    count themselves (``rayemr.fs.s3.native_call``).
    """
    parsed = parse_url(url)
    config = config or _DEFAULT
    if parsed.kind == "s3":
        endpoint = config.effective_endpoint()
        return _cached(("arrow-s3", config, endpoint, sdk_retries),
                       lambda: _arrow_s3(config, endpoint, sdk_retries)), parsed.path
    if parsed.kind == "local":
        import pyarrow.fs as pafs

        return _cached(("arrow-local",), pafs.LocalFileSystem), parsed.path
    import pyarrow.fs as pafs

    fs = filesystem_for(parsed, config)
    return _cached(("arrow-memory",),
                   lambda: pafs.PyFileSystem(pafs.FSSpecHandler(fs))), parsed.path


def _arrow_s3(config: EmrfsConfig, endpoint: str | None, sdk_retries: bool = True):
    import pyarrow.fs as pafs

    attempts = config.max_attempts if sdk_retries else 1
    kwargs: dict[str, Any] = {
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=attempts),
        "connect_timeout": config.connect_timeout,
    }
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
        kwargs["scheme"] = parts.scheme or "https"
    if config.path_style is False:
        kwargs["force_virtual_addressing"] = True
    session = _botocore_session(config)
    kwargs["region"] = config.region or session.get_config_variable("region") or "us-east-1"
    if config.access_key:
        kwargs.update(access_key=config.access_key, secret_key=config.secret_key,
                      session_token=config.session_token)
    else:
        creds = session.get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            kwargs.update(access_key=frozen.access_key, secret_key=frozen.secret_key,
                          session_token=frozen.token)
    return pafs.S3FileSystem(**kwargs)


def _botocore_session(config: EmrfsConfig):
    import botocore.session

    return botocore.session.Session(profile=config.profile)
