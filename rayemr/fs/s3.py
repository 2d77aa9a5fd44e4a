"""EMRFS's S3 filesystem: s3fs configured from an ``EmrfsConfig``, plus request counters.

``s3://``, ``s3a://`` and ``s3n://`` name the same object, as on EMR. Every S3 request goes
through botocore's retry handler (mode and attempts from the config), wrapped so that a
request that cannot even connect (connection refused, unknown host, connect timeout) is
tried only ``connect_attempts`` times: a wrong or dead endpoint fails within seconds, while
throttling, 5xx answers and dropped connections keep their retries. Each retry is counted in
process-wide counters (``s3_stats()``) and logged at INFO (``-v``) as it happens, with the
operation, the object and the cause, never with credentials. EMRFS never creates a bucket:
writing below a bucket that does not exist fails with ``BucketNotFoundError``.
"""
from __future__ import annotations

import inspect
import logging
import random
import threading
import time
from typing import Any, Callable

import fsspec
from fsspec.asyn import sync, sync_wrapper
from s3fs import S3FileSystem
from s3fs.core import S3File

from rayemr.fs.config import EmrfsConfig

log = logging.getLogger("rayemr.fs.s3")

S3_SCHEMES = ("s3", "s3a", "s3n")

_lock = threading.Lock()
_stats = {"requests": 0, "attempts": 0, "retries": 0, "errors": 0}


def s3_stats() -> dict[str, int]:
    """Counters of this process: S3 API ``requests``, HTTP ``attempts``, ``retries``, ``errors``."""
    with _lock:
        return dict(_stats)


def reset_s3_stats() -> None:
    with _lock:
        for key in _stats:
            _stats[key] = 0


def _count(key: str, n: int = 1) -> None:
    with _lock:
        _stats[key] += n


def _on_before_call(**_: Any) -> None:
    _count("requests")


def _on_before_send(**_: Any) -> None:
    _count("attempts")


def _on_after_call(http_response=None, parsed=None, model=None, context=None, **_: Any) -> None:
    retries = 0
    if isinstance(parsed, dict):
        retries = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
    if retries:
        _count("retries", retries)
        params = (context or {}).get("rayemr_target", "")
        log.info("S3 %s%s succeeded after %d retr%s", getattr(model, "name", "request"),
                 params, retries, "y" if retries == 1 else "ies")


def _on_after_call_error(exception=None, model=None, context=None, **_: Any) -> None:
    _count("errors")
    response = getattr(exception, "response", None) or {}
    retries = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
    if retries:
        _count("retries", retries)
        log.warning("S3 %s failed after %d retries: %s", getattr(model, "name", "request"),
                    retries, type(exception).__name__)


def _on_provide_params(params=None, context=None, model=None, **_: Any) -> None:
    if isinstance(params, dict) and context is not None and "Bucket" in params:
        context["rayemr_target"] = f" s3://{params['Bucket']}/{params.get('Key', '')}"


