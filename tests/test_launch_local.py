"""A 2-process launch on localhost, driven the way `run_tpu.sh train` drives TPU workers.

On a TPU VM, `run_tpu.sh train` runs `bash run_tpu.sh worker --workdir WD -- ARGS` on
every worker at once. Here two local processes run exactly that command; where a TPU
worker learns its index and the coordinator from the TPU metadata, these get the
environment variables JAX itself reads (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID). The run is stopped halfway, then relaunched the same way: it must resume
from its checkpoint and finish, every step logged once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _train_support import make_data, tiny_overrides

SCRIPT = Path(__file__).resolve().parent.parent / "run_tpu.sh"
STEPS, HALF = 20, 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(workdir: Path, run_dir: Path, train_args: list[str], timeout: float = 240) -> list[str]:
    """Both workers at once, as `gcloud ... ssh --worker=all` starts them; their merged output."""
    picojax = Path(sys.executable).parent / "picojax"  # the console script of this environment
    assert picojax.exists(), f"no picojax console script next to {sys.executable}"
    coordinator = f"127.0.0.1:{free_port()}"
    procs = []
    for index in range(2):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TPU_", "JAX_COORDINATOR", "JAX_PROCESS"))}
        env.update(JAX_COORDINATOR_ADDRESS=coordinator, JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(index),
                   PICOJAX_BIN=str(picojax), PICOJAX_RUN_DIR=str(run_dir), JAX_PLATFORMS="cpu")
        procs.append(subprocess.Popen(
            ["bash", str(SCRIPT), "worker", "--workdir", str(workdir), "--", *train_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for index, (proc, out) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, f"worker {index} exited {proc.returncode}:\n{out[-3000:]}"
    return [line for out in outputs for line in out.splitlines()]


@pytest.mark.slow
def test_two_workers_train_stop_and_resume(tmp_path):
    data_dir = make_data(tmp_path / "data")  # the same prepared data on every "worker"
    workdir, run_dir = tmp_path / "run", tmp_path / "pids"
    args = ["--set", *[x for o in tiny_overrides(data_dir) for x in ("--set", o)][1:],
            "--set", f"train.steps={STEPS}", "--set", f"checkpoint.every_steps={HALF}",
            "--set", "mesh.cpu_devices=4",  # 2 processes x 4 fake devices = one 8-device mesh
            "--no-task-evals"]  # (the worker adds --no-progress itself)

    first = launch(workdir, run_dir, [*args, "--stop-after", str(HALF)])
    # Every line came back prefixed by its worker, both workers spoke, and together they
    # formed one run over 2 processes.
    assert all(line.startswith(("[worker 0] ", "[worker 1] ")) for line in first)
    assert any(line.startswith("[worker 1] ") for line in first)
    assert any("over 2 process(es)" in line for line in first), "\n".join(first[-40:])
    steps_dir = workdir / "checkpoints"
    assert sorted(int(p.name) for p in steps_dir.iterdir() if p.name.isdigit()) == [HALF]

    second = launch(workdir, run_dir, args)  # the same command again, as babysit relaunches
    assert any("resumed from" in line and line.startswith("[worker 0] ") for line in second), "\n".join(second[-40:])
    assert STEPS in [int(p.name) for p in steps_dir.iterdir() if p.name.isdigit()]
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "train/loss" in r] == list(range(1, STEPS + 1))  # each step once
    assert not list(run_dir.glob("*.pid"))  # both workers cleaned up after themselves
