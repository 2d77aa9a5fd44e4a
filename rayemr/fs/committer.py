"""Hadoop's output commit protocol, on local files (rename) and on S3 (pending uploads).

Job: ``setup_job`` -> tasks ``open_task_output`` / ``commit_task`` (or ``abort_task``) ->
``commit_job(task_commits)`` (every part appears, then ``_SUCCESS``) or ``abort_job`` (nothing
visible, temporary files and pending uploads gone).

- Filesystems with rename (local files, memory): a task attempt writes under
  ``<out>/_temporary/<job>/attempt_<task>_<n>/``; ``commit_task`` renames that directory to
  ``task_<task>``; ``commit_job`` moves the committed files into ``<out>`` (Hadoop's
  FileOutputCommitter, algorithm 1).
- S3, where a rename is a copy: a task attempt streams each file as a multipart upload to its
  final key but does not complete it, so nothing is visible; closing the file writes a small
  manifest under ``_temporary/``. ``commit_job`` completes every upload, then writes
  ``_SUCCESS``; ``abort_job`` aborts every pending upload under the output (the approach of
  S3A's magic committer and EMR's S3-optimized committer).
"""
from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

from rayemr.core.errors import InputNotFoundError, OutputExistsError, StorageError, UserError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.resolve import filesystem_for, parse_url

log = logging.getLogger(__name__)

TEMPORARY = "_temporary"
SUCCESS = "_SUCCESS"
_PENDING_SUFFIX = ".pending"


@dataclass(frozen=True)
class PendingUpload:
    """An uncompleted S3 multipart upload of one output file (``upload_id`` None = empty)."""

    name: str
    key: str
    upload_id: str | None
    parts: tuple[tuple[int, str], ...] = ()
    size: int = 0


@dataclass(frozen=True)
class TaskCommit:
    """What one committed task attempt produced; small and picklable (goes to the driver)."""

    task_id: str
    attempt: int
    files: tuple[str, ...] = ()
    pending: tuple[PendingUpload, ...] = field(default=(), repr=False)
    bytes: int = 0


