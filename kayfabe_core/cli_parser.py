"""The command line's argument parser: argparse, with its errors said like every other error."""

from __future__ import annotations

import argparse
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, with its errors said as every other error of the command line: one message, what to do, exit 1
    (argparse prints the whole usage block and exits 2). Sub-parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"Error: {plain_option_error(message)}.\nWhat to do: see the options with "
                     f"`{self.prog} --help`.\n")


def plain_option_error(message: str) -> str:
    """argparse's message in plain words ("invalid float value: 'abc'" -> "expected a number, not 'abc'")."""
    for kind, words in (("float", "a number"), ("int", "a whole number")):
        message = message.replace(f"invalid {kind} value: ", f"expected {words}, not ")
    return message[:1].upper() + message[1:]
