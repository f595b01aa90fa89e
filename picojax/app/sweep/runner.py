"""Running a sweep: its data, then each point trained, evaluated and measured, in sequence.

Re-running resumes: a point whose ``result.json`` is for its final step is skipped, the
point that was running resumes from its latest checkpoint (`picojax.train.train` does
that by itself), and the rest start fresh. One progress bar covers the whole sweep: its
unit is the depth dial's training FLOPs, so its ETA weighs a deep point's steps as the
expensive ones they are. The trainer's own bar is off; a thread follows the running
point's ``metrics.jsonl`` instead.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Optional, TextIO

from picojax import checkpoint
from picojax.errors import UserError
from picojax.paths import write_text_atomic
from picojax.run_dir import RunDir
from picojax.tables import format_table
from picojax.tasks import EvalRequest, get_task

from picojax.app.sweep import results as results_mod
from picojax.app.sweep.plan import SPEC_FILE, Point, Sweep, check_same_experiment


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the running point checkpointed; re-run to resume."""


# ----------------------------------------------------------------------------------------
# Seams (tests replace these to prove a re-run trains nothing).


def _train(cfg, workdir, *, hooks, progress):
    from picojax.train import train

    return train(cfg, workdir, hooks=hooks, progress=progress)


def _task_hooks(cfg):
    from picojax.train import task_hooks

    return task_hooks(cfg)


def _evaluate(point: Point, request: EvalRequest) -> tuple[dict, int]:
    from picojax.sample import load_sampler

    cfg, sampler, step = load_sampler(point.dir)
    return get_task(cfg.data.task).evaluate(sampler, cfg, request), step


# ----------------------------------------------------------------------------------------
# The state of a point.


def finished_result(point: Point) -> Optional[dict]:
    """The point's result when it is trained and evaluated at its final step, else None."""
    if not point.result_path.is_file():
        return None
    try:
        saved = json.loads(point.result_path.read_text())
    except json.JSONDecodeError:
        return None  # half a file cannot happen (atomic writes) but a hand edit can: redo the eval
    return saved if saved.get("step") == point.steps else None


def trained_step(point: Point) -> int:
    """Steps already trained (the latest checkpoint), 0 for a fresh point."""
    if not point.dir.is_dir():
        return 0
    return checkpoint.latest_step(RunDir(point.dir).checkpoints) or 0


def check_point(point: Point) -> None:
    """Refuses a point directory that holds a run of another config."""
    saved = RunDir(point.dir).read_config() if point.dir.is_dir() else None
    if saved is not None:
        check_same_experiment(point, saved)


def read_train_calls(point: Point) -> list[dict]:
    if not point.train_calls_path.is_file():
        return []
    try:
        return json.loads(point.train_calls_path.read_text())
    except json.JSONDecodeError:
        return []


# ----------------------------------------------------------------------------------------
# Progress: one bar in dial FLOPs for the whole sweep.


