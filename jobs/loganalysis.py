"""Apache access-log analysis: hits and bytes served per status code and per hour.

    python jobs/loganalysis.py -r local rayemr/data/mapreduce/access.log -o /tmp/logs
"""
import re
from datetime import datetime

from rayemr.mapreduce import MRJob

LOG_RE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(?:\S+) (\S+)[^"]*" (\d{3}) (\d+|-)')


class MRLogAnalysis(MRJob):
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


if __name__ == "__main__":
    MRLogAnalysis.run()
