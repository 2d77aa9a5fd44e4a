"""What a task attempt prints and logs, kept (bounded) for its container's logs.

``captured()`` tees ``sys.stdout``/``sys.stderr`` (what the task prints still goes where it
went before) and collects log records of the attempt's process while the attempt runs; the
texts become the attempt's ``stdout``, ``stderr`` and ``syslog`` container logs. Each is
kept up to ``LIMIT`` characters: the first half and the last half, with a line saying how
much was left out between them.
"""
from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from typing import Iterator

#: Characters kept per log type of one attempt.
LIMIT = 256 * 1024


class Bounded:
    """A text buffer that keeps the first and last ``limit // 2`` characters."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.half = max(1, limit // 2)
        self.head: list[str] = []
        self.head_len = 0
        self.tail = ""
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            room = self.half - self.head_len
            if room > 0:
                self.head.append(text[:room])
                self.head_len += min(room, len(text))
                text = text[room:]
            if text:
                tail = self.tail + text
                self.dropped += max(0, len(tail) - self.half)
                self.tail = tail[-self.half:]

    def text(self) -> str:
        with self._lock:
            gap = (f"\n... {self.dropped} characters left out ...\n" if self.dropped else "")
            return "".join(self.head) + gap + self.tail


class _Tee(io.TextIOBase):
    def __init__(self, real, buffer: Bounded) -> None:
        self.real, self.buffer = real, buffer

    def write(self, text: str) -> int:
        self.buffer.add(text)
        if self.real is not None:
            try:
                self.real.write(text)
            except (OSError, ValueError):
                pass
        return len(text)

    def flush(self) -> None:
        if self.real is not None:
            try:
                self.real.flush()
            except (OSError, ValueError):
                pass

    def isatty(self) -> bool:
        return False


class _Records(logging.Handler):
    def __init__(self, buffer: Bounded) -> None:
        super().__init__(logging.INFO)
        self.buffer = buffer
        self.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.buffer.add(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 -- logging must never fail the task
            pass


@contextlib.contextmanager
def captured() -> Iterator[dict[str, Bounded]]:
    """Collect stdout, stderr and log records while the block runs."""
    buffers = {"stdout": Bounded(), "stderr": Bounded(), "syslog": Bounded()}
    out, err = sys.stdout, sys.stderr
    handler = _Records(buffers["syslog"])
    root = logging.getLogger()
    sys.stdout, sys.stderr = _Tee(out, buffers["stdout"]), _Tee(err, buffers["stderr"])
    root.addHandler(handler)
    try:
        yield buffers
    finally:
        root.removeHandler(handler)
        sys.stdout, sys.stderr = out, err


def texts(buffers: dict[str, Bounded]) -> dict[str, str]:
    return {name: b.text() for name, b in buffers.items()}
