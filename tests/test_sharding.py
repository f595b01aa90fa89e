"""Meshes, rules tables and sharded execution on 8 fake CPU devices."""

import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

from picojax import sharding
from picojax.config import Config, MeshConfig, resolve
from picojax.sharding import MeshError

# (data, fsdp, tensor) and the strategy that uses them: the five meshes.
MESHES = [((1, 1, 1), "dp"), ((8, 1, 1), "dp"), ((1, 8, 1), "fsdp"), ((2, 1, 4), "tp"), ((1, 2, 4), "fsdp_tp")]


def small_config(strategy="dp", shape=(1, 1, 1), **model) -> Config:
    cfg = Config()
    # depth 2, d_model 64, 4 query and 4 kv heads of 16, MLP 192: every sharded dim divides 8 and 4.
    for key, value in {**dict(depth=2, aspect_ratio=32, head_dim=16, vocab_size=512, seq_len=16), **model}.items():
        setattr(cfg.model, key, value)
    cfg.mesh = MeshConfig(strategy=strategy, data=shape[0], fsdp=shape[1], tensor=shape[2])
    return resolve(cfg)


def mesh_for(cfg):
    n = cfg.mesh.data * cfg.mesh.fsdp * cfg.mesh.tensor
    return sharding.make_mesh(cfg.mesh, jax.devices()[:n])


def test_make_mesh_fills_the_rest_and_uses_auto_axes():
    mesh = sharding.make_mesh(MeshConfig(data=-1, fsdp=2, tensor=1))
    assert dict(mesh.shape) == {"data": 4, "fsdp": 2, "tensor": 1}
    assert all(t == AxisType.Auto for t in mesh.axis_types)
    assert dict(sharding.make_mesh(MeshConfig(data=2, fsdp=-1, tensor=2)).shape)["fsdp"] == 2


@pytest.mark.parametrize("data, fsdp, tensor, message", [
    (-1, -1, 1, "at most one may be -1"),
    (3, 1, 1, "needs 3 devices but 8 are present"),
    (-1, 3, 1, "does not divide the 8 devices"),
    (0, 1, 1, "sizes must be >= 1"),
])
def test_bad_meshes_are_clear_errors(data, fsdp, tensor, message):
    with pytest.raises(MeshError, match=message):
        sharding.make_mesh(MeshConfig(data=data, fsdp=fsdp, tensor=tensor))


def test_rules_map_logical_names_and_fall_back_to_replication():
    mesh = sharding.make_mesh(MeshConfig(data=2, fsdp=1, tensor=4))
    assert sharding.logical_to_spec(("embed", "mlp"), (64, 192), mesh) == P(None, "tensor")
    assert sharding.logical_to_spec(("vocab", "embed"), (512, 64), mesh) == P("tensor", None)
    # 250 rows do not split 4 ways: that dimension stays whole instead of failing.
    assert sharding.logical_to_spec(("vocab", "embed"), (250, 64), mesh) == P(None, None)
    fsdp_mesh = sharding.make_mesh(MeshConfig(data=1, fsdp=2, tensor=4))
    assert sharding.logical_to_spec(("embed", "heads", "head_dim"), (64, 4, 16), fsdp_mesh) == \
        P("fsdp", "tensor", None)
    assert sharding.batch_sharding(mesh).spec == P(("data", "fsdp"))
    with pytest.raises(ValueError, match="logical axis 'colour' has no rule"):
        sharding.logical_to_spec(("colour",), (64,), mesh)


CACHE_AXES = ("batch", "kv_heads", "length", "head_dim")  # `Transformer.init_cache`'s [B, kv_heads, S, head_dim]


def test_cache_specs_split_batch_and_kv_heads():
    mesh = sharding.make_mesh(MeshConfig(data=2, fsdp=1, tensor=4))
    assert sharding.logical_to_spec(CACHE_AXES, (4, 4, 32, 16), mesh) == P("data", "tensor", None, None)
    assert sharding.logical_to_spec(CACHE_AXES, (1, 2, 32, 16), mesh) == P(None, None, None, None)  # one prompt


