"""Optimizer: decay masks on the real model, schedules, clipping, Muon routing, accumulation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from picojax import config_io, optim
from picojax.model import Transformer
from picojax.optim import path_str


def _cfg(*overrides):
    base = ["model.depth=2", "model.aspect_ratio=32", "model.head_dim=16", "model.vocab_size=64",
            "model.seq_len=16", "train.steps=100", "model.tie_embeddings=false"]
    return config_io.load(None, base + list(overrides))


def _params(cfg):
    return nnx.split(Transformer(cfg.model, rngs=nnx.Rngs(0)), nnx.Param)[1]


def _by_path(tree):
    keep = lambda x: x is None or isinstance(x, optax.contrib.MuonDimensionNumbers)  # noqa: E731
    return {path_str(p): v for p, v in jax.tree_util.tree_flatten_with_path(tree, is_leaf=keep)[0]}


def test_weight_decay_skips_norms_and_embedding_but_not_matrices():
    params = _params(_cfg())
    mask = _by_path(optim.weight_decay_mask(params))
    assert mask["embed"] is False
    assert mask["blocks/0/attn_norm/scale"] is False and mask["final_norm/scale"] is False
    assert mask["blocks/0/attn/q_norm/scale"] is False
    for name in ("blocks/0/attn/wq", "blocks/1/attn/wo", "blocks/0/mlp/w_gate", "head"):
        assert mask[name] is True, name
    assert _by_path(optim.weight_decay_mask(params, decay_embeddings=True))["embed"] is True


def test_decay_is_applied_only_where_masked():
    cfg = _cfg("optim.weight_decay=0.5", "optim.warmup_steps=0", "optim.schedule=constant", "optim.clip_norm=0")
    params = _params(cfg)
    tx, _ = optim.make_optimizer(cfg)
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates = _by_path(tx.update(zeros, tx.init(params), params)[0])
    values = _by_path(params)
    lr = cfg.optim.lr
    # Zero gradients: the whole AdamW update is the decoupled decay, -lr * wd * param.
    np.testing.assert_allclose(updates["blocks/0/mlp/w_up"], -lr * 0.5 * values["blocks/0/mlp/w_up"], rtol=1e-5)
    assert not np.any(updates["embed"]) and not np.any(updates["final_norm/scale"])


@pytest.mark.parametrize("schedule", ["cosine", "wsd", "constant"])
def test_schedules_warm_up_then_follow_their_shape(schedule):
    cfg = _cfg(f"optim.schedule={schedule}", "optim.warmup_steps=10", "optim.lr=1.0", "optim.min_lr_ratio=0.1",
               "optim.decay_fraction=0.2")
    lr = optim.lr_schedule(cfg.optim, 100, 1.0)
    assert float(lr(0)) == pytest.approx(0.1)  # peak / warmup: the first step already learns
    assert float(lr(9)) == pytest.approx(1.0)
    assert float(lr(10)) == pytest.approx(1.0)
    end = float(lr(100))
    if schedule == "constant":
        assert end == pytest.approx(1.0)
    else:
        assert end == pytest.approx(0.1, abs=1e-6)
    if schedule == "wsd":
        assert float(lr(79)) == pytest.approx(1.0)  # stable until the last 20% of steps
        assert float(lr(90)) == pytest.approx(0.55, abs=1e-6)
    if schedule == "cosine":
        assert float(lr(55)) == pytest.approx(0.55, abs=1e-6)  # half-way down the cosine


def test_global_norm_clipping_bounds_what_adam_sees():
    cfg = _cfg("optim.clip_norm=1.0")
    params = _params(cfg)
    tx, _ = optim.make_optimizer(cfg)
    grads = jax.tree.map(lambda p: jnp.full_like(p, 10.0), params)
    _, state = tx.update(grads, tx.init(params), params)
    mu = optax.tree_utils.tree_get(state, "mu")
    # mu = (1 - b1) * clipped gradient, and the clipped gradient has norm 1.
    assert float(optax.tree.norm(mu)) == pytest.approx(1 - cfg.optim.b1, rel=1e-4)


def test_muon_takes_hidden_matrices_and_adamw_the_rest():
    cfg = _cfg("optim.name=muon")
    params = _params(cfg)
    dims = _by_path(optim.muon_dimension_numbers(params))
    assert dims["embed"] is None and dims["head"] is None and dims["final_norm/scale"] is None
    assert dims["blocks/0/attn/wq"].reduction_axis == 0 and dims["blocks/0/attn/wq"].output_axis == (1, 2)
    assert dims["blocks/0/attn/wo"].reduction_axis == (0, 1) and dims["blocks/0/attn/wo"].output_axis == 2
    assert dims["blocks/0/mlp/w_down"].reduction_axis == 0

    tx, _ = optim.make_optimizer(dataclass_replace_clip(cfg))
    grads = jax.tree.map(lambda p: jax.random.normal(jax.random.key(1), p.shape), params)
    updates = _by_path(tx.update(grads, tx.init(params), params)[0])
    # Muon's update of a matrix is (nearly) orthogonal: its singular values cluster near one
    # value, unlike AdamW's elementwise update.
    s = np.linalg.svd(np.asarray(updates["blocks/0/mlp/w_up"]), compute_uv=False)
    assert s.max() / s.min() < 3
    assert np.all(np.isfinite(updates["embed"]))


def dataclass_replace_clip(cfg):
    import dataclasses

    return dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, clip_norm=0.0, weight_decay=0.0))


def test_gradient_accumulation_equals_the_full_batch():
    params = {"w": jnp.arange(12.0).reshape(3, 4) / 10}
    batch = {"x": jax.random.normal(jax.random.key(0), (8, 3)), "y": jax.random.normal(jax.random.key(1), (8, 4))}

    def loss_sum(p, b):
        return jnp.sum((b["x"] @ p["w"] - b["y"]) ** 2)

    full = optim.accumulate_gradients(loss_sum, params, batch, 1)
    accumulated = optim.accumulate_gradients(loss_sum, params, batch, 4)
    np.testing.assert_allclose(accumulated[0], full[0], rtol=1e-5)
    np.testing.assert_allclose(accumulated[1]["w"], full[1]["w"], rtol=1e-5)
