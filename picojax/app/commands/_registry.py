"""Discovering command modules and registering them as argparse subcommands.

The verbs, the `data` kinds and the benches share one protocol — a module with ``HELP``,
``add_arguments(parser)`` and ``run(args)`` — so one function finds them and one adds them.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from types import ModuleType


def discover(package: ModuleType, *, prefix: str = "", skip: tuple[str, ...] = ()) -> list[tuple[str, ModuleType]]:
    """(name, module) for each module of ``package`` named ``prefix + name``, sorted by name.

    Modules starting with ``_`` are private unless the prefix itself starts with one; the
    command name drops the prefix and spells ``_`` as ``-`` (``rpg_gen`` -> ``rpg-gen``).
    """
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.name.startswith(prefix) or info.name in skip:
            continue
        if not prefix and info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.append((info.name[len(prefix):].replace("_", "-"), module))
    return found


def register(subparsers: argparse._SubParsersAction, modules: list[tuple[str, ModuleType]], run_key: str) -> None:
    """Adds one subparser per module; the chosen module's ``run`` lands in ``args.<run_key>``."""
    for name, module in modules:
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(**{run_key: module.run})
