"""The durable catalog: stream metadata and the iterator key, through EMRFS.

Layout under the service's location (names are never paths: every name becomes one path
component with a fixed prefix, so ``..`` is just a name)::

    catalog/stream-<name>.json      one stream's StreamCore, rewritten whole (atomically)
    iterator.key                    the HMAC key of shard iterators (created once)
    shards/stream-<name>/<created ms>/<shard id>/   shard logs (see rayemr.kinesis.log)
    leases/app-<name>.json          consumer lease tables (rayemr.kinesis.leases)
"""
from __future__ import annotations

import json
import os
import secrets
import uuid
from typing import Any, Iterator

from rayemr.fs import resolve, storage_errors
from rayemr.fs.resolve import parse_url

KEY_BYTES = 32


class Catalog:
    """Stream metadata at ``location`` (a local folder or an object-store prefix)."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/")
        self.fs, self.root = resolve(self.location)
        self._local = parse_url(self.location).kind == "local"

    def __repr__(self) -> str:
        return f"Catalog({self.location!r})"

    def _errors(self):
        return storage_errors(self.location)

    def url(self, *parts: str) -> str:
        return "/".join([self.location, *parts])

    def shard_url(self, stream: str, created_ms: int, shard_id: str) -> str:
        return self.url("shards", f"stream-{stream}", str(created_ms), shard_id)

    # -- documents --------------------------------------------------------------------------------
    def write_json(self, relative: str, doc: Any) -> None:
        """Replace one document atomically (rename on local disk, one PUT on S3)."""
        data = json.dumps(doc, sort_keys=True).encode()
        path = f"{self.root}/{relative}"
        with self._errors():
            if self._local:
                self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
                tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
                self.fs.pipe_file(tmp, data)
                self.fs.mv(tmp, path)
            else:
                self.fs.pipe_file(path, data)

    def read_json(self, relative: str) -> Any | None:
        with self._errors():
            try:
                return json.loads(self.fs.cat_file(f"{self.root}/{relative}"))
            except FileNotFoundError:
                return None

    def remove(self, relative: str) -> None:
        with self._errors():
            try:
                self.fs.rm(f"{self.root}/{relative}")
            except FileNotFoundError:
                pass

    # -- streams ---------------------------------------------------------------------------------
    def save_stream(self, name: str, doc: dict[str, Any]) -> None:
        self.write_json(f"catalog/stream-{name}.json", doc)

    def delete_stream(self, name: str) -> None:
        """Forget a stream: its shard logs, then its document."""
        with self._errors():
            try:
                self.fs.rm(f"{self.root}/shards/stream-{name}", recursive=True)
            except FileNotFoundError:
                pass
        self.remove(f"catalog/stream-{name}.json")

    def streams(self) -> Iterator[dict[str, Any]]:
        with self._errors():
            try:
                paths = sorted(self.fs.ls(f"{self.root}/catalog", detail=False))
            except FileNotFoundError:
                return
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            if name.startswith("stream-") and name.endswith(".json"):
                doc = self.read_json(f"catalog/{name}")
                if doc is not None:
                    yield doc

    # -- the iterator key -----------------------------------------------------------------------
    def iterator_key(self, *, create: bool = False) -> bytes:
        """The service's iterator key; ``create`` makes it on first use (the control plane
        does, before any shard host starts, so hosts only ever read it)."""
        path = f"{self.root}/iterator.key"
        with self._errors():
            try:
                return bytes.fromhex(self.fs.cat_file(path).decode().strip())
            except FileNotFoundError:
                if not create:
                    raise
            key = secrets.token_bytes(KEY_BYTES)
            if self._local:
                self.fs.makedirs(self.root, exist_ok=True)
                tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
                self.fs.pipe_file(tmp, key.hex().encode())
                os.chmod(tmp, 0o600)
                self.fs.mv(tmp, path)
            else:
                self.fs.pipe_file(path, key.hex().encode())
            return key
