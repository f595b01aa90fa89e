"""`picojax data <kind>`: make or prepare datasets (rpg, stories, tokenize).

Each kind is a module `picojax/app/commands/_data_<kind>.py` with ``HELP``,
``add_arguments(parser)`` and ``run(args)``, discovered like the verbs themselves.
"""

from __future__ import annotations

from picojax.app import commands
from picojax.app.commands._registry import discover, register

HELP = "make datasets: the RPG world, stories (import or generate), and token stores"


def add_arguments(parser):
    kinds = parser.add_subparsers(dest="kind", metavar="<kind>", required=True)
    register(kinds, discover(commands, prefix="_data_"), "_kind_run")


def run(args) -> int:
    return int(args._kind_run(args) or 0)
