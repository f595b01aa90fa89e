"""The quickstart: the whole pipeline on built-in data, in one resumable command.

    1. generate data          WORKDIR/data/ (train, val, eval splits)
    2. tokenizer + store      WORKDIR/data/tokenizer.model, WORKDIR/data/store/
    3. train                  WORKDIR/ (config.json, checkpoints/, tb/, metrics.jsonl)
    4. evaluate               WORKDIR/eval.json
    5. report                 samples, the eval table, the TensorBoard command

Every stage writes atomically and is skipped when its output is already complete, and
training resumes from its latest checkpoint, so re-running after an interruption picks
up where it stopped. The preset (``configs/quickstart_<task>.py``) holds the model and
training config and, as ``DATA``, the dataset sizes.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence, TextIO

from picojax import config_io
from picojax.app.task_reports import SHOWN_SAMPLES, print_samples
from picojax.app.tasks import QUICKSTART
from picojax.config import Config
from picojax.data_dir import SPLITS, DataDir, tokenizer_path
from picojax.errors import UserError
from picojax.paths import is_remote
from picojax.run_dir import TENSORBOARD
from picojax.tasks import EvalRequest, get_task

STAGES = ("generate data", "train the tokenizer and tokenize", "train", "evaluate", "report")
EVAL_FILE = "eval.json"


class QuickstartError(UserError):
    """The quickstart cannot go on (an unknown task, a workdir holding something else)."""


@dataclasses.dataclass
class Plan:
    task: str
    workdir: Path
    cfg: Config  # resolved; data.dir = WORKDIR/data
    data: dict  # dataset sizes (the preset's DATA, updated by the caller)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"


def make_plan(task: str = "rpg", workdir: str | os.PathLike = "runs/quickstart", *, overrides: Sequence[str] = (),
              data: dict | None = None) -> Plan:
    if task not in QUICKSTART:
        raise QuickstartError(f"unknown task {task!r}: choose one of {', '.join(QUICKSTART)}")
    if is_remote(workdir):  # the quickstart's data and token store live in the workdir: they must be local
        raise QuickstartError(f"quickstart needs a local --workdir, not {workdir}; "
                              "train with `picojax train --workdir gs://...` instead")
    workdir = Path(workdir).absolute()
    preset = f"quickstart_{task}"
    sizes = dict(importlib.import_module(f"configs.{preset}").DATA)
    for key, value in (data or {}).items():
        if key not in sizes:
            raise QuickstartError(f"unknown data size {key!r}; known: {', '.join(sizes)}")
        sizes[key] = value
    data_dir = workdir / "data"
    cfg = config_io.load(preset, [f"data.dir={data_dir}", f"data.task={task}", *overrides])
    return Plan(task, workdir, cfg, sizes)


# ----------------------------------------------------------------------------------------
# Stages. Each returns a one-line note of what it did (or found done).


def stage_data(plan: Plan) -> str:
    if DataDir(plan.data_dir).manifest_path.is_file():
        return f"already in {plan.data_dir}"
    return get_task(plan.task).generate_data(plan.data_dir, plan.data)


def _store_complete(plan: Plan, sha256: str) -> bool:
    from picojax.store import StoreError, TokenStore
    from picojax.tokenizer import TokenizerMismatchError

    try:
        for split in SPLITS:
            TokenStore(DataDir(plan.data_dir).store_path(split), tokenizer_sha256=sha256)
    except (StoreError, TokenizerMismatchError):
        return False
    return True


def stage_tokenize(plan: Plan) -> str:
    from picojax.store import tokenize_dir
    from picojax.tokenizer import Tokenizer, train_tokenizer

    path = tokenizer_path(plan.cfg)
    notes = []
    if path.is_file():
        tokenizer = Tokenizer.load(path)
        notes.append("tokenizer already trained")
    else:
        tokenizer = train_tokenizer(plan.data_dir, plan.cfg.model.vocab_size, path, profile=plan.task)
        notes.append(f"{tokenizer.vocab_size}-piece tokenizer")
    if _store_complete(plan, tokenizer.sha256):
        notes.append("token store already built")
    else:
        metas = tokenize_dir(plan.data_dir, tokenizer, task=plan.task)
        notes.append(f"{sum(m['num_tokens'] for m in metas.values()):,} tokens stored")
    return ", ".join(notes)


def stage_train(plan: Plan, progress: bool) -> tuple[str, dict]:
    from picojax.train import task_hooks, train

    start = time.perf_counter()
    summary = train(plan.cfg, plan.workdir, hooks=task_hooks(plan.cfg), progress=progress)
    summary["wall_time_s"] = time.perf_counter() - start
    if summary.get("stopped") == "signal":
        raise KeyboardInterrupt  # checkpointed: the next run resumes from it
    if summary.get("stopped") == "nan":
        raise QuickstartError(summary.get("error", "training stopped on a non-finite loss"))
    if summary.get("stopped") == "complete":
        return f"already trained ({summary['step']} steps)", summary
    return (f"{summary['step']} steps, {summary['params']:,} parameters, final loss {summary.get('loss', float('nan')):.4f}"
            f", {summary['wall_time_s']:.0f} s"), summary


def stage_evaluate(plan: Plan) -> tuple[str, tuple]:
    """(note, (results, sampler)): the sampler is kept for the report's samples."""
    path = plan.workdir / EVAL_FILE
    from picojax.sample import load_sampler

    cfg, sampler, step = load_sampler(plan.workdir)
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("_run", {}).get("step") == step:
            return f"already evaluated at step {step}", (saved, sampler)
    request = EvalRequest(limit=plan.data.get("eval_records"), samples=plan.data.get("samples", 16))
    results = get_task(plan.task).evaluate(sampler, cfg, request)
    results["_run"] = {"workdir": str(plan.workdir), "step": step, "task": plan.task}
    from picojax.app.commands.eval import write_json

    write_json(path, results)
    return f"step {step}, results in {path}", (results, sampler)