class OutputCommitter:
    """Commit protocol for one job's output location (see the module docstring)."""

    def __init__(self, url: str, config: EmrfsConfig | None = None, overwrite: bool = False,
                 job_id: str | None = None) -> None:
        self.url = url.rstrip("/") if not url.endswith("://") else url
        self.config = config or EmrfsConfig()
        self.overwrite = overwrite
        self.job_id = job_id or uuid.uuid4().hex[:12]
        self._parsed = parse_url(url)
        self._fs = None

    # -- plumbing ------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fs"] = None
        return state

    def __repr__(self) -> str:
        return (f"OutputCommitter({self.url!r}, job_id={self.job_id!r}, "
                f"overwrite={self.overwrite})")

    @property
    def fs(self):
        if self._fs is None:
            self._fs = filesystem_for(self._parsed, self.config)
        return self._fs

    @property
    def on_s3(self) -> bool:
        return self._parsed.kind == "s3"

    @property
    def out(self) -> str:
        return self._parsed.path.rstrip("/")

    @property
    def job_dir(self) -> str:
        return f"{self.out}/{TEMPORARY}/{self.job_id}"

    def _attempt_dir(self, task_id: Any, attempt: int) -> str:
        return f"{self.job_dir}/attempt_{task_id}_{attempt}"

    def _task_dir(self, task_id: Any) -> str:
        return f"{self.job_dir}/task_{task_id}"

    def _errors(self):
        return storage_errors(self.url, (self.config.secret_key, self.config.session_token))

    def _visible_entries(self) -> list[str]:
        try:
            entries = self.fs.ls(self.out, detail=False)
        except FileNotFoundError:
            return []
        return [e for e in entries if e.rstrip("/").rsplit("/", 1)[-1] != TEMPORARY]

    # -- job ------------------------------------------------------------------------------
    def check_output(self) -> None:
        """The output's bucket must exist, and existing data is an error unless overwrite
        was asked (the first half of ``setup_job``, safe to call before anything runs)."""
        with self._errors():
            if self.on_s3:
                bucket, _ = self._split(self.out)
                try:
                    self._call("head_bucket", Bucket=bucket)
                except FileNotFoundError:
                    raise InputNotFoundError(
                        f"{self.url}: bucket '{bucket}' does not exist") from None
            if self._visible_entries() and not self.overwrite:
                raise OutputExistsError(f"Output directory {self.url} already exists",
                                        hint="choose a new location or ask for overwrite")

    def setup_job(self) -> None:
        """Check the output location: existing data is an error unless overwrite was asked."""
        self.check_output()
        with self._errors():
            if not self.on_s3:
                self.fs.makedirs(self.job_dir, exist_ok=True)

    def open_task_output(self, task_id: Any, attempt: int, name: str):
        """A binary file for output file ``name`` of one task attempt (close it when done)."""
        name = _check_name(name, self.url)
        with self._errors():
            if self.on_s3:
                return _PendingS3Writer(self, task_id, attempt, name)
            path = f"{self._attempt_dir(task_id, attempt)}/{name}"
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            return self.fs.open(path, "wb")

    def commit_task(self, task_id: Any, attempt: int) -> TaskCommit:
        """Make one attempt's output the task's output; returns what the job commit needs."""
        with self._errors():
            if self.on_s3:
                return self._commit_task_s3(task_id, attempt)
            src, dst = self._attempt_dir(task_id, attempt), self._task_dir(task_id)
            if not self.fs.exists(src):
                return TaskCommit(str(task_id), attempt)
            if self.fs.exists(dst):
                self.fs.rm(dst, recursive=True)
            self.fs.mv(src, dst, recursive=True)
            files, size = [], 0
            for path, info in sorted(self.fs.find(dst, detail=True).items()):
                files.append(path[len(dst) + 1:])
                size += int(info.get("size") or 0)
            return TaskCommit(str(task_id), attempt, tuple(files), (), size)

    def abort_task(self, task_id: Any, attempt: int) -> None:
        """Discard one attempt's output (best effort; the job abort cleans up the rest)."""
        with self._errors():
            attempt_dir = self._attempt_dir(task_id, attempt)
            if self.on_s3:
                for upload in self._read_manifests(attempt_dir):
                    self._abort_upload(upload.key, upload.upload_id)
            if self.fs.exists(attempt_dir):
                self.fs.rm(attempt_dir, recursive=True)

    def commit_job(self, commits: Iterable[TaskCommit]) -> list[str]:
        """Publish every committed file, then ``_SUCCESS``; returns the published URLs."""
        by_task: dict[str, TaskCommit] = {}
        for commit in commits:
            by_task[commit.task_id] = commit  # the last commit of a task wins
        names: list[str] = []
        for commit in by_task.values():
            names.extend(commit.files)
        duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
        if duplicates:
            raise UserError(f"{self.url}: several tasks wrote {', '.join(duplicates[:5])}")
        with self._errors():
            if self.overwrite:
                self._delete_existing(keep=set(names))
            elif self._visible_entries():
                raise OutputExistsError(f"Output directory {self.url} already exists")
            if self.on_s3:
                self._publish_s3(list(by_task.values()))
            else:
                self._publish_renames(list(by_task.values()))
            body = json.dumps({"committer": "s3-pending-upload" if self.on_s3 else "file",
                               "job_id": self.job_id, "timestamp": time.time(),
                               "files": sorted(names)}).encode()
            self.fs.pipe_file(f"{self.out}/{SUCCESS}", body)
            self._cleanup()
        return [self._parsed.to_url(f"{self.out}/{n}") for n in sorted(names)]

    def abort_job(self) -> None:
        """Leave nothing visible: drop temporary files and abort pending uploads."""
        with self._errors():
            if self.on_s3:
                self._abort_all_uploads()
            self._cleanup()

    # -- rename (local, memory) --------------------------------------------------------------
    def _publish_renames(self, commits: list[TaskCommit]) -> None:
        published: list[str] = []
        try:
            for commit in commits:
                src_dir = self._task_dir(commit.task_id)
                for name in commit.files:
                    dst = f"{self.out}/{name}"
                    if "/" in name:
                        self.fs.makedirs(dst.rsplit("/", 1)[0], exist_ok=True)
                    self.fs.mv(f"{src_dir}/{name}", dst)
                    published.append(dst)
        except BaseException:
            for path in published:  # a failed publish takes back what it published
                try:
                    self.fs.rm(path)
                except OSError:
                    pass
            raise

    def _cleanup(self) -> None:
        """Remove this job's temporary directory, and ``_temporary`` once it is empty."""
        tmp = f"{self.out}/{TEMPORARY}"
        for path, only_if_empty in ((self.job_dir, False), (tmp, True)):
            try:
                if self.fs.exists(path) and not (only_if_empty and self.fs.ls(path)):
                    self.fs.rm(path, recursive=True)
            except FileNotFoundError:
                pass

    def _delete_existing(self, keep: set[str]) -> None:
        keep_paths = {f"{self.out}/{n}" for n in keep} if self.on_s3 else set()
        for entry in self._visible_entries():
            if entry.rstrip("/") in keep_paths:
                continue
            if self.on_s3:
                victims = [p for p in self.fs.find(entry) if p not in keep_paths]
                if victims:
                    self.fs.rm(victims)
                if self.fs.exists(entry) and entry not in keep_paths:
                    self.fs.rm(entry, recursive=True)
            else:
                self.fs.rm(entry, recursive=True)

    # -- S3 pending uploads ------------------------------------------------------------------
    def _split(self, path: str) -> tuple[str, str]:
        bucket, key, _ = self.fs.split_path(path)
        return bucket, key

    def _call(self, method: str, **kwargs):
        return self.fs.call_s3(method, **kwargs)

    def _commit_task_s3(self, task_id: Any, attempt: int) -> TaskCommit:
        uploads = self._read_manifests(self._attempt_dir(task_id, attempt))
        manifest = json.dumps([_upload_json(u) for u in uploads]).encode()
        self.fs.pipe_file(f"{self._task_dir(task_id)}.pendingset", manifest)
        return TaskCommit(str(task_id), attempt, tuple(u.name for u in uploads), tuple(uploads),
                          sum(u.size for u in uploads))

    def _read_manifests(self, attempt_dir: str) -> list[PendingUpload]:
        try:
            paths = sorted(p for p in self.fs.find(attempt_dir) if p.endswith(_PENDING_SUFFIX))
        except FileNotFoundError:
            return []
        out = []
        for path in paths:
            data = json.loads(self.fs.cat_file(path))
            out.append(PendingUpload(data["name"], data["key"], data["upload_id"],
                                     tuple((int(n), e) for n, e in data["parts"]),
                                     int(data["size"])))
        return out

    def _publish_s3(self, commits: list[TaskCommit]) -> None:
        uploads = [u for c in commits for u in c.pending]
        bucket, _ = self._split(self.out)
        done: list[str] = []

        def complete(upload: PendingUpload) -> None:
            if upload.upload_id is None:
                self._call("put_object", Bucket=bucket, Key=upload.key, Body=b"")
            else:
                self._call("complete_multipart_upload", Bucket=bucket, Key=upload.key,
                           UploadId=upload.upload_id,
                           MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                                      for n, e in upload.parts]})
            done.append(upload.key)

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(complete, u) for u in uploads]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            for key in done:  # take back what became visible, abort the rest
                try:
                    self._call("delete_object", Bucket=bucket, Key=key)
                except Exception:  # noqa: BLE001 - best effort, the original error matters
                    log.warning("could not remove %s after a failed commit", key)
            self._abort_all_uploads()
            raise StorageError(f"{self.url}: job commit failed, nothing published: "
                               f"{errors[0]}") from errors[0]

    def _abort_upload(self, key: str, upload_id: str | None) -> None:
        if upload_id is None:
            return
        bucket, _ = self._split(self.out)
        try:
            self._call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        except FileNotFoundError:
            pass  # already completed or aborted

    def _abort_all_uploads(self) -> int:
        """Abort every pending multipart upload under the output prefix; returns how many."""
        bucket, key = self._split(self.out)
        prefix = f"{key}/" if key else ""
        count = 0
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = self._call("list_multipart_uploads", **kwargs)
            for upload in page.get("Uploads", []):
                if upload["Key"].startswith(prefix):
                    self._abort_upload(upload["Key"], upload["UploadId"])
                    count += 1
            if not page.get("IsTruncated"):
                break
            kwargs["KeyMarker"] = page.get("NextKeyMarker")
            kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker")
        if count:
            log.info("aborted %d pending upload(s) under %s", count, self.url)
        return count


