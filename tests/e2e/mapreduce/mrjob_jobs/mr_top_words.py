"""An mrjob job: two steps, combiner, passthrough option, counters."""
import re

from mrjob.job import MRJob
from mrjob.step import MRStep

WORD_RE = re.compile(r"[\w']+")


class MRTopWords(MRJob):
    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--min-count", type=int, default=2)

    def steps(self):
        return [MRStep(mapper=self.mapper_get_words, combiner=self.combiner_count,
                       reducer=self.reducer_count),
                MRStep(reducer=self.reducer_sorted)]

    def mapper_get_words(self, _, line):
        for word in WORD_RE.findall(line):
            self.increment_counter("words", "seen")
            yield word.lower(), 1

    def combiner_count(self, word, counts):
        yield word, sum(counts)

    def reducer_count(self, word, counts):
        n = sum(counts)
        if n >= self.options.min_count:
            yield None, (n, word)

    def reducer_sorted(self, _, pairs):
        for n, word in sorted(pairs, key=lambda p: (-p[0], p[1])):
            yield word, n


if __name__ == "__main__":
    MRTopWords.run()
