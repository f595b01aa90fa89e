"""Hardening (issue 17): damaged checkpoints, resuming by workdir alone, a full disk, a failed
TPU slice join, and the benches saying what they measured.

Each test here failed before its fix. The runs are the trainer tests' tiny model
(tests/_train_support.py); one run, checkpointed at steps 4, 8 and 12, is trained once per
module and copied by every test that damages or resumes it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import jax
import numpy as np
import pytest

from _train_support import make_data, tiny_config, tiny_overrides
from picojax import checkpoint, distributed, writers
from picojax.app.cli import main
from picojax.run_dir import RunDir
from picojax.restore import restore_for_inference
from picojax.train import train

STEPS, EVERY = 12, 4


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


def run_config(data_dir, *extra):
    return tiny_config(data_dir, f"train.steps={STEPS}", f"checkpoint.every_steps={EVERY}", *extra)


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    """A finished run with checkpoints 4, 8, 12 (and its per-step metrics)."""
    workdir = tmp_path_factory.mktemp("trained") / "run"
    assert train(run_config(data_dir), workdir, progress=False)["step"] == STEPS
    return workdir


def copy_run(trained, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    return run


def losses(workdir) -> dict[int, float]:
    return {r["step"]: r["train/loss"] for r in writers.read_jsonl(Path(workdir) / "metrics.jsonl") if "train/loss" in r}


def truncate_an_array(run: Path, step: int) -> Path:
    """Cuts the largest parameter data file of checkpoint `step` to 10 bytes."""
    files = sorted((run / "checkpoints" / str(step) / "params").rglob("d/*"), key=lambda p: p.stat().st_size)
    victim = files[-1]
    with open(victim, "r+b") as f:
        f.truncate(10)
    return victim


def tree_hash(root: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cli(capsys, *argv) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]


def train_argv(run: Path, *extra: str) -> list[str]:
    return ["train", "--workdir", str(run), "--no-progress", "--no-task-evals", *extra]


# ---- 1. a damaged newest checkpoint -----------------------------------------------------------


def test_training_resumes_from_the_newest_checkpoint_that_restores_and_saves_those_steps_again(trained, tmp_path,
                                                                                               capsys):
    run = copy_run(trained, tmp_path)
    victims = {step: truncate_an_array(run, step).relative_to(run / "checkpoints" / str(step)) for step in (8, 12)}
    # Resume by workdir alone: 12 and 8 are damaged, 4 restores.
    code, _, err = cli(capsys, *train_argv(run))
    assert code == 0, err
    reports = [line for line in err if "does not restore" in line]
    assert [r.split(" does not restore (")[0] for r in reports] == ["picojax train: checkpoint step 12",
                                                                   "picojax train: checkpoint step 8"]
    for step, report in zip((12, 8), reports):
        assert report.endswith(f"; moved it to {run / 'damaged_checkpoints' / str(step)} (nothing deleted)")
    assert any("resumed from" in line and line.endswith(f"checkpoints{os.sep}4") for line in err), err
    # Nothing deleted: the damaged steps were moved aside whole, and this run saved them again.
    for step, rel in victims.items():
        assert (run / "damaged_checkpoints" / str(step) / rel).stat().st_size == 10
    ckpt = checkpoint.Checkpointer(RunDir(run).checkpoints, read_only=True)
    try:
        assert ckpt.all_steps() == [4, 8, 12]  # keep-3 counted only real checkpoints
    finally:
        ckpt.close()
    assert restore_for_inference(run, step=12).step == 12 and restore_for_inference(run, step=8).step == 8
    # Steps 5..12 were trained again from 4 and came out as the first time, bit for bit.
    first, again = losses(trained), losses(run)
    assert all(again[s] == first[s] for s in range(5, 13)), [(s, first[s], again[s]) for s in range(5, 13)]


def test_sample_uses_the_next_older_checkpoint_with_a_warning_and_moves_nothing(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    truncate_an_array(run, 12)
    before = tree_hash(run)
    code, out, err = cli(capsys, "sample", "--workdir", str(run), "--prompt", "Once upon", "--max-new-tokens", "4")
    assert code == 0, err
    assert any(line.startswith("picojax: warning: checkpoint step 12 does not restore (") and
               line.endswith("; using step 8") for line in err), err
    assert any(" step 8, " in line for line in err) and out.startswith("Once upon")
    assert tree_hash(run) == before  # a reader moves and deletes nothing


def test_a_damaged_explicit_step_is_one_line_exit_2(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    truncate_an_array(run, 8)
    code, _, err = cli(capsys, "sample", "--workdir", str(run), "--prompt", "x", "--step", "8")
    assert code == 2 and len(err) == 1
    assert err[0].startswith("picojax sample: error: checkpoint step 8 in ") and "does not restore" in err[0]


def test_no_checkpoint_restores_is_one_line_exit_2_and_nothing_changes(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    for step in (4, 8, 12):
        truncate_an_array(run, step)
    before = tree_hash(run)
    code, _, err = cli(capsys, "eval", "--workdir", str(run), "--samples", "1")
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("picojax eval: error: no checkpoint in ") and "restores: step 12: " in err[0]
    assert "; step 8: " in err[0] and "; step 4: " in err[0]
    code, _, err = cli(capsys, *train_argv(run))
    assert code == 2 and err[-1].startswith("picojax train: error: no checkpoint in ")
    assert tree_hash(run) == before and not (run / "damaged_checkpoints").exists()


def test_restore_checks_fingerprints_of_what_it_read(trained, tmp_path):
    """Bytes that still decode, but to other values: only the fingerprint can tell."""
    run = copy_run(trained, tmp_path)
    meta_file = run / "checkpoints" / "12" / "meta" / "metadata"
    meta = json.loads(meta_file.read_text())
    name = sorted(meta["fingerprints"]["params"])[0]
    meta["fingerprints"]["params"][name] = "0" * 16
    meta_file.write_text(json.dumps(meta))
    warnings = []
    restored = restore_for_inference(run, warn=warnings.append)
    assert restored.step == 8
    assert warnings == [f"checkpoint step 12 does not restore (params{name} is not what was saved "
                        f"(fingerprint mismatch)); using step 8"]


def test_fingerprints_are_exact_across_shardings_and_see_one_bit():
    from jax.sharding import NamedSharding, PartitionSpec as P

    x = jax.random.normal(jax.random.key(0), (16, 8))
    mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    sharded = jax.device_put(x, NamedSharding(mesh, P("data")))
    tree = {"w": x, "b": jax.numpy.arange(5, dtype=jax.numpy.int32), "h": x.astype(jax.numpy.bfloat16)}
    same = {"w": sharded, "b": tree["b"], "h": jax.device_put(tree["h"], NamedSharding(mesh, P(None, "data")))}
    assert checkpoint.fingerprints(tree) == checkpoint.fingerprints(same)
    bits = np.asarray(x).view(np.uint32).copy()
    bits[3, 2] ^= 1  # one ulp
    flipped = checkpoint.fingerprints({**tree, "w": jax.numpy.asarray(bits.view(np.float32))})
    assert flipped["['w']"] != checkpoint.fingerprints(tree)["['w']"] and flipped["['b']"] == checkpoint.fingerprints(tree)["['b']"]
    swapped = np.asarray(x).copy()
    swapped[[0, 1]] = swapped[[1, 0]]  # the same values elsewhere: the weighted sum differs
    assert checkpoint.fingerprints({"w": jax.numpy.asarray(swapped)}) != checkpoint.fingerprints({"w": x})


# ---- 2. resuming by workdir alone ---------------------------------------------------------------


def test_workdir_alone_resumes_with_its_config_and_set_changes_what_may_change(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    code, out, err = cli(capsys, *train_argv(run, "--set", "train.steps=14", "--set", "train.log_every=2",
                                             "--set", "checkpoint.every_steps=1"))
    assert code == 0, err
    assert "model.depth = 1" in out and "train.steps = 14" in out and "train.log_every = 2" in out
    assert any(line.endswith(f"checkpoints{os.sep}12") and "resumed from" in line for line in err)
    assert RunDir(run).read_config().train.steps == 14
    assert sorted(losses(run))[-2:] == [12, 14]  # logged every 2 steps from here on


# A value other than the tiny run's for every key a resume may not change (every model
# field, the task, the tokenizer, the optimizer): valid, so a preset may give it too.
FROZEN_VALUES = {
    "model.depth": "2", "model.aspect_ratio": "16", "model.head_dim": "8", "model.kv_group": "2",
    "model.mlp_multiple": "64", "model.vocab_size": "512", "model.seq_len": "64", "model.tie_embeddings": "false",
    "model.qk_norm": "false", "model.logit_softcap": "30.0", "model.rope_theta": "500000.0", "model.norm_eps": "1e-06",
    "model.init_std": "0.01", "model.compute_dtype": "bfloat16", "model.param_dtype": "bfloat16",
    "model.attention": "xla", "model.d_model": "64", "model.n_heads": "4", "model.n_kv_heads": "1",
    "model.mlp_hidden": "128", "data.task": "rpg", "data.tokenizer": "/elsewhere/tokenizer.model", "optim.name": "muon",
}


def test_the_frozen_values_cover_every_frozen_key():
    from picojax import config_io

    assert sorted(FROZEN_VALUES) == sorted(k for k in config_io.flat_keys() if config_io.frozen_on_resume(k))


def _preset(tmp_path) -> Path:
    """The defaults as a preset file, for `--config` (the tiny run's fields come by --set)."""
    preset = tmp_path / "preset.py"
    preset.write_text("from picojax.config import Config\n\ndef get_config():\n    return Config()\n")
    return preset


@pytest.mark.parametrize("given", ["--set", "--config"])
@pytest.mark.parametrize("key", sorted(FROZEN_VALUES))
def test_a_resume_refuses_a_change_to_what_may_not_change_naming_the_key(trained, data_dir, tmp_path, capsys,
                                                                        given, key):
    """`train --workdir RUN --set KEY=...` and `train --config X --workdir RUN` with X changing
    KEY: the same one line, before anything starts."""
    run = copy_run(trained, tmp_path)
    before = tree_hash(run)
    override = f"{key}={FROZEN_VALUES[key]}"
    if given == "--set":
        argv = train_argv(run, "--set", "train.steps=14", "--set", override)
    else:
        sets = [a for o in [*tiny_overrides(data_dir), "train.steps=14", override] for a in ("--set", o)]
        argv = train_argv(run, "--config", str(_preset(tmp_path)), *sets)
    code, _, err = cli(capsys, *argv)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"picojax train: error: {key} cannot change when resuming {run} (the run has "), err
    assert f", {given} gives " in err[0] and err[0].endswith("train it in a fresh --workdir")
    assert tree_hash(run) == before


