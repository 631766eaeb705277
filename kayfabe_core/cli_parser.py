"""The command line's argument parser: argparse, with its errors said like every other error."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, with its errors said as every other error of the command line: one message, what to do, exit 1
    (argparse prints the whole usage block and exits 2). Sub-parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"Error: {plain_option_error(message)}.\nWhat to do: See the options with "
                     f"`{self.prog} --help`.\n")


def plain_option_error(message: str) -> str:
    """argparse's message in plain words ("invalid float value: 'abc'" -> "expected a number, not 'abc'")."""
    for kind, words in (("float", "a number"), ("int", "a whole number")):
        message = message.replace(f"invalid {kind} value: ", f"expected {words}, not ")
    return message[:1].upper() + message[1:]


def only_with(parser: argparse.ArgumentParser, group: str, options: Sequence[argparse.Action]) -> None:
    """Remember ``options`` as the group ``group`` of ``parser``: options that go only with some way of running
    the verb, named by :func:`given_options` when given to another way."""
    parser.set_defaults(**{group: list(options)})


def given_options(args: argparse.Namespace, group: str) -> list[str]:
    """Return the options of ``group`` (see :func:`only_with`) given on this command line, as typed (``--spot``
    or ``--no-spot`` for an on/off option)."""
    given = []
    for option in getattr(args, group, []):
        value = getattr(args, option.dest, option.default)
        if value == option.default:
            continue
        flags = option.option_strings
        negative = isinstance(option, argparse.BooleanOptionalAction) and value is False
        given.append(next((flag for flag in flags if flag.startswith("--no-")), flags[-1]) if negative else flags[0])
    return given
