"""Grep: a map-only job printing the lines that match --pattern (a regular expression).

    python jobs/grep.py -r local --pattern 'sea|truth' rayemr/data/mapreduce/text -o /tmp/grep
"""
import re

from rayemr.mapreduce import MRJob, RawValueProtocol


class MRGrep(MRJob):
    OUTPUT_PROTOCOL = RawValueProtocol

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--pattern", required=True, help="regular expression")
        self.add_passthru_arg("-i", "--ignore-case", action="store_true")

    def mapper_init(self):
        self.regex = re.compile(self.options.pattern,
                                re.IGNORECASE if self.options.ignore_case else 0)

    def mapper(self, _, line):
        if self.regex.search(line):
            self.increment_counter("grep", "matching lines")
            yield None, line


if __name__ == "__main__":
    MRGrep.run()
