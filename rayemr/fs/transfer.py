"""Files copied or moved between filesystems, whole or not at all.

Hive's ``LOAD DATA`` moves (or, for ``LOCAL``, copies) files into a table folder, possibly
from another filesystem (a local file into an ``s3://`` table). The rules:

- Same filesystem: a move is the filesystem's own rename; a copy on S3 is a server-side copy
  (the object appears whole).
- Otherwise the bytes stream through in chunks (memory stays bounded whatever the file size)
  into a hidden temporary name beside the target (``.<name>.<random>.tmp``, skipped by every
  reader), renamed into place once complete; on any failure the temporary is removed, so the
  target is either the whole file or absent. A move removes its source only after that.
"""
from __future__ import annotations

import contextlib
import posixpath
import uuid
from typing import Any

#: Bytes read and written at a time when a copy streams through this process.
CHUNK_BYTES = 8 * 1024 * 1024


def copy_file(src_fs: Any, src_path: str, dst_fs: Any, dst_path: str, *,
              chunk_bytes: int = CHUNK_BYTES) -> None:
    """Copy one file to ``dst_path``; the target is the whole file or absent."""
    if src_fs is dst_fs and _is_s3(dst_fs):
        dst_fs.copy(src_path, dst_path)
        return
    parent, name = posixpath.split(dst_path.rstrip("/"))
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with src_fs.open(src_path, "rb") as r, dst_fs.open(tmp, "wb") as w:
            while True:
                chunk = r.read(chunk_bytes)
                if not chunk:
                    break
                w.write(chunk)
        dst_fs.mv(tmp, dst_path)
    except BaseException:
        with contextlib.suppress(Exception):
            if dst_fs.exists(tmp):
                dst_fs.rm(tmp)
        raise


def move_file(src_fs: Any, src_path: str, dst_fs: Any, dst_path: str, *,
              chunk_bytes: int = CHUNK_BYTES) -> None:
    """Move one file: a rename on one filesystem, else a whole copy and then the removal."""
    if type(src_fs) is type(dst_fs):
        src_fs.mv(src_path, dst_path)
        return
    copy_file(src_fs, src_path, dst_fs, dst_path, chunk_bytes=chunk_bytes)
    src_fs.rm(src_path)


def _is_s3(fs: Any) -> bool:
    protocol = getattr(fs, "protocol", ())
    return "s3" in ((protocol,) if isinstance(protocol, str) else tuple(protocol))
