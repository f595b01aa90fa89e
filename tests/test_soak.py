"""Soak: a tiny run killed with SIGKILL at random moments, resumed each time, logs exactly
the losses of the same run left alone.

SIGKILL gives the trainer no chance to checkpoint: whatever it was doing (a step, an async
save in flight, writing metrics) just stops, and the next process must resume from what
is on disk. Every resumed process finds the newest complete checkpoint (an interrupted
save leaves only an Orbax temp folder, cleaned up on the next open), and metrics.jsonl
loses the steps after it, which are then trained and logged again. The moments are drawn
from a seeded RNG (PICOJAX_SOAK_SEED, default 0) and printed, so a failure can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _train_support import make_data, tiny_overrides
from picojax import writers

STEPS, EVERY, KILLS = 36, 3, 4


def logged(workdir: Path, key: str) -> dict[int, float]:
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return {}
    try:
        return {r["step"]: r[key] for r in writers.read_jsonl(path) if key in r}
    except ValueError:  # caught mid-write by this poll: look again later
        return {}


def checkpoint_steps(workdir: Path) -> list[int]:
    folder = workdir / "checkpoints"
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_logs_the_uninterrupted_losses(tmp_path):
    seed = int(os.environ.get("PICOJAX_SOAK_SEED", "0"))
    rng = random.Random(seed)
    data_dir = make_data(tmp_path / "data")
    overrides = [*tiny_overrides(data_dir), f"train.steps={STEPS}", f"checkpoint.every_steps={EVERY}"]
    run = tmp_path / "run"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu",
           # Every resumed process compiles the same step: cache it, so the soak spends its
           # time training and being killed rather than compiling.
           "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
           "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}

    def argv(workdir: Path) -> list[str]:
        return [sys.executable, "-m", "picojax", "train", "--workdir", str(workdir), "--no-progress", "--no-task-evals",
                *[f"--set={o}" for o in overrides]]

    # The uninterrupted run first, in the same kind of process: it also fills the cache.
    reference = tmp_path / "reference"
    subprocess.run(argv(reference), env=env, cwd=tmp_path, check=True, capture_output=True, timeout=170)
    history = []  # (checkpoint resumed from, seconds after its first new checkpoint, killed?)
    for attempt in range(KILLS + 1):
        resumed_from = max(checkpoint_steps(run), default=0)
        started = time.time()
        proc = subprocess.Popen(argv(run), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if attempt == KILLS:  # the last one runs to the end
                _, err = proc.communicate(timeout=170)
                assert proc.returncode == 0, f"seed {seed}, {history}: {err.decode()[-3000:]}"
                break
            # Wait for this process to commit a checkpoint of its own (so every round makes
            # progress), then kill it a random moment later: during a step, an async save,
            # the metrics, the final eval...
            deadline = started + 150
            while proc.poll() is None and time.time() < deadline and max(checkpoint_steps(run), default=0) <= resumed_from:
                time.sleep(0.02)
            delay = rng.uniform(0.0, 1.5)
            time.sleep(delay)
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=60)
            assert killed or proc.returncode == 0, f"seed {seed}, {history}: {err.decode()[-3000:]}"
            history.append((resumed_from, round(delay, 2), killed))
            print(f"soak: resumed from {resumed_from}, killed={killed} {delay:.2f} s after its first checkpoint, "
                  f"{time.time() - started:.1f} s in all", flush=True)
            if not killed:  # finished before the kill came
                break
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sum(killed for _, _, killed in history) >= 2, f"seed {seed}: too few kills landed: {history}"

    for key in ("train/loss", "train/grad_norm"):
        want, got = logged(reference, key), logged(run, key)
        assert sorted(got) == sorted(want) == list(range(1, STEPS + 1)), (seed, history, key, sorted(got))
        differing = [(s, want[s], got[s]) for s in want if want[s] != got[s]]
        assert not differing, f"seed {seed}, kills {history}: {key} differs (step, uninterrupted, killed): {differing}"
