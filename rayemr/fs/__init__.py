"""EMRFS: rayemr's storage layer (the only package that talks to storage).

- ``EmrfsConfig`` — S3 settings on top of what botocore finds (``emrfs-site`` overrides).
- ``resolve(url)`` — ``(fsspec filesystem, path)`` for ``s3://``/``s3a://``/``s3n://``,
  ``file://``/plain paths and ``memory://``; ``arrow_filesystem(url)`` — pyarrow's native one.
- ``list_inputs`` — files under paths/globs, hidden (``_*``, ``.*``) skipped, sorted.
- ``compute_splits`` / ``Split`` — text byte ranges, whole compressed files, Parquet row groups.
- ``read_text_batches`` — lines of a split (LineRecordReader rule) as Arrow batches.
- ``read_parquet_split`` — a Parquet split as an Arrow table.
- ``OutputCommitter`` — Hadoop's commit protocol; on S3 through pending multipart uploads.
- ``publish_object`` — one object written whole or not at all (stream sinks).
- ``copy_file`` / ``move_file`` — a file copied or moved across filesystems, whole or not at all.
"""
from __future__ import annotations

from rayemr.fs.committer import OutputCommitter, PendingUpload, TaskCommit
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.inputs import compute_splits
from rayemr.fs.listing import FileStatus, is_hidden, list_inputs
from rayemr.fs.objects import abort_uploads, object_exists, publish_object
from rayemr.fs.parquet import read_parquet_split
from rayemr.fs.resolve import arrow_filesystem, clear_cache, parse_url, resolve
from rayemr.fs.s3 import reset_s3_stats, s3_stats
from rayemr.fs.splits import Split, plan_splits
from rayemr.fs.text import read_text_batches
from rayemr.fs.transfer import copy_file, move_file

__all__ = [
    "EmrfsConfig", "FileStatus", "OutputCommitter", "PendingUpload", "Split", "TaskCommit",
    "abort_uploads", "arrow_filesystem", "clear_cache", "compute_splits", "copy_file",
    "is_hidden", "list_inputs", "move_file", "object_exists", "parse_url", "plan_splits",
    "publish_object",
    "read_parquet_split", "read_text_batches", "reset_s3_stats", "resolve", "s3_stats",
    "storage_errors",
]
