"""Parquet splits -> Arrow tables through pyarrow's native filesystem.

A Parquet split is a set of row groups of one file. Reading goes through
``arrow_filesystem`` (pyarrow's C++ S3 client, coalesced range reads), never through a
dataset over an s3fs file object, which is known to be an order of magnitude slower.
A ``filter`` (a ``pyarrow.compute`` expression) prunes row groups by their statistics and
then filters rows.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from rayemr.core.errors import UserError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.resolve import arrow_filesystem
from rayemr.fs.splits import Split

_FORMAT = ds.ParquetFileFormat(
    default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=True))


#: Whole-file fragments with their footer parsed, so further splits of the same file read
#: no footer again: (url, file size, mtime, config) -> fragment. Only splits that carry the
#: listed mtime use it (a rewritten file has a new one). Small and bounded.
_FOOTERS: OrderedDict[tuple, ds.ParquetFileFragment] = OrderedDict()
_FOOTERS_MAX = 64
_lock = threading.Lock()


def whole_file_fragment(url: str, file_size: int, mtime: float | None,
                        config: EmrfsConfig | None = None) -> ds.ParquetFileFragment:
    """A whole file's fragment with its footer parsed (cached per file version)."""
    key = (url, file_size, mtime, config)
    with _lock:
        whole = _FOOTERS.get(key)
        if whole is not None:
            _FOOTERS.move_to_end(key)
            return whole
    fs, path = arrow_filesystem(url, config)
    whole = _FORMAT.make_fragment(path, filesystem=fs, file_size=file_size or None)
    whole.ensure_complete_metadata()
    if mtime is not None:
        with _lock:
            _FOOTERS[key] = whole
            while len(_FOOTERS) > _FOOTERS_MAX:
                _FOOTERS.popitem(last=False)
    return whole


def clear_footer_cache() -> None:
    with _lock:
        _FOOTERS.clear()


def parquet_fragment(split: Split, config: EmrfsConfig | None = None) -> ds.ParquetFileFragment:
    """The dataset fragment for a split (its row groups of its file) on the native filesystem."""
    if split.format != "parquet":
        raise UserError(f"{split}: is a {split.format} split, not Parquet")
    if split.mtime is None:
        fs, path = arrow_filesystem(split.url, config)
        return _FORMAT.make_fragment(path, filesystem=fs, row_groups=list(split.row_groups))
    whole = whole_file_fragment(split.url, split.file_size, split.mtime, config)
    return whole.subset(row_group_ids=list(split.row_groups))


def read_parquet_split(split: Split, columns: Sequence[str] | None = None, filter=None,
                       config: EmrfsConfig | None = None) -> pa.Table:
    """The split's rows (only ``columns`` if given, only rows matching ``filter`` if given)."""
    with storage_errors(split.url):
        fragment = parquet_fragment(split, config)
        if columns is not None:
            names = set(fragment.physical_schema.names)
            missing = [c for c in columns if c not in names]
            if missing:
                raise UserError(f"{split.url}: no column(s) {', '.join(missing)} "
                                f"(has {', '.join(sorted(names))})")
        return fragment.to_table(columns=list(columns) if columns is not None else None,
                                 filter=filter, use_threads=True)
