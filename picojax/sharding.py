"""Meshes, logical-axis rules and the shardings of the state and the batch.

The model tags each weight dimension with a logical name (see `picojax.layers`); one
rules table maps logical names to mesh axes ``data``, ``fsdp``, ``tensor``, and a mesh
axis of size 1 splits nothing, so the mesh sizes alone say which strategy runs:

  data only          (dp) every weight replicated; the batch split over data x fsdp
  fsdp > 1           (fsdp) weights split along ``embed`` over ``fsdp`` (ZeRO-3 style:
                     gathered per use)
  tensor > 1         (tp) Megatron-style: heads, kv heads, MLP hidden and vocab split
                     over ``tensor``
  both > 1           (fsdp_tp) both

`mesh.strategy` names the same thing; `picojax.config_io.validate` refuses one that
disagrees with the sizes (see `picojax.config.STRATEGY_AXES`).

A dimension whose size does not divide its mesh axes (vocab 250 over tensor=4, say) is
left replicated rather than rejected: every config runs on every mesh, and
`replicated_report` shows what that costs.
"""

from __future__ import annotations

import math
import os
import re
from functools import partial

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

from picojax.config import Config, MeshConfig, resolve
from picojax.errors import ConfigError

AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")  # the batch is split over every data-like axis

# Logical axis -> the mesh axes that split it (None: replicated).
RULES: dict[str, object] = {
    "batch": BATCH_AXES, "length": None, "norm": None, "head_dim": None,
    "embed": "fsdp", "vocab": "tensor", "heads": "tensor", "kv_heads": "tensor", "mlp": "tensor",
}


class MeshError(ConfigError):
    """The mesh config does not fit the devices."""


# ----------------------------------------------------------------------------------------
# Devices and meshes.


def configure_cpu_devices(mesh_cfg: MeshConfig) -> None:
    """Splits the host CPU into fake devices, so data parallelism can use every core.

    Must run before JAX initialises its backends (afterwards the count is fixed and this
    does nothing). Only the CPU backend is affected, so it is harmless on a GPU/TPU host.
    ``cpu_devices`` > 0 is used as given; 0 means one per core, unless the environment
    already asks for a count with XLA_FLAGS (the test harness and its subprocesses do).
    """
    count = mesh_cfg.cpu_devices
    if count == 0:
        if re.search(r"--xla_force_host_platform_device_count=\d+", os.environ.get("XLA_FLAGS", "")):
            return
        count = os.cpu_count() or 1
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:
        pass  # backends already initialised: keep the devices JAX already has


def mesh_shape(mesh_cfg: MeshConfig, n_devices: int) -> tuple[int, int, int]:
    """(data, fsdp, tensor) with at most one -1 replaced by the devices left over."""
    sizes = [mesh_cfg.data, mesh_cfg.fsdp, mesh_cfg.tensor]
    described = f"mesh (data={sizes[0]}, fsdp={sizes[1]}, tensor={sizes[2]})"
    if sizes.count(-1) > 1 or any(s == 0 or s < -1 for s in sizes):
        raise MeshError(f"{described}: sizes must be >= 1, and at most one may be -1 (= the rest)")
    fixed = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if n_devices % fixed:
            raise MeshError(f"{described} does not divide the {n_devices} devices")
        sizes[sizes.index(-1)] = n_devices // fixed
    if math.prod(sizes) != n_devices:
        raise MeshError(f"{described} needs {math.prod(sizes)} devices but {n_devices} are present")
    return tuple(sizes)


def make_mesh(mesh_cfg: MeshConfig, devices=None) -> Mesh:
    """The ('data', 'fsdp', 'tensor') mesh over ``devices`` (default: all).

    Axes are AxisType.Auto: with jax's default (Explicit) NNX layers raise ShardingTypeError,
    and we want XLA to propagate activation shardings from the weights and the batch.
    """
    devices = jax.devices() if devices is None else list(devices)
    shape = mesh_shape(mesh_cfg, len(devices))
    auto = (AxisType.Auto,) * len(AXES)
    if len(devices) == jax.device_count():
        return jax.make_mesh(shape, AXES, axis_types=auto, devices=devices)
    return Mesh(np.asarray(devices).reshape(shape), AXES, axis_types=auto)


# ----------------------------------------------------------------------------------------
# Logical names -> shardings.


def logical_to_spec(names, shape, mesh: Mesh) -> P:
    """The PartitionSpec of an array whose dimensions carry logical ``names``.

    A mesh axis is used at most once per array, and only when it has more than one
    device; a dimension that its mesh axes do not divide evenly stays replicated (see
    the module docstring).
    """
    used, spec = set(), []
    for name, size in zip(names, shape):
        if name not in RULES:
            raise ValueError(f"logical axis {name!r} has no rule; known: {', '.join(RULES)}")
        axes = RULES[name]
        axes = () if axes is None else (axes,) if isinstance(axes, str) else tuple(axes)
        axes = tuple(a for a in axes if a not in used and mesh.shape[a] > 1)
        if not axes or size % math.prod(mesh.shape[a] for a in axes):
            spec.append(None)
            continue
        used.update(axes)
        spec.append(axes[0] if len(axes) == 1 else axes)
    return P(*spec)


