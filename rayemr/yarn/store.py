"""The ResourceManager's state store: one small JSON file per application, plus metadata.

Writes are atomic (write a temporary file, then rename), so a ResourceManager killed at any
moment leaves either the old or the new record. An application's ApplicationMaster code and
payload are kept (pickled) until its AM starts, so applications still waiting in ACCEPTED
survive a restart too.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


class StateStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "apps").mkdir(parents=True, exist_ok=True)
        (self.root / "payloads").mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save_meta(self, meta: dict) -> None:
        self._write(self.root / "meta.json", json.dumps(meta, sort_keys=True).encode())

    def load_meta(self) -> dict | None:
        path = self.root / "meta.json"
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def save_app(self, record: dict) -> None:
        self._write(self.root / "apps" / f"{record['app_id']}.json",
                    json.dumps(record, sort_keys=True).encode())

    def delete_app(self, app_id: str) -> None:
        (self.root / "apps" / f"{app_id}.json").unlink(missing_ok=True)
        self.delete_payload(app_id)

    def load_apps(self) -> list[dict]:
        records = []
        for path in sorted((self.root / "apps").glob("application_*.json")):
            try:
                records.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a record being replaced right now; the rename is atomic
        return sorted(records, key=lambda r: r["seq"])

    def save_payload(self, app_id: str, data: bytes) -> None:
        self._write(self.root / "payloads" / f"{app_id}.pkl", data)

    def load_payload(self, app_id: str) -> bytes | None:
        path = self.root / "payloads" / f"{app_id}.pkl"
        return path.read_bytes() if path.exists() else None

    def delete_payload(self, app_id: str) -> None:
        (self.root / "payloads" / f"{app_id}.pkl").unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
