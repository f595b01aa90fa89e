"""The trainer's public face: `train`, `restore_for_inference`, `task_hooks`.

The work is split by concern: `train_state` (the state and its shardings), `train_step`
(the jitted steps), `train_control` (save policy, signals) and `train_loop` (the loop).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from typing import Optional

from picojax import checkpoint, paths
from picojax.config import Config, MeshConfig
from picojax.train_loop import train

__all__ = ["train", "restore_for_inference", "task_hooks"]


def restore_for_inference(workdir: str | os.PathLike, *, step: Optional[int] = None, mesh=None):
    """(cfg, model, tokenizer) of a run's checkpoint (default: the latest step).

    The config and the tokenizer come from the run itself (the checkpoint's metadata and
    ``WORKDIR/tokenizer.model``, checked against the sha256 the checkpoint recorded), so a
    sampler needs nothing but the workdir, which may be ``gs://…``. Only the parameters
    are read. The model lands on `mesh`, by default every current device with the weights
    replicated.
    """
    import dataclasses

    from flax import nnx

    from picojax import sharding
    from picojax.train_state import model_graphdef

    workdir = paths.run_path(workdir)
    ckpt = checkpoint.Checkpointer(workdir, read_only=True)
    try:
        step = ckpt.resolve_step(step)
        meta = ckpt.read_meta(step)
        cfg = checkpoint.config_from_meta(meta)
        tokenizer = _run_tokenizer(workdir, cfg, meta)
        if mesh is None:
            cfg = dataclasses.replace(cfg, mesh=MeshConfig(strategy="dp", data=-1, fsdp=1, tensor=1))
            mesh = sharding.make_mesh(cfg.mesh)
        params = ckpt.restore_params(step, sharding.abstract_state(cfg, mesh))
    finally:
        ckpt.close()
    return cfg, nnx.merge(model_graphdef(cfg), params), tokenizer


def _run_tokenizer(workdir, cfg: Config, meta: dict):
    from picojax import data
    from picojax.tokenizer import Tokenizer

    own = workdir / "tokenizer.model"
    if not own.is_file():
        tokenizer = Tokenizer.load(data.tokenizer_path(cfg))
    elif paths.is_remote(own):
        tokenizer = _remote_tokenizer(own)
    else:
        tokenizer = Tokenizer.load(own)
    expected = meta.get("tokenizer_sha256")
    if expected and tokenizer.sha256 != expected:
        raise checkpoint.CheckpointError(
            f"tokenizer {tokenizer.path} (sha256 {tokenizer.sha256[:12]}…) is not the one the checkpoint in "
            f"{workdir} was trained with (sha256 {expected[:12]}…)")
    return tokenizer


def _remote_tokenizer(path):
    """The run's tokenizer from an object store, through a local copy: SentencePiece (and
    every later user of `tokenizer.path`, e.g. a token store written for an eval) reads
    only local files. The copy is named by its sha256, so it is fetched once and can never
    be stale."""
    from picojax.tokenizer import Tokenizer

    model_bytes = path.read_bytes()
    sha256 = hashlib.sha256(model_bytes).hexdigest()
    local = paths.run_path(os.path.join(_cache_dir(), "tokenizers", f"{sha256}.model"))
    if not local.is_file():
        paths.write_bytes_atomic(local, model_bytes)
    return Tokenizer.load(local)


def _cache_dir() -> str:
    return os.environ.get("PICOJAX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "picojax")


def task_hooks(cfg: Config) -> list:
    """The task evals to run during training: ``eval/<task>/hooks.py``'s ``make_hooks(cfg)``.

    Each hook has ``every`` (steps; 0 = only at the end) and is called as
    ``hook(step, model, writer) -> {"eval/<task>/<split>/<metric>": value}``. No hooks
    module for the task means no task evals.
    """
    import jax

    if jax.process_count() > 1:
        # The task evals decode with the sampler, which gathers the weights onto this
        # process; across hosts they are not addressable. Val loss/bpb (jitted on the
        # global arrays) still run; evaluate task metrics after training with `picojax eval`.
        if jax.process_index() == 0:
            print("task evals are skipped in multi-process runs; run `picojax eval` on the checkpoint", flush=True)
        return []
    name = f"eval.{cfg.data.task}.hooks"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name in (name, "eval", f"eval.{cfg.data.task}"):
            return []
        raise
    return list(module.make_hooks(cfg))
