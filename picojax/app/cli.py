"""`picojax <verb>`: parses flags and calls library functions; holds no logic.

Each verb is a module in `picojax.app.commands` with ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Verbs are discovered, so a new verb is a new file. Command modules
import heavy libraries (JAX) inside ``run`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from picojax import __version__
from picojax.app import commands
from picojax.app.commands._registry import discover, register
from picojax.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="picojax",
        description="Train, sample and evaluate tiny specialist language models in JAX.",
    )
    parser.add_argument("--version", action="version", version=f"picojax {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    register(verbs, discover(commands), "_run")
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