# The four rules tables of before, one per mesh.strategy (picojax/sharding.py until issue 24).
_OLD_SHARED = {"batch": ("data", "fsdp"), "length": None, "norm": None, "head_dim": None}
_OLD_TP = {"vocab": "tensor", "heads": "tensor", "kv_heads": "tensor", "mlp": "tensor"}
OLD_RULES = {
    "dp": {**_OLD_SHARED, "embed": None, **dict.fromkeys(_OLD_TP)},
    "fsdp": {**_OLD_SHARED, "embed": "fsdp", **dict.fromkeys(_OLD_TP)},
    "tp": {**_OLD_SHARED, "embed": None, **_OLD_TP},
    "fsdp_tp": {**_OLD_SHARED, "embed": "fsdp", **_OLD_TP},
}
# Meshes each strategy ran on (its axes > 1, or 1), from one device to all eight.
OLD_MESHES = [("dp", (1, 1, 1)), ("dp", (2, 1, 1)), ("dp", (8, 1, 1)),
              ("fsdp", (1, 8, 1)), ("fsdp", (2, 4, 1)), ("fsdp", (8, 1, 1)),
              ("tp", (2, 1, 4)), ("tp", (4, 1, 2)), ("tp", (1, 1, 8)), ("tp", (8, 1, 1)),
              ("fsdp_tp", (1, 2, 4)), ("fsdp_tp", (2, 2, 2)), ("fsdp_tp", (1, 8, 1)), ("fsdp_tp", (8, 1, 1))]


def _every_spec(cfg) -> list:
    """The PartitionSpec of every leaf of the train state (AdamW) and of a KV cache of 8 rows and of 1."""
    from picojax.train_state import abstract_train_state

    mesh = mesh_for(cfg)
    _, shardings = abstract_train_state(cfg, mesh, optax.adamw(1e-3))
    m = cfg.model
    caches = [sharding.logical_to_spec(CACHE_AXES, (b, m.n_kv_heads, m.seq_len, m.head_dim), mesh) for b in (8, 1)]
    return [s.spec for s in jax.tree.leaves(shardings)] + caches


@pytest.mark.parametrize("strategy, shape", OLD_MESHES, ids=[f"{s}-{'x'.join(map(str, m))}" for s, m in OLD_MESHES])
def test_one_table_gives_every_strategy_the_shardings_of_its_old_table(monkeypatch, strategy, shape):
    """Mesh axes of size 1 split nothing, so the one table (the old fsdp_tp one) is each old
    table on the meshes that strategy runs on: the same spec for every leaf, whether it
    divides or not (vocab 250, 2 kv heads over tensor=4, an untied head)."""
    for model in ({}, {"vocab_size": 250, "kv_group": 2, "tie_embeddings": False, "depth": 1}):
        cfg = small_config(strategy, shape, **model)
        now = _every_spec(cfg)
        monkeypatch.setattr(sharding, "RULES", OLD_RULES[strategy])
        before = _every_spec(cfg)
        monkeypatch.undo()
        assert now == before, (strategy, shape, model)
        if strategy != "dp" and max(shape[1:]) > 1:
            assert any(any(axis is not None for axis in spec) for spec in now[:-2])  # it did split something


@pytest.mark.parametrize("overrides, message", [
    (["mesh.fsdp=4"], "mesh.strategy='dp' does not split the weights over mesh.fsdp=4: set mesh.strategy=fsdp"),
    (["mesh.tensor=2", "mesh.strategy=fsdp"],
     "mesh.strategy='fsdp' does not split the weights over mesh.tensor=2: set mesh.strategy=tp"),
    (["mesh.data=1", "mesh.fsdp=-1", "mesh.tensor=2", "mesh.strategy=dp"],
     "mesh.strategy='dp' does not split the weights over mesh.fsdp=-1 and mesh.tensor=2: set mesh.strategy=fsdp_tp"),
])
def test_a_strategy_that_disagrees_with_the_mesh_sizes_is_refused_naming_both(overrides, message):
    from picojax import config_io
    from picojax.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        config_io.load(None, overrides)


def test_a_strategy_naming_an_axis_of_size_1_still_loads():
    from picojax import config_io

    assert config_io.load(None, ["mesh.strategy=fsdp_tp", "mesh.fsdp=2"]).mesh.tensor == 1


def _batch(cfg, seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, cfg.model.vocab_size, (8, cfg.model.seq_len + 1), dtype=np.int32)
    return {"inputs": tokens[:, :-1], "targets": tokens[:, 1:]}


def _run_on_mesh(cfg, host_state, graphdef):
    """Puts the given weights on the config's mesh; returns (logits, params after one AdamW step)."""
    mesh = mesh_for(cfg)
    state_sh = sharding.state_shardings(host_state, mesh)
    state = jax.device_put(host_state, state_sh)
    # Adam's first update is lr * g / (|g| + eps): where |g| is near eps it magnifies float
    # rounding by lr / eps (1e5 at the usual eps=1e-8, which moved a weight with |g| = 8e-9 by
    # 2e-4 between meshes). eps=1e-6 keeps that magnification at 1e3, so 1e-5 tests sharding.
    optimizer = optax.adamw(1e-3, eps=1e-6, weight_decay=0.1)
    opt_state = jax.jit(optimizer.init, out_shardings=sharding.state_shardings(
        jax.eval_shape(optimizer.init, state), mesh))(state)
    opt_sh = sharding.state_shardings(opt_state, mesh)
    batch_sh = sharding.batch_sharding(mesh)
    batch = jax.device_put(_batch(cfg), batch_sh)

    def loss_fn(state, batch):
        logits = nnx.merge(graphdef, state)(batch["inputs"])
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["targets"]).mean(), logits

    def step(state, opt_state, batch):
        (_, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state, batch)
        updates, opt_state = optimizer.update(grads, opt_state, state)
        return optax.apply_updates(state, updates), opt_state, logits

    step = jax.jit(step, in_shardings=(state_sh, opt_sh, batch_sh), out_shardings=(state_sh, opt_sh, batch_sh),
                   donate_argnums=(0, 1))
    with jax.set_mesh(mesh):
        new_state, _, logits = step(state, opt_state, batch)
    return np.asarray(logits), jax.tree.map(np.asarray, new_state), new_state


