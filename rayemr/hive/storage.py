"""Hive's storage operations, all through EMRFS (``rayemr.fs``).

Table folders: listing a table's or partition's files as scan splits, finding partition
folders (``key=value``) for MSCK REPAIR, creating and deleting folders, moving loaded files.

Every operation goes through :func:`resolve`, which checks the URL against the roots of the
statement running in this thread (:func:`confined`, set by a HiveServer2 session around each
statement): local paths are resolved, symlinks included, at each use. Checking here, where
the I/O happens, covers locations a client gave, locations rayemr computed and locations
stored in the metastore alike. Outside :func:`confined` (a local session) nothing is limited.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import posixpath
import uuid
from typing import Iterator, Optional, Sequence

from rayemr import fs as emrfs
from rayemr.core.errors import InputNotFoundError, UserError
from rayemr.core.secrets import check_url
from rayemr.hive.metastore.models import unescape_path_value
from rayemr.hive.plan import FileSplit

#: The roots (``rayemr.hive.policy.Roots``) of the statement running in this context.
_ROOTS: contextvars.ContextVar = contextvars.ContextVar("rayemr_hive_roots", default=None)


@contextlib.contextmanager
def confined(roots) -> Iterator[None]:
    """Within this block every storage operation must stay under ``roots`` (None: free)."""
    token = _ROOTS.set(roots)
    try:
        yield
    finally:
        _ROOTS.reset(token)


def check_access(url: str, what: str = "path") -> None:
    """Raise AccessDeniedError when the running statement may not touch ``url``."""
    roots = _ROOTS.get()
    if roots is not None:
        roots.check(url, what)


def resolve(url: str, what: str = "path"):
    """``(filesystem, path)`` for ``url``, after the access check."""
    check_access(url, what)
    return emrfs.resolve(url)


def is_under(url: str, root: str) -> bool:
    """``url`` is ``root`` or inside it (as text, after normalising trailing slashes)."""
    return (url.rstrip("/") + "/").startswith(root.rstrip("/") + "/")


def child(root: str, *names: str) -> str:
    """``root/name/...`` for names rayemr computed (table, database, ``key=value``): each
    must be one path component, and the result stays under ``root``."""
    out = root.rstrip("/")
    for name in names:
        if (not name or name in (".", "..") or "/" in name or "\\" in name
                or "\x00" in name):
            raise UserError(f"{name!r} cannot be a folder name under {root}")
        out += "/" + name
    if not (out + "/").startswith(root.rstrip("/") + "/"):
        raise UserError(f"{out} is not under {root}")
    return out


#: Text files larger than this are cut into byte-range splits (Hive's mapred.max.split.size).
DEFAULT_SPLIT_SIZE = 128 * 1024 * 1024


def join(url: str, *parts: str) -> str:
    out = url.rstrip("/")
    for p in parts:
        out += "/" + p.strip("/")
    return out


def list_files(url: str, recursive: bool = True) -> list[emrfs.FileStatus]:
    """Visible files under ``url``; a missing folder is an empty table, not an error. In a
    confined statement each file is checked too (a link inside a table folder that leads
    outside the roots is refused)."""
    check_access(url, "location")
    try:
        files = emrfs.list_inputs(url, recursive=recursive)
    except InputNotFoundError:
        return []
    except FileNotFoundError:
        return []
    if _ROOTS.get() is not None:
        for f in files:
            check_access(f.url, "file")
    return files


def table_splits(url: str, kind: str, partition_values: tuple = (),
                 split_size: int = DEFAULT_SPLIT_SIZE, recursive: bool = True
                 ) -> list[FileSplit]:
    """Scan splits of the files under ``url``: byte ranges of big text files, row-group
    ranges of Parquet files bigger than ``split_size`` (only their footers are read)."""
    return files_splits(list_files(url, recursive=recursive), kind, partition_values,
                        split_size)


def files_splits(files: Sequence[emrfs.FileStatus], kind: str, partition_values: tuple = (),
                 split_size: int = DEFAULT_SPLIT_SIZE) -> list[FileSplit]:
    """:func:`table_splits` of files already listed."""
    out = []
    for f in files:
        if f.size == 0:
            continue
        if kind == "parquet" and f.size > split_size:
            out.extend(parquet_splits(f, partition_values, split_size))
            continue
        compressed = f.url.endswith((".gz", ".bz2", ".zst", ".deflate", ".snappy"))
        if kind in ("text", "json") and not compressed and f.size > split_size:
            start = 0
            while start < f.size:
                length = min(split_size, f.size - start)
                out.append(FileSplit(f.url, partition_values, f.size, start, length, "text"))
                start += length
        else:
            out.append(FileSplit(f.url, partition_values, f.size, 0, f.size,
                                 "compressed" if compressed else
                                 ("parquet" if kind == "parquet" else "text")))
    return out


def parquet_splits(f: emrfs.FileStatus, partition_values: tuple, split_size: int
                   ) -> list[FileSplit]:
    """A big Parquet file as splits of consecutive row groups of about ``split_size``
    bytes (EMRFS's split planning), each knowing the range of rows it holds."""
    from rayemr.fs.parquet import whole_file_fragment

    meta = whole_file_fragment(f.url, f.size, f.mtime).metadata
    sizes = []
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        sizes.append(sum(rg.column(c).total_compressed_size for c in range(rg.num_columns)))
    if len(sizes) < 2:
        return [FileSplit(f.url, partition_values, f.size, 0, f.size, "parquet")]
    first = [0]
    for i in range(meta.num_row_groups):
        first.append(first[-1] + meta.row_group(i).num_rows)
    out = []
    for sp in emrfs.plan_splits([f], split_size, {f.url: sizes}, "parquet"):
        groups = tuple(sp.row_groups)
        length = sum(sizes[i] for i in groups)
        out.append(FileSplit(f.url, partition_values, f.size, 0, length, "parquet", groups,
                             (first[groups[0]], first[groups[-1] + 1])))
    return out


def exists(url: str) -> bool:
    fs, path = resolve(url)
    return fs.exists(path)


def makedirs(url: str) -> None:
    fs, path = resolve(url, "location")
    if emrfs.parse_url(url).kind != "s3":
        fs.makedirs(path, exist_ok=True)


def delete(url: str) -> None:
    fs, path = resolve(url, "location")
    if fs.exists(path):
        fs.rm(path, recursive=True)


def delete_contents(url: str) -> None:
    fs, path = resolve(url, "location")
    try:
        entries = fs.ls(path, detail=False)
    except FileNotFoundError:
        return
    for e in entries:
        fs.rm(e, recursive=True)


def partition_dirs(url: str, keys: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """``key=value`` folders under ``url`` for the partition ``keys`` in order (MSCK REPAIR)."""
    fs, root = resolve(url, "location")
    parsed = emrfs.parse_url(url)
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(path: str, depth: int, values: tuple[str, ...]) -> None:
        if depth == len(keys):
            found.append((values, parsed.to_url(path)))
            return
        try:
            entries = fs.ls(path, detail=True)
        except FileNotFoundError:
            return
        for e in entries:
            if e.get("type") != "directory":
                continue
            name = posixpath.basename(e["name"].rstrip("/"))
            if "=" not in name:
                continue
            k, v = name.split("=", 1)
            if k.lower() != keys[depth]:
                continue
            walk(e["name"].rstrip("/"), depth + 1, values + (unescape_path_value(v),))

    walk(root.rstrip("/"), 0, ())
    return sorted(found)


def move_into(src_url: str, dst_dir: str, overwrite_names: bool = False) -> list[str]:
    """Move a file or the files of a folder into ``dst_dir`` (LOAD DATA); returns new URLs.

    A name already present in ``dst_dir`` gets a ``_copy_N`` suffix, as Hive does.
    """
    sfs, spath = resolve(src_url, "LOAD DATA path")
    dfs, dpath = resolve(dst_dir, "location")
    parsed = emrfs.parse_url(dst_dir)
    if not sfs.exists(spath):
        raise InputNotFoundError(f"Invalid path '{src_url}': No files matching path")
    files = [f.url for f in list_files(src_url)] if sfs.isdir(spath) else [src_url]
    if not files:
        raise InputNotFoundError(f"Invalid path '{src_url}': No files matching path")
    makedirs(dst_dir)
    out = []
    for f in files:
        _, fpath = resolve(f, "LOAD DATA path")
        name = posixpath.basename(fpath)
        target = f"{dpath.rstrip('/')}/{name}"
        n = 1
        base, ext = posixpath.splitext(name)
        while dfs.exists(target) and not overwrite_names:
            target = f"{dpath.rstrip('/')}/{base}_copy_{n}{ext}"
            n += 1
        emrfs.move_file(sfs, fpath, dfs, target)
        out.append(parsed.to_url(target))
    return out


def copy_into(src_url: str, dst_dir: str) -> list[str]:
    """Copy a file or a folder's files into ``dst_dir`` (LOAD DATA LOCAL keeps the source)."""
    sfs, spath = resolve(src_url, "LOAD DATA path")
    dfs, dpath = resolve(dst_dir, "location")
    parsed = emrfs.parse_url(dst_dir)
    if not sfs.exists(spath):
        raise InputNotFoundError(f"Invalid path '{src_url}': No files matching path")
    files = [f.url for f in list_files(src_url)] if sfs.isdir(spath) else [src_url]
    makedirs(dst_dir)
    out = []
    for f in files:
        _, fpath = resolve(f, "LOAD DATA path")
        name = posixpath.basename(fpath)
        target = f"{dpath.rstrip('/')}/{name}"
        n = 1
        base, ext = posixpath.splitext(name)
        while dfs.exists(target):
            target = f"{dpath.rstrip('/')}/{base}_copy_{n}{ext}"
            n += 1
        emrfs.copy_file(sfs, fpath, dfs, target)
        out.append(parsed.to_url(target))
    return out


def staging_url(table_dir: str) -> str:
    """A hidden folder inside a table folder (skipped by readers) for an INSERT's output."""
    return join(table_dir, f".hive-staging_{uuid.uuid4().hex[:12]}")


def committer(url: str, overwrite: bool) -> emrfs.OutputCommitter:
    check_access(url, "output location")
    return emrfs.OutputCommitter(url, overwrite=overwrite)


def normalize_location(url: Optional[str], what: str = "LOCATION") -> Optional[str]:
    """A location a statement gave, as stored: absolute, no trailing ``/``; refused when it
    embeds credentials or (in a confined statement) falls outside the roots."""
    if url is None:
        return None
    url = check_url(url.strip(), what)
    if "://" not in url and not url.startswith("/") and _ROOTS.get() is None:
        url = os.path.abspath(url)
    url = url.rstrip("/") if len(url) > 1 else url
    check_access(url, what)
    return url
