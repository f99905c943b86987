"""The README's option names against the command line's ``--help``, so that they cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from validation.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
COMMAND_NAMES = [*COMMANDS, "all"]
# `sliced-bench CMD ...` inside one code span (a table cell, an inline example)
_SPAN = re.compile(r"`sliced-bench (\w+)([^`]*)`")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# a command of another program (torchrun's launcher options are torchrun's, not ours): from
# the program's name to the end of its code span or line
_OTHER_PROGRAM = re.compile(r"(?:^|(?<=`))(?:\S*/)?torchrun\b[^`\n]*", re.M)


def help_options(capsys) -> dict[str, set[str]]:
    """Every command's options, as its ``--help`` prints them."""
    options = {}
    for name in COMMAND_NAMES:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        options[name] = set(_OPTION.findall(capsys.readouterr().out))
    return options


def unknown_options(text: str, options: dict[str, set[str]]) -> list[str]:
    """Options in ``text`` that no command has, and options in a `sliced-bench CMD ...` span
    that CMD's --help does not list (or an unknown CMD)."""
    known = set().union(*options.values())
    text = _OTHER_PROGRAM.sub("", text)
    bad = [f"{o} (no command has it)" for o in _OPTION.findall(text) if o not in known]
    for command, rest in _SPAN.findall(text):
        if command not in options:
            bad.append(f"sliced-bench {command} (no such command)")
            continue
        bad += [f"{o} (not in sliced-bench {command} --help)" for o in _OPTION.findall(rest)
                if o not in options[command]]
    return bad


def test_every_option_the_readme_names_is_in_the_help(capsys):
    options = help_options(capsys)
    readme = (ROOT / "README.md").read_text()
    assert unknown_options(readme, options) == []
    # the README shows every command, and each of rae's options (--trials among them)
    assert {c for c, _ in _SPAN.findall(readme)} == set(COMMAND_NAMES)
    assert options["rae"] - {"--help"} <= set(_OPTION.findall(readme))


def test_the_check_catches_an_option_that_does_not_exist(capsys):
    # mutation: a renamed option, one moved to the wrong command, an unknown command
    options = help_options(capsys)
    text = ("`sliced-bench rae --trails 4` and `sliced-bench curves --data digits`, "
            "`sliced-bench plot --out x`")
    assert unknown_options(text, options) == [
        "--trails (no command has it)", "--trails (not in sliced-bench rae --help)",
        "--data (not in sliced-bench curves --help)", "sliced-bench plot (no such command)"]
    # another program's options are its own, but ours still count after its span
    text = "`torchrun --nproc-per-node 2 scripts/x.py` then `sliced-bench rae --trails 4`"
    assert unknown_options(text, options) == [
        "--trails (no command has it)", "--trails (not in sliced-bench rae --help)"]