class Progress:
    def __init__(self, sweep: Sweep, done_flops: float, enabled: bool, out: TextIO):
        self.out, self.bar = out, None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=sweep.total_flops, initial=done_flops, unit="FLOP", unit_scale=True,
                            dynamic_ncols=True, file=sys.stderr, smoothing=0.05, mininterval=1.0,
                            desc=f"sweep ({len(sweep.points)} points)")
        self.lock = threading.Lock()

    def advance(self, flops: float, postfix: Optional[str] = None) -> None:
        if self.bar is None:
            return
        with self.lock:
            if postfix is not None:
                self.bar.set_postfix_str(postfix, refresh=False)  # shown by the update's refresh
            if flops > 0:
                self.bar.update(flops)

    def say(self, line: str) -> None:
        if self.bar is not None:
            with self.lock:
                self.bar.write(line, file=self.out)
        else:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Follower(threading.Thread):
    """Moves the bar as the running point logs steps to its metrics.jsonl."""

    def __init__(self, point: Point, progress: Progress, start_step: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.point, self.progress, self.shown, self.interval = point, progress, start_step, interval
        self.stop = threading.Event()
        self.path = RunDir(point.dir).metrics_path

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        step, loss = self.shown, None
        try:
            text = self.path.read_text() if self.path.exists() else ""
        except OSError:
            return
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if "train/loss" in rec and rec.get("step", 0) >= step:
                step, loss = int(rec["step"]), rec["train/loss"]
        self.move_to(step, loss)

    def move_to(self, step: int, loss=None) -> None:
        if step < self.shown:
            return
        postfix = f"{self.point.name} step {step}/{self.point.steps}"
        if isinstance(loss, (int, float)):
            postfix += f" loss {loss:.3f}"
        self.progress.advance(self.point.flops_at(step) - self.point.flops_at(self.shown), postfix)
        self.shown = step


# ----------------------------------------------------------------------------------------
# The sweep.


def plan_table(sweep: Sweep, status: dict[str, str]) -> str:
    rows = [("point", "depth", "params", "MB bf16", "FLOPs/tok", "steps", "tokens", "train FLOPs", "status")]
    for p in sweep.points:
        rows.append((p.name, str(p.depth), f"{p.params:,}", f"{p.params * 2 / 2**20:.2f}", f"{p.flops_per_token:.3g}",
                     f"{p.steps:,}", f"{p.steps * p.tokens_per_step:.3g}", f"{p.train_flops:.3g}", status[p.name]))
    return format_table(rows, left=1)


def prepare_data(sweep: Sweep, out: TextIO) -> None:
    """The quickstart's data stages (generate, tokenizer, store) into WORKDIR/data; each is
    skipped when already complete."""
    if sweep.quickstart_data is None:
        return
    from picojax.app.quickstart import make_plan, stage_data, stage_tokenize

    vocab = sweep.points[0].cfg.model.vocab_size
    plan = make_plan(sweep.task, sweep.workdir, overrides=[f"model.vocab_size={vocab}"], data=sweep.quickstart_data)
    for name, stage in (("data", stage_data), ("tokenizer and token store", stage_tokenize)):
        start = time.perf_counter()
        note = stage(plan)
        print(f"sweep: {name}: {note} ({time.perf_counter() - start:.0f} s)", file=out, flush=True)


def run_sweep(sweep: Sweep, *, progress: bool = True, task_evals: bool = True,
              request: EvalRequest = EvalRequest(samples=16), report: bool = True, out: TextIO = sys.stdout) -> dict:
    """Trains, evaluates and measures every point not yet finished; writes results.csv,
    results.json and (with `report`) report.md. Returns {"points": [...], "failed": [...]}."""
    sweep.workdir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(sweep.workdir / SPEC_FILE, json.dumps(sweep.spec(), indent=2) + "\n")
    for point in sweep.points:
        check_point(point)
    prepare_data(sweep, out)

    status, done_flops = {}, 0.0
    for p in sweep.points:
        if finished_result(p) is not None:
            status[p.name], done_flops = "finished", done_flops + p.train_flops
        else:
            step = trained_step(p)
            status[p.name] = f"at step {step}" if step else "to train"
            done_flops += p.flops_at(min(step, p.steps))
    print(plan_table(sweep, status), file=out)
    print(f"sweep: {sweep.total_flops:.3g} training FLOPs in all (the depth dial's count), "
          f"{done_flops / sweep.total_flops:.0%} done", file=out, flush=True)

    bar = Progress(sweep, done_flops, progress, out)
    failed = []
    try:
        for point in sweep.points:
            if status[point.name] == "finished":
                continue
            result = run_point(point, bar, task_evals=task_evals, request=request)
            if result is None:
                failed.append(point.name)
            collect(sweep)  # after every point: an interrupted sweep still has its table
    finally:
        bar.close()
    summary = collect(sweep)
    print(f"sweep: {len(summary)} point(s) in {sweep.workdir / results_mod.RESULTS_CSV} and "
          f"{sweep.workdir / results_mod.RESULTS_JSON}", file=out)
    if report and summary:
        from picojax.app.sweep.report import write_report

        path = write_report(sweep.workdir, out=out)
        print(f"sweep: report in {path}", file=out)
    print(f"TensorBoard:  tensorboard --logdir {sweep.workdir}   (one run per point: d1/tb, d2/tb, ...)", file=out)
    return {"points": summary, "failed": failed}


def collect(sweep: Sweep) -> list[dict]:
    points = results_mod.find_results(sweep.workdir)
    results_mod.write_results(sweep.workdir, sweep.spec(), points)
    return points


def run_point(point: Point, bar: Progress, *, task_evals: bool, request: EvalRequest) -> Optional[dict]:
    """Trains (or resumes) one point, evaluates and measures it, writes its result.json.
    None when training stopped on a non-finite loss (the sweep goes on with the next)."""
    start_step = trained_step(point)
    calls = read_train_calls(point)
    bar.say(f"sweep: {point.name}: " + (f"resuming at step {start_step} of {point.steps}" if start_step
                                         else f"training {point.steps} steps"))
    follower = _Follower(point, bar, min(start_step, point.steps))
    follower.start()
    t0 = time.perf_counter()
    try:
        summary = _train(point.cfg, point.dir, hooks=_task_hooks(point.cfg) if task_evals else [],
                         progress=False)
    finally:
        follower.stop.set()
        follower.join()
    wall = time.perf_counter() - t0
    call = {k: v for k, v in summary.items() if k != "hooks" and isinstance(v, (int, float, str))}
    calls.append({**call, "wall_s": wall})
    write_text_atomic(point.train_calls_path, json.dumps(calls, indent=2) + "\n")
    stopped = summary.get("stopped")
    if stopped == "signal":
        raise SweepInterrupted
    if stopped == "nan":
        bar.say(f"sweep: {point.name}: {summary.get('error', 'stopped on a non-finite loss')}; skipped")
        return None
    follower.move_to(point.steps)

    bar.say(f"sweep: {point.name}: trained ({wall:.0f} s); evaluating")
    t1 = time.perf_counter()
    eval_results, step = _evaluate(point, request)
    eval_s = time.perf_counter() - t1
    if step != point.steps:
        raise UserError(f"{point.dir}: the latest checkpoint is step {step}, not the final step {point.steps}")
    lines = _metrics(point)
    figures = results_mod.point_figures(point, lines, calls, eval_results, eval_s=eval_s, device=_device())
    record = results_mod.result_record(point, step, figures, eval_results, calls)
    write_text_atomic(point.result_path, json.dumps(record, indent=2) + "\n")
    bar.say(f"sweep: {point.name}: {_headline(figures)} (eval {eval_s:.0f} s)")
    return record


def _metrics(point: Point) -> list[dict]:
    from picojax.writers import read_jsonl

    path = RunDir(point.dir).metrics_path
    return read_jsonl(path) if path.exists() else []


def _device() -> str:
    import jax

    return f"{jax.device_count()} x {jax.devices()[0].device_kind}"


def _headline(figures: dict) -> str:
    parts = [f"val loss {figures['val_loss']:.4f}"] if figures.get("val_loss") is not None else []
    for key, value in figures.items():
        if (key.endswith("/exact_match") or key.endswith("/bpb")) and value is not None:
            parts.append(f"{key} {value:.3f}")
    return ", ".join(parts[:5])
