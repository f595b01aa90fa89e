"""Plain-text tables for terminals: the one formatter behind every table picojax prints."""

from __future__ import annotations

from typing import Sequence


def format_table(rows: Sequence[Sequence[str]], *, left: int = 0) -> str:
    """Rows of strings (the first is the header) in columns two spaces apart; numbers read
    best right-aligned, so every column is, except the first `left` (labels)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    return "\n".join("  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)