def test_train_with_the_runs_own_config_as_a_preset_resumes(trained, data_dir, tmp_path, capsys):
    """--config on a run's workdir is refused only for what a resume may not change."""
    run = copy_run(trained, tmp_path)
    sets = [a for o in [*tiny_overrides(data_dir), f"checkpoint.every_steps={EVERY}", "train.steps=13"]
            for a in ("--set", o)]
    code, _, err = cli(capsys, *train_argv(run, "--config", str(_preset(tmp_path)), *sets))
    assert code == 0, err
    assert any(line.endswith(f"checkpoints{os.sep}12") and "resumed from" in line for line in err)


@pytest.mark.parametrize("override, message", [
    ("optim.name=muon", "is from a different optimizer: optim.name: checkpoint 'adamw', now 'muon'"),
    ("data.task=rpg", "is from a different task: data.task: checkpoint 'stories', now 'rpg'"),
])
def test_the_library_refuses_a_checkpoint_of_another_task_or_optimizer_by_key(trained, data_dir, tmp_path,
                                                                             override, message):
    """`train(cfg, RUN)` compares the checkpoint with the same list: an optimizer change is
    named, not reported as a checkpoint that does not restore."""
    run = copy_run(trained, tmp_path)
    before = tree_hash(run)
    with pytest.raises(checkpoint.CheckpointError, match=re.escape(message)):
        train(run_config(data_dir, "train.steps=14", override), run, progress=False)
    assert tree_hash(run) == before


