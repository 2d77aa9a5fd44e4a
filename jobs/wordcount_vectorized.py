"""Word count, vectorized: Arrow compute kernels split and count, no Python per word.

    python jobs/wordcount_vectorized.py -r local rayemr/data/mapreduce/text -o /tmp/wcv
"""
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.mapreduce import BatchJob


class WordCountVectorized(BatchJob):
    KEYS = ("word",)
    REDUCE = {"count": "count"}

    def map_batch(self, batch):
        # words = runs of letters, digits, underscores and apostrophes, lower-cased
        text = pc.utf8_lower(batch["line"])
        text = pc.replace_substring_regex(text, r"[^\w']+", " ")
        words = pc.utf8_split_whitespace(text).flatten()
        return pa.table({"word": words.filter(pc.not_equal(words, ""))})


if __name__ == "__main__":
    WordCountVectorized.run()
