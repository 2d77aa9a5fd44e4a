"""Where delivered objects land: S3 (or the local bucket root) through EMRFS, and the Hive
table a converting stream is bound to, whose partitions are registered as objects land.

A stream converting to a Hive table's schema (``SchemaConfiguration``) whose objects land
inside that table's location is a Hive destination: an object under
``<location>/k1=v1/k2=v2/`` makes partition ``(v1, v2)`` known to the metastore right after the
object is visible, so a query sees it with no MSCK REPAIR.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rayemr import fs as emrfs
from rayemr.firehose.errors import InvalidArgumentException
from rayemr.hive.metastore import Partition, Table, open_metastore, unescape_path_value

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HiveBinding:
    database: str
    table: str
    location: str
    keys: tuple[str, ...]

    def partition_of(self, folder_url: str) -> Partition | None:
        """The partition an object folder is, or None if it is not one of the table's."""
        root = self.location.rstrip("/") + "/"
        if not self.keys or not folder_url.startswith(root):
            return None
        parts = folder_url[len(root):].strip("/").split("/")
        if len(parts) != len(self.keys):
            return None
        values = []
        for part, key in zip(parts, self.keys):
            k, sep, v = part.partition("=")
            if not sep or k.lower() != key:
                return None
            values.append(unescape_path_value(v))
        return Partition(tuple(values), folder_url)


class Sink:
    """Publishes objects and registers Hive partitions for one delivery stream."""

    def __init__(self, metastore_path: str | None, warehouse: str | None,
                 emrfs_config: emrfs.EmrfsConfig | None = None) -> None:
        self._metastore_args = (metastore_path, warehouse)
        self._metastore: Any = None
        self.emrfs_config = emrfs_config
        self._registered: set[tuple[str, str, tuple[str, ...]]] = set()

    @property
    def metastore(self):
        if self._metastore is None:
            self._metastore = open_metastore(*self._metastore_args)
        return self._metastore

    def table(self, database: str, name: str) -> Table:
        try:
            return self.metastore.get_table(database, name)
        except FileNotFoundError as exc:
            raise InvalidArgumentException(
                f"SchemaConfiguration names {database}.{name}, which is not in the metastore: "
                f"{exc}") from None

    def binding(self, database: str, name: str, destination_url: str) -> HiveBinding | None:
        """A Hive binding when the destination lies inside the table's location."""
        table = self.table(database, name)
        loc = table.location.rstrip("/")
        if not loc or not (destination_url + "/").startswith(loc + "/") and not (
                loc + "/").startswith(destination_url.rstrip("/") + "/"):
            return None
        return HiveBinding(table.database, table.name, loc,
                           tuple(k.name for k in table.partition_keys))

    def publish(self, url: str, data: bytes) -> int:
        return emrfs.publish_object(url, data, self.emrfs_config)

    def exists(self, url: str) -> bool:
        return emrfs.object_exists(url, self.emrfs_config)

    def abort(self, url: str) -> int:
        return emrfs.abort_uploads(url, self.emrfs_config)

    def register(self, binding: HiveBinding, object_url: str) -> bool:
        """Register the partition ``object_url`` lands in (once); True if it was new."""
        return self.register_all(binding, [object_url]) > 0

    def register_all(self, binding: HiveBinding, object_urls: list[str]) -> int:
        """Register the partitions objects land in (each once, in one metastore call);
        returns how many were new."""
        new: dict[tuple[str, str, tuple[str, ...]], Partition] = {}
        for url in object_urls:
            part = binding.partition_of(url.rsplit("/", 1)[0])
            if part is not None:
                key = (binding.database, binding.table, part.values)
                if key not in self._registered:
                    new.setdefault(key, part)
        if not new:
            return 0
        added = self.metastore.add_partitions(binding.database, binding.table,
                                              list(new.values()), if_not_exists=True)
        self._registered.update(new)
        return int(added)

    def close(self) -> None:
        if self._metastore is not None:
            self._metastore.close()
            self._metastore = None
