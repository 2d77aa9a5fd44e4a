"""Keeping the master's metastore beyond the machine: snapshots to S3 and back.

The metastore is an SQLite file on the master. ``backup`` takes a consistent copy with
SQLite's online backup (safe while HiveServer2 and steps write) and uploads it through EMRFS;
``restore`` puts the last snapshot in place before the services start, unless a metastore
is already there. cluster.yaml's head runs a restore at start and a backup every minute, so
``ray down`` loses at most the last minute of DDL (run a backup first to lose nothing).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from typing import Callable

from rayemr.core.errors import InputNotFoundError, UserError

log = logging.getLogger(__name__)


def default_metastore() -> str:
    """The metastore file services use by default: ``$RAYEMR_HOME/metastore.db``."""
    home = os.environ.get("RAYEMR_HOME") or os.path.join(os.path.expanduser("~"), ".rayemr")
    return os.path.join(home, "metastore.db")


def backup(url: str, path: str | None = None) -> int:
    """Upload a consistent snapshot of the metastore at ``path`` to ``url``; returns bytes."""
    from rayemr.fs import resolve

    path = path or default_metastore()
    if not os.path.exists(path):
        raise InputNotFoundError(f"metastore {path}: no such file")
    fs, target = resolve(url)
    with tempfile.TemporaryDirectory(prefix="rayemr-metastore-") as tmp:
        snapshot = os.path.join(tmp, "metastore.db")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dest = sqlite3.connect(snapshot)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        size = os.path.getsize(snapshot)
        fs.put_file(snapshot, target)
    log.info("metastore %s backed up to %s (%d bytes)", path, url, size)
    return size


def restore(url: str, path: str | None = None, *, force: bool = False) -> bool:
    """Put the snapshot at ``url`` in place at ``path``; False when there is no snapshot yet
    or (without ``force``) a metastore is already there."""
    from rayemr.fs import resolve

    path = path or default_metastore()
    if os.path.exists(path) and not force:
        return False
    fs, source = resolve(url)
    if not fs.exists(source):
        return False
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = f"{path}.restoring"
    fs.get_file(source, partial)
    try:
        sqlite3.connect(f"file:{partial}?mode=ro", uri=True).execute(
            "PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError:
        os.remove(partial)
        raise UserError(f"{url}: not an SQLite metastore snapshot") from None
    os.replace(partial, path)
    return True


def backup_every(url: str, seconds: float, path: str | None = None, *,
                 stop: Callable[[], bool] = lambda: False, sleep=time.sleep) -> None:
    """Back up now and then every ``seconds`` until ``stop()``; a failed round is logged and
    retried at the next one (the master keeps serving meanwhile)."""
    if seconds <= 0:
        raise UserError(f"--every {seconds:g}: must be positive")
    while True:
        try:
            backup(url, path)
        except Exception as exc:  # noqa: BLE001 -- keep backing up; say what went wrong
            log.warning("metastore backup to %s failed: %s", url, exc)
        if stop():
            return
        sleep(seconds)
