"""`rayemr ... --help`: every command and option explained, in plain text."""
from __future__ import annotations

import argparse

import pytest

from rayemr.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


def _subcommand_help(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            return {name: helps.get(name) for name in action.choices}
    return {}


PARSERS = list(_walk(build_parser()))


@pytest.mark.parametrize("path,parser", PARSERS, ids=[" ".join(p) or "rayemr"
                                                      for p, _ in PARSERS])
def test_every_option_and_subcommand_has_help(path, parser):
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
               if not isinstance(a, argparse._SubParsersAction) and a.help is None
               and a.dest != "help"]
    assert missing == [], f"rayemr {' '.join(path)}: no help for {missing}"
    undocumented = [n for n, h in _subcommand_help(parser).items() if not h]
    assert undocumented == [], f"rayemr {' '.join(path)}: no help for {undocumented}"


@pytest.mark.parametrize("path,parser", PARSERS, ids=[" ".join(p) or "rayemr"
                                                      for p, _ in PARSERS])
def test_help_is_plain_text(path, parser):
    text = parser.format_help()
    assert "``" not in text and "`" not in text, f"rayemr {' '.join(path)}"


def test_emr_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["emr", "--help"])
    out = capsys.readouterr().out
    (emr,) = [p for path, p in PARSERS if path == ("emr",)]
    for name in _subcommand_help(emr):
        assert f"    {name}" in out, name


def test_mr_without_arguments_says_what_to_give(capsys):
    assert main(["mr"]) == 2
    err = capsys.readouterr().err
    assert "rest" not in err and "jobfile" not in err
    assert "JOBFILE" in err and err.count("\n") <= 3
