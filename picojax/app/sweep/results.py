"""A point's figures, and the sweep's results table (``results.csv`` + ``results.json``).

Every figure is recomputed from what the run itself left behind (its config, its
``metrics.jsonl``) plus the task eval, so a point resumed three times, or one whose
training finished in an earlier sweep, reads the same as one trained in one go.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path
from typing import Any, Iterable, Optional

from picojax import config_io
from picojax.config import flops_per_token, horizon_tokens, param_count
from picojax.paths import write_text_atomic

from picojax.app.sweep.plan import RESULT_FILE, Point, SweepError

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"

# Lists in an eval's results (turns per fight, sampled texts, failing examples) are kept in
# results.json but are not figures: a table holds numbers.
MIB = 2**20


def finite(value: Any) -> Optional[float]:
    """A float, or None for NaN/inf/missing/'nan' (how metrics.jsonl writes non-finite values)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def training_figures(lines: list[dict]) -> dict:
    """Loss, val loss/bpb, throughput and step time from a run's metrics.jsonl records.

    Throughput is the median over logged windows, leaving out the first window of each
    train call (it absorbs the dispatch of the first steps), as the trainer's summary does;
    training minutes are the step times summed over every step (compile, eval and
    checkpoint time excluded).
    """
    train_loss = val_loss = val_bpb = compile_s = None
    rates, mfus, train_s = [], [], 0.0
    prev_step, skip_next = 0, False
    for rec in lines:
        step = int(rec.get("step", 0))
        if "train/compile_time" in rec:
            compile_s = compile_s if compile_s is not None else finite(rec["train/compile_time"])
            prev_step, skip_next = step, True
        if "train/loss" in rec:
            train_loss = finite(rec["train/loss"])
            step_time = finite(rec.get("train/step_time"))
            if step_time is not None:
                train_s += step_time * max(0, step - prev_step)
            prev_step = step
            if "train/tokens_per_sec" in rec:
                if not skip_next:
                    rates.append(finite(rec["train/tokens_per_sec"]))
                    mfus.append(finite(rec.get("train/mfu")))
                skip_next = False
        if "eval/val_loss" in rec:
            val_loss, val_bpb = finite(rec["eval/val_loss"]), finite(rec.get("eval/val_bpb"))
    if not rates:  # every window was a first one: use them all
        rates = [finite(r["train/tokens_per_sec"]) for r in lines if "train/tokens_per_sec" in r]
        mfus = [finite(r.get("train/mfu")) for r in lines if "train/tokens_per_sec" in r]
    rates = [r for r in rates if r is not None]
    mfus = [m for m in mfus if m is not None]
    return {
        "train_loss": train_loss, "val_loss": val_loss, "val_bpb": val_bpb,
        "train_min": train_s / 60,
        "compile_s": compile_s,
        "tokens_per_sec": statistics.median(rates) if rates else None,
        "mfu": statistics.median(mfus) if mfus else None,
    }


def eval_figures(results: dict, prefix: str = "") -> dict:
    """Every number of a task's eval results, flattened to ``split/metric`` (nested dicts
    as ``split/group/key``); lists and text are left out."""
    flat: dict[str, float] = {}
    for key, value in results.items():
        if key.startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(eval_figures(value, name + "/"))
        elif isinstance(value, bool):
            flat[name] = float(value)
        elif isinstance(value, (int, float)):
            flat[name] = value if isinstance(value, int) else finite(value)
    return flat


def point_figures(point: Point, lines: list[dict], train_calls: list[dict], eval_results: dict, *,
                  eval_s: float, device: str) -> dict:
    """The point's row: identity, size, compute, training figures, then the eval's figures."""
    cfg, m = point.cfg, point.cfg.model
    count = param_count(m)
    tokens = point.steps * point.tokens_per_step
    row = {
        "point": point.name, "depth": point.depth, "budget_flops": point.budget, "steps": point.steps,
        "d_model": m.d_model, "n_heads": m.n_heads, "params": count.total, "params_scaling": count.scaling,
        "mb_fp32": count.total * 4 / MIB, "mb_bf16": count.total * 2 / MIB, "mb_int8": count.total / MIB,
        "flops_per_token": flops_per_token(m), "tokens_per_step": point.tokens_per_step, "tokens": tokens,
        "train_flops": point.train_flops, "horizon_tokens": horizon_tokens(cfg),
        "tokens_per_param": tokens / count.scaling, "lr": cfg.optim.lr,
    }
    row.update(training_figures(lines))
    row["wall_min"] = sum(c.get("wall_s", 0.0) for c in train_calls) / 60
    row["train_calls"] = len(train_calls)
    row["eval_min"] = eval_s / 60
    row["device"] = device
    row.update(eval_figures(eval_results))
    return row


# ----------------------------------------------------------------------------------------
# The sweep's table.


def find_results(workdir: Path) -> list[dict]:
    """Every finished point under `workdir` (d*/ and f*/d*/), ordered by budget then depth."""
    found = []
    for path in [*workdir.glob(f"d*/{RESULT_FILE}"), *workdir.glob(f"f*/d*/{RESULT_FILE}")]:
        try:
            found.append(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise SweepError(f"{path} is not valid JSON ({e}): delete it to re-evaluate that point") from None
    return sorted(found, key=lambda r: (r["budget"] is not None, r["budget"] or 0.0, r["depth"]))


def write_results(workdir: Path, spec: dict, points: list[dict]) -> tuple[Path, Path]:
    """results.json (spec, and per point its figures, eval and resolved config) and
    results.csv (one row of figures per point)."""
    json_path, csv_path = workdir / RESULTS_JSON, workdir / RESULTS_CSV
    write_text_atomic(json_path, json.dumps({"sweep": spec, "points": points}, indent=2) + "\n")
    write_text_atomic(csv_path, to_csv(p["figures"] for p in points))
    return json_path, csv_path


def to_csv(rows: Iterable[dict]) -> str:
    rows = list(rows)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buf.getvalue()


def read_results(workdir: Path) -> dict:
    path = Path(workdir) / RESULTS_JSON
    if not path.is_file():
        raise SweepError(f"no {RESULTS_JSON} in {workdir}: run `picojax sweep --workdir {workdir} ...` first")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SweepError(f"{path} is not valid JSON: {e}") from None
    if not data.get("points"):
        raise SweepError(f"{path} holds no finished points yet")
    return data


def result_record(point: Point, step: int, figures: dict, eval_results: dict, train_calls: list[dict]) -> dict:
    """What a point's result.json holds (and its entry in results.json)."""
    return {"point": point.name, "depth": point.depth, "budget": point.budget, "dir": str(point.dir), "step": step,
            "figures": figures, "eval": eval_results, "train_calls": train_calls,
            "config": config_io.to_dict(point.cfg)}
