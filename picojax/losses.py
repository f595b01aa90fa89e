"""Losses: the jittable helpers shared by the train step and the eval step, and the one
loop that turns eval-step sums into validation loss and bits-per-byte."""

from __future__ import annotations

import math
from typing import Iterable

import jax
import jax.numpy as jnp
import optax

def token_nll(logits_BxLxV: jax.Array, targets_BxL: jax.Array) -> jax.Array:
    """Negative log-likelihood of each target token, in nats, computed in float32."""
    return optax.softmax_cross_entropy_with_integer_labels(logits_BxLxV.astype(jnp.float32), targets_BxL)


def masked_loss_sums(logits_BxLxV, targets_BxL, loss_mask_BxL) -> tuple[jax.Array, jax.Array]:
    """(sum of masked token NLL, number of masked tokens): sums, so micro-batches and
    devices combine exactly; the mean is taken once at the end."""
    mask = loss_mask_BxL.astype(jnp.float32)
    return jnp.sum(token_nll(logits_BxLxV, targets_BxL) * mask), jnp.sum(mask)


def target_bytes(targets_BxL, loss_mask_BxL, token_bytes_V) -> jax.Array:
    """UTF-8 bytes covered by the masked targets (specials count 0)."""
    return jnp.sum(token_bytes_V[targets_BxL].astype(jnp.float32) * loss_mask_BxL.astype(jnp.float32))


def bits_per_byte(nll_sum_nats: float, n_bytes: float) -> float:
    """Tokenizer-independent loss: total nats -> bits, over the bytes they encode."""
    return float(nll_sum_nats) / (math.log(2) * max(float(n_bytes), 1.0))


def val_loss_bpb(eval_step, params, batches: Iterable[dict], mesh) -> dict:
    """{loss (nats/token), bpb, tokens, bytes} summed over `batches` (host batches of this
    process) with a jitted eval step from `picojax.train_step.build_eval_step`."""
    from picojax.sharding import to_global_batch

    sums = {"nll": 0.0, "tokens": 0.0, "bytes": 0.0}
    for local in batches:
        out = jax.device_get(eval_step(params, to_global_batch(local, mesh)))
        for k in sums:
            sums[k] += float(out[k])
    return {"loss": sums["nll"] / max(sums["tokens"], 1.0), "bpb": bits_per_byte(sums["nll"], sums["bytes"]),
            "tokens": int(sums["tokens"]), "bytes": int(sums["bytes"])}
