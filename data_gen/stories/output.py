"""Writing a dataset folder (train.txt, val.txt, manifest.json) all or nothing.

Everything is written into a temporary folder next to ``--out`` and only moved into place
once complete, so a failure (bad input, Ctrl-C, a full disk) leaves ``--out`` as it was.
A new ``--out`` is one atomic rename. An existing one may hold other files (the tokenizer
and token store live in the same folder), so then only our three files are replaced, one
atomic rename each, with the old manifest removed first: a folder without a manifest is
never mistaken for a complete dataset.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from data_gen.stories.errors import StoriesError
from data_gen.stories.framing import SEPARATOR_LINE
from picojax.data_dir import SPLITS, DataDir

_SEPARATOR_LINE_BYTES = SEPARATOR_LINE.encode()


def split_of(text_bytes: bytes, seed: int, val_fraction: float) -> str:
    """'val' or 'train' from a keyed hash of the story text: stable across runs and input order."""
    digest = hashlib.blake2b(text_bytes, digest_size=8, key=str(seed).encode()).digest()
    return "val" if int.from_bytes(digest, "big") < val_fraction * 2**64 else "train"


class StoryWriter:
    """Context manager: ``write`` stories, then ``commit(manifest)``; an exception discards all."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise StoriesError(f"{self.out}: --out exists and is not a folder")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
        except OSError as e:
            raise StoriesError(f"{self.out}: cannot create the output folder ({e.strerror})") from None
        self._files = {s: open(DataDir(self.tmp).text_path(s), "wb", buffering=1 << 20) for s in SPLITS}
        self._done = False

    def write(self, split: str, text_bytes: bytes) -> int:
        """Appends one story in the V2 framing; returns the bytes written."""
        f = self._files[split]
        f.write(text_bytes)
        f.write(_SEPARATOR_LINE_BYTES)
        return len(text_bytes) + len(_SEPARATOR_LINE_BYTES)

    def commit(self, manifest: dict) -> None:
        for f in self._files.values():
            f.close()
        tmp, out = DataDir(self.tmp), DataDir(self.out)
        tmp.write_manifest(manifest)
        if not self.out.exists():
            os.rename(self.tmp, self.out)
        else:
            out.manifest_path.unlink(missing_ok=True)
            for path in [*(tmp.text_path(s) for s in SPLITS), tmp.manifest_path]:
                os.replace(path, out.path / path.name)
            self.tmp.rmdir()
        self._done = True

    def abort(self) -> None:
        for f in self._files.values():
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "StoryWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._done:
            self.abort()
