"""MRJob: mrjob's job API -- subclass, write generator methods, ``MyJob.run()``.

::

    class MRWordCount(MRJob):
        def mapper(self, _, line):
            for word in line.split():
                yield word.lower(), 1
        combiner = reducer = lambda self, word, counts: [(word, sum(counts))]

    if __name__ == "__main__":
        MRWordCount.run()   # python wc.py -r local input.txt -o out/

Names and semantics follow mrjob (``mapper``/``combiner``/``reducer`` with ``*_init`` and
``*_final``, ``steps()``, protocols, ``SORT_VALUES``, ``JOBCONF``, ``FILES``,
``increment_counter``, ``set_status``, ``configure_args``/``add_passthru_arg``,
``make_runner``/``parse_output``). rayemr additions: ``partition(key, num_reducers)`` (a
Python partitioner), ``SKIP_BAD_RECORDS``, ``OUTPUT_FORMAT = "text"|"parquet"``.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from typing import Any, Iterable, Iterator, Sequence

from rayemr.mapreduce.arguments import add_job_arguments
from rayemr.mapreduce.files import job_files
from rayemr.mapreduce.jobinfo import pick_protocols
from rayemr.mapreduce.protocol import JSONProtocol, TextValueProtocol, split_line
from rayemr.mapreduce.step import MRStep


class MRJob:
    """Base class of rayemr MapReduce jobs written in mrjob's style."""

    INPUT_PROTOCOL: type = TextValueProtocol
    INTERNAL_PROTOCOL: type = JSONProtocol
    OUTPUT_PROTOCOL: type = JSONProtocol
    SORT_VALUES: bool | None = None
    JOBCONF: dict[str, str] = {}
    FILES: Sequence[str] = ()
    #: Skip (and count) input records the input protocol cannot decode, instead of failing.
    SKIP_BAD_RECORDS: bool = False
    #: ``text`` (lines through OUTPUT_PROTOCOL, mrjob's default) or ``parquet``.
    OUTPUT_FORMAT: str = "text"

    def __init__(self, args: Sequence[str] | None = None) -> None:
        self._passthru: list[str] = []
        self._file_args: list[str] = []
        self.arg_parser = argparse.ArgumentParser(
            prog=type(self).__name__, usage="%(prog)s [options] INPUT... -o OUTPUT")
        self.configure_args()
        self._args = list(sys.argv[1:] if args is None else args)
        self.load_args(self._args)
        self._ctx = None  # the engine's TaskContext while a task runs

    # -- arguments ---------------------------------------------------------------------
    def configure_args(self) -> None:
        """Define arguments; override and call super() to add your own."""
        add_job_arguments(self.arg_parser)

    def add_passthru_arg(self, *args: Any, **kwargs: Any) -> None:
        """An argument the job's tasks see as ``self.options.<dest>``."""
        action = self.arg_parser.add_argument(*args, **kwargs)
        self._passthru.append(action.dest)

    def add_file_arg(self, *args: Any, **kwargs: Any) -> None:
        """An argument naming a local file shipped to every task's working directory."""
        action = self.arg_parser.add_argument(*args, **kwargs)
        self._file_args.append(action.dest)

    def pass_arg_through(self, opt_str: str) -> None:
        pass  # every option reaches the tasks: they rebuild the job from the same args

    def load_args(self, args: Sequence[str]) -> None:
        self.options = self.arg_parser.parse_args(list(args))

    # -- steps -------------------------------------------------------------------------
    def steps(self) -> list[MRStep]:
        """The job's steps; by default one step from the methods the class defines."""
        kwargs = {}
        for name in ("mapper", "mapper_init", "mapper_final", "combiner", "combiner_init",
                     "combiner_final", "reducer", "reducer_init", "reducer_final"):
            if getattr(type(self), name) is not getattr(MRJob, name):
                kwargs[name] = getattr(self, name)
        for name in ("mapper_cmd", "combiner_cmd", "reducer_cmd", "mapper_pre_filter",
                     "combiner_pre_filter", "reducer_pre_filter"):
            if getattr(type(self), name) is not getattr(MRJob, name):
                kwargs[name] = getattr(self, name)()
        return [MRStep(**kwargs)] if kwargs else []

    mapper = combiner = reducer = None  # type: ignore[assignment]
    mapper_init = mapper_final = combiner_init = combiner_final = None  # type: ignore
    reducer_init = reducer_final = None  # type: ignore[assignment]

    def mapper_cmd(self):  # pragma: no cover - overridden by jobs that use it
        return None

    combiner_cmd = reducer_cmd = mapper_pre_filter = mapper_cmd
    combiner_pre_filter = reducer_pre_filter = mapper_cmd

    def _steps_desc(self) -> list[dict[str, Any]]:
        steps = self.steps()
        if not steps:
            raise ValueError(f"{type(self).__name__} has no steps: define mapper/reducer "
                             "or steps()")
        return [s.description(i) for i, s in enumerate(steps)]

    def _get_step(self, step_num: int) -> MRStep:
        return self.steps()[step_num]

    # -- protocols ---------------------------------------------------------------------
    def input_protocol(self):
        return self.INPUT_PROTOCOL()

    def internal_protocol(self):
        return self.INTERNAL_PROTOCOL()

    def output_protocol(self):
        return self.OUTPUT_PROTOCOL()

    def _pick_protocol_instances(self, step_num: int, step_type: str):
        """(read, write) protocols of a script substep, chosen as mrjob chooses them."""
        return pick_protocols(self, step_num, step_type)

    def pick_protocols(self, step_num: int, step_type: str):
        r, w = self._pick_protocol_instances(step_num, step_type)
        return r.read, w.write

    # -- configuration -----------------------------------------------------------------
    def jobconf(self) -> dict[str, str]:
        return dict(self.JOBCONF)

    def sort_values(self) -> bool:
        return bool(self.SORT_VALUES)

    def partition(self, key: Any, num_reducers: int) -> int:
        """Override to choose each key's reducer (default: a hash of the encoded key)."""
        raise NotImplementedError

    def has_partitioner(self) -> bool:
        return type(self).partition is not MRJob.partition

    def files(self) -> list[str]:
        return job_files(self, self.FILES)

    # -- inside tasks ------------------------------------------------------------------
    def increment_counter(self, group: str, counter: str, amount: int = 1) -> None:
        if not isinstance(amount, int):
            raise TypeError(f"amount must be an integer, not {amount!r}")
        if self._ctx is not None:
            self._ctx.increment_counter(str(group).replace(",", ";"),
                                        str(counter).replace(",", ";"), amount)

    def set_status(self, msg: str) -> None:
        if self._ctx is not None:
            self._ctx.set_status(str(msg))

    def map_pairs(self, pairs: Iterable[tuple[Any, Any]], step_num: int = 0
                  ) -> Iterator[tuple[Any, Any]]:
        """mapper_init, mapper over every pair, mapper_final -- one map task's worth."""
        step = self._get_step(step_num)
        if step["mapper_init"]:
            yield from step["mapper_init"]() or ()
        mapper = step["mapper"]
        if mapper is None:
            yield from pairs
        else:
            for key, value in pairs:
                yield from mapper(key, value) or ()
        if step["mapper_final"]:
            yield from step["mapper_final"]() or ()

    def combine_pairs(self, pairs, step_num: int = 0):
        return self._combine_or_reduce_pairs(pairs, "combiner", step_num)

    def reduce_pairs(self, pairs, step_num: int = 0):
        return self._combine_or_reduce_pairs(pairs, "reducer", step_num)

    def _combine_or_reduce_pairs(self, pairs, part: str, step_num: int):
        step = self._get_step(step_num)
        fn = step[part]
        if step[f"{part}_init"]:
            yield from step[f"{part}_init"]() or ()
        if fn is not None:
            for key, group in itertools.groupby(pairs, lambda kv: kv[0]):
                yield from fn(key, (v for _, v in group)) or ()
        else:
            yield from pairs
        if step[f"{part}_final"]:
            yield from step[f"{part}_final"]() or ()

    # -- running -----------------------------------------------------------------------
    @classmethod
    def run(cls) -> None:
        """The command line: ``python job.py [-r inline|local|ray] INPUT... [-o OUTPUT]``."""
        from rayemr.mapreduce.submit import run_command_line

        sys.exit(run_command_line(cls(args=sys.argv[1:])))

    def make_runner(self):
        """A runner for this job (a context manager): ``runner.run()``, ``cat_output()``."""
        from rayemr.mapreduce.runner import JobRunner

        return JobRunner(self)

    def parse_output(self, chunks: Iterable[bytes]) -> Iterator[tuple[Any, Any]]:
        """Decode output chunks (``runner.cat_output()``) into ``(key, value)`` pairs."""
        read = self.output_protocol().read
        buf = b""
        for chunk in chunks:
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield read(line.rstrip(b"\r"))
        if buf:
            yield read(buf)

    @classmethod
    def mr_job_script(cls) -> str | None:
        import inspect

        try:
            return inspect.getsourcefile(cls)
        except TypeError:
            return None

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("arg_parser", None)  # holds local functions; tasks rebuild it
        state["_ctx"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


__all__ = ["MRJob", "MRStep", "split_line"]
