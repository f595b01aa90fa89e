"""Restoring a run for inference: its config, model and tokenizer from the workdir alone.

Sampling, evaluating and exporting all start here. The config comes from the checkpoint's
metadata, the tokenizer from the run's own copy (checked against the sha256 the
checkpoint recorded), and only the parameters are read. The workdir's layout is
`picojax.run_dir`'s, the checkpoint format `picojax.checkpoint`'s.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Callable, NamedTuple, Optional

from etils import epath

from picojax import checkpoint, paths
from picojax.data_dir import tokenizer_path
from picojax.run_dir import RunDir


class Restored(NamedTuple):
    """A checkpoint restored for inference: config, model, tokenizer and its step."""

    cfg: object
    model: object
    tokenizer: object
    step: int


def restore_for_inference(workdir: str | os.PathLike, *, step: Optional[int] = None, mesh=None,
                          warn: Optional[Callable[[str], None]] = None) -> Restored:
    """(cfg, model, tokenizer, step) of a checkpoint (default: the latest that restores).

    The config and the tokenizer come from the run itself (the checkpoint's metadata
    and the run's tokenizer copy, checked against the sha256 the checkpoint recorded).
    Only the parameters are read, and checked against their saved fingerprints. The
    model lands on `mesh`, by default every current device with the weights replicated.
    Without `step`, a damaged newest checkpoint is reported through `warn` (default: a
    line on stderr) and the next older one is used; an explicit `step` must restore.
    """
    import dataclasses

    from flax import nnx

    from picojax import sharding
    from picojax.config import MeshConfig
    from picojax.train_state import model_graphdef

    run = RunDir(workdir)
    warn = warn or _warn
    found = {}
    with checkpoint.quiet_orbax():
        ckpt = checkpoint.Checkpointer(run.checkpoints, read_only=True)

        def restore(at: int, meta: dict):
            cfg = checkpoint.config_from_meta(meta)
            found["tokenizer"] = run_tokenizer(run, cfg, meta.get("tokenizer_sha256"))
            target = mesh
            if target is None:
                cfg = dataclasses.replace(cfg, mesh=MeshConfig(strategy="dp", data=-1, fsdp=1, tensor=1))
                target = sharding.make_mesh(cfg.mesh)
            found["cfg"] = cfg
            return ckpt.restore_params(at, sharding.abstract_state(cfg, target), meta)

        try:
            steps = None if step is None else [ckpt.resolve_step(step)]
            step, _, params, damaged = ckpt.restore_newest(restore, steps=steps)
        finally:
            ckpt.close()
    for bad, reason in damaged:
        warn(f"checkpoint step {bad} does not restore ({reason}); using step {step}")
    cfg = found["cfg"]
    return Restored(cfg, nnx.merge(model_graphdef(cfg), params), found["tokenizer"], step)


def run_tokenizer(run: RunDir, cfg, expected_sha256: Optional[str]):
    """The run's tokenizer (its own copy, else the config's), checked against the sha256
    the checkpoint recorded."""
    from picojax.tokenizer import Tokenizer

    own = run.tokenizer_path
    if not own.is_file():
        tokenizer = Tokenizer.load(tokenizer_path(cfg))
    elif paths.is_remote(own):
        tokenizer = _local_copy(own)
    else:
        tokenizer = Tokenizer.load(own)
    if expected_sha256 and tokenizer.sha256 != expected_sha256:
        raise checkpoint.CheckpointError(
            f"tokenizer {tokenizer.path} (sha256 {tokenizer.sha256[:12]}…) is not the one the checkpoint in "
            f"{run.path} was trained with (sha256 {expected_sha256[:12]}…)")
    return tokenizer


def _warn(message: str) -> None:
    print(f"picojax: warning: {message}", file=sys.stderr, flush=True)


def _local_copy(path: epath.Path):
    """The run's tokenizer from an object store, through a local copy: SentencePiece (and
    every later user of `tokenizer.path`, e.g. a token store written for an eval) reads
    only local files. The copy is named by its sha256, so it is fetched once and can never
    be stale."""
    from picojax.tokenizer import Tokenizer

    model_bytes = path.read_bytes()
    sha256 = hashlib.sha256(model_bytes).hexdigest()
    local = paths.run_path(os.path.join(paths.cache_dir(), "tokenizers", f"{sha256}.model"))
    if not local.is_file():
        paths.write_bytes_atomic(local, model_bytes)
    return Tokenizer.load(local)