def _upload_json(u: PendingUpload) -> dict[str, Any]:
    return {"name": u.name, "key": u.key, "upload_id": u.upload_id,
            "parts": [list(p) for p in u.parts], "size": u.size}


def _check_name(name: str, url: str) -> str:
    if not isinstance(name, str) or not name.strip("/"):
        raise UserError(f"{url}: output file name {name!r} is empty")
    parts = name.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] == TEMPORARY:
        raise UserError(f"{url}: output file name {name!r} is not a plain relative path")
    return "/".join(parts)


class _PendingS3Writer(io.RawIOBase):
    """A write-only file streaming to an S3 multipart upload that stays pending on close."""

    def __init__(self, committer: OutputCommitter, task_id: Any, attempt: int, name: str):
        super().__init__()
        self._c = committer
        self.name_ = name
        self._bucket, self._key = committer._split(f"{committer.out}/{name}")
        self._manifest = f"{committer._attempt_dir(task_id, attempt)}/{name}{_PENDING_SUFFIX}"
        self._part_size = committer.config.multipart_part_size
        self._buf = bytearray()
        self._parts: list[tuple[int, str]] = []
        self._upload_id: str | None = None
        self._size = 0
        self._failed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        n = len(data)
        self._buf += data
        self._size += n
        while len(self._buf) >= self._part_size:
            chunk = bytes(self._buf[:self._part_size])
            del self._buf[:self._part_size]
            self._upload_part(chunk)
        return n

    def _upload_part(self, chunk: bytes) -> None:
        with self._c._errors():
            if self._upload_id is None:
                resp = self._c._call("create_multipart_upload", Bucket=self._bucket,
                                     Key=self._key)
                self._upload_id = resp["UploadId"]
            number = len(self._parts) + 1
            resp = self._c._call("upload_part", Bucket=self._bucket, Key=self._key,
                                 UploadId=self._upload_id, PartNumber=number, Body=chunk)
            self._parts.append((number, resp["ETag"]))

    def abort(self) -> None:
        """Drop what was written (the upload is aborted, no manifest is written)."""
        self._failed = True
        if self._upload_id is not None:
            self._c._abort_upload(self._key, self._upload_id)
        self._buf = bytearray()
        super().close()

    def close(self) -> None:
        if self.closed:
            return
        if self._failed:
            super().close()
            return
        try:
            if self._buf:
                self._upload_part(bytes(self._buf))
                self._buf = bytearray()
            upload = PendingUpload(self.name_, self._key, self._upload_id, tuple(self._parts),
                                   self._size)
            with self._c._errors():
                self._c.fs.pipe_file(self._manifest, json.dumps(_upload_json(upload)).encode())
        except BaseException:
            self.abort()
            raise
        super().close()

    def __del__(self) -> None:
        # A writer dropped without close() produced nothing: no network calls from the
        # garbage collector (it may run on the I/O loop's thread); abort_job cleans up.
        if not self.closed:
            self._failed = True
            io.RawIOBase.close(self)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
            return False
        self.close()
        return False
