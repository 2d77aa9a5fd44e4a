"""Aggregated container logs: what ``yarn logs -applicationId ID`` prints.

Every task attempt's stdout, stderr and log records (``syslog``) are kept, bounded, with its
outcome; the ApplicationMaster sends them to the ResourceManager, which keeps them under
``<state dir>/logs/<application id>/<container id>/<log type>`` (YARN's log aggregation,
``yarn.nodemanager.remote-app-log-dir``). Reading and formatting are plain functions.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from rayemr.core.errors import UserError

#: The log types a container has, in the order ``yarn logs`` prints them.
LOG_TYPES = ("stdout", "stderr", "syslog")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ContainerLogs:
    container_id: str
    node_id: str
    #: log type -> text
    files: Mapping[str, str] = field(default_factory=dict)
    modified: float = 0.0


def _name(value: str, what: str) -> str:
    """Ids become folder names: only plain names, never paths."""
    if not value or not _SAFE.match(value) or value in (".", ".."):
        raise UserError(f"{what} {value!r} is not a valid id")
    return value


def write(root: str, app_id: str, logs: Iterable[ContainerLogs]) -> int:
    """Store the logs of some containers of ``app_id``; returns how many were stored."""
    n = 0
    for entry in logs:
        folder = os.path.join(root, _name(app_id, "application"),
                              _name(entry.container_id, "container"))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "node"), "w") as f:
            f.write(entry.node_id or "")
        for log_type, text in entry.files.items():
            with open(os.path.join(folder, _name(log_type, "log type")), "w",
                      encoding="utf-8", errors="replace") as f:
                f.write(text)
        n += 1
    return n


def read(root: str, app_id: str) -> list[ContainerLogs]:
    """Every stored container of ``app_id``, in container order."""
    base = os.path.join(root, _name(app_id, "application"))
    try:
        containers = sorted(os.listdir(base))
    except FileNotFoundError:
        return []
    out = []
    for cid in containers:
        folder = os.path.join(base, cid)
        files, node, modified = {}, "", 0.0
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if name == "node":
                node = text.strip()
            else:
                files[name] = text
                modified = max(modified, os.path.getmtime(path))
        out.append(ContainerLogs(cid, node, files, modified))
    return out


def remove(root: str, app_id: str) -> None:
    import shutil

    shutil.rmtree(os.path.join(root, _name(app_id, "application")), ignore_errors=True)


def format_logs(logs: Iterable[ContainerLogs], log_types: Iterable[str] | None = None) -> str:
    """Hadoop's ``yarn logs`` layout: one block per container and log type."""
    wanted = list(log_types) if log_types else None
    parts = []
    for entry in logs:
        parts.append(f"Container: {entry.container_id} on {entry.node_id or 'unknown'}\n"
                     "LogAggregationType: AGGREGATED\n" + "=" * 68 + "\n")
        names = [t for t in LOG_TYPES if t in entry.files] + sorted(
            t for t in entry.files if t not in LOG_TYPES)
        for name in names:
            if wanted is not None and name not in wanted and "ALL" not in wanted:
                continue
            text = entry.files[name]
            stamp = time.strftime("%a %b %d %H:%M:%S %z %Y", time.localtime(entry.modified))
            parts.append(f"LogType:{name}\nLogLastModifiedTime:{stamp}\n"
                         f"LogLength:{len(text.encode())}\nLogContents:\n{text}"
                         f"{'' if not text or text.endswith(chr(10)) else chr(10)}"
                         f"End of LogType:{name}\n" + "*" * 77 + "\n\n")
    return "".join(parts)
