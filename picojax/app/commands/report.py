"""`picojax report`: report.md and its plots for a sweep's results."""

from __future__ import annotations

HELP = "write WORKDIR/report.md with plots (capability per MB, loss vs size and FLOPs, curves) for a sweep"


def add_arguments(parser):
    parser.add_argument("workdir", metavar="WORKDIR", help="a sweep's workdir (holding results.json)")


def run(args) -> int:
    from picojax.app.sweep.report import write_report

    print(f"report: {write_report(args.workdir)}")
    return 0
