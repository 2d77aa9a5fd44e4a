"""Splits of a job's inputs: list the files, read Parquet footers, plan the splits.

The I/O half of split computation; the pure half is :mod:`rayemr.fs.splits`. Listing follows
:func:`rayemr.fs.listing.list_inputs` (hidden files skipped, sorted by URL); each Parquet
footer is read once and kept for the reads that follow (:mod:`rayemr.fs.parquet`).
"""
from __future__ import annotations

import math
from typing import Iterable

import pyarrow.parquet as pq

from rayemr.core.errors import ConfigError, UserError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.listing import FileStatus, list_inputs
from rayemr.fs.parquet import whole_file_fragment
from rayemr.fs.splits import DEFAULT_SPLIT_SIZE, Format, Split, detect_format, plan_splits


def parquet_metadata(status: FileStatus, config: EmrfsConfig | None = None
                     ) -> pq.FileMetaData:
    """The Parquet footer of a listed file (read once per file version, then cached)."""
    with storage_errors(status.url):
        try:
            return whole_file_fragment(status.url, status.size, status.mtime, config).metadata
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid and OSError
            text = str(exc)
            if "magic bytes" in text or "Parquet file size" in text or "footer" in text:
                raise UserError(f"{status.url}: not a Parquet file") from None
            raise


def row_group_sizes(meta: pq.FileMetaData) -> list[int]:
    """Compressed byte size of each row group of a Parquet footer."""
    return [sum(meta.row_group(i).column(c).total_compressed_size
                for c in range(meta.num_columns))
            for i in range(meta.num_row_groups)]


def parquet_row_group_sizes(status: FileStatus, config: EmrfsConfig | None = None
                            ) -> list[int]:
    """Compressed byte size of each row group, from the Parquet footer (kept for the reads)."""
    return row_group_sizes(parquet_metadata(status, config))


def compute_splits(urls: str | Iterable[str], split_size: int | None = None,
                   config: EmrfsConfig | None = None, format: Format | None = None
                   ) -> list[Split]:
    """Splits for every visible input file under urls (see ``list_inputs``).

    ``split_size`` defaults to the config's (``fs.s3.block.size``, 128 MiB). ``format``
    forces one format; by default it follows the extension (``.parquet``, ``.gz``/``.bz2``/
    ``.zst``, otherwise text).
    """
    size = split_size or (config.split_size if config else DEFAULT_SPLIT_SIZE)
    if size <= 0 or not math.isfinite(size):
        raise ConfigError(f"split size {split_size}: must be a positive number of bytes")
    files = list_inputs(urls, config)
    row_groups = {}
    for status in files:
        if (format or detect_format(status.url)) == "parquet":
            row_groups[status.url] = parquet_row_group_sizes(status, config)
    return plan_splits(files, int(size), row_groups, format)


__all__ = ["compute_splits", "parquet_metadata", "parquet_row_group_sizes", "row_group_sizes"]
