"""Importing real TinyStories files into a dataset folder (`picojax data stories --from`).

Streams every source once (constant memory: one block and one story at a time), normalises
each story's whitespace unless ``exact`` (byte-exact text), drops empty stories, assigns
each story to train or val by a keyed hash of its text (`output.split_of`: the same story
lands in the same split whatever the run or the order of inputs), and writes
``train.txt``/``val.txt`` in the V2 framing of `framing.py` plus ``manifest.json``, all or
nothing (`output.StoryWriter`). The only state that grows with the input is the set of
distinct words (bounded by the language, tens of thousands for TinyStories) and the bounded
diversity sample of `stats.Diversity`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from data_gen.stories.errors import StoriesError
from data_gen.stories.framing import SEPARATOR
from data_gen.stories.output import StoryWriter, split_of
from data_gen.stories.sources import Source
from data_gen.stories.stats import CorpusStats

FORMAT_NOTE = "TinyStories V2 text: each story, then a line <|endoftext|> (data_gen/stories/framing.py)"


def normalise(text: str) -> str:
    """One space between words, one line break between paragraphs, nothing at either end."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def check_fraction(val_fraction: float) -> None:
    if not 0.0 <= val_fraction < 1.0:
        raise StoriesError(f"--val-fraction must be in [0, 1), got {val_fraction}")


def import_stories(paths: Sequence[str | Path], out: str | Path, *, val_fraction: float = 0.05,
                   seed: int = 0, exact: bool = False, progress: bool | None = None) -> dict:
    """Imports the sources into ``out``; returns the manifest (also written to out/manifest.json).

    ``progress``: None shows a bar only on a terminal, True/False force it on/off.
    """
    check_fraction(val_fraction)
    paths = [Path(p) for p in paths]
    if not paths:
        raise StoriesError("no source given (--from PATH)")
    for p in paths:  # fail before writing anything
        if not p.is_file():
            raise StoriesError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    total = sum(p.stat().st_size for p in paths)
    stats = CorpusStats()
    sources = []
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="import", file=sys.stderr,
               disable=None if progress is None else not progress, mininterval=0.5)
    with bar, StoryWriter(out) as writer:
        for path in paths:
            src = Source(path, on_bytes=bar.update)
            kept = dropped = 0
            for raw in src.stories():
                text = raw if exact else normalise(raw)
                if not text.strip():
                    dropped += 1
                    continue
                if SEPARATOR in text and src.format != "text":
                    raise StoriesError(f"{path}: story {kept + dropped} contains the separator {SEPARATOR}")
                data = text.encode("utf-8")
                split = split_of(data, seed, val_fraction)
                stats.add(split, text, data, writer.write(split, data))
                kept += 1
            if kept == 0:
                raise StoriesError(f"{path}: no stories found")
            sources.append({"path": str(path.resolve()), "sha256": src.sha256, "bytes": src.nbytes,
                            "format": src.format, "compression": src.compression,
                            "stories": kept, "dropped_empty": dropped})
        manifest = {"kind": "import", "format": FORMAT_NOTE, "text": "exact" if exact else "normalised",
                    "val_fraction": val_fraction, "seed": seed, "sources": sources, **stats.figures()}
        writer.commit(manifest)
    return manifest
