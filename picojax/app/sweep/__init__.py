"""The miniseries: one command trains a family of depths; a report shows capability per MB.

`plan` (what to train: points and their configs), `runner` (data, training, evaluation,
resume, progress), `results` (figures, results.csv/json) and `report` (report.md and its
plots). `picojax sweep` and `picojax report` are the verbs.
"""

from picojax.app.sweep.plan import Point, Sweep, SweepError, make_sweep, parse_depths, parse_flops
from picojax.app.sweep.runner import run_sweep

__all__ = ["Point", "Sweep", "SweepError", "make_sweep", "parse_depths", "parse_flops", "run_sweep", "write_report"]


def write_report(workdir, **kwargs):
    from picojax.app.sweep.report import write_report as write

    return write(workdir, **kwargs)
