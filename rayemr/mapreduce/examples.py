"""The example jobs ``rayemr demo`` runs (the same code as ``jobs/wordcount.py`` and
``jobs/loganalysis.py``), and where their bundled input lives."""
from __future__ import annotations

import os
import re
from datetime import datetime

from rayemr.mapreduce.job import MRJob

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "mapreduce")
TEXT_DIR = os.path.join(DATA_DIR, "text")
ACCESS_LOG = os.path.join(DATA_DIR, "access.log")

WORD_RE = re.compile(r"[\w']+")


class MRWordCount(MRJob):
    """Count words (lower-cased) in text."""

    def mapper(self, _, line):
        for word in WORD_RE.findall(line):
            yield word.lower(), 1

    def combiner(self, word, counts):
        yield word, sum(counts)

    def reducer(self, word, counts):
        yield word, sum(counts)


LOG_RE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(?:\S+) (\S+)[^"]*" (\d{3}) (\d+|-)')


class MRLogAnalysis(MRJob):
    """Apache access logs: hits and bytes per status code and per hour."""

    def mapper(self, _, line):
        m = LOG_RE.match(line)
        if m is None:
            self.increment_counter("log", "unparsed lines")
            return
        _, ts, _, status, size = m.groups()
        hour = datetime.strptime(ts.split()[0], "%d/%b/%Y:%H:%M:%S").strftime("%Y-%m-%d %H:00")
        nbytes = 0 if size == "-" else int(size)
        yield ["status", status], [1, nbytes]
        yield ["hour", hour], [1, nbytes]

    def combiner(self, key, values):
        hits = nbytes = 0
        for h, b in values:
            hits += h
            nbytes += b
        yield key, [hits, nbytes]

    reducer = combiner
