"""`picojax bench <name>`: run one benchmark (see picojax/bench/)."""

from __future__ import annotations

from picojax.app import bench
from picojax.app.commands._registry import discover, register

HELP = "run a benchmark: prints a table and one JSON line with its figures and the machine"


def add_arguments(parser):
    names = parser.add_subparsers(dest="bench", metavar="<name>", required=True)
    register(names, discover(bench, skip=("report",)), "_bench_run")


def run(args) -> int:
    return int(args._bench_run(args) or 0)