def _logical_names(variable: nnx.Variable):
    return variable.get_metadata().get("out_sharding")


def state_shardings(state, mesh: Mesh):
    """NamedShardings for every leaf of ``state`` (same structure, Variables kept).

    Works for the model state and for anything mapped from it (optimizer moments keep the
    Variables and their logical names); other arrays (step counters) are replicated.
    """
    def one(leaf):
        if isinstance(leaf, nnx.Variable):
            names = _logical_names(leaf)
            value = leaf.get_value()
            spec = logical_to_spec(names, value.shape, mesh) if names else P()
            return leaf.replace(NamedSharding(mesh, spec))
        return NamedSharding(mesh, P())

    return jax.tree.map(one, state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def optimizer_shardings(abstract_opt, mesh: Mesh):
    """NamedShardings for every leaf of an optimizer state (`picojax.train_state` adds the
    params, step and rng).

    Optimizer moments mirror their parameters (they keep the Variables and logical names)
    and shard the same way; counters are replicated. optax.partition (Muon + AdamW) leaves
    `Param(MaskedNode())` placeholders where a sub-optimizer does not own a parameter; they
    hold no array and keep no sharding.
    """
    import optax

    def opt_leaf(leaf):
        if isinstance(leaf, nnx.Variable) and isinstance(leaf.get_value(), optax.MaskedNode):
            return leaf
        return state_shardings(leaf, mesh)

    return jax.tree.map(opt_leaf, abstract_opt, is_leaf=lambda x: isinstance(x, nnx.Variable))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) dimension over data x fsdp; the rest replicated."""
    return NamedSharding(mesh, P(BATCH_AXES))


def batch_axes(mesh: Mesh) -> tuple[str, ...]:
    """The mesh's axes that split the batch (a mesh may lack some of `BATCH_AXES`)."""
    return tuple(a for a in BATCH_AXES if a in mesh.axis_names)


def to_global_batch(batch: dict[str, np.ndarray], mesh_or_sharding) -> dict:
    """This process's batch as global ``jax.Array``s, batch dim split over `BATCH_AXES`.

    Accepts a Mesh (its batch axes shard the batch) or a ready Sharding.
    """
    sharding = mesh_or_sharding
    if isinstance(mesh_or_sharding, Mesh):
        sharding = NamedSharding(mesh_or_sharding, P(batch_axes(mesh_or_sharding) or None))
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in batch.items()}


# ----------------------------------------------------------------------------------------
# Creating the model on a mesh.


def _init_fn(cfg: Config, seed: int):
    from picojax.model import Transformer  # model imports sharding-free code only; keep it lazy

    return lambda: Transformer(cfg.model, rngs=nnx.Rngs(seed))


def _abstract(cfg: Config):
    return nnx.split(nnx.eval_shape(_init_fn(cfg, 0)))


def abstract_state(cfg: Config, mesh: Mesh):
    """The state as jax.ShapeDtypeStructs carrying today's shardings: the Orbax restore
    target, so a checkpoint written on any mesh lands on this one."""
    cfg = resolve(cfg)
    _, abstract = _abstract(cfg)
    shardings = state_shardings(abstract, mesh)
    return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, shardings)


def create_model(cfg: Config, mesh: Mesh, seed: int):
    """(graphdef, state) with every weight created directly in its shard.

    Abstract first: `nnx.eval_shape` gives shapes and logical names without allocating;
    the initialiser then runs under jit with out_shardings, so no device ever holds the
    whole model unless the mesh says so. Threefry keys are partitionable, so the
    values do not depend on the mesh: the same seed gives the same weights on any mesh
    (up to float rounding in the initialisers, ~1e-8).
    """
    cfg = resolve(cfg)
    graphdef, abstract = _abstract(cfg)
    shardings = state_shardings(abstract, mesh)
    init = _init_fn(cfg, seed)

    @partial(jax.jit, out_shardings=shardings)
    def make_state():
        return nnx.split(init())[1]

    with jax.set_mesh(mesh):
        state = make_state()
    return graphdef, state


def replicated_report(state) -> dict:
    """How much of the parameter bytes every device holds in full.

    Returns total/replicated bytes, their ratio and the paths of the replicated arrays.
    Works on real arrays and on abstract_state's ShapeDtypeStructs.
    """
    total = replicated = 0
    paths = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        nbytes = int(np.prod(leaf.shape)) * np.dtype(leaf.dtype).itemsize
        total += nbytes
        sharding = getattr(leaf, "sharding", None)
        if sharding is None or sharding.is_fully_replicated:
            replicated += nbytes
            paths.append(jax.tree_util.keystr(path))
    return {"total_bytes": total, "replicated_bytes": replicated,
            "replicated_share": replicated / total if total else 0.0, "replicated": paths}
