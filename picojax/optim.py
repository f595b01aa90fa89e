"""Optimizers and learning-rate schedules (optax).

`make_optimizer(cfg)` returns one optax `GradientTransformation` for the whole parameter
tree plus the schedule it follows, so the train step can log the LR it actually used:

- AdamW with decoupled weight decay. Decay applies only to weight matrices: norm scales,
  biases (every tensor of rank < 2) and the embedding table are left alone by default
  (decaying a table most of whose rows a small batch never touches shrinks rare tokens).
- Optionally Muon (`optim.name = "muon"`, `optax.contrib.muon`) on the hidden weight
  matrices with AdamW on the rest; embeddings and the output head stay on AdamW, as in
  Keller Jordan's recipe.
- Global-norm clipping first, so both optimizers see clipped gradients.
- Schedules: linear warmup then cosine, warmup–stable–decay (WSD), or constant.

Gradient accumulation lives here too (`accumulate_gradients`): micro-batches are scanned
inside the one jitted step, so an optimizer step is still one dispatch.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MuonDimensionNumbers

from picojax.config import Config, OptimConfig

# Roles come from the logical axis names every parameter carries (`picojax.layers.param`),
# the same names `picojax.sharding` maps to mesh axes: one source of truth for both.
VOCAB, EMBED, NORM = "vocab", "embed", "norm"


# ----------------------------------------------------------------------------------------
# Parameter paths.


def path_str(path: tuple) -> str:
    """'blocks/0/attn/q/kernel' from a jax key path (flax's trailing `.value` dropped)."""
    parts = []
    for key in path:
        name = getattr(key, "key", getattr(key, "name", getattr(key, "idx", key)))
        if name != "value":
            parts.append(str(name))
    return "/".join(parts)


def logical_names(params: Any) -> dict[str, tuple[str, ...]]:
    """{'blocks/0/attn/wq': ('embed', 'heads', 'head_dim'), ...} for every parameter that
    carries logical axis names (an `nnx.State` of `nnx.Param`s does)."""
    from flax import nnx

    names = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params, is_leaf=lambda x: isinstance(x, nnx.Variable))[0]:
        if isinstance(leaf, nnx.Variable):
            axes = leaf.get_metadata().get("out_sharding")
            if axes:
                names[path_str(path)] = tuple(axes)
    return names


def role(names: tuple[str, ...] | None, x) -> str:
    """What a parameter is, from its logical axes: ``vector`` (norm scales; anything of
    rank < 2), ``embedding`` (the input table, vocab x embed), ``head`` (an untied output
    head, embed x vocab) or ``matrix`` (every hidden weight)."""
    if x.ndim < 2 or (names and NORM in names):
        return "vector"
    if not names:
        raise ValueError(f"a parameter of shape {tuple(x.shape)} has no logical axis names: pass the model's "
                         "nnx.State (its Params carry them), not bare arrays")
    if VOCAB in names:
        return "embedding" if names[0] == VOCAB else "head"
    return "matrix"


def weight_decay_mask(params: Any, decay_embeddings: bool = False) -> Any:
    """True where weight decay applies: matrices and the head, the embedding only if asked."""
    names = logical_names(params)

    def decays(path, x) -> bool:
        kind = role(names.get(path_str(path)), x)
        return kind in ("matrix", "head") or (kind == "embedding" and decay_embeddings)

    return jax.tree_util.tree_map_with_path(decays, params)


def muon_dimension_numbers(params: Any) -> Any:
    """Muon's view of each parameter: a `MuonDimensionNumbers` for hidden matrices, None
    (= AdamW) for vectors, the embedding and the output head.

    Kernels are stored input-major (``x @ W``). A kernel whose last logical axis is
    ``embed`` writes the residual stream (attention's ``heads x head_dim x embed``, the
    MLP's ``mlp x embed``): every other axis is reduced over. Any other kernel reads the
    residual stream on axis 0 (``embed x heads x head_dim``, ``embed x mlp``).
    """
    names = logical_names(params)

    def dims(path, x):
        axes = names.get(path_str(path))
        if role(axes, x) != "matrix":
            return None
        if x.ndim == 2:
            return MuonDimensionNumbers(reduction_axis=0, output_axis=1)
        if axes and axes[-1] == EMBED:
            return MuonDimensionNumbers(reduction_axis=tuple(range(x.ndim - 1)), output_axis=x.ndim - 1)
        return MuonDimensionNumbers(reduction_axis=0, output_axis=tuple(range(1, x.ndim)))

    return jax.tree_util.tree_map_with_path(dims, params)


