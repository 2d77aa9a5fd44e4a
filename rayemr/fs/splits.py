"""Input splits: byte ranges of text files, whole compressed files, row groups of Parquet.

``plan_splits`` is the pure core (file statuses + sizes in, splits out, no I/O);
``compute_splits`` lists the inputs and, for Parquet, reads each footer's row-group sizes.
Text files are cut like Hadoop's FileInputFormat: ranges of ``split_size`` bytes, with the
last one allowed to be up to 10% larger (SPLIT_SLOP) rather than leaving a tiny tail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

from rayemr.core.errors import ConfigError, UserError
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.listing import FileStatus, list_inputs

Format = Literal["text", "compressed", "parquet"]

#: Hadoop's FileInputFormat.SPLIT_SLOP.
SPLIT_SLOP = 1.1
DEFAULT_SPLIT_SIZE = 128 * 1024 * 1024

#: File extension -> compression codec for whole-file (unsplittable) text inputs.
CODECS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
PARQUET_EXTENSIONS = (".parquet", ".parq", ".pq")


@dataclass(frozen=True)
class Split:
    """One unit of input for one map task; frozen and small, so it pickles cheaply."""

    url: str
    start: int
    length: int
    file_size: int
    format: Format = "text"
    #: Parquet row-group indices this split reads (empty for text).
    row_groups: tuple[int, ...] = field(default=())
    #: The file's modification time when listed (identifies the version that was split).
    mtime: float | None = field(default=None, compare=False)

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def codec(self) -> str | None:
        """Compression codec for ``compressed`` splits (from the file extension)."""
        return codec_for(self.url)

    def __str__(self) -> str:
        if self.format == "parquet":
            return f"{self.url} row groups {list(self.row_groups)}"
        return f"{self.url}:{self.start}+{self.length}"


def codec_for(url: str) -> str | None:
    lower = url.lower()
    for ext, codec in CODECS.items():
        if lower.endswith(ext):
            return codec
    return None


def detect_format(url: str) -> Format:
    lower = url.lower()
    if lower.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    if codec_for(url):
        return "compressed"
    return "text"


def text_ranges(size: int, split_size: int) -> list[tuple[int, int]]:
    """(start, length) byte ranges covering [0, size), Hadoop-style with SPLIT_SLOP."""
    if split_size <= 0:
        raise ConfigError(f"split size {split_size}: must be positive")
    ranges = []
    remaining = size
    while remaining / split_size > SPLIT_SLOP:
        ranges.append((size - remaining, split_size))
        remaining -= split_size
    if remaining > 0:
        ranges.append((size - remaining, remaining))
    return ranges


def group_row_groups(sizes: Sequence[int], split_size: int) -> list[tuple[int, ...]]:
    """Consecutive row groups packed into splits of about split_size bytes (at least one)."""
    groups: list[tuple[int, ...]] = []
    current: list[int] = []
    current_bytes = 0
    for index, size in enumerate(sizes):
        if current and current_bytes + size > split_size:
            groups.append(tuple(current))
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        groups.append(tuple(current))
    return groups


def plan_splits(files: Iterable[FileStatus], split_size: int,
                row_group_sizes: dict[str, Sequence[int]] | None = None,
                format: Format | None = None) -> list[Split]:
    """Pure split planning. ``row_group_sizes[url]`` lists each Parquet row group's bytes."""
    splits: list[Split] = []
    row_group_sizes = row_group_sizes or {}
    for status in files:
        fmt = format or detect_format(status.url)
        if fmt == "compressed" or (fmt == "text" and codec_for(status.url)):
            splits.append(Split(status.url, 0, status.size, status.size, "compressed",
                                mtime=status.mtime))
        elif fmt == "parquet":
            sizes = row_group_sizes.get(status.url, ())
            groups = group_row_groups(sizes, split_size)
            for rows in groups:
                splits.append(Split(status.url, 0, status.size, status.size, "parquet", rows,
                                    status.mtime))
        elif status.size > 0:
            for start, length in text_ranges(status.size, split_size):
                splits.append(Split(status.url, start, length, status.size, "text",
                                    mtime=status.mtime))
    return splits


def parquet_row_group_sizes(status: FileStatus, config: EmrfsConfig | None = None
                            ) -> list[int]:
    """Compressed byte size of each row group, from the Parquet footer (kept for the reads)."""
    from rayemr.fs.parquet import whole_file_fragment

    with storage_errors(status.url):
        try:
            meta = whole_file_fragment(status.url, status.size, status.mtime, config).metadata
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid and OSError
            text = str(exc)
            if "magic bytes" in text or "Parquet file size" in text or "footer" in text:
                raise UserError(f"{status.url}: not a Parquet file") from None
            raise
        return [sum(meta.row_group(i).column(c).total_compressed_size
                    for c in range(meta.num_columns))
                for i in range(meta.num_row_groups)]


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
