"""Checkpoints written by earlier versions still restore and resume.

tests/fixtures/checkpoint_v1 is a tiny run (depth 1) checkpointed at step 3 of 6 by commit
8ddf575, when the train state was a dict and the checkpoint item ``opt_state`` also held
the step and the rng; its ``expected.json`` holds the step, the rng and the next three
losses that resuming it gave then (see its ``make.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jax
import numpy as np

from picojax import checkpoint, config_io, optim, sharding, writers
from picojax.restore import restore_for_inference
from picojax.run_dir import RunDir
from picojax.train import train
from picojax.train_state import abstract_train_state

V1 = Path(__file__).parent / "fixtures" / "checkpoint_v1"


def copy_v1(tmp_path: Path):
    """(config to resume with, workdir): the fixture copied, its data folder pointed at."""
    shutil.copytree(V1 / "data", tmp_path / "data")
    shutil.copytree(V1 / "run", tmp_path / "run")
    run = RunDir(tmp_path / "run")
    cfg = config_io.resume(run.read_config(), [f"data.dir={tmp_path / 'data'}"])
    return cfg, tmp_path / "run"


def test_v1_checkpoint_resumes_to_the_same_losses(tmp_path):
    expected = json.loads((V1 / "expected.json").read_text())
    cfg, workdir = copy_v1(tmp_path)
    summary = train(cfg, workdir, progress=False)
    assert summary["start_step"] == expected["step"] and summary["step"] == 6
    losses = {str(r["step"]): r["train/loss"] for r in writers.read_jsonl(workdir / "metrics.jsonl") if "train/loss" in r}
    # Bit for bit on the machine that wrote the fixture; a tolerance for other CPUs (a
    # restore that lost the moments or the step moves these by far more).
    np.testing.assert_allclose([losses[s] for s in expected["losses_after_resume"]],
                               list(expected["losses_after_resume"].values()), rtol=1e-5)
    ckpt = checkpoint.Checkpointer(RunDir(workdir).checkpoints, read_only=True)
    try:  # what the resumed run saved is in today's layout
        assert ckpt.state_layout(6) is checkpoint.CURRENT_LAYOUT and ckpt.state_layout(3) is checkpoint.V1_LAYOUT
    finally:
        ckpt.close()


def test_v1_train_state_restores_with_its_step_and_rng(tmp_path):
    expected = json.loads((V1 / "expected.json").read_text())
    cfg, workdir = copy_v1(tmp_path)
    abstract, _ = abstract_train_state(cfg, sharding.make_mesh(cfg.mesh), optim.make_optimizer(cfg)[0])
    ckpt = checkpoint.Checkpointer(RunDir(workdir).checkpoints, read_only=True)
    try:
        state = ckpt.restore(3, abstract)  # checked against the fingerprints v1 saved
    finally:
        ckpt.close()
    assert int(state.step) == expected["step"] and np.asarray(state.rng).tolist() == expected["rng"]
    assert [x.shape for x in jax.tree.leaves(state.opt_state)] == [x.shape for x in jax.tree.leaves(abstract.opt_state)]


def test_v1_checkpoint_restores_for_inference(tmp_path):
    _, workdir = copy_v1(tmp_path)
    restored = restore_for_inference(workdir)
    assert restored.step == 3 and restored.cfg.model.depth == 1
    assert np.isfinite(np.asarray(restored.model(np.ones((1, 4), np.int32)))).all()
