"""The command line's parser: options that go only with one way of running a verb are named as typed."""

from __future__ import annotations

import argparse

from kayfabe_core.cli_parser import Parser, given_options, only_with


def _parser() -> Parser:
    parser = Parser(prog="kayfabe")
    only_with(parser, "elsewhere", [
        parser.add_argument("--role-arn", default=None),
        parser.add_argument("--spot", action=argparse.BooleanOptionalAction, default=None),
        parser.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True),
        parser.add_argument("--trials", type=int, default=30)])
    parser.add_argument("--rounds", type=int, default=100)  # not in the group
    return parser


def test_only_the_groups_options_that_differ_from_their_defaults_are_named_as_typed() -> None:
    parser = _parser()
    assert given_options(parser.parse_args([]), "elsewhere") == []
    assert given_options(parser.parse_args(["--rounds", "5", "--trials", "30"]), "elsewhere") == []
    assert given_options(parser.parse_args(["--role-arn", "r", "--spot", "--no-wait", "--trials", "5"]),
                         "elsewhere") == ["--role-arn", "--spot", "--no-wait", "--trials"]
    assert given_options(parser.parse_args(["--no-spot"]), "elsewhere") == ["--no-spot"]
    assert given_options(parser.parse_args([]), "no such group") == []
