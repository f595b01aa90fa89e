"""Multi-host on one machine: two `picojax train` processes x 4 fake CPU devices joined by
jax.distributed (gloo) train the same model as one process with 8 devices.

Each process reads its own slice of the data (Grain, `[process_index::process_count]`),
so the global batch of a 2-process run is process 0's rows then process 1's. The 8-device
reference feeds exactly those global batches to the same jitted step in this process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from _train_support import make_data, tiny_config, tiny_overrides
from picojax import data, optim, sharding, writers
from picojax.train_state import init_train_state
from picojax.train_step import build_train_step

STEPS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reference_losses(cfg) -> list[float]:
    mesh = sharding.make_mesh(cfg.mesh)
    tx, schedule = optim.make_optimizer(cfg)
    graphdef, state, shardings = init_train_state(cfg, mesh, tx)
    step = build_train_step(cfg, graphdef, tx, schedule, shardings, mesh)
    slices = [data.make_train_iterator(cfg, process_index=i, process_count=2) for i in range(2)]
    losses = []
    for _ in range(STEPS):
        parts = [next(it) for it in slices]
        batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        state, out = step(state, sharding.to_global_batch(batch, mesh))
        losses.append(float(out["loss"]))
    return losses


@pytest.mark.slow
def test_two_processes_match_one_process_with_eight_devices(tmp_path):
    data_dir = make_data(tmp_path / "data")
    overrides = [*tiny_overrides(data_dir), f"train.steps={STEPS}", "checkpoint.every_steps=3", "mesh.cpu_devices=4"]
    workdir, port = tmp_path / "run", _free_port()
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "picojax", "train", "--workdir", str(workdir), "--no-progress", "--no-task-evals",
             "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", str(i),
             *[f"--set={o}" for o in overrides]],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for i in range(2)
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=240)[0].decode())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:]
    assert "devices: 8 x cpu over 2 process(es)" in outputs[0]

    got = [r["train/loss"] for r in writers.read_jsonl(workdir / "metrics.jsonl") if "train/loss" in r]
    expected = _reference_losses(tiny_config(data_dir, f"train.steps={STEPS}"))
    assert len(got) == STEPS
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # Each process checkpointed its own data position; process 0 wrote the rest.
    for step in (3, 6):
        files = sorted(p.name for p in (workdir / "checkpoints" / str(step) / "data").glob("process_*"))
        assert files == ["process_0-of-2.json", "process_1-of-2.json"]


def test_partial_multiprocess_flags_are_a_clear_error(monkeypatch):
    from picojax import distributed

    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(distributed.DistributedError, match="needs all of --coordinator"):
        distributed.initialize(coordinator="127.0.0.1:1234")
    with pytest.raises(distributed.DistributedError, match=r"process id 2 is not in \[0, 2\)"):
        distributed.initialize("127.0.0.1:1234", 2, 2)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(distributed.DistributedError, match="JAX_NUM_PROCESSES='two' is not an integer"):
        distributed.initialize()
    monkeypatch.delenv("JAX_NUM_PROCESSES")
    assert distributed.initialize("127.0.0.1:1234", 1, 0) is False  # one process: nothing to join
    assert distributed.any_processes([True, False]) == [True, False]
