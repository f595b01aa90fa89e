"""The trainer end to end on a tiny model: first loss, overfitting, metrics, hooks, NaN guard,
exact resume across processes, SIGTERM."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from _train_support import VOCAB, make_data, tiny_config, tiny_overrides
from picojax import checkpoint, data, optim, sharding, writers
from picojax.restore import restore_for_inference
from picojax.run_dir import RunDir
from picojax.train import train
from picojax.train_state import init_train_state
from picojax.train_step import build_train_step

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


def losses(workdir: Path, key: str = "train/loss") -> dict[int, float]:
    return {r["step"]: r[key] for r in writers.read_jsonl(workdir / "metrics.jsonl") if key in r}


def test_first_step_loss_is_log_vocab(data_dir, tmp_path):
    summary = train(tiny_config(data_dir), tmp_path / "run", stop_after=1, progress=False)
    assert summary["stopped"] == "stop_after" and summary["step"] == 1
    first = losses(tmp_path / "run")[1]
    assert abs(first - math.log(VOCAB)) < 0.05, first


def test_overfits_one_batch(data_dir):
    cfg = tiny_config(data_dir, "train.steps=60", "optim.schedule=constant", "optim.warmup_steps=0",
                      "optim.weight_decay=0")
    mesh = sharding.make_mesh(cfg.mesh)
    tx, schedule = optim.make_optimizer(cfg)
    graphdef, state, shardings = init_train_state(cfg, mesh, tx)
    step = build_train_step(cfg, graphdef, tx, schedule, shardings, mesh)
    # Random tokens: every context is unique, so the batch can be memorised to ~0 loss
    # (real text has contexts shared across documents, e.g. after "Once upon a time,").
    b, n = cfg.train.batch_size, cfg.model.seq_len
    tokens = np.random.default_rng(0).integers(4, VOCAB, size=(b, n + 1)).astype(np.int32)
    batch = sharding.to_global_batch({
        "inputs": tokens[:, :-1], "targets": tokens[:, 1:], "loss_mask": np.ones((b, n), np.float32),
        "segment_ids": np.ones((b, n), np.int32), "positions": np.tile(np.arange(n, dtype=np.int32), (b, 1)),
    }, mesh)
    for _ in range(60):
        state, out = step(state, batch)
    assert float(out["loss"]) < 0.05
    assert int(state.step) == 60


class CountingHook:
    """A task-eval hook as eval/<task>/hooks.py provides: every N steps and at the end."""

    def __init__(self, every):
        self.every, self.calls = every, []

    def __call__(self, step, model, writer):
        self.calls.append(step)
        logits = model(np.zeros((1, 4), np.int32))
        return {"eval/dummy/val/logit_mean": float(np.asarray(logits).mean())}


def test_metrics_names_eval_hooks_and_tensorboard(data_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    hook = CountingHook(every=4)
    cfg = tiny_config(data_dir, "train.steps=10", "train.log_every=5", "train.eval_every=5")
    summary = train(cfg, tmp_path / "run", hooks=[hook], progress=False)
    assert summary["stopped"] == "horizon" and summary["step"] == 10
    assert hook.calls == [4, 8, 10]
    records = writers.read_jsonl(tmp_path / "run" / "metrics.jsonl")
    names = set().union(*records)
    expected = {"train/loss", "train/lr", "train/grad_norm", "train/param_norm", "train/tokens_per_sec",
                "train/mfu", "train/step_time", "eval/val_loss", "eval/val_bpb", "train/compile_time",
                "eval/dummy/val/logit_mean"}
    assert expected <= names
    assert [r["step"] for r in records if "train/loss" in r] == [5, 10]
    assert [r["step"] for r in records if "eval/val_loss" in r] == [5, 10]
    final = [r for r in records if "eval/val_bpb" in r][-1]
    assert 0 < final["eval/val_bpb"] < final["eval/val_loss"] / math.log(2)  # >1 byte per token
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert expected <= set(events.Tags()["scalars"])
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run" / "tokenizer.model").is_file()
    # A finished run restarted does nothing; its checkpoint serves inference.
    assert train(cfg, tmp_path / "run", progress=False)["stopped"] == "complete"
    restored_cfg, model, tokenizer, _ = restore_for_inference(tmp_path / "run")
    assert restored_cfg.model == cfg.model and tokenizer.vocab_size == VOCAB
    assert np.isfinite(np.asarray(model(np.ones((2, 8), np.int32)))).all()


class PoisonAfter:
    """Wraps build_train_step so that from step `at` on the step reports a NaN loss (the
    loop's view of a divergence)."""

    def __init__(self, build, at):
        self.build, self.at = build, at

    def __call__(self, *args, **kwargs):
        jitted, at = self.build(*args, **kwargs), self.at

        class Lowered:
            def __init__(self, lowered):
                self.lowered = lowered

            def compile(self):
                compiled = self.lowered.compile()

                def step(state, batch):
                    state, out = compiled(state, batch)
                    if int(state.step) >= at:
                        out = {**out, "loss": out["loss"] * np.nan}
                    return state, out

                return step

        class Wrapped:
            def lower(self, *a):
                return Lowered(jitted.lower(*a))

        return Wrapped()


def test_nan_stops_cleanly_keeping_last_checkpoint(data_dir, tmp_path, monkeypatch):
    import picojax.train_loop as loop

    monkeypatch.setattr(loop, "build_train_step", PoisonAfter(loop.build_train_step, at=8))
    cfg = tiny_config(data_dir, "checkpoint.every_steps=4")
    summary = train(cfg, tmp_path / "run", progress=False)
    assert summary["stopped"] == "nan"
    assert "step 8" in summary["error"] and "last good checkpoint is step 4" in summary["error"]
    ckpt = checkpoint.Checkpointer(RunDir(tmp_path / "run").checkpoints, read_only=True)
    try:
        assert ckpt.all_steps() == [4]  # step 8 was due a save, but its loss was NaN
    finally:
        ckpt.close()
    assert max(losses(tmp_path / "run")) == 7
    _, model, _, _ = restore_for_inference(tmp_path / "run")
    assert np.isfinite(np.asarray(model(np.ones((1, 8), np.int32)))).all()


def _cli(workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "picojax", "train", "--workdir", str(workdir), "--no-progress", "--no-task-evals", *extra]


def _env():
    return {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}


@pytest.mark.slow
def test_exact_resume_in_a_fresh_process(data_dir, tmp_path):
    cfg = tiny_config(data_dir)
    straight = train(cfg, tmp_path / "straight", progress=False)
    assert straight["step"] == 20
    assert train(cfg, tmp_path / "split", stop_after=10, progress=False)["step"] == 10
    # A fresh process resumes from the workdir alone (its config.json, its checkpoint).
    subprocess.run(_cli(tmp_path / "split"), check=True, env=_env(), cwd=tmp_path, capture_output=True)
    # The straight run's own step-10 checkpoint was saved asynchronously while later steps
    # updated the (donated) state in place: it must hold step 10 exactly all the same.
    shutil.copytree(tmp_path / "straight", tmp_path / "from_mid_run")
    shutil.rmtree(tmp_path / "from_mid_run" / "checkpoints" / "20")
    assert train(cfg, tmp_path / "from_mid_run", progress=False)["start_step"] == 10
    for run in ("split", "from_mid_run"):
        for key in ("train/loss", "train/grad_norm", "train/param_norm"):
            a, b = losses(tmp_path / "straight", key), losses(tmp_path / run, key)
            assert sorted(a) == sorted(b) == list(range(1, 21))
            differing = [(step, a[step], b[step]) for step in sorted(a) if a[step] != b[step]]
            assert not differing, f"{run}: {key} differs (step, straight, resumed): {differing}"  # bit for bit


@pytest.mark.slow
def test_sigterm_checkpoints_exits_0_and_resumes_the_same_sequence(data_dir, tmp_path):
    run, sets = tmp_path / "run", [f"--set={o}" for o in tiny_overrides(data_dir)]
    sets += ["--set=train.steps=3000", "--set=checkpoint.every_steps=0"]
    proc = subprocess.Popen(_cli(run, *sets), env=_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(losses(run) if (run / "metrics.jsonl").exists() else {}) < 5:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    stopped_at = checkpoint.latest_step(RunDir(run).checkpoints)
    assert stopped_at is not None and 5 <= stopped_at < 3000
    assert max(losses(run)) == stopped_at
    cfg = tiny_config(data_dir, "train.steps=3000", "checkpoint.every_steps=0")
    assert train(cfg, run, stop_after=3, progress=False)["step"] == stopped_at + 3
    train(cfg, tmp_path / "reference", stop_after=stopped_at + 3, progress=False)
    assert losses(run) == losses(tmp_path / "reference")
