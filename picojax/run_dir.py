"""The run directory: the one owner of a workdir's layout.

    WORKDIR/
      config.json        the resolved config (JSON; `picojax.config_io`)
      tokenizer.model    the run's own copy of its tokenizer, so a sampler needs only WORKDIR
      checkpoints/<N>/   Orbax checkpoints (`picojax.checkpoint`), N = steps done
      damaged_checkpoints/<N>/  checkpoints that failed to restore, moved aside (never deleted)
      metrics.jsonl      one JSON object per logged step (`picojax.writers`)
      tb/                TensorBoard event files

Train, sample, eval and the CLI reach these files only through `RunDir`, so the layout
is written down once. WORKDIR may be local or ``gs://…`` (`picojax.paths`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from etils import epath

from picojax import paths

CONFIG = "config.json"
TOKENIZER = "tokenizer.model"
CHECKPOINTS = "checkpoints"
DAMAGED = "damaged_checkpoints"
METRICS = "metrics.jsonl"
TENSORBOARD = "tb"


class Restored(NamedTuple):
    """A checkpoint restored for inference: config, model, tokenizer and its step."""

    cfg: object
    model: object
    tokenizer: object
    step: int


class RunDir:
    def __init__(self, workdir: str | os.PathLike):
        self.path: epath.Path = paths.run_path(workdir)

    def __str__(self) -> str:
        return str(self.path)

    # ---- the layout

    @property
    def config_path(self) -> epath.Path:
        return self.path / CONFIG

    @property
    def tokenizer_path(self) -> epath.Path:
        return self.path / TOKENIZER

    @property
    def checkpoints(self) -> epath.Path:
        return self.path / CHECKPOINTS

    @property
    def damaged(self) -> epath.Path:
        return self.path / DAMAGED

    @property
    def metrics_path(self) -> epath.Path:
        return self.path / METRICS

    @property
    def tensorboard(self) -> epath.Path:
        return self.path / TENSORBOARD

    # ---- config and tokenizer

    def read_config(self):
        """The saved config, or None when the run has none yet."""
        from picojax import config_io

        return config_io.load_json(self.config_path) if self.config_path.is_file() else None

    def write_config(self, cfg) -> None:
        from picojax import config_io

        paths.ensure_dir(self.path)
        config_io.save_json(cfg, self.config_path)

    def keep_tokenizer(self, tokenizer) -> None:
        """Copies the tokenizer into the run once: samplers then need nothing but the workdir."""
        if not self.tokenizer_path.exists():
            paths.write_bytes_atomic(self.tokenizer_path, Path(tokenizer.path).read_bytes())

    def tokenizer(self, cfg, expected_sha256: Optional[str]):
        """The run's tokenizer (its own copy, else the config's), checked against the sha256
        the checkpoint recorded."""
        from picojax import data
        from picojax.checkpoint import CheckpointError
        from picojax.tokenizer import Tokenizer

        own = self.tokenizer_path
        if not own.is_file():
            tokenizer = Tokenizer.load(data.tokenizer_path(cfg))
        elif paths.is_remote(own):
            tokenizer = _local_copy(own)
        else:
            tokenizer = Tokenizer.load(own)
        if expected_sha256 and tokenizer.sha256 != expected_sha256:
            raise CheckpointError(
                f"tokenizer {tokenizer.path} (sha256 {tokenizer.sha256[:12]}…) is not the one the checkpoint in "
                f"{self.path} was trained with (sha256 {expected_sha256[:12]}…)")
        return tokenizer

    # ---- checkpoints

    def checkpointer(self, **options):
        from picojax.checkpoint import Checkpointer

        return Checkpointer(self.path, **options)

    def latest_step(self) -> Optional[int]:
        """The newest checkpoint's step (None without checkpoints), as Orbax sees it."""
        if not self.checkpoints.is_dir():
            return None
        ckpt = self.checkpointer(read_only=True)
        try:
            return ckpt.latest_step()
        finally:
            ckpt.close()

    def move_damaged(self, step: int) -> epath.Path:
        """Moves checkpoint `step` (one that failed to restore) to damaged_checkpoints/, out
        of Orbax's way: a resumed run will save that step again. Nothing is deleted; a
        name already taken gets a suffix."""
        paths.ensure_dir(self.damaged)
        target, n = self.damaged / str(step), 1
        while target.exists():
            target, n = self.damaged / f"{step}.{n}", n + 1
        (self.checkpoints / str(step)).rename(target)
        return target

    def restore_for_inference(self, *, step: Optional[int] = None, mesh=None,
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

        from picojax import checkpoint, sharding
        from picojax.config import MeshConfig
        from picojax.train_state import model_graphdef

        warn = warn or _warn
        ckpt = self.checkpointer(read_only=True)
        found = {}

        def restore(at: int, meta: dict):
            cfg = checkpoint.config_from_meta(meta)
            found["tokenizer"] = self.tokenizer(cfg, meta.get("tokenizer_sha256"))
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


def restore_for_inference(workdir: str | os.PathLike, *, step: Optional[int] = None, mesh=None,
                          warn: Optional[Callable[[str], None]] = None) -> Restored:
    return RunDir(workdir).restore_for_inference(step=step, mesh=mesh, warn=warn)


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

