"""Printing a task's eval `Report` and its `Samples` (`picojax.tasks`) on a terminal.

The tasks return data; the verbs (`picojax eval`, the quickstart's report) print it here,
the same way for every task.
"""

from __future__ import annotations

from typing import TextIO

from picojax.tasks import Report, Samples

SHOWN_SAMPLES = 3  # samples printed under an eval's table, and in the quickstart's report


def print_eval(report: Report, out: TextIO, err: TextIO, *, who: str = "picojax eval") -> None:
    """The table and a few of the eval's samples on `out`; its warnings (in `who`'s name)
    and notes on `err`."""
    print(report.table, file=out)
    for warning in report.warnings:
        print(f"{who}: {warning}", file=err)
    for note in report.notes:
        print(note, file=err)
    for sample in report.samples.items[:SHOWN_SAMPLES] if report.samples else ():
        print("---\n" + sample.prompt + sample.text, file=out)


def print_samples(samples: Samples, out: TextIO) -> None:
    """Each sample indented under a heading saying how they were decoded; one with a right
    answer marked ok or BAD (and the answer under a BAD one)."""
    print(f"samples ({samples.how}):", file=out)
    for sample in samples.items:
        if sample.ok is None:
            print("  " + (sample.prompt + sample.text).replace("\n", "\n  ") + "\n", file=out)
            continue
        print(f"  {'ok ' if sample.ok else 'BAD'} {sample.prompt}{sample.text}", file=out)
        if not sample.ok:
            print(f"      expected {sample.expected}", file=out)