# ----------------------------------------------------------------------------------------
# Schedules.


def lr_schedule(optim: OptimConfig, total_steps: int, peak: float) -> optax.Schedule:
    """Linear warmup to `peak`, then cosine / WSD / constant down to `min_lr_ratio * peak`.

    Warmup starts at peak/warmup (not 0) so the first step already learns something.
    """
    warmup = int(optim.warmup_steps or 0)
    floor = peak * optim.min_lr_ratio
    rest = max(1, total_steps - warmup)
    if optim.schedule == "cosine":
        after = optax.cosine_decay_schedule(peak, decay_steps=rest, alpha=optim.min_lr_ratio)
    elif optim.schedule == "wsd":
        decay = max(1, int(round(optim.decay_fraction * total_steps)))
        stable = max(0, rest - decay)
        after = optax.join_schedules(
            [optax.constant_schedule(peak), optax.linear_schedule(peak, floor, decay)], boundaries=[stable]
        )
    elif optim.schedule == "constant":
        after = optax.constant_schedule(peak)
    else:
        raise ValueError(f"unknown schedule {optim.schedule!r}")
    if warmup == 0:
        return after
    ramp = optax.linear_schedule(peak / warmup, peak, transition_steps=warmup - 1) if warmup > 1 else optax.constant_schedule(peak)
    return optax.join_schedules([ramp, after], boundaries=[warmup])


# ----------------------------------------------------------------------------------------
# The optimizer.


def make_optimizer(cfg: Config) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """The optax chain for a resolved config, and its AdamW learning-rate schedule."""
    o, steps = cfg.optim, cfg.train.steps
    schedule = lr_schedule(o, steps, o.lr)
    mask = lambda params: weight_decay_mask(params, o.decay_embeddings)  # noqa: E731
    if o.name == "adamw":
        core = optax.adamw(schedule, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay, mask=mask)
    elif o.name == "muon":
        core = _muon_with_adamw(o, schedule, lr_schedule(o, steps, o.muon_lr), mask)
    else:
        raise ValueError(f"unknown optimizer {o.name!r}")
    parts = [optax.clip_by_global_norm(o.clip_norm)] if o.clip_norm > 0 else []
    return optax.chain(*parts, core), schedule


def _muon_with_adamw(o: OptimConfig, adam_schedule, muon_schedule, mask: Callable) -> optax.GradientTransformation:
    """Muon on hidden matrices, AdamW on everything else.

    optax.contrib.muon already pairs Muon with AdamW, but its AdamW half decays every leaf
    it gets (no mask), which would decay the embedding. So we partition ourselves: Muon
    (contrib.muon, which then sees only matrices) and our masked AdamW.
    """

    def labels(params):
        dims = muon_dimension_numbers(params)
        return jax.tree.map(lambda d, _: "adam" if d is None else "muon", dims, params, is_leaf=lambda d: d is None or isinstance(d, MuonDimensionNumbers))

    muon = optax.contrib.muon(
        muon_schedule,
        beta=0.95,
        weight_decay=o.weight_decay,
        weight_decay_mask=mask,
        muon_weight_dimension_numbers=muon_dimension_numbers,
    )
    adamw = optax.adamw(adam_schedule, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay, mask=mask)
    return optax.partition({"muon": muon, "adam": adamw}, labels)


def accumulate_gradients(
    loss_sum_fn: Callable[[Any, dict], jax.Array], params: Any, batch: dict, micro_steps: int
) -> tuple[jax.Array, Any]:
    """Sum of `loss_sum_fn` and of its gradient over `micro_steps` slices of `batch`.

    `loss_sum_fn(params, micro_batch)` returns a *sum* over tokens (not a mean), so summing
    micro-batches and dividing once by the total token count gives exactly the gradient of
    the full batch. The slices are scanned, so memory holds one micro-batch of activations.
    """
    grad_fn = jax.value_and_grad(loss_sum_fn)
    if micro_steps == 1:
        return grad_fn(params, batch)

    def split(x):
        return x.reshape(micro_steps, x.shape[0] // micro_steps, *x.shape[1:])

    micro = jax.tree.map(split, batch)

    def body(carry, micro_batch):
        loss_acc, grad_acc = carry
        loss, grads = grad_fn(params, micro_batch)
        return (loss_acc + loss, jax.tree.map(jnp.add, grad_acc, grads)), None

    zeros = jax.tree.map(jnp.zeros_like, params)
    (loss, grads), _ = jax.lax.scan(body, (jnp.zeros((), jnp.float32), zeros), micro)
    return loss, grads
