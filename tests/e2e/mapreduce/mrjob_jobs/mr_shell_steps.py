"""An mrjob job: a mapper pre-filter and a reducer command (shell steps), FILES."""
from mrjob.job import MRJob
from mrjob.step import MRStep


class MRShellSteps(MRJob):
    FILES = ["stopwords.txt"]

    def steps(self):
        return [MRStep(mapper_pre_filter="grep -v '^#'", mapper_init=self.load_stopwords,
                       mapper=self.mapper, reducer=self.reducer),
                MRStep(mapper_cmd="cat", reducer_cmd="uniq -c")]

    def load_stopwords(self):
        with open("stopwords.txt") as f:
            self.stop = set(f.read().split())

    def mapper(self, _, line):
        for word in line.lower().split():
            word = word.strip(".,;")
            if word and word not in self.stop:
                yield word, 1

    def reducer(self, word, counts):
        yield word, sum(counts)


if __name__ == "__main__":
    MRShellSteps.run()
