"""Plain-text tables for terminals: the one formatter behind every table picojax prints,
and the one way a number is shortened for reading (`human`)."""

from __future__ import annotations

from typing import Sequence


def format_table(rows: Sequence[Sequence[str]], *, left: int = 0) -> str:
    """Rows of strings (the first is the header) in columns two spaces apart; numbers read
    best right-aligned, so every column is, except the first `left` (labels)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    return "\n".join("  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


SI = ("", "k", "M", "G", "T", "P")
BYTES = (" B", " KB", " MB", " GB")  # with step=1024


def human(value: float, spec: str = ".3g", *, units: Sequence[str] = SI, step: float = 1000,
          unscaled: str | None = None) -> str:
    """`value` in the largest of `units` it reaches, each `step` times the last:
    human(30000) == "30k", human(4.2e9) == "4.2G", human(3.7) == "3.7";
    human(3 * 2**20, ".1f", units=BYTES, step=1024, unscaled=".0f") == "3.0 MB".
    `unscaled` formats a value below the second unit (a count of whole things)."""
    i = 0
    while abs(value) >= step and i < len(units) - 1:
        value, i = value / step, i + 1
    return f"{value:{unscaled if i == 0 and unscaled else spec}}{units[i]}"
