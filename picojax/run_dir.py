"""The run directory: the one owner of a workdir's layout.

    WORKDIR/
      config.json        the resolved config (JSON; `picojax.config_io`)
      tokenizer.model    the run's own copy of its tokenizer, so a sampler needs only WORKDIR
      checkpoints/<N>/   Orbax checkpoints (`picojax.checkpoint`), N = steps done
      damaged_checkpoints/<N>/  checkpoints that failed to restore, moved aside (never deleted)
      metrics.jsonl      one JSON object per logged step (`picojax.writers`)
      tb/                TensorBoard event files

Train, sample, eval and the CLI reach these files only through `RunDir`, so the layout
is written down once; what is in the files is their owners' business (restoring a run
for inference is `picojax.restore`). WORKDIR may be local or ``gs://…`` (`picojax.paths`).
"""

from __future__ import annotations

import os
from pathlib import Path

from etils import epath

from picojax import paths

CONFIG = "config.json"
TOKENIZER = "tokenizer.model"
CHECKPOINTS = "checkpoints"
DAMAGED = "damaged_checkpoints"
METRICS = "metrics.jsonl"
TENSORBOARD = "tb"


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

    # ---- the run's config and tokenizer copy

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

    # ---- damaged checkpoints

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
