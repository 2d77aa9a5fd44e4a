"""The EMR facade's few storage operations, all through ``rayemr.fs``.

Reading a configurations file or a script, and uploading step logs, for ``s3://``,
``file://`` and plain paths. Only ``rayemr.fs`` builds filesystems.
"""
from __future__ import annotations

import os
from typing import Any

from rayemr.core.errors import InputNotFoundError, StorageError, UserError


def _resolve(url: str, emrfs: Any):
    from rayemr.fs import resolve

    return resolve(url, emrfs)


def is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def local_path(url: str) -> str:
    return url[len("file://"):] if url.startswith("file://") else url


def read_bytes(url: str, emrfs: Any = None, *, what: str = "file") -> bytes:
    """The whole content of ``url``; a clear error naming it when missing."""
    try:
        if not is_remote(url):
            with open(os.path.expanduser(local_path(url)), "rb") as f:
                return f.read()
        fs, path = _resolve(url, emrfs)
        with fs.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputNotFoundError(f"{what} {url}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{what} {url}: is a directory, not a file") from None
    except PermissionError:
        raise UserError(f"{what} {url}: permission denied") from None
    except OSError as exc:
        raise StorageError(f"{what} {url}: cannot read: {exc}") from None


def read_text(url: str, emrfs: Any = None, *, what: str = "file") -> str:
    data = read_bytes(url, emrfs, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{what} {url}: not UTF-8 text") from None


def fetch(url: str, dest_dir: str, emrfs: Any = None, *, what: str = "file") -> str:
    """Copy ``url`` into ``dest_dir`` (remote) or return its local path; returns the path."""
    if not is_remote(url):
        local = os.path.expanduser(local_path(url))
        if not os.path.exists(local):
            raise InputNotFoundError(f"{what} {url}: no such file")
        return os.path.abspath(local)
    data = read_bytes(url, emrfs, what=what)
    name = url.rstrip("/").rsplit("/", 1)[-1] or "file"
    os.makedirs(dest_dir, exist_ok=True)
    path = os.path.join(dest_dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def join(base: str, *parts: str) -> str:
    base = base.rstrip("/")
    return "/".join([base, *[p.strip("/") for p in parts]])


def write_bytes(url: str, data: bytes, emrfs: Any = None) -> None:
    """Write ``data`` at ``url`` (parents created for local paths)."""
    try:
        if not is_remote(url):
            path = os.path.expanduser(local_path(url))
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            return
        fs, path = _resolve(url, emrfs)
        with fs.open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise StorageError(f"cannot write {url}: {exc}") from None
