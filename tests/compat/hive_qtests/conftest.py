"""The qtest runner sits next to its tests (it is also a command: runner.py --hive DIR)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