def test_a_resume_refuses_an_override_that_would_do_nothing(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    code, _, err = cli(capsys, *train_argv(run, "--set", "train.tokens_per_param=40"))
    assert code == 2 and len(err) == 1
    assert "train.tokens_per_param only sets train.steps when train.steps is derived" in err[0]
    assert "--set train.steps=... instead" in err[0]


# ---- disk full ----------------------------------------------------------------------------------


def _expect_disk_full_then_resume(run: Path, code: int, err: list[str], data_dir) -> None:
    assert code == 2 and len(err) == 1, "\n".join(err)
    assert err[0] == (f"picojax train: error: saving checkpoint step 8 in {run / 'checkpoints'} failed: "
                      "No space left on device; the newest complete checkpoint is step 4")
    ckpt = checkpoint.Checkpointer(RunDir(run).checkpoints, read_only=True)
    try:
        assert ckpt.all_steps() == [4]
    finally:
        ckpt.close()
    assert restore_for_inference(run).step == 4


# The failed save's background threads leave futures and coroutines nobody awaits: noise
# the CLI drops (see train.py), which pytest would otherwise report as warnings.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::RuntimeWarning")
def test_a_full_disk_ends_the_run_in_one_line_and_the_next_run_resumes(trained, data_dir, tmp_path, capsys, monkeypatch):
    """The fault injected where Orbax writes its files (every checkpoint file of step 8)."""
    from orbax.checkpoint._src.path import async_path

    real_write_text, real_write_bytes = async_path.write_text, async_path.write_bytes

    def full(path):
        if f"{os.sep}checkpoints{os.sep}8." in str(path) or str(path).endswith(f"{os.sep}checkpoints{os.sep}8"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    async def write_text(path, text):
        full(path)
        return await real_write_text(path, text)

    async def write_bytes(path, data):
        full(path)
        return await real_write_bytes(path, data)

    monkeypatch.setattr(async_path, "write_text", write_text)
    monkeypatch.setattr(async_path, "write_bytes", write_bytes)
    run = tmp_path / "run"
    sets = [a for o in tiny_overrides(data_dir) for a in ("--set", o)]
    code, _, err = cli(capsys, *train_argv(run, *sets, "--set", f"train.steps={STEPS}",
                                           "--set", f"checkpoint.every_steps={EVERY}"))
    _expect_disk_full_then_resume(run, code, err, data_dir)
    monkeypatch.undo()  # space again: the same command resumes from step 4 and finishes
    code, _, err = cli(capsys, *train_argv(run))
    assert code == 0, err
    assert any("resumed from" in line and line.endswith(f"checkpoints{os.sep}4") for line in err)
    assert losses(run) == losses(trained)


def _can_mount_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(where)], check=True)
    return ok


