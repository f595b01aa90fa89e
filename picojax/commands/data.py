"""`picojax data <kind>`: make or prepare datasets (rpg, stories, tokenize).

Each kind is a module `picojax/commands/_data_<kind>.py` with ``HELP``,
``add_arguments(parser)`` and ``run(args)``, discovered like the verbs themselves.
"""

from __future__ import annotations

import importlib
import pkgutil

from picojax import commands

HELP = "make datasets: the RPG world, stories (import or generate), and token stores"


def _kinds():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_data_"):
            yield info.name[len("_data_"):], importlib.import_module(f"picojax.commands.{info.name}")


def add_arguments(parser):
    kinds = parser.add_subparsers(dest="kind", metavar="<kind>", required=True)
    for name, module in _kinds():
        sub = kinds.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_kind_run=module.run)


def run(args) -> int:
    return int(args._kind_run(args) or 0)
