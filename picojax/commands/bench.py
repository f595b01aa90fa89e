"""`picojax bench <name>`: run one benchmark (see picojax/bench/)."""

from __future__ import annotations

import importlib
import pkgutil

from picojax import bench

HELP = "run a benchmark: prints a table and one JSON line with its figures and the machine"


def _bench_modules():
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name not in ("report",) and not info.name.startswith("_"):
            yield info.name.replace("_", "-"), importlib.import_module(f"picojax.bench.{info.name}")


def add_arguments(parser):
    names = parser.add_subparsers(dest="bench", metavar="<name>", required=True)
    for name, module in _bench_modules():
        sub = names.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_bench_run=module.run)


def run(args) -> int:
    return int(args._bench_run(args) or 0)
