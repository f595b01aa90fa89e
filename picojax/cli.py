"""`picojax <verb>`: parses flags and calls library functions; holds no logic.

Each verb is a module in `picojax.commands` with ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Verbs are discovered, so a new verb is a new file. Command modules
import heavy libraries (JAX) inside ``run`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from picojax import __version__, commands
from picojax.errors import UserError


def _verb_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"picojax.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="picojax",
        description="Train, sample and evaluate tiny specialist language models in JAX.",
    )
    parser.add_argument("--version", action="version", version=f"picojax {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    for module in _verb_modules():
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1])
        sub = verbs.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse exits 2 on unknown verbs and flags
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"picojax {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"picojax {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
