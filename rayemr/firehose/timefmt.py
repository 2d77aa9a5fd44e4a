"""Java ``DateTimeFormatter`` patterns (the ones Firehose's ``!{timestamp:...}`` and the Hive
JSON SerDe's ``TimestampFormats`` take), compiled once and applied to UTC datetimes.

Supported letters: ``y`` (year; ``yy`` two digits), ``M`` (month; ``MMM``/``MMMM`` names),
``d``, ``D`` (day of year), ``H``, ``h``, ``m``, ``s``, ``S`` (fraction digits), ``a``,
``E`` (day name); quoted literals ``'...'`` (``''`` is a quote); every other non-letter is a
literal. Any other letter is refused when the pattern is compiled, naming the letter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class PatternError(ValueError):
    """A pattern uses something this formatter does not know."""


def _field(letter: str, n: int) -> tuple[Callable[[datetime], str], str]:
    """(formatter, strptime directive or '' when it cannot be parsed back)."""
    if letter == "y":
        if n == 2:
            return (lambda t: f"{t.year % 100:02d}"), "%y"
        return (lambda t: f"{t.year:0{max(n, 1)}d}"), "%Y"
    if letter == "M":
        if n >= 4:
            return (lambda t: _MONTHS[t.month - 1]), "%B"
        if n == 3:
            return (lambda t: _MONTHS[t.month - 1][:3]), "%b"
        return (lambda t: f"{t.month:0{n}d}"), "%m"
    simple = {"d": ("day", "%d"), "H": ("hour", "%H"), "m": ("minute", "%M"),
              "s": ("second", "%S")}
    if letter in simple:
        attr, directive = simple[letter]
        return (lambda t: f"{getattr(t, attr):0{n}d}"), directive
    if letter == "D":
        return (lambda t: f"{t.timetuple().tm_yday:0{n}d}"), "%j"
    if letter == "h":
        return (lambda t: f"{(t.hour % 12) or 12:0{n}d}"), "%I"
    if letter == "S":
        return (lambda t: f"{t.microsecond:06d}"[:n].ljust(n, "0")), "%f"
    if letter == "a":
        return (lambda t: "AM" if t.hour < 12 else "PM"), "%p"
    if letter == "E":
        if n >= 4:
            return (lambda t: _DAYS[t.weekday()]), "%A"
        return (lambda t: _DAYS[t.weekday()][:3]), "%a"
    raise PatternError(f"pattern letter {letter!r} is not supported")


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: ``format(epoch_seconds)`` in UTC, ``parse(text)``."""

    text: str
    parts: tuple[object, ...]
    strptime: str

    def format(self, epoch: float) -> str:
        t = datetime.fromtimestamp(epoch, tz=timezone.utc)
        return "".join(p if isinstance(p, str) else p(t) for p in self.parts)

    def parse(self, value: str) -> datetime:
        return datetime.strptime(value, self.strptime)


_RUN = re.compile(r"([A-Za-z])\1*")


def compile_pattern(text: str) -> Pattern:
    """Compile a Java DateTimeFormatter pattern; ``PatternError`` names what is wrong."""
    parts: list[object] = []
    directives: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "'":
            end = text.find("'", i + 1)
            if end == -1:
                raise PatternError(f"pattern {text!r}: unterminated quote")
            literal = text[i + 1:end] or "'"
            parts.append(literal)
            directives.append(literal.replace("%", "%%"))
            i = end + 1
            continue
        if c.isalpha():
            run = _RUN.match(text, i).group(0)
            fmt, directive = _field(c, len(run))
            parts.append(fmt)
            directives.append(directive)
            i += len(run)
            continue
        parts.append(c)
        directives.append(c.replace("%", "%%"))
        i += 1
    return Pattern(text, tuple(parts), "".join(directives))
