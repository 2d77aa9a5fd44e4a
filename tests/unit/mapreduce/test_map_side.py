"""The map side (mapper fused with grouping and the combiner) and the reduce side give
mrjob's own output on awkward jobs: keys of several types that compare equal (1, 1.0, True),
unhashable keys, tuples that come back as lists, non-generator mappers, *_init/*_final,
SORT_VALUES, user counters, and spills (a combiner run more than once per task) -- with the C
grouping helper and with its Python fallback."""
from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from rayemr.core import native
from rayemr.mapreduce.loading import load_job_file
from rayemr.mapreduce.runner import JobRunner

TRICKY = '''
from {base} import MRJob


class MRTricky(MRJob):
    SORT_VALUES = {sort_values}

    def mapper_init(self):
        self.lines = 0

    def mapper(self, _, line):
        words = line.split()
        self.lines += 1
        for w in words:
            yield w.lower(), 1
        if words:
            n = len(words)
            yield n, 1                       # int key ...
            yield float(n), 2                # ... an equal float key: another group
            yield n % 2 == 0, 1              # bool key (True == 1)
            yield [words[0][:1], n % 3], [1, words[-1]]   # unhashable key, list value
            yield (words[0][:1],), (1, n)    # tuple key and value: lists after the trip
            self.increment_counter("tricky", "lines with words")

    def mapper_final(self):
        yield "lines seen", self.lines

    def combiner_init(self):
        self.calls = 0

    def combiner(self, key, values):
        self.calls += 1
        yield key, sum(v if isinstance(v, int) else v[0] for v in values)

    def combiner_final(self):
        if False:
            yield

    def reducer(self, key, values):
        yield key, sum(v if isinstance(v, int) else v[0] for v in values)
'''

PLAIN = '''
from {base} import MRJob


class MRPlain(MRJob):
    SORT_VALUES = {sort_values}

    def mapper(self, _, line):
        # not a generator: a list, or None for blank lines
        words = line.split()
        if not words:
            return None
        return [(w[:2], len(w)) for w in words] + [(None, words[-1])]

    def reducer(self, key, values):
        yield key, list(values)
'''

SIZES = '''
from rayemr.mapreduce import MRJob


class MRSizes(MRJob):
    def mapper(self, _, line):
        for w in line.split():
            yield w, 1000 + len(w)

    def combiner(self, key, values):
        yield key, sum(values)

    reducer = combiner
'''

TEXT = ("The quick brown fox\n\njumps over the lazy dog\nthe end\n" * 7 +
        "1 2 3\nTrue true\n" * 3)


@pytest.fixture(autouse=True, params=["c", "python"])
def grouping(request, monkeypatch):
    """Every test runs with the C grouping helper and with the Python loop."""
    from rayemr.mapreduce import streams

    if request.param == "python":
        monkeypatch.setattr(streams, "_grouping_helper", lambda: None)
    elif streams._grouping_helper() is None:
        if native.built("rayemr.mapreduce._grouping") is None:  # fails when not built
            pytest.skip(native.PURE_REASON)
    return request.param


def _write(tmp_path, name, src):
    path = tmp_path / f"{name}.py"
    path.write_text(src)
    return str(path)


def _mrjob_lines(path, inp):
    mod_name = f"mrjob_ref_{os.path.basename(path)[:-3]}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod  # mrjob finds its script through the module
    spec.loader.exec_module(mod)
    from mrjob.job import MRJob as Base

    cls = next(c for c in vars(mod).values()
               if isinstance(c, type) and issubclass(c, Base) and c is not Base)
    job = cls(args=["-r", "inline", "--no-conf", inp])
    with job.make_runner() as r:
        r.run()
        return sorted(b"".join(r.cat_output()).splitlines())


def _rayemr(path, inp, out, reducers=2, conf=None):
    cls = load_job_file(path)
    with JobRunner(cls(args=[]), runner="inline", inputs=[inp], output_dir=out,
                   num_reducers=reducers, conf=conf) as r:
        r.run()
        return sorted(b"".join(r.cat_output()).splitlines()), r.counters()[0]


@pytest.mark.parametrize("sort_values", [False, True])
@pytest.mark.parametrize("src", [TRICKY, PLAIN], ids=["tricky", "plain"])
def test_same_output_as_mrjob(tmp_path, src, sort_values):
    inp = tmp_path / "in.txt"
    inp.write_text(TEXT)
    ours_src = src.format(base="rayemr.mapreduce", sort_values=sort_values)
    ref_src = src.format(base="mrjob.job", sort_values=sort_values)
    ref = _mrjob_lines(_write(tmp_path, "ref", ref_src), str(inp))
    # one reducer, as mrjob's inline runner: keys like 2 and 2.0 meet in one reduce task,
    # where mrjob's reducer (itertools.groupby on decoded keys) merges them
    ours, counters = _rayemr(_write(tmp_path, "ours", ours_src), str(inp),
                             str(tmp_path / "out"), reducers=1)
    assert ours == ref
    mr = counters["Map-Reduce Framework"]
    assert mr["Map input records"] == TEXT.count("\n")
    assert mr["Reduce output records"] == len(ref)
    if src is TRICKY:
        assert counters["tricky"]["lines with words"] == 27
        assert mr["Map output records"] == mr["Combine input records"]


def test_spills_run_the_combiner_per_spill(tmp_path, monkeypatch):
    """A tiny spill limit: the combiner runs on several spills of one task, output equal."""
    from rayemr.mapreduce import streams

    inp = tmp_path / "in.txt"
    inp.write_text(TEXT)
    path = _write(tmp_path, "ours", TRICKY.format(base="rayemr.mapreduce", sort_values=False))
    whole, c1 = _rayemr(path, str(inp), str(tmp_path / "o1"))
    monkeypatch.setattr(streams, "_GROUP_LIMIT", 5)
    spilled, c2 = _rayemr(path, str(inp), str(tmp_path / "o2"))
    assert spilled == whole
    m1, m2 = c1["Map-Reduce Framework"], c2["Map-Reduce Framework"]
    assert m1["Map output records"] == m2["Map output records"] == m2["Combine input records"]
    assert m2["Combine output records"] > m1["Combine output records"]
    assert m1["Reduce input groups"] == m2["Reduce input groups"]


def test_spill_size_from_the_job_configuration(tmp_path):
    """``mapreduce.task.io.sort.mb`` bounds the memory grouped before a combiner pass."""
    from rayemr.core.errors import UserError

    words = [f"w{i % 997}" for i in range(150_000)]
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(" ".join(words[i:i + 10]) for i in range(0, len(words), 10)))
    # values that are new objects each time (ints above the cached small ones): the grouping
    # cannot keep them as a count of one repeated value, so they take memory
    path = _write(tmp_path, "ours", SIZES)
    big, c1 = _rayemr(path, str(inp), str(tmp_path / "o1"))
    small, c2 = _rayemr(path, str(inp), str(tmp_path / "o2"),
                        conf={"mapreduce.task.io.sort.mb": "1"})
    assert small == big
    m1, m2 = c1["Map-Reduce Framework"], c2["Map-Reduce Framework"]
    assert m1["Combine input records"] == m2["Combine input records"] == 150_000
    assert m2["Combine output records"] > m1["Combine output records"]
    with pytest.raises(UserError, match="io.sort.mb"):
        _rayemr(path, str(inp), str(tmp_path / "o3"), conf={"mapreduce.task.io.sort.mb": "x"})
