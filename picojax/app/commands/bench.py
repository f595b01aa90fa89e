"""`picojax bench <name>`: run one benchmark (see picojax/app/bench/).

Every bench's numeric flags are checked here, once, before it runs: a count, size or
length must be > 0 (``--cpu-devices`` and ``--seed`` may be 0), and a comma list such as
``--depths 2,4`` must hold such numbers; a mistake is one line and exit 2, like every
other verb, instead of a traceback from deep inside the bench.
"""

from __future__ import annotations

from picojax.app import bench
from picojax.app.commands._registry import discover, register

HELP = "run a benchmark: prints a table and one JSON line with its figures and the machine"


def add_arguments(parser):
    names = parser.add_subparsers(dest="bench", metavar="<name>", required=True)
    register(names, discover(bench, skip=("report",)), "_bench_run")


# Flags where 0 means something (one fake device per core; a seed).
ZERO_ALLOWED = {"cpu_devices", "seed"}
# Comma lists of counts; ``devices`` may hold 0 (one per core).
INT_LISTS = {"depths": 1, "batches": 1, "devices": 0}


def check_args(args) -> None:
    from picojax.errors import UserError

    for name, value in vars(args).items():
        if name.startswith("_") or value is None or isinstance(value, bool):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, (int, float)):
            low = 0 if name in ZERO_ALLOWED else 1e-12
            if value < low:
                raise UserError(f"{flag} must be {'>= 0' if low == 0 else '> 0'}, got {value}")
        elif name in INT_LISTS and isinstance(value, str):
            try:
                items = [int(x) for x in value.split(",")]
            except ValueError:
                raise UserError(f"{flag} {value!r} is not a comma list of whole numbers, e.g. 2,4") from None
            if any(x < INT_LISTS[name] for x in items):
                raise UserError(f"{flag} {value!r}: every number must be >= {INT_LISTS[name]}")


def run(args) -> int:
    check_args(args)
    return int(args._bench_run(args) or 0)
