"""The jitted training and evaluation steps.

Functional NNX: `nnx.merge(graphdef, params)` inside a plain `jax.jit`, never
`nnx.jit`. The train step's input and output shardings are pinned to the state's
shardings (XLA would otherwise be free to return some leaves differently sharded, which
recompiles the next call) and the state is donated, so parameters and moments are
updated in place. Every metric is computed inside the jit; the host fetches a handful
of scalars.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from picojax import losses, sharding
from picojax.config import Config
from picojax.optim import accumulate_gradients
from picojax.train_state import TrainState


def forward(graphdef, params, batch: dict, segment_mask: bool) -> jax.Array:
    """logits_BxLxV of the model `params` on a batch dict (see picojax.data)."""
    model = nnx.merge(graphdef, params)
    return model(
        batch["inputs"],
        positions_BxL=batch.get("positions"),
        segment_ids_BxL=batch.get("segment_ids") if segment_mask else None,
    )


def make_loss_sum(graphdef, segment_mask: bool) -> Callable[[Any, dict], jax.Array]:
    """params, batch -> summed masked NLL (nats): a sum, so micro-batches add up exactly."""

    def loss_sum(params, batch):
        logits_BxLxV = forward(graphdef, params, batch, segment_mask)
        total, _ = losses.masked_loss_sums(logits_BxLxV, batch["targets"], batch["loss_mask"])
        return total

    return loss_sum


def build_train_step(cfg: Config, graphdef, tx: optax.GradientTransformation, schedule: optax.Schedule,
                     state_shardings: TrainState, mesh: Mesh):
    """jit(state, batch) -> (state, metrics) with pinned shardings and the state donated.

    metrics: loss (mean over masked tokens), grad_norm (before clipping), param_norm (after
    the update), lr (used by this step), tokens (masked tokens in the batch).
    """
    loss_sum = make_loss_sum(graphdef, cfg.data.segment_mask)
    micro_steps = cfg.optim.grad_accum

    def step(state: TrainState, batch: dict):
        params = state.params
        n_tokens = jnp.sum(batch["loss_mask"].astype(jnp.float32))
        total, grad_sums = accumulate_gradients(loss_sum, params, batch, micro_steps)
        denom = jnp.maximum(n_tokens, 1.0)
        grads = jax.tree.map(lambda g: g / denom, grad_sums)
        updates, opt_state = tx.update(grads, state.opt_state, params)
        new_params = optax.apply_updates(params, updates)
        new_state = TrainState(params=new_params, opt_state=opt_state, step=state.step + 1,
                               rng=jax.random.split(state.rng)[0])
        out = {
            "loss": total / denom,
            "grad_norm": optax.tree.norm(grads),
            "param_norm": optax.tree.norm(new_params),
            "lr": jnp.asarray(schedule(state.step), jnp.float32),
            "tokens": n_tokens,
        }
        return new_state, out

    replicated = NamedSharding(mesh, P())
    batch_sharding = sharding.batch_sharding(mesh)
    return jax.jit(
        step,
        in_shardings=(state_shardings, batch_sharding),
        out_shardings=(state_shardings, replicated),
        donate_argnums=(0,),
    )


def build_eval_step(cfg: Config, graphdef, param_shardings, mesh: Mesh, token_bytes_V: np.ndarray):
    """jit(params, batch) -> {nll (nats, summed), tokens, bytes}: sums over a val batch."""
    replicated = NamedSharding(mesh, P())
    batch_sharding = sharding.batch_sharding(mesh)
    token_bytes_V = jnp.asarray(token_bytes_V, jnp.int32)
    segment_mask = cfg.data.segment_mask

    def evaluate(params, batch):
        logits_BxLxV = forward(graphdef, params, batch, segment_mask)
        nll, count = losses.masked_loss_sums(logits_BxLxV, batch["targets"], batch["loss_mask"])
        n_bytes = losses.target_bytes(batch["targets"], batch["loss_mask"], token_bytes_V)
        return {"nll": nll, "tokens": count, "bytes": n_bytes}

    return jax.jit(evaluate, in_shardings=(param_shardings, batch_sharding), out_shardings=replicated)
