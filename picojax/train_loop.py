"""The training loop: `train(cfg, workdir)` runs (or resumes) a run to its horizon.

Per step the host pulls this process's batch from Grain, makes it a global array and
dispatches the jitted step, and only then fetches the *previous* step's metrics, so the
device always has the next step queued while the host logs, checks for NaN and feeds the
progress bar. Around that:

- checkpoints every `checkpoint.every_steps` steps and every `checkpoint.every_minutes`,
  at the end, on SIGTERM/SIGINT (then exit 0: TPU preemption) and at `stop_after`;
  a checkpoint is only written after its step's metrics were seen finite;
- a non-finite loss or gradient stops the run with a message; the last (good) checkpoint
  is left as it was;
- val loss and bits-per-byte every `train.eval_every` steps over the first
  `train.eval_batches` val batches, and at the end;
- task-eval hooks (`hook.every`, `hook(step, model, writer) -> {name: value}`) at their
  interval and at the end, their scalars written to TensorBoard;
- restarting with the same workdir resumes from the latest checkpoint automatically.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import jax
import numpy as np
from flax import nnx

from picojax import checkpoint, config_io, data, distributed, hardware, losses, optim, paths, sharding, writers
from picojax.config import Config, flops_per_token
from picojax.data_dir import tokenizer_path
from picojax.errors import ConfigError
from picojax.run_dir import RunDir
from picojax.tokenizer import Tokenizer
from picojax.train_control import SavePolicy, StopSignals
from picojax.train_state import TrainState, abstract_train_state, init_train_state, model_graphdef, param_count
from picojax.train_step import build_eval_step, build_train_step

# Scalars fetched from the step and the names they are logged under.
TRAIN_METRICS = {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm", "param_norm": "train/param_norm"}


def train(cfg: Config, workdir: str | os.PathLike, *, hooks: Sequence[Any] = (), stop_after: Optional[int] = None,
          devices=None, progress: bool = True) -> dict:
    """Trains `cfg` in `workdir` (resuming from its latest checkpoint) and returns a summary.

    stop_after: run at most this many steps in this call, then checkpoint and return (the
    schedule still follows `train.steps`). devices: the devices of the mesh (default: all).
    workdir: a local directory or a ``gs://bucket/path`` (see `picojax.paths`).
    """
    with StopSignals() as signals:  # from the start: a SIGTERM while compiling still checkpoints
        trainer = Trainer(cfg, paths.run_path(workdir), hooks=hooks, devices=devices, progress=progress)
        try:
            summary = trainer.run(stop_after, signals)
        except BaseException:
            trainer.close(quiet=True)  # the error in flight is the one to report
            raise
        trainer.close()
        return summary


class Trainer:
    def __init__(self, cfg: Config, workdir, *, hooks=(), devices=None, progress=True):
        self.t0 = time.perf_counter()
        self.cfg, self.workdir, self.hooks = cfg, workdir, list(hooks)
        self.is_main = distributed.is_main_process()
        self.mesh = sharding.make_mesh(cfg.mesh, devices)
        self.tokenizer = _load_tokenizer(cfg)
        self.run_dir = RunDir(workdir)
        if self.run_dir.path.exists() and not self.run_dir.path.is_dir():
            raise ConfigError(f"workdir {self.run_dir.path} is a file, not a folder")
        # A new run's folders are made once its data and state are ready (`_open_checkpoints`):
        # a run refused before that leaves nothing behind. Opening the manager is collective
        # (a barrier), so every process must take the same branch.
        resuming = distributed.any_process(self.run_dir.checkpoints.exists())
        self.ckpt = self._open_checkpoints() if resuming else None
        self.meta = checkpoint.make_meta(cfg, self.tokenizer.sha256)
        self.writer: Optional[writers.MetricsWriter] = None
        self.progress = progress and self.is_main
        self.bar = None

    # ---- setup

    def _restore_or_init(self):
        cfg = self.cfg
        self.tx, self.schedule = optim.make_optimizer(cfg)
        self.graphdef = model_graphdef(cfg)
        steps = self.ckpt.all_steps() if self.ckpt is not None else []
        where = lambda step: str(self.ckpt.directory / str(step))  # noqa: E731
        check = lambda step, meta: checkpoint.check_compatible(meta, cfg, self.tokenizer.sha256, where(step))  # noqa: E731
        if steps:  # refuse a foreign checkpoint before anything else can fail
            self._check_newest_readable(steps, check)
        self.data_iter = data.make_train_iterator(cfg)
        if not steps:
            _, state, self.shardings = init_train_state(cfg, self.mesh, self.tx)
            if self.ckpt is None:
                self.ckpt = self._open_checkpoints()
            return state, 0
        abstract, self.shardings = abstract_train_state(cfg, self.mesh, self.tx)
        step, _, state, damaged = self.ckpt.restore_newest(
            lambda step, meta: self.ckpt.restore(step, abstract, self.data_iter, meta), check=check)
        if damaged:
            self._set_damaged_aside(damaged)
        self._say(f"resumed from {where(step)}")
        return state, step

    def _open_checkpoints(self):
        _make_workdir(self.run_dir)
        return checkpoint.Checkpointer(self.run_dir.checkpoints, max_to_keep=self.cfg.checkpoint.max_to_keep,
                                       async_save=self.cfg.checkpoint.async_save)

    def _check_newest_readable(self, steps, check) -> None:
        """The compatibility check of the newest checkpoint whose metadata reads (a damaged
        one is reported by the restore that follows)."""
        for step in sorted(steps, reverse=True):
            try:
                meta = self.ckpt.read_meta(step)
            except checkpoint.DamagedCheckpoint:
                continue
            check(step, meta)
            return

    def _set_damaged_aside(self, damaged) -> None:
        """Checkpoints newer than the one resumed from that failed to restore: reported and
        moved to damaged_checkpoints/ (never deleted), so this run can save those steps
        again and Orbax's keep-the-newest policy does not count them."""
        if self.is_main:
            for bad, reason in damaged:
                target = self.run_dir.move_damaged(bad)
                self._say(f"checkpoint step {bad} does not restore ({reason}); moved it to {target} (nothing deleted)")
        distributed.barrier("picojax_damaged_checkpoints_moved")
        self.ckpt.reload()

    def _write_run_files(self) -> None:
        if not self.is_main:
            return
        self.run_dir.write_config(self.cfg)
        self.run_dir.keep_tokenizer(self.tokenizer)

    # ---- the run

    def run(self, stop_after: Optional[int], signals: StopSignals) -> dict:
        cfg = self.cfg
        state, start = self._restore_or_init()
        total = cfg.train.steps
        self.summary = {"start_step": start, "step": start, "steps": total, "params": param_count(state)}
        if start >= total:
            self._say(f"already trained to step {start} of {total}; nothing to do")
            return {**self.summary, "stopped": "complete"}
        self._write_run_files()
        self.writer = writers.MetricsWriter(self.workdir, enabled=self.is_main, resume_step=start)
        end = total if stop_after is None else min(total, start + stop_after)
        step_fn = build_train_step(cfg, self.graphdef, self.tx, self.schedule, self.shardings, self.mesh)
        self.eval_fn = build_eval_step(cfg, self.graphdef, self.shardings.params, self.mesh, self.tokenizer.token_bytes())
        self.flops_per_token = flops_per_token(cfg.model)
        self.peak = hardware.peak_flops(list(self.mesh.devices.flat))
        self.tokens_per_step = cfg.train.batch_size * cfg.model.seq_len
        policy = SavePolicy(cfg.checkpoint, start)
        stopped = "horizon" if end == total else "stop_after"

        batch = self._next_batch()
        compile_start = time.perf_counter()
        step_fn = step_fn.lower(state, batch).compile()  # AOT: a later recompile would be an error, not a stall
        self.summary["compile_time_s"] = time.perf_counter() - compile_start
        self.writer.scalars(start, {"train/compile_time": self.summary["compile_time_s"]})
        self._open_bar(start, total)
        state, done, last_good, stopped = self._steps(step_fn, state, batch, start, end, policy, signals, stopped)
        self._close_bar()
        self.summary.update(step=last_good, stopped=stopped, **self._throughput())
        if stopped == "nan":
            self._say(self.summary["error"])
        else:
            if self.summary.get("last_checkpoint") != done:
                self._save(done, state, policy)
            if stopped == "horizon":
                self._finish(done, state)
        self.ckpt.wait()
        return self.summary

    def _steps(self, step_fn, state, batch, start, end, policy, signals, stopped):
        """Steps start+1..end. Returns (state, last step run, last step seen finite, why stopped)."""
        cfg = self.cfg
        self.window = [time.perf_counter(), 0]  # time of the last logged step, steps since
        pending, done, last_good = None, start, start
        for done in range(start + 1, end + 1):
            state, step_metrics = step_fn(state, batch if batch is not None else self._next_batch())
            batch = None
            # Step `done` is queued on the device; the host now deals with step done-1.
            if pending is not None:
                if not self._consume(*pending):
                    return state, done, last_good, "nan"
                last_good = pending[0]
            pending = (done, step_metrics)
            save_now = policy.due(done, signals.received, sync=done % max(1, cfg.train.log_every) == 0)
            eval_now = cfg.train.eval_every > 0 and done % cfg.train.eval_every == 0 and done < end
            hooks_now = any(_hook_due(h, done, end) for h in self.hooks)
            if save_now or eval_now or hooks_now or done == end:
                # These read the state after step `done`: only once that step was seen finite.
                if not self._consume(*pending):
                    return state, done, last_good, "nan"
                last_good, pending = done, None
                if save_now:
                    self._save(done, state, policy)
                if eval_now:
                    self._evaluate(done, state)
                if hooks_now:
                    self._run_hooks(done, state, at_end=False)
            if policy.stop_requested:
                return state, done, last_good, "signal"
        return state, done, last_good, stopped

    # ---- per-step work

    def _next_batch(self) -> dict:
        return sharding.to_global_batch(next(self.data_iter), self.mesh)

    def _consume(self, step: int, step_metrics) -> bool:
        """Fetches step `step`'s metrics; logs them; False (and a message) if not finite."""
        values = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
        if self.cfg.train.nan_guard and not all(math.isfinite(values[k]) for k in ("loss", "grad_norm", "param_norm")):
            latest = self.ckpt.latest_step()
            self.summary["error"] = (
                f"stopped at step {step}: loss {values['loss']}, grad norm {values['grad_norm']} (not finite); "
                f"the last good checkpoint is {'step ' + str(latest) if latest is not None else 'none'} in {self.ckpt.directory}")
            return False
        self.summary["last_good_step"] = step
        self.summary["loss"] = values["loss"]
        if "time_to_first_step_s" not in self.summary:
            self.summary["time_to_first_step_s"] = time.perf_counter() - self.t0
        self.window[1] += 1
        if self.bar is not None:
            self.bar.update(1)
        if step % max(1, self.cfg.train.log_every) == 0 or step == self.cfg.train.steps:
            self._log(step, values)
        return True

    def _log(self, step: int, values: dict) -> None:
        now = time.perf_counter()
        elapsed, steps = now - self.window[0], self.window[1]
        self.window = [now, 0]
        scalars = {name: values[key] for key, name in TRAIN_METRICS.items()}
        if steps and elapsed > 0:
            tokens_per_sec = steps * self.tokens_per_step / elapsed
            scalars.update({"train/tokens_per_sec": tokens_per_sec, "train/step_time": elapsed / steps,
                            "train/mfu": hardware.mfu(tokens_per_sec, self.flops_per_token, self.peak)})
            self.summary.setdefault("_rates", []).append(tokens_per_sec)
        self.writer.scalars(step, scalars)
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {values['loss']:.4f}  {scalars.get('train/tokens_per_sec', 0):,.0f} tok/s", refresh=False)

    def _throughput(self) -> dict:
        """Median tokens/s and MFU over the logged windows (the first, which absorbs the
        dispatch of the first steps, left out when there are others)."""
        rates = self.summary.pop("_rates", [])
        if not rates:
            return {}
        tokens_per_sec = float(np.median(rates[1:] or rates))
        return {"tokens_per_sec": tokens_per_sec, "mfu": hardware.mfu(tokens_per_sec, self.flops_per_token, self.peak)}

    def _restart_window(self) -> None:
        """Eval and checkpoint time is not training time: restart the throughput clock."""
        self.window = [time.perf_counter(), 0]

    def _save(self, step: int, state: TrainState, policy: SavePolicy) -> None:
        self.ckpt.save(step, state, self.data_iter, self.meta)
        policy.saved(step)
        self.summary["last_checkpoint"] = step
        self._restart_window()

    def _evaluate(self, step: int, state: TrainState) -> dict:
        cfg = self.cfg
        val = losses.val_loss_bpb(self.eval_fn, state.params,
                                  data.make_val_iterator(cfg, num_batches=cfg.train.eval_batches), self.mesh)
        result = {"eval/val_loss": val["loss"], "eval/val_bpb": val["bpb"]}
        self.writer.scalars(step, result)
        self.summary.update(val_loss=result["eval/val_loss"], val_bpb=result["eval/val_bpb"])
        self._restart_window()
        return result

    def _run_hooks(self, step: int, state: TrainState, *, at_end: bool) -> None:
        for hook in self.hooks:
            if at_end or _hook_due(hook, step, self.cfg.train.steps):
                model = nnx.merge(self.graphdef, state.params)
                result = hook(step, model, self.writer) or {}
                self.writer.scalars(step, result)
                self.summary.setdefault("hooks", {}).update({k: float(v) for k, v in result.items()})
                self._restart_window()

    def _finish(self, step: int, state: TrainState) -> None:
        final = self._evaluate(step, state)
        self._run_hooks(step, state, at_end=True)
        hparams = {f"{section}.{k}": v for section, values in config_io.to_dict(self.cfg).items()
                   for k, v in values.items()}
        self.writer.hparams(hparams, {**final, "train/loss": self.summary.get("loss", float("nan"))}, step)

    # ---- progress bar and messages

    def _open_bar(self, start: int, total: int) -> None:
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr,
                            smoothing=0.1, mininterval=0.5)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _say(self, message: str) -> None:
        if self.is_main:
            print(f"picojax train: {message}", file=sys.stderr, flush=True)

    def close(self, quiet: bool = False) -> None:
        """Every exit path: pending checkpoints committed, event files flushed. `quiet`:
        an error is already on its way out; failures to close (a full disk) add nothing."""
        self._close_bar()
        steps = [getattr(self.ckpt, "close", None), getattr(getattr(self, "data_iter", None), "close", None),  # Grain's prefetch thread
                 self.writer.close if self.writer is not None else None]
        first = None
        for close in filter(None, steps):
            try:
                close()
            except Exception as e:  # noqa: BLE001 - close the rest, then raise the first
                first = first or e
        if first is not None and not quiet:
            raise first


def _hook_due(hook, step: int, end: int) -> bool:
    """A hook runs every `hook.every` steps (0 = only at the end, which `_finish` does)."""
    every = int(getattr(hook, "every", 0) or 0)
    return every > 0 and step % every == 0 and step < end


def _make_workdir(run_dir: RunDir) -> None:
    try:
        paths.ensure_dir(run_dir.path)
    except OSError as e:
        raise ConfigError(f"cannot create the workdir {run_dir.path}: {checkpoint.error_reason(e)}") from None


def _load_tokenizer(cfg: Config) -> Tokenizer:
    tokenizer = Tokenizer.load(tokenizer_path(cfg))
    if tokenizer.vocab_size > cfg.model.vocab_size:
        raise ConfigError(f"the tokenizer has {tokenizer.vocab_size} pieces but model.vocab_size is "
                          f"{cfg.model.vocab_size}: set model.vocab_size={tokenizer.vocab_size}")
    return tokenizer
