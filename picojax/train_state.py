"""The train state and its shardings, built abstract-first.

`TrainState` is the one pytree the jitted step takes, donates and returns:

    params     nnx.State of the model's Params (sharded by their logical axis names)
    opt_state  the optax state (moments mirror params, so they shard the same way)
    step       int32 scalar: optimizer steps done (drives the LR schedule)
    rng        uint32[2] key, advanced every step. Nothing stochastic consumes it yet
               (no dropout); it is carried and checkpointed so a future stochastic layer
               resumes with the same keys.

`abstract_train_state` gives the same tree as ShapeDtypeStructs carrying today's
shardings: the target a checkpoint is restored onto, whatever mesh wrote it. The shardings
are a `TrainState` too, of NamedShardings (what `jax.jit` pins the step's state to).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from picojax import sharding
from picojax.config import Config


@flax.struct.dataclass
class TrainState:
    params: Any
    opt_state: Any
    step: Any
    rng: Any


def model_graphdef(cfg: Config):
    """The model's static structure, without allocating a weight."""
    from picojax.model import Transformer

    return nnx.graphdef(nnx.eval_shape(lambda: Transformer(cfg.model, rngs=nnx.Rngs(0))))


def train_state_shardings(abstract_params, abstract_opt, mesh: Mesh) -> TrainState:
    """NamedShardings for every leaf of the train state: params by their logical axes, the
    optimizer state after them (`sharding.optimizer_shardings`), the step and rng replicated."""
    replicated = NamedSharding(mesh, P())
    return TrainState(params=sharding.state_shardings(abstract_params, mesh),
                      opt_state=sharding.optimizer_shardings(abstract_opt, mesh), step=replicated, rng=replicated)


def abstract_train_state(cfg: Config, mesh: Mesh, tx: optax.GradientTransformation) -> tuple[TrainState, TrainState]:
    """(abstract state, shardings): ShapeDtypeStructs with shardings, nothing allocated."""
    abstract_params = sharding.abstract_state(cfg, mesh)
    abstract_opt = jax.eval_shape(tx.init, abstract_params)
    shardings = train_state_shardings(abstract_params, abstract_opt, mesh)
    with_sharding = lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s)  # noqa: E731
    abstract = TrainState(
        params=abstract_params,
        opt_state=jax.tree.map(with_sharding, abstract_opt, shardings.opt_state),
        step=jax.ShapeDtypeStruct((), jnp.int32, sharding=shardings.step),
        rng=jax.ShapeDtypeStruct((2,), jnp.uint32, sharding=shardings.rng),
    )
    return abstract, shardings


def init_train_state(cfg: Config, mesh: Mesh, tx: optax.GradientTransformation) -> tuple[object, TrainState, TrainState]:
    """(graphdef, state, shardings) for a fresh run: weights from `train.seed`, created in
    their shards; the optimizer state initialised under jit straight into its shardings."""
    graphdef, params = sharding.create_model(cfg, mesh, cfg.train.seed)
    _, shardings = abstract_train_state(cfg, mesh, tx)
    with jax.set_mesh(mesh):
        opt_state = jax.jit(tx.init, out_shardings=shardings.opt_state)(params)
        step = jax.device_put(jnp.zeros((), jnp.int32), shardings.step)
        # Seeded apart from the init key (which `create_model` derives from the same seed).
        rng = jax.device_put(jax.random.key_data(jax.random.key(cfg.train.seed + 1)).astype(jnp.uint32), shardings.rng)
    return graphdef, TrainState(params=params, opt_state=opt_state, step=step, rng=rng), shardings


def param_count(state: TrainState) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(state.params))
