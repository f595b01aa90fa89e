"""What a sweep trains: its points, each an ordinary run with its own resolved config.

    WORKDIR/sweep.json            the sweep as asked (config, depths, budgets, overrides)
    WORKDIR/data/                 the quickstart's data, tokenizer and store (quickstart presets)
    WORKDIR/d<N>/                 one run per depth, to its horizon (or train.steps)
    WORKDIR/f<budget>/d<N>/       with --flops: one run per budget and depth (IsoFLOP)
    WORKDIR/<point>/result.json   written once the point is trained and evaluated
    WORKDIR/results.{csv,json}    every finished point; WORKDIR/report.md and plots/

A point's steps come from config resolution: the depth dial's compute-optimal horizon
unless the preset or ``--set train.steps=N`` fixes them. With FLOPs budgets every depth
gets ``ceil(budget / (flops_per_token * tokens_per_step))`` steps instead. Nothing here
imports JAX: a bad flag fails before a backend starts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Optional, Sequence

from picojax import config_io
from picojax.config import Config, flops_per_token, param_count
from picojax.errors import UserError

SPEC_FILE = "sweep.json"
DATA_DIR = "data"
RESULT_FILE = "result.json"  # in a point's run directory: the point is trained and evaluated
TRAIN_CALLS_FILE = "train_calls.json"  # in a point's run directory: every train() call's summary

# Fields a re-run may change without making an existing point a different experiment:
# where things are, how often to log, evaluate and checkpoint, the mesh. (train.steps may
# change too: the point is then simply not finished and trains on.)
VOLATILE = ("mesh.", "checkpoint.", "data.dir", "data.tokenizer", "data.prefetch", "data.num_workers",
            "train.steps", "train.log_every", "train.eval_every", "train.eval_batches", "train.task_eval_every",
            "train.task_eval_limit", "train.nan_guard", "optim.warmup_steps")


class SweepError(UserError):
    """The sweep cannot be planned or resumed as asked."""


@dataclasses.dataclass(frozen=True)
class Point:
    """One run of the sweep: a depth, optionally at a FLOPs budget."""

    name: str  # "d3", or "f1e15/d3" under a budget
    depth: int
    budget: Optional[float]  # training FLOPs asked for; None = the config's steps (the dial's horizon)
    dir: Path
    cfg: Config  # resolved

    @property
    def tokens_per_step(self) -> int:
        return self.cfg.train.batch_size * self.cfg.model.seq_len

    @property
    def steps(self) -> int:
        return self.cfg.train.steps

    @property
    def flops_per_token(self) -> float:
        return flops_per_token(self.cfg.model)

    def flops_at(self, step: int) -> float:
        """Training FLOPs of the first `step` steps, by the dial."""
        return self.flops_per_token * self.tokens_per_step * step

    @property
    def train_flops(self) -> float:
        return self.flops_at(self.steps)

    @property
    def params(self) -> int:
        return param_count(self.cfg.model).total

    @property
    def result_path(self) -> Path:
        return self.dir / RESULT_FILE

    @property
    def train_calls_path(self) -> Path:
        return self.dir / TRAIN_CALLS_FILE


@dataclasses.dataclass
class Sweep:
    workdir: Path
    config: str  # the preset as given (a path or a built-in name)
    depths: list[int]
    budgets: list[float]  # empty: one point per depth, to its steps
    overrides: list[str]
    points: list[Point]
    task: str
    quickstart_data: Optional[dict]  # dataset sizes when the sweep makes the quickstart's data; else None

    @property
    def data_dir(self) -> Path:
        return self.workdir / DATA_DIR

    @property
    def total_flops(self) -> float:
        return sum(p.train_flops for p in self.points)

    def spec(self) -> dict:
        """What `sweep.json` holds: enough to re-plan the same sweep (`picojax sweep --workdir W`)."""
        return {"config": self.config, "depths": self.depths, "budgets": self.budgets, "overrides": self.overrides,
                "task": self.task, "quickstart_data": self.quickstart_data}


# ----------------------------------------------------------------------------------------
# Parsing the flags.


def parse_depths(text: str) -> list[int]:
    """``1-6`` or ``2,4,6`` -> sorted distinct depths >= 1 (the same syntax as `picojax config --depths`)."""
    from picojax.app.commands.config import parse_depths as parse

    lo, sep, hi = text.strip().partition("-")
    if sep and lo.strip().isdigit() and hi.strip().isdigit() and int(lo) > int(hi):
        raise SweepError(f"--depths {text!r} is an empty range: write the smaller depth first, e.g. {hi}-{lo}")
    return sorted(set(parse(text.strip())))


def parse_flops(text: str) -> list[float]:
    """``1e15,3e15`` -> sorted distinct budgets, each a finite number > 0."""
    budgets = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise SweepError(f"--flops {text!r} is not a list of FLOPs budgets like 1e15,3e15") from None
        if not (math.isfinite(value) and value > 0):
            raise SweepError(f"--flops budgets must be finite numbers > 0, got {item.strip()}")
        budgets.append(value)
    return sorted(set(budgets))


def parse_sizes(items: Sequence[str]) -> dict:
    """``KEY=VALUE`` dataset sizes for the quickstart's data (integers)."""
    sizes = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            sizes[key.strip()] = int(value)
        except ValueError:
            raise SweepError(f"--data-size {item!r} is not KEY=INTEGER, e.g. train_records=20000") from None
    return sizes