def report(plan: Plan, results: dict, sampler, out: TextIO) -> None:
    """Samples, the eval table and where to look next."""
    task = get_task(plan.task)
    print_samples(task.samples(results, sampler, plan.cfg, SHOWN_SAMPLES), out)
    print("\n" + task.report(results).table, file=out)
    print(f"\nTensorBoard:  tensorboard --logdir {plan.workdir / TENSORBOARD}", file=out)
    print(f"Sample more:  picojax sample --workdir {plan.workdir} --prompt '...'", file=out)
    print(f"Evaluate:     picojax eval --workdir {plan.workdir} --json {plan.workdir / EVAL_FILE}", file=out)


# ----------------------------------------------------------------------------------------
# The whole job.


def run_quickstart(plan: Plan, *, progress: bool = True, out: TextIO = sys.stdout) -> dict:
    """Runs (or resumes) every stage; returns the eval results."""
    plan.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def stage(i: int, fn, *args):
        print(f"[{i}/{len(STAGES)}] {STAGES[i - 1]} ...", file=out, flush=True)
        start = time.perf_counter()
        result = fn(*args)
        note, value = result if isinstance(result, tuple) else (result, None)
        print(f"[{i}/{len(STAGES)}] {STAGES[i - 1]}: {note} ({time.perf_counter() - start:.0f} s)", file=out, flush=True)
        return value

    stage(1, stage_data, plan)
    stage(2, stage_tokenize, plan)
    summary = stage(3, stage_train, plan, progress)
    results, sampler = stage(4, stage_evaluate, plan)
    print(f"[5/5] {STAGES[4]}:", file=out)
    report(plan, results, sampler, out)
    print(f"\nquickstart done in {time.perf_counter() - t0:.0f} s "
          f"({summary.get('params', 0):,} parameters) - re-run to reuse every finished stage", file=out)
    return results
