"""Whole objects published atomically: fully visible or absent, never half-written.

The job committer (``rayemr.fs.committer``) publishes a folder of parts at job commit; a
stream sink instead publishes one object at a time next to objects already there. This module
is that single-object commit, on the same rules:

- S3: an object up to ``multipart_threshold`` is one PUT (atomic in S3); a bigger one is a
  multipart upload completed only once every part is in, and aborted if any step fails, so no
  incomplete upload is left behind. ``abort_uploads(url)`` aborts the pending uploads of one
  key (recovery after a crash between the first part and the completion).
- Local files: a hidden temporary file (``.<name>.<random>.tmp``, skipped by every reader) is
  written, flushed to disk and renamed into place.
"""
from __future__ import annotations

import os
import uuid
from typing import Any

from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.resolve import filesystem_for, parse_url


def publish_object(url: str, data: bytes, config: EmrfsConfig | None = None) -> int:
    """Write ``data`` to ``url`` so that it appears whole or not at all; returns its size."""
    config = config or EmrfsConfig()
    parsed = parse_url(url)
    fs = filesystem_for(parsed, config)
    with storage_errors(url, (config.secret_key, config.session_token)):
        if parsed.kind == "s3":
            _put_s3(fs, parsed.path, data, config)
        else:
            _put_rename(fs, parsed.path, data, local=parsed.kind == "local")
    return len(data)


def object_exists(url: str, config: EmrfsConfig | None = None) -> bool:
    """True when ``url`` names a visible object (a fresh look, no listing cache)."""
    config = config or EmrfsConfig()
    parsed = parse_url(url)
    fs = filesystem_for(parsed, config)
    with storage_errors(url, (config.secret_key, config.session_token)):
        if parsed.kind == "s3":
            bucket, key, _ = fs.split_path(parsed.path)
            try:
                fs.call_s3("head_object", Bucket=bucket, Key=key)
            except FileNotFoundError:
                return False
            return True
        return fs.exists(parsed.path)


def abort_uploads(url: str, config: EmrfsConfig | None = None) -> int:
    """Abort every pending multipart upload of exactly this S3 key; returns how many."""
    config = config or EmrfsConfig()
    parsed = parse_url(url)
    if parsed.kind != "s3":
        return 0
    fs = filesystem_for(parsed, config)
    bucket, key, _ = fs.split_path(parsed.path)
    count = 0
    with storage_errors(url, (config.secret_key, config.session_token)):
        page = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
        for upload in page.get("Uploads", []):
            if upload["Key"] == key:
                try:
                    fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key,
                               UploadId=upload["UploadId"])
                    count += 1
                except FileNotFoundError:
                    pass
    return count


def _put_s3(fs: Any, path: str, data: bytes, config: EmrfsConfig) -> None:
    bucket, key, _ = fs.split_path(path)
    extra = config.write_kwargs()
    if len(data) <= config.multipart_threshold:
        fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **extra)
        return
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key,
                           **extra)["UploadId"]
    try:
        parts = []
        size = config.multipart_part_size
        for number, start in enumerate(range(0, len(data), size), start=1):
            resp = fs.call_s3("upload_part", Bucket=bucket, Key=key, UploadId=upload_id,
                              PartNumber=number, Body=data[start:start + size])
            parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                   MultipartUpload={"Parts": parts})
    except BaseException:
        try:
            fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            pass
        raise


def _put_rename(fs: Any, path: str, data: bytes, local: bool) -> None:
    folder, name = path.rsplit("/", 1) if "/" in path else ("", path)
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
    fs.makedirs(folder or "/", exist_ok=True)
    try:
        with fs.open(tmp, "wb") as f:
            f.write(data)
            if local:
                f.flush()
                os.fsync(f.fileno())
        fs.mv(tmp, path)
    except BaseException:
        try:
            fs.rm(tmp)
        except (OSError, FileNotFoundError):
            pass
        raise
