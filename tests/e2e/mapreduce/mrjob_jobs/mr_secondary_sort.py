"""An mrjob job: SORT_VALUES, pickle internal protocol, tuple keys, *_init/*_final."""
from mrjob.job import MRJob
from mrjob.protocol import PickleProtocol


class MRLettersByLength(MRJob):
    SORT_VALUES = True
    INTERNAL_PROTOCOL = PickleProtocol

    def mapper_init(self):
        self.lines = 0

    def mapper(self, _, line):
        self.lines += 1
        for word in line.split():
            yield (len(word), word[0].lower()), word.lower()

    def mapper_final(self):
        yield ("lines",), self.lines

    def reducer_init(self):
        self.groups = 0

    def reducer(self, key, values):
        self.groups += 1
        values = list(values)
        if key == ("lines",):
            yield "lines", sum(values)
        else:
            yield list(key), values

    def reducer_final(self):
        self.increment_counter("reducer", "groups", self.groups)


if __name__ == "__main__":
    MRLettersByLength.run()
