"""Build of the optional C helper; everything else is in setup.cfg.

The extension speeds up map-side grouping for mrjob-style combiners. It is optional: where
no C compiler is available the install still succeeds and rayemr uses the same loop in
Python (``rayemr.mapreduce.streams``).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("rayemr.mapreduce._grouping", ["rayemr/mapreduce/_grouping.c"],
                             optional=True)])