@pytest.fixture(scope="module")
def reference():
    cfg = small_config()
    graphdef, state = sharding.create_model(cfg, mesh_for(cfg), seed=0)
    host_state = jax.tree.map(np.asarray, state)
    logits, params, _ = _run_on_mesh(cfg, host_state, graphdef)
    return graphdef, host_state, logits, params


@pytest.mark.parametrize("shape, strategy", MESHES[1:], ids=[s for _, s in MESHES[1:]])
def test_same_weights_same_logits_and_same_step_on_every_mesh(reference, shape, strategy):
    graphdef, host_state, ref_logits, ref_params = reference
    logits, params, new_state = _run_on_mesh(small_config(strategy, shape), host_state, graphdef)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-5, rtol=0)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref_params)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    # The step kept every weight on its sharding (out_shardings pinned), and really sharded something.
    if strategy != "dp":
        assert sharding.replicated_report(new_state)["replicated_share"] < 0.01


def test_create_model_is_sharded_and_mesh_independent(reference):
    _, host_state, _, _ = reference
    cfg = small_config("fsdp", (1, 8, 1))
    mesh = mesh_for(cfg)
    _, state = sharding.create_model(cfg, mesh, seed=0)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(host_state)):
        np.testing.assert_allclose(np.asarray(a), b, atol=1e-6, rtol=0)  # same seed, same weights (to rounding)
    # FSDP leaves no matrix whole on a device: only the 1-D norm scales stay replicated.
    report = sharding.replicated_report(state)
    assert report["replicated"] and all("norm" in path for path in report["replicated"])
    for leaf in jax.tree.leaves(state):
        if leaf.ndim >= 2:
            assert not leaf.sharding.is_fully_replicated and "fsdp" in str(leaf.sharding.spec)
    # abstract_state (the restore target) carries exactly the shardings create_model used.
    abstract = sharding.abstract_state(cfg, mesh)
    for a, b in zip(jax.tree.leaves(abstract), jax.tree.leaves(state)):
        assert a.shape == b.shape and a.dtype == b.dtype and a.sharding == b.sharding
    assert sharding.replicated_report(abstract) == report


def test_vocab_not_dividing_the_mesh_stays_replicated_and_still_runs():
    cfg = small_config("tp", (2, 1, 4), vocab_size=250)
    mesh = mesh_for(cfg)
    graphdef, state = sharding.create_model(cfg, mesh, seed=0)
    assert state["embed"].get_value().sharding.spec == P(None, None)
    assert state["blocks"][0]["mlp"]["w_up"].get_value().sharding.spec == P(None, "tensor")
    tokens = jnp.asarray(_batch(cfg)["inputs"])
    forward = jax.jit(lambda s, t: nnx.merge(graphdef, s)(t))
    with jax.set_mesh(mesh):
        sharded = forward(state, jax.device_put(tokens, sharding.batch_sharding(mesh)))
    single = forward(jax.tree.map(np.asarray, state), tokens)
    np.testing.assert_allclose(sharded, single, atol=1e-5)


_DEVICE_COUNT = """
import json, sys
from picojax.config import MeshConfig
from picojax.sharding import configure_cpu_devices
configure_cpu_devices(MeshConfig(cpu_devices=int(sys.argv[1])))
import jax
count = jax.device_count()
configure_cpu_devices(MeshConfig(cpu_devices=5))  # too late: must be harmless
assert jax.device_count() == count
print(json.dumps(count))
"""


@pytest.mark.parametrize("requested, xla_flags, expected", [
    (0, None, os.cpu_count()),  # one fake device per core
    (3, "--xla_force_host_platform_device_count=8", 3),  # an explicit count wins
    (0, "--xla_force_host_platform_device_count=6", 6),  # 0 respects a count already in XLA_FLAGS
])
def test_configure_cpu_devices(requested, xla_flags, expected):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    if xla_flags:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", _DEVICE_COUNT, str(requested)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected
