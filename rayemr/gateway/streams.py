"""Text and byte streams that send what is written to a gateway client as frames."""
from __future__ import annotations

import io
import socket
import threading

from rayemr.client import protocol


class FrameWriter(io.RawIOBase):
    """Bytes written here reach the client's stdout (``O``) or stderr (``E``)."""

    def __init__(self, sock: socket.socket, kind: bytes, lock: threading.Lock,
                 tty: bool = False) -> None:
        super().__init__()
        self.sock, self.kind, self.lock, self.tty = sock, kind, lock, tty

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        """Whether the client's stream is a terminal."""
        return self.tty

    def write(self, data) -> int:
        data = bytes(data)
        for start in range(0, len(data), 1 << 20):
            with self.lock:
                protocol.send(self.sock, self.kind, data[start:start + (1 << 20)])
        return len(data)


def text_stream(sock: socket.socket, kind: bytes, lock: threading.Lock,
                tty: bool = False) -> io.TextIOWrapper:
    """A line-buffered text stream over a ``FrameWriter`` (``.buffer`` takes bytes);
    ``isatty()`` is the client's."""
    raw = FrameWriter(sock, kind, lock, tty)
    return io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding="utf-8",
                            errors="replace", line_buffering=True, write_through=True)
