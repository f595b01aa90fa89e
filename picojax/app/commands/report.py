"""`picojax report`: report.md and its plots for a sweep's results."""

from __future__ import annotations

import argparse

HELP = "write WORKDIR/report.md with plots (capability per MB, loss vs size and FLOPs, curves) for a sweep"


def add_arguments(parser):
    # --workdir like every other verb; the positional form of earlier releases still works.
    parser.add_argument("--workdir", dest="workdir_flag", metavar="WORKDIR", help="a sweep's workdir (holding results.json)")
    parser.add_argument("workdir", nargs="?", metavar="WORKDIR", help=argparse.SUPPRESS)


def run(args) -> int:
    from picojax.app.sweep.report import write_report
    from picojax.errors import UserError

    if args.workdir_flag and args.workdir and args.workdir_flag != args.workdir:
        raise UserError(f"two workdirs given ({args.workdir_flag} and {args.workdir}): give one, with --workdir")
    workdir = args.workdir_flag or args.workdir
    if not workdir:
        raise UserError("give the sweep's workdir: picojax report --workdir WORKDIR")
    print(f"report: {write_report(workdir)}")
    return 0
