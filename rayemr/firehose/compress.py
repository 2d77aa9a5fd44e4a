"""Firehose's S3 compression formats and the file extensions they give objects."""
from __future__ import annotations

import gzip
import io
import struct
import zipfile

EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy",
              "HADOOP_SNAPPY": ".hsnappy"}


def compress(data: bytes, fmt: str, name: str = "data") -> bytes:
    """``data`` compressed as ``fmt`` (Snappy: the framing format; HADOOP_SNAPPY: Hadoop's
    block format, one block per 256 KiB)."""
    if fmt == "UNCOMPRESSED":
        return data
    if fmt == "GZIP":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if fmt == "ZIP":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        return buf.getvalue()
    import cramjam

    if fmt == "Snappy":
        return bytes(cramjam.snappy.compress(data))
    if fmt == "HADOOP_SNAPPY":
        out = []
        for start in range(0, max(len(data), 1), 256 * 1024):
            block = data[start:start + 256 * 1024]
            packed = bytes(cramjam.snappy.compress_raw(block))
            out.append(struct.pack(">II", len(block), len(packed)) + packed)
        return b"".join(out)
    raise ValueError(f"unknown compression format {fmt!r}")


def decompress(data: bytes, fmt: str) -> bytes:
    """The inverse of :func:`compress` (tests and the CLI's ``cat``)."""
    if fmt == "UNCOMPRESSED":
        return data
    if fmt == "GZIP":
        return gzip.decompress(data)
    if fmt == "ZIP":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return b"".join(z.read(n) for n in z.namelist())
    import cramjam

    if fmt == "Snappy":
        return bytes(cramjam.snappy.decompress(data))
    out, pos = [], 0
    while pos < len(data):
        _, n = struct.unpack_from(">II", data, pos)
        out.append(bytes(cramjam.snappy.decompress_raw(data[pos + 8:pos + 8 + n])))
        pos += 8 + n
    return b"".join(out)
