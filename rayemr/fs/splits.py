"""Input splits: byte ranges of text files, whole compressed files, row groups of Parquet.

Pure: file statuses and row-group sizes in, splits out, no I/O (:mod:`rayemr.fs.inputs`
lists the inputs and reads the Parquet footers, then calls ``plan_splits``).
Text files are cut like Hadoop's FileInputFormat: ranges of ``split_size`` bytes, with the
last one allowed to be up to 10% larger (SPLIT_SLOP) rather than leaving a tiny tail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Literal, Sequence

from rayemr.core.errors import ConfigError

if TYPE_CHECKING:
    from rayemr.fs.listing import FileStatus

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
    """Consecutive row groups packed into splits of about split_size bytes (at least one).
    As Hadoop's FileInputFormat (SPLIT_SLOP), the last split may be up to 10% bigger rather
    than leave a sliver of the file to a split of its own."""
    groups: list[tuple[int, ...]] = []
    current: list[int] = []
    current_bytes = 0
    remaining = sum(sizes)
    for index, size in enumerate(sizes):
        if (current and current_bytes + size > split_size
                and current_bytes + remaining > split_size * SPLIT_SLOP):
            groups.append(tuple(current))
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
        remaining -= size
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
