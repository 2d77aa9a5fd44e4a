"""Top-N words: a two-step job (count words, then pick the N most frequent).

    python jobs/topn.py -r local --n 5 rayemr/data/mapreduce/text -o /tmp/top
"""
import heapq
import re

from rayemr.mapreduce import MRJob, MRStep

WORD_RE = re.compile(r"[\w']+")


class MRTopWords(MRJob):
    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--n", type=int, default=10, help="how many words")

    def steps(self):
        return [
            MRStep(mapper=self.mapper_words, combiner=self.sum_counts,
                   reducer=self.reducer_counts),
            MRStep(reducer=self.reducer_top),
        ]

    def mapper_words(self, _, line):
        for word in WORD_RE.findall(line):
            yield word.lower(), 1

    def sum_counts(self, word, counts):
        yield word, sum(counts)

    def reducer_counts(self, word, counts):
        # every count goes to one key, so one reducer sees them all
        yield None, (sum(counts), word)

    def reducer_top(self, _, count_words):
        # ties broken by word, so the output is the same however the input was split
        top = heapq.nsmallest(self.options.n, count_words, key=lambda cw: (-cw[0], cw[1]))
        for rank, (count, word) in enumerate(top, 1):
            yield rank, [word, count]


if __name__ == "__main__":
    MRTopWords.run()
