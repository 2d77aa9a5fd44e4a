from __future__ import annotations

import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
JOBS = os.path.join(ROOT, "jobs")
DATA = os.path.join(ROOT, "rayemr", "data", "mapreduce")


@pytest.fixture
def jobs_dir():
    return JOBS


@pytest.fixture
def data_dir():
    return DATA
