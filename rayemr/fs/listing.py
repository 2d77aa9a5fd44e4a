"""Input listing as Hadoop's FileInputFormat does it: globs, directories, hidden files skipped.

A name starting with ``_`` or ``.`` is hidden (``_SUCCESS``, ``_temporary/``, ``.crc`` files),
and so is everything under a hidden directory. Directories are listed recursively; the result
is sorted by URL so split order, and so task order, is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from rayemr.core.errors import InputNotFoundError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.resolve import filesystem_for, parse_url

_GLOB_CHARS = "*?[{"


@dataclass(frozen=True)
class FileStatus:
    """One input file: URL in the spelling the user gave, size in bytes, mtime (epoch s)."""

    url: str
    size: int
    mtime: float | None = None


def is_hidden(name: str) -> bool:
    """Hadoop's hidden-file filter: a basename starting with ``_`` or ``.``."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base.startswith(("_", "."))


def has_glob(path: str) -> bool:
    return any(ch in path for ch in _GLOB_CHARS)


def _as_list(urls: str | Iterable[str]) -> list[str]:
    if isinstance(urls, str):
        return [urls]
    return list(urls)


def _mtime(info: dict) -> float | None:
    for key in ("mtime", "LastModified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


def _walk(fs, root: str) -> list[dict]:
    """Files under root (recursively), skipping hidden files and hidden directories."""
    out = []
    root = root.rstrip("/")
    for path, info in fs.find(root, detail=True, withdirs=False).items():
        rel = path[len(root):].lstrip("/") if path.startswith(root) else path
        if not rel or path.endswith("/"):
            continue  # the directory itself, or an S3 "dir/" marker object
        if any(part.startswith(("_", ".")) for part in rel.split("/") if part):
            continue
        if info.get("type") == "directory":
            continue
        out.append(info)
    return out


def list_inputs(urls: str | Iterable[str], config: EmrfsConfig | None = None,
                recursive: bool = True) -> list[FileStatus]:
    """Every visible input file named by urls (files, directories or globs), sorted.

    Raises ``InputNotFoundError`` naming the URL when a path does not exist or a glob
    matches nothing, like Hadoop's "Input path does not exist" / "matches 0 files".
    """
    found: dict[str, FileStatus] = {}
    for url in _as_list(urls):
        parsed = parse_url(url)
        fs = filesystem_for(parsed, config)
        with storage_errors(url):
            if has_glob(parsed.path):
                matches = fs.glob(parsed.path, detail=True)
                infos = []
                for path, info in sorted(matches.items()):
                    if is_hidden(path) or path.endswith("/"):
                        continue
                    if info.get("type") == "directory":
                        infos.extend(_walk(fs, path) if recursive else [])
                    else:
                        infos.append(info)
                if not infos:
                    raise InputNotFoundError(f"Input pattern {url} matches 0 files")
            else:
                info = fs.info(parsed.path)
                if info.get("type") == "directory":
                    if recursive:
                        infos = _walk(fs, parsed.path)
                    else:
                        infos = [i for i in fs.ls(parsed.path, detail=True)
                                 if i.get("type") != "directory" and not is_hidden(i["name"])]
                else:
                    infos = [info]
        for info in infos:
            name = info["name"]
            file_url = parsed.to_url(name)
            found[file_url] = FileStatus(file_url, int(info.get("size") or 0), _mtime(info))
    return [found[key] for key in sorted(found)]
