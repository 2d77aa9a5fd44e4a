"""Publishing an INSERT's committed files into table and partition folders, crash-safe.

An INSERT that appends next to existing files, or fills dynamic partitions, commits its
files (through the job's committer) into a hidden staging folder inside the table folder.
Publishing then moves them into place, as Hive's MoveTask does -- several folders, so it
cannot be one atomic step. Instead it is made *roll-forward*:

1. :func:`plan` lists every step up front: the old files an OVERWRITE replaces, each file's
   source and final name (``_copy_N`` resolved), and the partitions to register;
2. :func:`write_plan` stores that plan in the staging folder in one atomic write
   (``_PUBLISH.json``: one PUT on S3, a rename on local disks) -- the commit point;
3. :func:`apply` carries the steps out. Every step is idempotent (a file already moved or
   deleted is skipped), and the staging folder goes last.

A statement interrupted after the commit point (a crash, a lost driver) is finished by
:func:`recover`, which the next INSERT or LOAD DATA into the table runs first; one
interrupted before it left only a staging folder without a plan, which readers skip.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any, Iterable

from rayemr import fs as emrfs
from rayemr.hive import storage
from rayemr.hive.metastore.models import Partition, Table

PLAN_FILE = "_PUBLISH.json"
STAGING_PREFIX = ".hive-staging_"


@dataclass(frozen=True)
class Target:
    """Files committed under ``src`` go into folder ``dst`` (replacing its contents if
    ``overwrite``)."""

    src: str
    dst: str
    overwrite: bool = False


@dataclass(frozen=True)
class PublishPlan:
    database: str
    table: str
    staging: str
    deletes: tuple[str, ...] = ()
    moves: tuple[tuple[str, str], ...] = ()
    partitions: tuple[tuple[tuple[str, ...], str], ...] = ()

    def to_json(self) -> bytes:
        return json.dumps({"version": 1, "database": self.database, "table": self.table,
                           "staging": self.staging, "deletes": list(self.deletes),
                           "moves": [list(m) for m in self.moves],
                           "partitions": [[list(v), loc] for v, loc in self.partitions]},
                          indent=1).encode()

    @classmethod
    def from_json(cls, body: bytes) -> "PublishPlan":
        d = json.loads(body)
        return cls(d["database"], d["table"], d["staging"], tuple(d["deletes"]),
                   tuple((s, t) for s, t in d["moves"]),
                   tuple((tuple(v), loc) for v, loc in d["partitions"]))


def plan(table: Table, staging: str, targets: Iterable[Target],
         partitions: Iterable[Partition] = ()) -> PublishPlan:
    """Every step of publishing ``staging`` into the ``targets``, decided before the first."""
    deletes: list[str] = []
    moves: list[tuple[str, str]] = []
    for t in targets:
        files = storage.list_files(t.src)
        if not files:
            continue
        dfs, dpath = storage.resolve(t.dst)
        parsed = emrfs.parse_url(t.dst)
        entries = _entries(dfs, dpath)
        if t.overwrite:
            deletes.extend(parsed.to_url(e) for e in entries)
            taken: set[str] = set()
        else:
            taken = {posixpath.basename(e.rstrip("/")) for e in entries}
        for f in files:
            name = _free_name(posixpath.basename(storage.resolve(f.url)[1]), taken)
            taken.add(name)
            moves.append((f.url, parsed.to_url(f"{dpath.rstrip('/')}/{name}")))
    return PublishPlan(table.database, table.name, staging, tuple(deletes), tuple(moves),
                       tuple((p.values, p.location) for p in partitions))


def _entries(fs: Any, path: str) -> list[str]:
    """A folder's entries, without staging folders of statements still running."""
    try:
        entries = fs.ls(path, detail=False)
    except FileNotFoundError:
        return []
    return [e for e in entries
            if not posixpath.basename(e.rstrip("/")).startswith(STAGING_PREFIX)]


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or Hive's ``name_copy_N`` when a file of that name is already there."""
    if name not in taken:
        return name
    base, ext = posixpath.splitext(name)
    n = 1
    while f"{base}_copy_{n}{ext}" in taken:
        n += 1
    return f"{base}_copy_{n}{ext}"


def write_plan(p: PublishPlan) -> None:
    """Store the plan in its staging folder in one atomic write: the commit point."""
    fs, path = storage.resolve(storage.join(p.staging, PLAN_FILE))
    body = p.to_json()
    if emrfs.parse_url(p.staging).kind == "s3":
        fs.pipe_file(path, body)  # a single PUT is atomic
        return
    tmp = path + ".tmp"
    fs.pipe_file(tmp, body)
    fs.mv(tmp, path)


def apply(p: PublishPlan, metastore: Any) -> None:
    """Carry out the plan; safe to run again after an interruption (or concurrently)."""
    source_of = {dst.rstrip("/"): src for src, dst in p.moves}
    for url in p.deletes:
        src = source_of.get(url.rstrip("/"))
        if src is not None and not _exists(src):
            continue  # an old file's name, already holding the new file moved there
        fs, path = storage.resolve(url)
        try:
            fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
    for src, dst in p.moves:
        _move(src, dst)
    if p.partitions:
        metastore.add_partitions(p.database, p.table,
                                 [Partition(tuple(v), loc) for v, loc in p.partitions],
                                 if_not_exists=True)
    storage.delete(p.staging)


def _exists(url: str) -> bool:
    fs, path = storage.resolve(url)
    return fs.exists(path)


def _move(src: str, dst: str) -> None:
    sfs, spath = storage.resolve(src)
    dfs, dpath = storage.resolve(dst)
    if not sfs.exists(spath):
        return  # moved already
    parent = posixpath.dirname(dpath)
    if parent and emrfs.parse_url(dst).kind != "s3":
        dfs.makedirs(parent, exist_ok=True)
    try:
        if type(sfs) is type(dfs):
            sfs.mv(spath, dpath)
            return
        with sfs.open(spath, "rb") as r, dfs.open(dpath, "wb") as w:
            while True:
                chunk = r.read(8 << 20)
                if not chunk:
                    break
                w.write(chunk)
        sfs.rm(spath)
    except FileNotFoundError:
        if sfs.exists(spath):
            raise  # the destination's folder is what is missing
        # another run of this plan moved it meanwhile


def publish(table: Table, staging: str, targets: Iterable[Target], metastore: Any,
            partitions: Iterable[Partition] = ()) -> PublishPlan:
    """Plan, commit and apply the publishing of ``staging``."""
    p = plan(table, staging, targets, partitions)
    write_plan(p)
    apply(p, metastore)
    return p


def recover(table: Table, metastore: Any) -> int:
    """Finish publishes into ``table`` that were interrupted after their commit point;
    returns how many. Staging folders without a plan belong to statements still running
    (or that failed before committing) and are left alone."""
    fs, root = storage.resolve(table.location)
    try:
        entries = fs.ls(root, detail=False)
    except FileNotFoundError:
        return 0
    done = 0
    for e in entries:
        if not posixpath.basename(e.rstrip("/")).startswith(STAGING_PREFIX):
            continue
        try:
            body = fs.cat_file(f"{e.rstrip('/')}/{PLAN_FILE}")
        except FileNotFoundError:
            continue
        apply(PublishPlan.from_json(body), metastore)
        done += 1
    return done


__all__ = ["PLAN_FILE", "PublishPlan", "Target", "apply", "plan", "publish", "recover",
           "write_plan"]
