"""Flags shared by several verbs."""

from __future__ import annotations

import argparse

from picojax import config_io
from picojax.config import Config


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PRESET",
                        help="preset: a file such as configs/rpg.py, or a built-in name (rpg, stories, tiny)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field by dotted key, e.g. --set model.depth=4 (repeatable)")


def config_from_args(args: argparse.Namespace) -> Config:
    return config_io.load(args.config, args.overrides)
