"""Word count, mrjob style.

    python jobs/wordcount.py -r local rayemr/data/mapreduce/text -o /tmp/wc
    rayemr mr jobs/wordcount.py rayemr/data/mapreduce/text -o /tmp/wc
"""
import re

from rayemr.mapreduce import MRJob

WORD_RE = re.compile(r"[\w']+")


class MRWordCount(MRJob):
    def mapper(self, _, line):
        for word in WORD_RE.findall(line):
            yield word.lower(), 1

    def combiner(self, word, counts):
        yield word, sum(counts)

    def reducer(self, word, counts):
        yield word, sum(counts)


if __name__ == "__main__":
    MRWordCount.run()
