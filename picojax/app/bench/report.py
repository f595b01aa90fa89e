"""Printing benchmark results: a table for people, one JSON line for machines."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from typing import Any, Sequence
from picojax import tables


def _git_commit() -> str | None:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, Any]:
    """Where a figure was measured: host, cores, and the JAX backend if JAX is loaded."""
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": _git_commit(),
    }
    if "jax" in sys.modules:  # don't pay for a JAX import in data-only benches
        import jax

        info.update(jax=jax.__version__, backend=jax.default_backend(), devices=jax.device_count(),
                    device_kind=jax.devices()[0].device_kind)
    return info


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    return tables.format_table([list(columns)] + [[cell(v) for v in row] for row in rows])


def emit(name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], figures: dict[str, Any]) -> dict:
    """Prints the table, then one line ``BENCH {json}``; returns the JSON record."""
    record = {"bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "figures": figures, "machine": machine_info()}
    print(format_table(columns, rows))
    print("BENCH " + json.dumps(record, sort_keys=True))
    return record