@pytest.mark.slow
def test_a_really_full_disk_in_a_fresh_process(trained, data_dir, tmp_path):
    """The same on a real 1000 KiB tmpfs (root only): one checkpoint fits, the second not."""
    mnt = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    if not _can_mount_tmpfs(mnt):
        pytest.skip("needs root and tmpfs to make a small disk (the fault-injected test above runs everywhere)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1000k", "tmpfs", str(mnt)], check=True)
    try:
        run = mnt / "run"
        env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
        sets = [f"--set={o}" for o in [*tiny_overrides(data_dir), f"train.steps={STEPS}", f"checkpoint.every_steps={EVERY}"]]
        proc = subprocess.run([sys.executable, "-m", "picojax", *train_argv(run, *sets)], env=env, capture_output=True,
                              text=True, timeout=170)
        _expect_disk_full_then_resume(run, proc.returncode, [l for l in proc.stderr.splitlines() if l.strip()], data_dir)
        subprocess.run(["mount", "-o", "remount,size=8m", str(mnt)], check=True)
        proc = subprocess.run([sys.executable, "-m", "picojax", *train_argv(run)], env=env, capture_output=True,
                              text=True, timeout=170)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert losses(run) == losses(trained)
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


# ---- 4. data rpg --out where nothing can be created ---------------------------------------------


