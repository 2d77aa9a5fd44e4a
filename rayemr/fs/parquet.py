"""Parquet splits -> Arrow tables through pyarrow's native filesystem.

A Parquet split is a set of row groups of one file. Reading goes through
``arrow_filesystem`` (pyarrow's C++ S3 client, coalesced range reads), never through a
dataset over an s3fs file object, which is known to be an order of magnitude slower.
A ``filter`` (a ``pyarrow.compute`` expression) prunes row groups by their statistics and
then filters rows.
"""
from __future__ import annotations

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


def parquet_fragment(split: Split, config: EmrfsConfig | None = None) -> ds.ParquetFileFragment:
    """The dataset fragment for a split (its row groups of its file) on the native filesystem."""
    if split.format != "parquet":
        raise UserError(f"{split}: is a {split.format} split, not Parquet")
    fs, path = arrow_filesystem(split.url, config)
    return _FORMAT.make_fragment(path, filesystem=fs, row_groups=list(split.row_groups))


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
