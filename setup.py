"""Build of the optional C helpers; everything else is in setup.cfg.

Two small extensions: map-side grouping for mrjob-style combiners
(``rayemr.mapreduce._grouping``) and splitting text blocks into lines for EMRFS's text reader
(``rayemr.fs._lines``). Both are optional: where no C compiler is available the install still
succeeds and rayemr runs the same steps in Python and numpy (``RAYEMR_PURE_PYTHON=1`` forces
that).
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("rayemr.mapreduce._grouping", ["rayemr/mapreduce/_grouping.c"], optional=True),
    Extension("rayemr.fs._lines", ["rayemr/fs/_lines.c"], optional=True),
])