class BucketNotFoundError(FileNotFoundError):
    """A bucket that does not exist (EMRFS never creates one)."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket '{bucket}' does not exist")
        self.bucket = bucket


#: botocore exceptions meaning the request never reached the endpoint.
_CONNECT_FAILURES = ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError")


def connect_failure(exc: BaseException | None) -> bool:
    """True when ``exc`` says no connection could be made (refused, DNS, connect timeout)."""
    return exc is not None and type(exc).__name__ in _CONNECT_FAILURES


def _cause(response: Any, exc: BaseException | None) -> str:
    """What went wrong with one attempt, for the retry log: an exception or an HTTP answer."""
    if exc is not None:
        return type(exc).__name__
    http, parsed = (response if isinstance(response, tuple) and len(response) == 2
                    else (None, None))
    code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    status = getattr(http, "status_code", None)
    return " ".join(str(x) for x in (status, code) if x) or "error"


class RetryPolicy:
    """Wraps botocore's ``needs-retry`` handler of one client.

    botocore decides (mode, attempts, backoff, retry quota), except that a request which
    could not connect gets at most ``connect_attempts`` attempts. Every retry is logged
    before its back-off sleep, so ``-v`` shows retries while they happen.
    """

    def __init__(self, inner: Callable[..., Any], connect_attempts: int) -> None:
        self.inner = inner
        self.connect_attempts = connect_attempts

    async def needs_retry(self, attempts: int = 1, caught_exception=None, response=None,
                          operation=None, request_dict=None, **kwargs: Any):
        if connect_failure(caught_exception) and attempts >= self.connect_attempts:
            return None
        delay = self.inner(attempts=attempts, caught_exception=caught_exception,
                           response=response, operation=operation,
                           request_dict=request_dict, **kwargs)
        if inspect.isawaitable(delay):
            delay = await delay
        if delay:
            target = ((request_dict or {}).get("context") or {}).get("rayemr_target", "")
            log.info("S3 %s%s: attempt %d failed (%s); retrying in %.2fs",
                     getattr(operation, "name", "request"), target, attempts,
                     _cause(response, caught_exception), float(delay))
        return delay


def _install_retry_policy(client: Any, connect_attempts: int) -> None:
    events = client.meta.events
    emitter = getattr(events, "_emitter", events)
    entry = getattr(emitter, "_unique_id_handlers", {}).get("retry-config-s3")
    if entry is None:  # no retry handler registered: nothing to wrap
        return
    policy = RetryPolicy(entry["handler"], connect_attempts)
    events.unregister("needs-retry.s3", unique_id="retry-config-s3")
    events.register("needs-retry.s3", policy.needs_retry, unique_id="retry-config-s3")


#: Messages of pyarrow's native S3 errors worth another attempt (throttling, 5xx, network).
_RETRYABLE = ("HTTP status 5", "HTTP status 429", "SLOW_DOWN", "SlowDown", "THROTTL",
              "Throttl", "INTERNAL_FAILURE", "SERVICE_UNAVAILABLE", "NETWORK_CONNECTION",
              "REQUEST_TIMEOUT", "curlCode", "onnection reset", "timed out", "Timeout")


#: Messages of pyarrow's native S3 errors that mean no connection was made at all.
_NATIVE_CONNECT = ("curlCode: 6,", "curlCode: 7,", "Could not connect", "Could not resolve")


def native_retryable(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and any(m in str(exc) for m in _RETRYABLE)


def native_connect_failure(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and any(m in str(exc) for m in _NATIVE_CONNECT)


def native_call(fn, operation: str, target: str, max_attempts: int, *,
                connect_attempts: int = 2, sleep=time.sleep, rng=random.random):
    """``fn()`` (one request of pyarrow's native S3 client, built with no retries of its
    own), retried on throttling, 5xx and network errors with full-jitter exponential backoff
    like botocore's standard mode, and counted in ``s3_stats()`` like every s3fs request.
    A request that could not connect at all is tried at most ``connect_attempts`` times."""
    _count("requests")
    attempt = 0
    while True:
        attempt += 1
        _count("attempts")
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised otherwise
            connect = native_connect_failure(exc)
            if (attempt >= max_attempts or not native_retryable(exc)
                    or (connect and attempt >= connect_attempts)):
                _count("errors")
                if attempt > 1:
                    log.warning("S3 %s %s failed after %d retries", operation, target,
                                attempt - 1)
                raise
            _count("retries")
            delay = rng() * min(20.0, 0.05 * 2 ** attempt)
            log.info("S3 %s %s: attempt %d failed (%s); retrying in %.2fs", operation,
                     target, attempt, _native_cause(exc), delay)
            sleep(delay)
            continue
        if attempt > 1:
            log.info("S3 %s %s succeeded after %d retr%s", operation, target, attempt - 1,
                     "y" if attempt == 2 else "ies")
        return result


def _native_cause(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("AWS Error ", "curlCode: "):
        if marker in text:
            return text.split(marker, 1)[1].split(" during", 1)[0].split(";", 1)[0][:60]
    return type(exc).__name__


class EmrfsS3FileSystem(S3FileSystem):
    """s3fs with EMRFS's URL schemes and retry accounting. Build it with ``rayemr.fs.resolve``."""

    protocol = S3_SCHEMES
    # botocore does the retrying (configured mode and attempts, counted); s3fs's own loop
    # gets one extra round for failures botocore cannot retry (a body cut mid-read).
    retries = 2
    #: Attempts for a request that cannot connect (refused, unknown host, connect timeout).
    connect_attempts = 2

    async def set_session(self, refresh: bool = False, kwargs: dict | None = None):
        fresh = self._s3 is None or refresh
        client = await super().set_session(refresh=refresh, kwargs=kwargs or {})
        if fresh or not getattr(client, "_rayemr_hooks", False):
            events = client.meta.events
            events.register("provide-client-params.s3", _on_provide_params,
                            unique_id="rayemr-params")
            events.register("before-call.s3", _on_before_call, unique_id="rayemr-call")
            events.register("before-send.s3", _on_before_send, unique_id="rayemr-send")
            events.register("after-call.s3", _on_after_call, unique_id="rayemr-after")
            events.register("after-call-error.s3", _on_after_call_error,
                            unique_id="rayemr-error")
            _install_retry_policy(client, self.connect_attempts)
            client._rayemr_hooks = True
        return client

    _connect = set_session

    async def _bucket_exists(self, bucket: str) -> bool:
        try:
            await self._call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)
        except FileNotFoundError:
            return False
        return True

    async def _mkdir(self, path, acl=False, create_parents=True, **kwargs):
        """S3 has no folders; a bucket is never created here (s3fs would create one)."""
        bucket, key, _ = self.split_path(self._strip_protocol(path).rstrip("/"))
        if not await self._bucket_exists(bucket):
            raise BucketNotFoundError(bucket)
        if not key:
            raise FileExistsError(bucket)

    mkdir = sync_wrapper(_mkdir)


    def check_bucket(self, bucket: str) -> None:
        """Raise ``BucketNotFoundError`` unless ``bucket`` exists (and is reachable)."""
        if not sync(self.loop, self._bucket_exists, bucket):
            raise BucketNotFoundError(bucket)

    #: Files smaller than this go up in one PUT; larger ones as multipart uploads.
    multipart_threshold = 64 * 2**20

    def _open(self, path, mode="rb", **kwargs):
        f = super()._open(path, mode, **kwargs)
        if "r" not in mode and type(f) is S3File:
            f.__class__ = EmrfsS3File  # same object, threshold-aware buffering
        return f

    def __repr__(self) -> str:  # never show storage options (they may hold keys)
        return f"<EmrfsS3FileSystem endpoint={self.endpoint_url!r}>"


