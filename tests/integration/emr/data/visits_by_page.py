"""Count visits and sum seconds per page over Hive text-table files (\\x01-separated)."""
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.protocol import TextProtocol


class VisitsByPage(MRJob):
    OUTPUT_PROTOCOL = TextProtocol

    def mapper(self, _, line):
        user, page, seconds = line.split("\x01")
        yield page, int(seconds)

    def combiner(self, page, seconds):
        yield page, sum(seconds)

    def reducer(self, page, seconds):
        yield page, str(sum(seconds))


if __name__ == "__main__":
    VisitsByPage.run()
