"""The word count and sort engines ``bench/mapreduce.py`` runs, each the best correct way we
know to do the same work on that engine.

Word count: read the text file, split lines into words, count each word, and write every
(word, count) pair to an output folder (what a MapReduce job does: the output is committed
files). The answers are read back afterwards, untimed, and compared across engines
(``read_counts``). The text is single-space separated words (``generate_text``), so splitting
on one space is exact; rayemr's ``BatchJob`` splits with Arrow's ``ascii_split_whitespace``
(runs of any ASCII whitespace), whose exact equivalent in DuckDB is
``string_split_regex(line, '\\s+')``: both forms are reported.

Sort (TeraSort's work): 100-byte gensort records (10-byte key, CR LF at the end) in, the same
records ordered by key out; every output is checked by ``teravalidate`` (global key order,
and the input's record count and checksum). TeraGen's records are gensort's ASCII form (a
printable key, hex row id, letters), so each is one CR LF line holding no byte 0x01: DuckDB
and Polars read them as one-column CSV split on that byte, quoting and escaping off.

DuckDB's string literals take no backslash escapes: ``delim='\\x01'`` in SQL is the
four-character delimiter backslash-x-0-1, which a printable key can hold (about one record
in 12 million: the sort failed at 1 GiB), so the SQL below holds the byte itself
(``SEP``).
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

MB = 1 << 20

WC_JOB = '''
from rayemr.mapreduce import MRJob


class MRWordCount(MRJob):
    def mapper(self, _, line):
        for word in line.split():
            yield word, 1

    def combiner(self, word, counts):
        yield word, sum(counts)

    def reducer(self, word, counts):
        yield word, sum(counts)
'''

VEC_JOB = '''
import pyarrow as pa
import pyarrow.compute as pc
from rayemr.mapreduce import BatchJob


class WordCountVectorized(BatchJob):
    REDUCE = {"n": "count"}

    def map_batch(self, batch):
        words = pc.ascii_split_whitespace(batch["line"]).flatten()
        return pa.table({"key": words})
'''

#: The field separator of one-column reads and writes: a byte no input line holds.
SEP = "\x01"
DUCKDB_LINES = ("read_csv('{path}', columns={{'line': 'VARCHAR'}}, delim='" + SEP + "', "
                "header=false, quote='', escape='', auto_detect=false{options})")


# -- reading answers back ----------------------------------------------------------------------
def read_counts(folder: str) -> dict[str, int]:
    """Every ``word<TAB>count`` line of the files in ``folder`` (a JSON-quoted word, as
    MRJob's default protocol writes it, is decoded)."""
    counts: dict[str, int] = {}
    for name in sorted(os.listdir(folder)):
        if name.startswith(("_", ".")) or name.endswith(".crc"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for line in f:
                word, _, n = line.rstrip("\r\n").rpartition("\t")
                if word.startswith('"'):
                    word = json.loads(word)
                counts[word] = counts.get(word, 0) + int(n)
    return counts


def _write_counts(counter: dict, out: str) -> None:
    os.makedirs(out)
    with open(os.path.join(out, "part-00000"), "w", encoding="utf-8") as f:
        f.writelines(f"{w}\t{n}\n" for w, n in counter.items())


# -- word count --------------------------------------------------------------------------------
def counter_bytes(path: str, out: str) -> None:
    c: collections.Counter = collections.Counter()
    with open(path, "rb") as f:
        for line in f:
            c.update(line.split())
    _write_counts({w.decode(): n for w, n in c.items()}, out)


def counter_str(path: str, out: str) -> None:
    c: collections.Counter = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            c.update(line.split())
    _write_counts(c, out)


def load_job(src: str, folder: str, name: str):
    from rayemr.mapreduce.loading import load_job_file

    path = os.path.join(folder, f"{name}.py")
    with open(path, "w") as f:
        f.write(src)
    return load_job_file(path)


def ray_c_helpers() -> dict[str, bool]:
    """Which of rayemr's C extensions a Ray worker loads (the tasks run there)."""
    import ray

    from common import C_HELPERS

    def check(helpers: dict[str, str]) -> dict[str, bool]:
        from rayemr.core.native import optional

        return {mod: optional(mod, name) is not None for mod, name in helpers.items()}

    return ray.get(ray.remote(num_cpus=0)(check).remote(C_HELPERS))


def rayemr_job(job_cls, split_mb: int, reducers: int = 2, yarn: bool = True
               ) -> Callable[[str, str], None]:
    def run(path: str, out: str) -> None:
        from rayemr.mapreduce.runner import JobRunner

        conf = {"mapreduce.input.fileinputformat.split.maxsize": str(split_mb * MB)}
        if not yarn:
            conf["rayemr.mapreduce.yarn"] = "false"
        with JobRunner(job_cls(args=[]), runner="local", inputs=[path], output_dir=out,
                       num_reducers=reducers, conf=conf) as r:
            r.run()
    return run


def duckdb_wordcount(split: str, threads: int) -> Callable[[str, str], None]:
    """``split``: ``string_split`` (one space) or ``regex`` (``\\s+``, as
    ``ascii_split_whitespace``)."""
    words = ("unnest(string_split(line, ' '))" if split == "string_split"
             else "unnest(string_split_regex(line, '\\s+'))")

    def run(path: str, out: str) -> None:
        import duckdb

        con = duckdb.connect(config={"threads": threads})
        os.makedirs(out)
        con.execute(f"COPY (SELECT w, count(*) FROM (SELECT {words} AS w FROM "
                    f"{DUCKDB_LINES.format(path=path, options='')}) GROUP BY w) TO "
                    f"'{out}/part-00000' (FORMAT csv, HEADER false, DELIMITER '\\t', QUOTE '')")
        con.close()
    return run


def polars_wordcount(split: str) -> Callable[[str, str], None]:
    """``split``: ``split`` (one space) or ``regex`` (``\\S+`` matches, any whitespace)."""
    def run(path: str, out: str) -> None:
        import polars as pl

        line = pl.col("line")
        words = line.str.split(" ") if split == "split" else line.str.extract_all(r"\S+")
        os.makedirs(out)
        (pl.scan_csv(path, has_header=False, separator=SEP, quote_char=None,
                     schema={"line": pl.String})
         .select(words.explode().alias("w")).group_by("w").len()
         .sink_csv(f"{out}/part-00000", include_header=False, separator="\t",
                   quote_style="never", engine="streaming"))
    return run


def spark_session(cpus: int):
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{cpus}]").appName("bench")
             .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_rdd(spark) -> Callable[[str, str], None]:
    def run(path: str, out: str) -> None:
        from operator import add

        (spark.sparkContext.textFile(path).flatMap(lambda line: line.split())
         .map(lambda w: (w, 1)).reduceByKey(add).map(lambda kv: f"{kv[0]}\t{kv[1]}")
         .saveAsTextFile(out))
    return run


def spark_df(spark) -> Callable[[str, str], None]:
    def run(path: str, out: str) -> None:
        from pyspark.sql import functions as F

        df = spark.read.text(path)
        (df.select(F.explode(F.split(df.value, " ")).alias("w")).groupBy("w").count()
         .write.option("sep", "\t").csv(out))
    return run


def mrjob_local(path: str, out: str, folder: str) -> None:
    """mrjob's own local runner (subprocesses, 2 cores), output written to ``out``."""
    job = os.path.join(folder, "mrjob_wc.py")
    with open(job, "w") as f:
        f.write(WC_JOB.replace("from rayemr.mapreduce import MRJob", "from mrjob.job import MRJob")
                + "\nif __name__ == '__main__':\n    MRWordCount.run()\n")
    proc = subprocess.run([sys.executable, job, "-r", "local", path, "--num-cores", "2",
                           "--output-dir", out, "--no-output"], capture_output=True,
                          timeout=3600)
    if proc.returncode:
        raise RuntimeError(proc.stderr.decode()[-2000:])


# -- sort --------------------------------------------------------------------------------------
def rayemr_terasort(split_mb: int, reducers: int = 4) -> Callable[[str, str], None]:
    def run(src: str, out: str) -> None:
        from rayemr.mapreduce.tera import terasort

        terasort(src, out, num_reducers=reducers, split_size=split_mb * MB)
    return run


def duckdb_sort(threads: int) -> Callable[[str, str], None]:
    def run(src: str, out: str) -> None:
        import duckdb

        con = duckdb.connect(config={"threads": threads})
        os.makedirs(out)
        records = DUCKDB_LINES.format(path=src + "/part-*", options=", new_line='\\r\\n'")
        con.execute(f"COPY (SELECT line FROM {records} ORDER BY substr(line, 1, 10)) TO "
                    f"'{out}/part-00000' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
                    f"DELIMITER '{SEP}', NEW_LINE '\\r\\n')")
        con.close()
    return run


def polars_sort(src: str, out: str) -> None:
    import polars as pl

    os.makedirs(out)
    (pl.scan_csv(f"{src}/part-*", has_header=False, separator=SEP, quote_char=None,
                 schema={"line": pl.String})
     .sort(pl.col("line").str.slice(0, 10))
     .sink_csv(f"{out}/part-00000", include_header=False, separator=SEP,
               quote_style="never", line_terminator="\r\n", engine="streaming"))


def clean(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


def data_files(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(("_", ".")))