class EmrfsS3File(S3File):
    """s3fs's writer, but multipart only from ``multipart_threshold`` bytes on.

    s3fs starts a multipart upload as soon as one part (block) is buffered; EMRFS, like
    S3A, buffers up to the threshold and sends a smaller file in a single PUT.
    """

    def _threshold(self) -> int:
        return max(getattr(self.fs, "multipart_threshold", 0), self.blocksize)

    def flush(self, force: bool = False):
        if (not force and self.offset is None and self.buffer is not None
                and self.buffer.tell() < self._threshold()):
            return None  # below the threshold: keep buffering
        return super().flush(force)

    def _upload_chunk(self, final: bool = False):
        if (final and self.mpu is None and self.autocommit and not self.append_block
                and self.tell() < self._threshold()):
            self.commit()  # no parts: s3fs's one-shot PUT (or an empty object)
            return False
        return super()._upload_chunk(final)

    def _initiate_upload(self):
        if (self.autocommit and not self.append_block and self.forced
                and self.tell() < self._threshold()):
            return None  # closing a file below the threshold: one PUT at commit
        return super()._initiate_upload()


def s3fs_options(config: EmrfsConfig) -> dict[str, Any]:
    """Keyword arguments for ``EmrfsS3FileSystem`` from a config (may contain secrets)."""
    s3_conf: dict[str, Any] = {}
    if config.path_style is not None:
        s3_conf["addressing_style"] = "path" if config.path_style else "virtual"
    config_kwargs: dict[str, Any] = {
        # botocore's "max_attempts" counts retries; "total_max_attempts" counts attempts.
        "retries": {"mode": config.retry_mode, "total_max_attempts": config.max_attempts},
        "max_pool_connections": config.max_connections,
        "connect_timeout": config.connect_timeout,
    }
    if s3_conf:
        config_kwargs["s3"] = s3_conf
    client_kwargs: dict[str, Any] = {}
    if config.region:
        client_kwargs["region_name"] = config.region
    options: dict[str, Any] = {
        "endpoint_url": config.effective_endpoint(),
        "config_kwargs": config_kwargs,
        "client_kwargs": client_kwargs,
        "s3_additional_kwargs": config.write_kwargs(),
        "default_block_size": config.multipart_part_size,
        "max_concurrency": max(1, min(config.max_connections, 16)),
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }
    if config.access_key:
        options.update(key=config.access_key, secret=config.secret_key,
                       token=config.session_token)
    if config.profile:
        options["profile"] = config.profile
    return options


def register_schemes() -> None:
    """Let fsspec itself open ``s3a://`` and ``s3n://`` URLs (``fsspec.open``, DuckDB)."""
    for scheme in ("s3a", "s3n"):
        fsspec.register_implementation(scheme, EmrfsS3FileSystem, clobber=True)