def budget_label(budget: float) -> str:
    """1e15 -> '1e15', 2.5e15 -> '2.5e15' (a folder name and a legend label)."""
    mantissa, exponent = f"{budget:.6e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def is_quickstart_preset(config: str) -> bool:
    return Path(config).stem.startswith("quickstart_")


# ----------------------------------------------------------------------------------------
# Planning.


def make_sweep(config: Optional[str], depths: Optional[Sequence[int]], workdir: str | os.PathLike, *,
               overrides: Sequence[str] = (), budgets: Sequence[float] = (), data_from_quickstart: bool = False,
               data_sizes: Optional[dict] = None) -> Sweep:
    """Plans a sweep; with neither `config` nor `depths`, the one saved in `workdir`."""
    from picojax.paths import is_remote

    if is_remote(workdir):
        raise SweepError(f"a sweep needs a local --workdir, not {workdir}: its results and plots are local files")
    workdir = Path(workdir).absolute()
    saved = read_spec(workdir)
    if config is None:
        if saved is None:
            raise SweepError(f"--config is required: {workdir} holds no sweep to resume")
        config = saved["config"]
        depths = depths or saved["depths"]
        budgets = budgets or saved["budgets"]
        overrides = overrides or saved["overrides"]
        if saved.get("quickstart_data") is not None:
            data_from_quickstart = True
            data_sizes = {**saved["quickstart_data"], **(data_sizes or {})}
    if not depths:
        raise SweepError("--depths is required, e.g. --depths 1-6")
    overrides, budgets = list(overrides), list(budgets)
    base = config_io.load(config, overrides)  # a bad preset or key fails here, once
    task = base.data.task
    quickstart_data = None
    point_overrides = list(overrides)
    if data_from_quickstart or is_quickstart_preset(config):
        quickstart_data = quickstart_sizes(task, data_sizes or {})
        point_overrides += [f"data.dir={workdir / DATA_DIR}", "data.tokenizer=none"]
    elif data_sizes:
        raise SweepError("--data-size only applies to the quickstart's data (a quickstart preset or "
                         "--data-from-quickstart)")
    points = []
    for budget in budgets or [None]:
        for depth in depths:
            cfg = config_io.load(config, [*point_overrides, f"model.depth={depth}"])
            name = f"d{depth}"
            if budget is not None:
                steps = max(1, math.ceil(budget / (flops_per_token(cfg.model) * cfg.train.batch_size
                                                   * cfg.model.seq_len)))
                cfg = config_io.load(config, [*point_overrides, f"model.depth={depth}", f"train.steps={steps}"])
                name = f"f{budget_label(budget)}/d{depth}"
            points.append(Point(name, depth, budget, workdir / name, cfg))
    return Sweep(workdir, config, list(depths), budgets, overrides, points, task, quickstart_data)


def quickstart_sizes(task: str, sizes: dict) -> dict:
    """The quickstart preset's dataset sizes for `task`, updated by `sizes`."""
    from picojax.app.quickstart import QuickstartError, make_plan

    try:
        return make_plan(task, "runs/quickstart", data=sizes).data  # checks the task and the size keys
    except QuickstartError as e:
        raise SweepError(f"the quickstart's data: {e}") from None


def read_spec(workdir: Path) -> Optional[dict]:
    path = workdir / SPEC_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SweepError(f"{path} is not valid JSON: {e}") from None


def identity(cfg: Config) -> dict:
    """The fields that make a point the experiment it is (see `VOLATILE`)."""
    flat = {f"{section}.{k}": v for section, values in config_io.to_dict(cfg).items() for k, v in values.items()}
    return {k: v for k, v in flat.items()
            if not any(k == p or (p.endswith(".") and k.startswith(p)) for p in VOLATILE)}


def check_same_experiment(point: Point, saved: Config) -> None:
    """A point's run directory trained under another config is an error naming the fields."""
    old, new = identity(saved), identity(point.cfg)
    diff = [k for k in new if old.get(k) != new[k]]
    if diff:
        shown = ", ".join(f"{k} ({old.get(k)!r} there, {new[k]!r} now)" for k in diff[:3])
        more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
        raise SweepError(f"{point.dir} was trained with another config: {shown}{more}; "
                         "use a fresh --workdir for a different sweep")