def test_data_rpg_out_in_an_uncreatable_place_is_one_line(capsys):
    code, _, err = cli(capsys, "data", "rpg", "--out", "/proc/picojax-nope/rpg", "--train-records", "10", "--no-progress")
    assert code == 2 and len(err) == 1
    assert err[0].startswith("picojax data: error: --out /proc/picojax-nope/rpg: cannot write the dataset there: ")


# ---- 5. a failed TPU slice join ------------------------------------------------------------------


@pytest.fixture
def failing_tpu_join(monkeypatch):
    for name in ("TPU_WORKER_HOSTNAMES", "TPU_PROCESS_ADDRESSES", "MEGASCALE_NUM_SLICES", "TPU_WORKER_ID",
                 "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distributed, "on_cloud_tpu_vm", lambda: True)
    monkeypatch.setattr(distributed, "_tpu_metadata", lambda key, timeout=2.0: None)

    def initialize(*args, **kwargs):
        raise RuntimeError("Failed to connect to the coordinator at 10.0.0.2:8476")

    monkeypatch.setattr(jax.distributed, "initialize", initialize)
    return monkeypatch


def test_a_failed_join_of_a_multi_worker_slice_is_fatal(failing_tpu_join, tmp_path, capsys):
    failing_tpu_join.setenv("TPU_WORKER_HOSTNAMES", "t1v-n-0,t1v-n-1,t1v-n-2,t1v-n-3")
    with pytest.raises(distributed.SliceJoinError, match="this slice has 4 workers"):
        distributed.initialize()
    # Through the CLI: one line, exit 1 (worth a relaunch, unlike a bad input), nothing written.
    code, _, err = cli(capsys, *train_argv(tmp_path / "run"))
    assert code == 1 and len(err) == 1
    assert err[0].startswith("picojax train: error: could not join the TPU slice (Failed to connect")
    assert not (tmp_path / "run").exists()


def test_slice_size_comes_from_metadata_slices_and_worker_ids(failing_tpu_join):
    failing_tpu_join.setattr(distributed, "_tpu_metadata", lambda key, timeout=2.0: "n0:0:10.0.0.1,n1:1:10.0.0.2")
    assert distributed.tpu_worker_count() == 2
    failing_tpu_join.setenv("MEGASCALE_NUM_SLICES", "2")
    assert distributed.tpu_worker_count() == 4
    failing_tpu_join.setattr(distributed, "_tpu_metadata", lambda key, timeout=2.0: None)
    failing_tpu_join.delenv("MEGASCALE_NUM_SLICES")
    assert distributed.tpu_worker_count() is None  # unknown: fatal too (it may be a slice)
    with pytest.raises(distributed.SliceJoinError, match="worker count is unknown"):
        distributed.initialize()
    failing_tpu_join.setenv("TPU_WORKER_ID", "3")
    assert distributed.tpu_worker_count() == 4


def test_a_one_worker_tpu_vm_goes_on_alone(failing_tpu_join, capsys):
    failing_tpu_join.setenv("TPU_WORKER_HOSTNAMES", "t1v-n-0")
    assert distributed.initialize() is False
    assert "this slice has one worker: running single-process" in capsys.readouterr().out
    failing_tpu_join.delenv("TPU_WORKER_HOSTNAMES")
    failing_tpu_join.setenv("JAX_NUM_PROCESSES", "1")  # the way to say so when the metadata is unreachable
    assert distributed.initialize() is False
