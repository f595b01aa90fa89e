"""A user's own prompt -> completion pairs: the way to make a tiny specialist of your own.

Input: JSON Lines, one object per line with a string ``"prompt"`` and a non-empty string
``"completion"`` (other keys are ignored; blank lines are skipped). The model learns the
completion given the prompt: the loss is on the completion only, and the eval is exact
match of the greedy completion.

`import_pairs` checks every line first (a bad line is one error naming the file and the
line), splits train/val by a keyed hash of the prompt (re-running, or reordering the
inputs, gives the same split, and a prompt never lands in both), and writes
``train.txt`` / ``val.txt`` (the same JSON Lines, one pair per line, keys in a fixed order)
and ``manifest.json`` into a temporary folder that is renamed into place: nothing
half-written is ever left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

from picojax.data_dir import SPLITS, DataDir
from picojax.errors import UserError
from picojax.paths import building_dir

TASK = "pairs"


class PairsError(UserError):
    """A pairs file or option is unusable; the message names the file, the line and the problem."""


def read_pairs(path: str | os.PathLike) -> Iterator[tuple[int, str, str]]:
    """(line number, prompt, completion) per non-blank line; the first bad line raises."""
    path = Path(path)
    if not path.is_file():
        raise PairsError(f"pairs file not found: {path}")
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise PairsError(f"{path}:{lineno}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise PairsError(f"{path}:{lineno}: not JSON ({e.msg}): {line.strip()[:60]!r}") from None
            if not isinstance(obj, dict):
                raise PairsError(f"{path}:{lineno}: a JSON object with \"prompt\" and \"completion\" is needed, "
                                 f"got {type(obj).__name__}")
            for key in ("prompt", "completion"):
                if key not in obj:
                    raise PairsError(f"{path}:{lineno}: missing key {key!r}")
                if not isinstance(obj[key], str):
                    raise PairsError(f"{path}:{lineno}: {key!r} must be a string, got {type(obj[key]).__name__}")
            if not obj["completion"]:
                raise PairsError(f"{path}:{lineno}: empty completion (nothing to learn)")
            yield lineno, obj["prompt"], obj["completion"]


def pair_line(prompt: str, completion: str) -> str:
    return json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False) + "\n"


def parse_pair_line(line: str) -> tuple[str, str]:
    obj = json.loads(line)
    return obj["prompt"], obj["completion"]


def is_val(prompt: str, val_fraction: float, seed: int) -> bool:
    """The keyed-hash split: the same prompt always goes the same way."""
    digest = hashlib.blake2b(f"{seed}:{prompt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64 < val_fraction


def import_pairs(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *, val_fraction: float = 0.1,
                 seed: int = 0, regex: str | None = None) -> dict:
    """Writes ``out/{train,val}.txt`` and ``out/manifest.json``; returns the manifest.
    ``regex``: the form a completion must have (the eval reports format validity against it)."""
    if not sources:
        raise PairsError("give at least one --from FILE")
    if not 0.0 <= val_fraction < 1.0:
        raise PairsError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as e:
            raise PairsError(f"--regex {regex!r} is not a regular expression: {e}") from None
    out = Path(out).absolute()
    if DataDir(out).is_foreign():
        raise PairsError(f"--out {out} exists and is not a dataset folder (no manifest.json); choose another")
    for path in sources:  # every line checked before anything is written
        for _ in read_pairs(path):
            pass
    counts = dict.fromkeys(SPLITS, 0)
    digests = {s: hashlib.sha256() for s in SPLITS}
    seen: set[str] = set()
    duplicates = 0
    with building_dir(out) as tmp:
        files = {s: open(DataDir(tmp).text_path(s), "w", encoding="utf-8", newline="\n") for s in SPLITS}
        with files["train"], files["val"]:
            for path in sources:
                for _, prompt, completion in read_pairs(path):
                    key = prompt + "\x00" + completion
                    if key in seen:
                        duplicates += 1
                        continue
                    seen.add(key)
                    split = "val" if is_val(prompt, val_fraction, seed) else "train"
                    line = pair_line(prompt, completion)
                    files[split].write(line)
                    digests[split].update(line.encode())
                    counts[split] += 1
        if counts["train"] == 0:
            raise PairsError(f"no training pairs: all {counts['val']} pair(s) went to val; lower --val-fraction")
        manifest = {
            "task": TASK, "seed": seed, "val_fraction": val_fraction, "completion_regex": regex,
            "sources": [str(p) for p in sources], "counts": counts, "duplicates_dropped": duplicates,
            "sha256": {s: digests[s].hexdigest() for s in SPLITS},
        }
        DataDir(tmp).write_manifest(manifest)
    return manifest
