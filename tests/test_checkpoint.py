"""Checkpoints: refusing foreign checkpoints and tokenizers by name, restoring onto other
meshes (and one device) with the same next losses."""

from __future__ import annotations

import dataclasses
import shutil

import jax
import pytest

from _train_support import make_data, tiny_config
from picojax import checkpoint, config_io, writers
from picojax.train import train
from picojax.train_state import TrainState
from picojax.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def saved_run(data_dir, tmp_path_factory):
    """A run checkpointed at step 6 on the (8, 1, 1) data-parallel mesh."""
    workdir = tmp_path_factory.mktemp("saved") / "run"
    cfg = tiny_config(data_dir, "train.steps=12", "checkpoint.every_steps=6", "mesh.data=8")
    assert train(cfg, workdir, stop_after=6, progress=False)["step"] == 6
    return cfg, workdir


def losses(workdir):
    return {r["step"]: r["train/loss"] for r in writers.read_jsonl(workdir / "metrics.jsonl") if "train/loss" in r}


def test_config_differences_name_each_model_field():
    a, b = config_io.to_dict(config_io.load(None, [])), config_io.load(None, ["model.depth=2", "model.seq_len=64",
                                                                              "train.steps=5"])
    diffs = checkpoint.config_differences(a, config_io.to_dict(b))
    assert any(d.startswith("model.depth: checkpoint 4, now 2") for d in diffs)
    assert any(d.startswith("model.seq_len:") for d in diffs)
    assert not any(d.startswith("train.") for d in diffs)  # the horizon may change on resume


def test_foreign_model_checkpoint_is_refused_by_field(saved_run, data_dir, tmp_path):
    _, workdir = saved_run
    run = tmp_path / "run"
    shutil.copytree(workdir, run)
    with pytest.raises(checkpoint.CheckpointError, match=r"different model: .*model\.depth: checkpoint 1, now 2"):
        train(tiny_config(data_dir, "model.depth=2", "train.steps=12"), run, progress=False)


def test_tokenizer_mismatch_is_refused(saved_run, data_dir, tmp_path):
    _, workdir = saved_run
    run = tmp_path / "run"
    shutil.copytree(workdir, run)
    other = tmp_path / "other.model"
    train_tokenizer(data_dir, 200, other, profile="stories")
    cfg = tiny_config(data_dir, f"data.tokenizer={other}", "train.steps=12")
    with pytest.raises(checkpoint.CheckpointError, match="another tokenizer: sha256"):
        train(cfg, run, progress=False)


def test_missing_checkpoint_is_a_user_error(tmp_path):
    from picojax.restore import restore_for_inference

    with pytest.raises(checkpoint.CheckpointError, match="no checkpoints"):
        restore_for_inference(tmp_path / "nothing")


@pytest.mark.slow
def test_restore_onto_other_meshes_continues_the_same_losses(saved_run, tmp_path):
    cfg, workdir = saved_run
    continued = {}
    meshes = {
        "same (8,1,1)": (cfg, None),
        "tp (2,1,4)": (_on_mesh(cfg, data=2, tensor=4, strategy="tp"), None),
        "one device": (_on_mesh(cfg, data=1), jax.devices()[:1]),
    }
    for name, (mesh_cfg, devices) in meshes.items():
        run = tmp_path / name.replace(" ", "_")
        shutil.copytree(workdir, run)
        summary = train(mesh_cfg, run, stop_after=3, devices=devices, progress=False)
        assert summary["start_step"] == 6 and summary["step"] == 9, name
        continued[name] = losses(run)
    reference = continued.pop("same (8,1,1)")
    for name, got in continued.items():
        for step in (7, 8, 9):
            assert got[step] == pytest.approx(reference[step], abs=1e-5), (name, step)


def _on_mesh(cfg, **mesh):
    return dataclasses.replace(cfg, mesh=dataclasses.replace(cfg.mesh, **mesh))


def test_manager_keeps_the_newest_and_restores_onto_given_shardings(tmp_path):
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P

    ckpt = checkpoint.Checkpointer(tmp_path, max_to_keep=2)
    for step in (1, 2, 3):
        state = TrainState(params={"w": jnp.full((8, 2), float(step))}, opt_state={"count": jnp.asarray(step)},
                           step=jnp.asarray(step), rng=jnp.zeros(2, jnp.uint32))
        ckpt.save(step, state, None, {"config": {}, "tokenizer_sha256": "x"})
    ckpt.close()
    reader = checkpoint.Checkpointer(tmp_path, read_only=True)
    try:
        assert reader.all_steps() == [2, 3]
        assert reader.read_meta()["step"] == 3
        mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
        rows = NamedSharding(mesh, P("data"))
        scalar = jax.ShapeDtypeStruct((), jnp.int32, sharding=NamedSharding(mesh, P()))
        abstract = TrainState(params={"w": jax.ShapeDtypeStruct((8, 2), jnp.float32, sharding=rows)},
                              opt_state={"count": scalar}, step=scalar,
                              rng=jax.ShapeDtypeStruct((2,), jnp.uint32, sharding=NamedSharding(mesh, P())))
        restored = reader.restore(2, abstract)
        assert restored.params["w"].sharding == rows
        np.testing.assert_array_equal(restored.params["w"], np.full((8, 2), 2.0))
        with pytest.raises(checkpoint.CheckpointError, match="no checkpoint at step 1"):
            reader.read_meta(1)
    finally:
        reader.close()


def test_resuming_the_data_stream_needs_the_same_process_count(saved_run, tmp_path):
    cfg, workdir = saved_run
    run = tmp_path / "run"
    shutil.copytree(workdir, run)
    data = run / "checkpoints" / "6" / "data"
    (data / "process_0-of-1.json").rename(data / "process_0-of-2.json")  # as if 2 processes wrote it
    with pytest.raises(checkpoint.CheckpointError, match=r"written by 2 process\(es\), this run has 1"):
        train(cfg, run, progress=False)
