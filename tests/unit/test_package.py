"""The package itself: version, console command, error tree (layering: test_imports.py)."""
from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import rayemr
from rayemr.cli import main
from rayemr.core import errors


def test_version_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"rayemr {rayemr.__version__}"


def test_console_script_installed():
    exe = Path(sys.executable).parent / "rayemr"
    out = subprocess.run([str(exe), "--version"],
                         capture_output=True, text=True, check=True)
    assert rayemr.__version__ in out.stdout


@pytest.mark.parametrize("cls", [errors.UserError, errors.ConfigError, errors.ClusterError,
                                 errors.InputNotFoundError, errors.OutputExistsError])
def test_errors_pickle_with_hint(cls):
    err = cls("table t not found", hint="run SHOW TABLES")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and str(back) == str(err) and back.hint == "run SHOW TABLES"


def test_invalid_transition_pickles_and_names_both_states():
    err = errors.InvalidStateTransition("application", "application_1_0001", "RUNNING", "NEW",
                                        "submit")
    back = pickle.loads(pickle.dumps(err))
    assert "RUNNING" in str(back) and "NEW" in str(back) and "application_1_0001" in str(back)
