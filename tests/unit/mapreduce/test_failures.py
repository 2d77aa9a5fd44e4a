"""Failures, retries, counters and malformed input, on the inline runner (no Ray)."""
from __future__ import annotations

import json
import os

import pytest

from rayemr.engine import TaskFailedError
from rayemr.mapreduce import JSONValueProtocol, MalformedRecordError, MRJob, \
    StrictTextValueProtocol
from rayemr.mapreduce.runner import JobRunner


class BoomJob(MRJob):
    def mapper(self, _, line):
        if line == "boom":
            raise ValueError("cannot map this record")
        yield line, 1

    def reducer(self, key, counts):
        yield key, sum(counts)


class JsonJob(MRJob):
    INPUT_PROTOCOL = JSONValueProtocol

    def mapper(self, _, record):
        yield record["k"], record["n"]

    def reducer(self, key, values):
        yield key, sum(values)


class StrictJob(MRJob):
    INPUT_PROTOCOL = StrictTextValueProtocol

    def mapper(self, _, line):
        yield "lines", 1

    def reducer(self, key, values):
        yield key, sum(values)


def _inputs(tmp_path, files: dict[str, bytes]) -> str:
    d = tmp_path / "in"
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    return str(d)


def test_mapper_raising_fails_job_naming_split_and_commits_nothing(tmp_path):
    src = _inputs(tmp_path, {"a.txt": b"x\ny\n", "b.txt": b"z\nboom\nw\n"})
    out = tmp_path / "out"
    runner = JobRunner(BoomJob(args=[]), inputs=[src], output_dir=str(out), max_attempts=3)
    with pytest.raises(TaskFailedError) as info:
        runner.run()
    err = info.value
    assert "b.txt:0+" in str(err) and "Stage-1-00001" in str(err)
    assert "ValueError: cannot map this record" in str(err)
    assert "raise ValueError" in err.user_traceback  # the user's own traceback line
    assert err.counters["Job Counters"]["Failed map task attempts"] == 3
    assert not out.exists()  # the job created the folder and committed nothing: removed


def test_retry_succeeds_after_transient_failure(tmp_path):
    flag = tmp_path / "failed-once"

    class Flaky(MRJob):
        def mapper(self, _, line):
            if not os.path.exists(str(flag)):
                open(str(flag), "w").close()
                raise RuntimeError("transient")
            yield line, 1

        def reducer(self, key, counts):
            yield key, sum(counts)

    src = _inputs(tmp_path, {"a.txt": b"p\nq\np\n"})
    with JobRunner(Flaky(args=[]), inputs=[src], output_dir=str(tmp_path / "o")) as r:
        r.run()
        rows = sorted(Flaky(args=[]).parse_output(r.cat_output()))
        counters = r.counters()[0]
    assert rows == [("p", 2), ("q", 1)]
    assert counters["Job Counters"]["Failed map task attempts"] == 1
    assert counters["Job Counters"]["Launched map tasks"] == 2


def test_counters_are_hadoops_and_users(tmp_path):
    src = _inputs(tmp_path, {"a.txt": b"a b\nb c\n"})

    class WC(MRJob):
        def mapper(self, _, line):
            for w in line.split():
                self.increment_counter("user", "words")
                yield w, 1

        def combiner(self, w, c):
            yield w, sum(c)

        def reducer(self, w, c):
            yield w, sum(c)

    with JobRunner(WC(args=[]), inputs=[src], output_dir=str(tmp_path / "o"),
                   num_reducers=2) as r:
        r.run()
        c = r.counters()[0]
    mr = c["Map-Reduce Framework"]
    assert mr["Map input records"] == 2 and mr["Map output records"] == 4
    assert mr["Combine input records"] == 4 and mr["Combine output records"] == 3
    assert mr["Reduce input records"] == 3 and mr["Reduce input groups"] == 3
    assert mr["Reduce output records"] == 3
    assert c["user"]["words"] == 4
    assert c["File System Counters"]["Bytes read"] == 8
    assert c["File System Counters"]["Bytes written"] == len(b'"a"\t1\n"b"\t2\n"c"\t1\n')
    assert c["Job Counters"] == {"Launched map tasks": 1, "Launched reduce tasks": 2}


def test_bad_json_names_file_and_offset(tmp_path):
    good = json.dumps({"k": "a", "n": 1}).encode()
    src = _inputs(tmp_path, {"r.jsonl": good + b"\n" + b"{not json\n" + good + b"\n"})
    with pytest.raises(MalformedRecordError) as info:
        JobRunner(JsonJob(args=[]), inputs=[src], output_dir=str(tmp_path / "o")).run()
    msg = str(info.value)
    assert "r.jsonl" in msg and f"byte offset {len(good) + 1}" in msg
    assert not (tmp_path / "o" / "_SUCCESS").exists()


def test_bad_records_skipped_and_counted(tmp_path):
    good = json.dumps({"k": "a", "n": 2}).encode()
    src = _inputs(tmp_path, {"r.jsonl": good + b"\n{oops\n\xff\xfe\n" + good + b"\n"})
    with JobRunner(JsonJob(args=["--skip-bad-records"]), inputs=[src],
                   output_dir=str(tmp_path / "o")) as r:
        r.run()
        rows = list(JsonJob(args=[]).parse_output(r.cat_output()))
        assert rows == [("a", 4)]
        assert r.counters()[0]["Map-Reduce Framework"]["Map skipped records"] == 2


def test_undecodable_bytes_in_strict_text(tmp_path):
    src = _inputs(tmp_path, {"t.txt": b"fine\nbad \xff byte\n"})
    with pytest.raises(MalformedRecordError, match=r"t.txt: malformed record at byte offset 5"):
        JobRunner(StrictJob(args=[]), inputs=[src], output_dir=str(tmp_path / "o")).run()


def test_missing_input_is_a_user_error(tmp_path):
    from rayemr.core.errors import UserError

    with pytest.raises(UserError):
        JobRunner(BoomJob(args=[]), inputs=[str(tmp_path / "nope")],
                  output_dir=str(tmp_path / "o")).run()
