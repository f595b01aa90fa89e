"""`picojax <verb>`: parses flags and calls library functions; holds no logic.

Each verb is a module in `picojax.app.commands` with ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Verbs are discovered, so a new verb is a new file. Command modules
import heavy libraries (JAX) inside ``run`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import errno
import sys

from picojax import __version__, compile_cache
from picojax.app import commands
from picojax.app.commands._registry import discover, register
from picojax.errors import UserError


# OS errors that say something about the machine, never about the code: a full disk, a
# quota, a read-only or forbidden place. They get one line and exit 2 like a UserError.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


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
    compile_cache.enable()  # time to first step: re-runs load compiled programs from disk
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"picojax {args.verb}: error: {_one_line(e)}", file=sys.stderr)
        return int(getattr(e, "exit_code", 2))
    except OSError as e:
        if e.errno not in _ENVIRONMENT_ERRNOS:  # anything else is a bug: keep its traceback
            raise
        where = f": {e.filename}" if e.filename else ""
        print(f"picojax {args.verb}: error: {e.strerror}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"picojax {args.verb}: interrupted", file=sys.stderr)
        return 130


def _one_line(e: BaseException) -> str:
    """The message on one line, whatever the exception's text holds."""
    return " ".join(str(e).split()) or type(e).__name__


if __name__ == "__main__":
    sys.exit(main())
