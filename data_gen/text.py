"""Any plain text as a dataset: the `text` task (tiny Shakespeare, a book, your notes).

`import_text` reads one or more UTF-8 files (or every ``*.txt`` in a folder), cuts them
into documents and writes ``train.txt`` / ``val.txt`` in the TinyStories V2 layout the
store reads (each document followed by a ``<|endoftext|>`` line, `data_gen.stories.framing`)
plus ``manifest.json`` naming the task, all into a temporary folder renamed into place.

Documents (``separator``):
- ``eot``: ``<|endoftext|>`` lines separate them (TinyStories files);
- ``blank``: blank lines do;
- ``file``: one document per input file;
- ``none``: each file is one stream (a play, a book);
- ``auto``: ``eot`` when a file holds a ``<|endoftext|>`` line, else ``none``.

The split (``split``):
- ``hash``: a document goes to val by a keyed hash of its text (re-running or reordering
  the inputs gives the same split);
- ``tail``: the last ``val_fraction`` of the characters of all the text is val, as
  nanoGPT's ``shakespeare_char`` takes the last 10% (``auto`` picks it for one stream).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

from data_gen.stories.framing import SEPARATOR, SEPARATOR_LINE
from picojax.data_dir import DataDir
from picojax.errors import UserError
from picojax.paths import building_dir

TASK = "text"
SEPARATORS = ("auto", "eot", "blank", "file", "none")
SPLITS = ("auto", "hash", "tail")


class TextError(UserError):
    """A text source or option is unusable; the message names the file and the problem."""


def _files(sources: Sequence[str | os.PathLike]) -> list[Path]:
    out = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(src.glob("*.txt"))
            if not found:
                raise TextError(f"--from {src}: a folder with no *.txt files")
            out.extend(found)
        elif src.is_file():
            out.append(src)
        else:
            raise TextError(f"--from {src}: no such file or folder")
    return out


def _read(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise TextError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return text.replace("\r\n", "\n")


def documents(text: str, separator: str) -> list[str]:
    """One file's text cut into documents (empty ones dropped; no document holds the separator line)."""
    if separator == "eot":
        parts = text.split("\n" + SEPARATOR)
        parts = [p.removeprefix(SEPARATOR) for p in parts]
    elif separator == "blank":
        parts, current = [], []
        for line in text.split("\n"):
            if line.strip():
                current.append(line)
            elif current:
                parts.append("\n".join(current))
                current = []
        parts.append("\n".join(current))
    else:  # "file" and "none": the whole file
        parts = [text]
    return [p.strip("\n") for p in parts if p.strip() and p.strip() != SEPARATOR]


def _hash_is_val(doc: str, val_fraction: float, seed: int) -> bool:
    digest = hashlib.blake2b(f"{seed}:{doc}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64 < val_fraction


def import_text(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *, separator: str = "auto",
                split: str = "auto", val_fraction: float = 0.1, seed: int = 0) -> dict:
    """Writes ``out/{train,val}.txt`` and ``out/manifest.json``; returns the manifest."""
    if not sources:
        raise TextError("give at least one --from FILE")
    if separator not in SEPARATORS:
        raise TextError(f"--separator {separator!r}: choose one of {', '.join(SEPARATORS)}")
    if split not in SPLITS:
        raise TextError(f"--split {split!r}: choose one of {', '.join(SPLITS)}")
    if not 0.0 < val_fraction < 1.0:
        raise TextError(f"--val-fraction must be in (0, 1), got {val_fraction}")
    out = Path(out).absolute()
    if DataDir(out).is_foreign():
        raise TextError(f"--out {out} exists and is not a dataset folder (no manifest.json); choose another")
    files = _files(sources)
    texts = [(f, _read(f)) for f in files]
    docs: list[str] = []
    for path, text in texts:
        sep = separator
        if sep == "auto":
            sep = "eot" if f"\n{SEPARATOR}\n" in f"\n{text}\n" else "none"
        docs.extend(documents(text, sep))
    if not docs:
        raise TextError(f"no text in {', '.join(map(str, files))}")
    streams = separator in ("none", "file") or (separator == "auto" and len(docs) == len(files))
    split_kind = ("tail" if streams else "hash") if split == "auto" else split
    if split_kind == "tail":
        whole = "\n".join(docs)
        cut = int(len(whole) * (1 - val_fraction))
        train_docs, val_docs = [whole[:cut].strip("\n")], [whole[cut:].strip("\n")]
    else:
        train_docs = [d for d in docs if not _hash_is_val(d, val_fraction, seed)]
        val_docs = [d for d in docs if _hash_is_val(d, val_fraction, seed)]
    if not train_docs or not val_docs or not all(train_docs) or not all(val_docs):
        raise TextError(f"the {split_kind} split left train or val empty ({len(docs)} document(s)): "
                        f"give more text, another --val-fraction, or --split tail")
    with building_dir(out) as tmp:
        counts, chars, sha = {}, {}, {}
        for name, part in (("train", train_docs), ("val", val_docs)):
            body = "".join(d + SEPARATOR_LINE for d in part)
            DataDir(tmp).text_path(name).write_text(body, encoding="utf-8", newline="\n")
            counts[name], chars[name] = len(part), sum(map(len, part))
            sha[name] = hashlib.sha256(body.encode()).hexdigest()
        manifest = {"task": TASK, "sources": [str(f) for f in files], "separator": separator, "split": split_kind,
                    "val_fraction": val_fraction, "seed": seed, "counts": counts, "chars": chars, "sha256": sha}
        DataDir(tmp).write_manifest(manifest)
    return manifest
