"""The control plane: the durable catalog of delivery streams and their hosts.

Catalog documents live under ``<location>/catalog/stream-<name>.json`` (names are checked
against Firehose's pattern, so a name is never a path), written whole and atomically through
EMRFS; a restarted control plane reads them and starts a host for every ACTIVE stream, whose
log replays what was not delivered. Hosts run in this process (``LocalPool``) or as
restartable Ray actors spread over the cluster (``RayPool``).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Mapping

from rayemr import fs as emrfs
from rayemr.firehose.config import (
    DESTINATION_ID, StreamConfig, apply_update, check_name, describe_destination, parse_create)
from rayemr.firehose.errors import (
    ConcurrentModificationException, InvalidArgumentException, LimitExceededException,
    ResourceInUseException, ResourceNotFoundException)
from rayemr.firehose.settings import FirehoseSettings
from rayemr.firehose.states import StreamStatus, tracked

log = logging.getLogger(__name__)
#: Delivery streams per account and region (AWS's default quota).
MAX_STREAMS = 5000


class Catalog:
    def __init__(self, settings: FirehoseSettings) -> None:
        self.url = f"{settings.location.rstrip('/')}/catalog"
        self.config = settings.emrfs

    def _doc_url(self, name: str) -> str:
        return f"{self.url}/stream-{check_name(name)}.json"

    def write(self, doc: Mapping[str, Any]) -> None:
        emrfs.publish_object(self._doc_url(doc["name"]), json.dumps(doc, sort_keys=True,
                                                                     default=str).encode(),
                             self.config)

    def remove(self, name: str) -> None:
        fs, path = emrfs.resolve(self._doc_url(name), self.config)
        with emrfs.storage_errors(self.url):
            if fs.exists(path):
                fs.rm(path)

    def load(self) -> list[dict[str, Any]]:
        fs, root = emrfs.resolve(self.url, self.config)
        with emrfs.storage_errors(self.url):
            try:
                names = sorted(fs.ls(root, detail=False))
            except FileNotFoundError:
                return []
            out = []
            for path in names:
                base = path.rsplit("/", 1)[-1]
                if base.startswith("stream-") and base.endswith(".json"):
                    out.append(json.loads(fs.cat_file(path)))
            return out


class _Entry:
    def __init__(self, doc: dict[str, Any], config: StreamConfig) -> None:
        self.doc = doc
        self.config = config
        self.state = tracked(doc["name"], StreamStatus(doc["status"]), now=doc["created"])
        self.handle: Any = None


class ControlPlane:
    """Create, describe, list, update and delete delivery streams; route puts to hosts."""

    def __init__(self, settings: FirehoseSettings, pool: Any,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.pool, self.clock = settings, pool, clock
        self.catalog = Catalog(settings)
        self._lock = threading.RLock()
        self._streams: dict[str, _Entry] = {}
        for doc in self.catalog.load():
            self._restore(doc)

    def settings_(self) -> FirehoseSettings:
        return self.settings

    def _restore(self, doc: dict[str, Any]) -> None:
        try:
            entry = _Entry(doc, parse_create(doc["request"]))
        except Exception as exc:  # noqa: BLE001 - one bad document must not stop the rest
            log.error("delivery stream %s cannot be restored: %s", doc.get("name"), exc)
            return
        self._streams[doc["name"]] = entry
        if entry.state.state in (StreamStatus.ACTIVE, StreamStatus.CREATING):
            entry.handle = self.pool.start(self._spec(entry))
            if entry.state.state is StreamStatus.CREATING:
                self._fire(entry, "CREATED")
        elif entry.state.state is StreamStatus.DELETING:
            self._finish_delete(entry)

    def _spec(self, e: _Entry) -> tuple[StreamConfig, int, int, FirehoseSettings]:
        return (e.config, e.doc["version"], e.doc["created_ms"], self.settings)

    def _fire(self, e: _Entry, event: str) -> None:
        e.state.fire(event, now=self.clock())
        e.doc["status"] = e.state.state.value
        e.doc["story"] = [list(s) for s in e.state.story()]
        e.doc["updated"] = self.clock()
        self.catalog.write(e.doc)

    def _get(self, name: str) -> _Entry:
        e = self._streams.get(name)
        if e is None:
            raise ResourceNotFoundException(
                f"Firehose {name} under account {self.settings.account} not found.")
        return e

    # -- operations ------------------------------------------------------------------------------
    def create(self, params: Mapping[str, Any]) -> str:
        config = parse_create(params)
        self.check_destination(config)
        with self._lock:
            if config.name in self._streams:
                raise ResourceInUseException(
                    f"Firehose {config.name} under accountId {self.settings.account} "
                    "already exists")
            if len(self._streams) >= MAX_STREAMS:
                raise LimitExceededException(f"at most {MAX_STREAMS} delivery streams")
            now = self.clock()
            doc = {"name": config.name, "status": "CREATING", "version": 1,
                   "created": now, "updated": now, "created_ms": int(now * 1000),
                   "request": json.loads(json.dumps(dict(params), default=str)), "story": []}
            entry = _Entry(doc, config)
            self._streams[config.name] = entry
            self.catalog.write(doc)
            try:
                entry.handle = self.pool.start(self._spec(entry))
            except Exception:
                self._fire(entry, "CREATE_FAILED")
                raise
            self._fire(entry, "CREATED")
        return self.settings.stream_arn(config.name)

    def check_destination(self, config: StreamConfig) -> None:
        """What parsing alone cannot check: the Hive table and the transformation function."""
        from rayemr.firehose.sink import Sink
        from rayemr.firehose.transform import resolve_function

        if config.conversion:
            sink = Sink(self.settings.metastore_path, self.settings.warehouse)
            try:
                table = sink.table(config.conversion.database, config.conversion.table)
            finally:
                sink.close()
            if not table.columns:
                raise InvalidArgumentException(f"table {table.qualified_name} has no columns")
        if config.processing.lambda_arn:
            resolve_function(config.processing.lambda_arn, dict(self.settings.lambdas))
        if config.source != "DirectPut":
            from rayemr.firehose.source import check_source

            check_source(config, self.settings)

    def delete(self, name: str) -> None:
        with self._lock:
            e = self._get(name)
            self._fire(e, "DELETE")
            self._finish_delete(e)

    def _finish_delete(self, e: _Entry) -> None:
        try:
            if e.handle is None:
                e.handle = self.pool.start(self._spec(e))
            self.pool.stop(e.handle, delete=True)
        except Exception:
            self._fire(e, "DELETE_FAILED")
            raise
        self._streams.pop(e.config.name, None)
        self.catalog.remove(e.config.name)

    def update(self, name: str, version_id: str, destination_id: str,
               update: Mapping[str, Any]) -> None:
        with self._lock:
            e = self._get(name)
            if str(e.doc["version"]) != str(version_id):
                raise ConcurrentModificationException(
                    f"CurrentDeliveryStreamVersionId {version_id} is not the current version "
                    f"({e.doc['version']}) of {name}")
            if destination_id != DESTINATION_ID:
                raise InvalidArgumentException(f"DestinationId {destination_id} not found")
            if e.state.state is not StreamStatus.ACTIVE:
                raise ResourceInUseException(f"Firehose {name} is {e.state.state.value}")
            config = apply_update(e.config, update)
            self.check_destination(config)
            request = dict(e.doc["request"])
            request.pop("S3DestinationConfiguration", None)
            request["ExtendedS3DestinationConfiguration"] = json.loads(
                json.dumps(config.destination_api, default=str))
            version = e.doc["version"] + 1
            self.pool.call(e.handle, "update", config, version)
            e.config = config
            e.doc.update(request=request, version=version, updated=self.clock())
            self.catalog.write(e.doc)

    def describe(self, name: str) -> dict[str, Any]:
        e = self._get(name)
        d = {"DeliveryStreamName": name, "DeliveryStreamARN": self.settings.stream_arn(name),
             "DeliveryStreamStatus": e.state.state.value,
             "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
             "DeliveryStreamType": e.config.source, "VersionId": str(e.doc["version"]),
             "CreateTimestamp": e.doc["created"], "LastUpdateTimestamp": e.doc["updated"],
             "Destinations": [describe_destination(e.config)], "HasMoreDestinations": False}
        if e.config.source != "DirectPut":
            given = e.doc["request"].get("KinesisStreamSourceConfiguration") or {}
            d["Source"] = {"KinesisStreamSourceDescription": {
                "KinesisStreamARN": e.config.kinesis_arn, "RoleARN": given.get("RoleARN", ""),
                "DeliveryStartTimestamp": e.doc["created_ms"] / 1000}}
        return {"DeliveryStreamDescription": d}

    def list(self, limit: int, stream_type: str | None, start: str | None) -> dict[str, Any]:
        names = sorted(n for n, e in self._streams.items()
                       if stream_type is None or e.config.source == stream_type)
        if start:
            names = [n for n in names if n > start]
        return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}

    def tags(self, name: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self._get(name).config.tags]

    def route(self, name: str) -> tuple[str, str, Any]:
        """(status, source type, host handle) for puts."""
        e = self._get(name)
        return e.state.state.value, e.config.source, self.pool.ref(e.handle)

    def metrics(self, name: str | None = None) -> dict[str, dict[str, Any]]:
        names = [name] if name else sorted(self._streams)
        out = {}
        for n in names:
            e = self._get(n)
            if e.handle is not None:
                out[n] = {"DeliveryStreamStatus": e.state.state.value,
                          **self.pool.call(e.handle, "metrics")}
        return out

    def close(self) -> None:
        """Stop every host (buffers are delivered); the catalog keeps the streams."""
        with self._lock:
            for e in self._streams.values():
                if e.handle is not None:
                    self.pool.stop(e.handle, delete=False)
                    e.handle = None
