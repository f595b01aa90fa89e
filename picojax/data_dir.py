"""A dataset folder: the one owner of its layout.

    DATA/
      train.txt, val.txt   the text splits, in the task's document format
      manifest.json        what wrote the folder (its task, counts, sha256s), written last:
                           a folder without one is not a complete dataset
      eval/                a task's own eval splits (the RPG's in_dist.txt, fights.jsonl, ...)
      tokenizer.model      the SentencePiece model trained on train.txt (`picojax.tokenizer`)
      store/<split>/       each split's token store (`picojax.store`)

The data generators (`data_gen/`), the tokenizer, the store, the trainer and the tasks'
evals reach these files only through `DataDir`, so the layout is written down once; what
is in the files is their owners' business. A run's workdir is `picojax.run_dir`'s. Pure
Python, no JAX: the data generators import it too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SPLITS = ("train", "val")
TEXT_SUFFIX = ".txt"
MANIFEST = "manifest.json"
EVAL = "eval"
TOKENIZER = "tokenizer.model"
STORE = "store"


class DataDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    @classmethod
    def of(cls, cfg) -> DataDir:
        """The config's dataset folder (``data.dir``)."""
        return cls(cfg.data.dir)

    # ---- the layout

    def text_path(self, split: str) -> Path:
        """A text split: ``train.txt``, ``val.txt``."""
        return self.path / text_name(split)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def eval_dir(self) -> Path:
        return self.path / EVAL

    def eval_path(self, name: str) -> Path:
        """A task's eval split, by file name (``in_dist.txt``)."""
        return self.eval_dir / name

    @property
    def tokenizer_path(self) -> Path:
        """The folder's own tokenizer (a config's ``data.tokenizer`` may name another:
        `tokenizer_path`)."""
        return self.path / TOKENIZER

    @property
    def store(self) -> Path:
        return self.path / STORE

    def store_path(self, split: str) -> Path:
        """One split's token store folder."""
        return self.store / split

    # ---- the manifest

    def read_manifest(self) -> dict:
        """The manifest ({} when the folder has none); invalid JSON raises ValueError."""
        return json.loads(self.manifest_path.read_text()) if self.manifest_path.is_file() else {}

    def write_manifest(self, manifest: dict) -> None:
        self.manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    def is_foreign(self) -> bool:
        """Whether `path` exists as something a dataset must not be written over: a file,
        or a folder that holds files but no manifest."""
        return self.path.exists() and (not self.path.is_dir()
                                       or (any(self.path.iterdir()) and not self.manifest_path.is_file()))


def text_name(split: str) -> str:
    """A text split's file name (what manifests key their per-file figures by)."""
    return f"{split}{TEXT_SUFFIX}"


def tokenizer_path(cfg) -> Path:
    """The tokenizer a config trains with: ``data.tokenizer``, else its dataset's own."""
    return Path(cfg.data.tokenizer) if cfg.data.tokenizer else DataDir.of(cfg).tokenizer_path
