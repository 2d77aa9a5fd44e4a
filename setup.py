"""Build of the optional C helpers; everything else is in setup.cfg.

Four small extensions: map-side grouping for mrjob-style combiners
(``rayemr.mapreduce._grouping``), splitting text blocks into lines for EMRFS's text reader
(``rayemr.fs._lines``), a Firehose put's per-record work -- checking a batch, framing it for
the write-ahead log, answering it (``rayemr.firehose._puts``, with zlib) -- and reading flat JSON
records straight into Arrow columns for Firehose's conversion (``rayemr.firehose._rows``; where
it does not apply, Arrow's JSON reader reads them). All are optional: where
no C compiler (or no zlib header) is available the install still succeeds and rayemr runs the
same steps in Python and numpy (``RAYEMR_PURE_PYTHON=1`` forces that).
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("rayemr.mapreduce._grouping", ["rayemr/mapreduce/_grouping.c"], optional=True),
    Extension("rayemr.fs._lines", ["rayemr/fs/_lines.c"], optional=True),
    Extension("rayemr.firehose._puts", ["rayemr/firehose/_puts.c"], libraries=["z"],
              optional=True),
    Extension("rayemr.firehose._rows", ["rayemr/firehose/_rows.c"], optional=True),
])
