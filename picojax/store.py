"""The on-disk token store: each split's documents encoded once, read back by index.

Layout of ``<store>/<split>/`` (all little-endian, flat, memory-mappable):

- ``tokens.bin``: every document's ids back to back, ``uint16`` (``uint32`` for vocabularies
  over 65,536); a document is ``BOS + text + EOS``;
- ``offsets.bin``: ``int64[num_docs + 1]``; document i is ``tokens[offsets[i]:offsets[i+1]]``;
- ``target_starts.bin``: ``int32[num_docs]``; index *within the document* of its first
  target token (RPG: the token after the prompt's `` => ``; stories: 1, the whole text);
- ``meta.json``: format version, split, task, counts, dtype, and the tokenizer's sha256.

Why flat arrays and not ArrayRecord: a document is a short run of small integers, so a
slice of a memory-mapped array is the cheapest random access there is (no per-record
framing, no chunk decompression, no C++ reader), Grain only needs ``__len__`` and
``__getitem__``, the page cache shares the file between processes, and any tool can read
it with numpy. Writing streams: documents are encoded in chunks and appended, so memory
stays bounded by the chunk size whatever the split's size; the split is written under a
temporary name and renamed into place, so a store is either whole or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from picojax.data_dir import SPLITS, DataDir
from picojax.errors import UserError
from picojax.paths import replace_dir
from picojax import tasks
from picojax.tokenizer import BOS_ID, EOS_ID, Tokenizer, check_sha256, detect_profile

STORE_FORMAT = "picojax-token-store"
STORE_VERSION = 1


class StoreError(UserError):
    """A token store or the text it is built from is missing, empty, truncated or malformed."""


# ----------------------------------------------------------------------------------------
# Reading the text splits.


def iter_documents(path: str | os.PathLike, task: str, digest=None) -> Iterator[tuple[str, str]]:
    """Yields ``(prompt, target)`` per document of a text split, streaming, as the task
    (`picojax.tasks`) splits it. ``digest`` (a hashlib object) is fed the raw bytes read."""
    return tasks.get_task(task).iter_documents(path, digest)


def _lines(path: str | os.PathLike, digest) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if digest is not None:
                digest.update(raw)
            try:
                yield lineno, raw.decode("utf-8").rstrip("\n")
            except UnicodeDecodeError:
                raise StoreError(f"{path}:{lineno}: not valid UTF-8") from None


def line_documents(path: str | os.PathLike, prompt_end: str, what: str, digest=None) -> Iterator[tuple[str, str]]:
    """One document per non-blank line, split after the first ``prompt_end`` (kept in the
    prompt); a line without it is an error naming the line (``what`` names the format)."""
    for lineno, line in _lines(path, digest):
        if not line.strip():
            continue
        cut = line.find(prompt_end)
        if cut < 0:
            raise StoreError(f"{path}:{lineno}: not {what} (no {prompt_end!r}): {line[:60]!r}")
        cut += len(prompt_end)
        yield line[:cut], line[cut:]


def separated_documents(path: str | os.PathLike, separator: str, digest=None) -> Iterator[tuple[str, str]]:
    """Documents are the lines between ``separator`` lines, joined by newlines, without the
    whitespace around them (so BOS is followed by the first word), as the target (empty
    prompt); blank documents are dropped."""
    doc: list[str] = []
    for _, line in _lines(path, digest):
        if line == separator:
            if "".join(doc).strip():
                yield "", "\n".join(doc).strip()
            doc = []
        else:
            doc.append(line)
    if "".join(doc).strip():
        yield "", "\n".join(doc).strip()


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ----------------------------------------------------------------------------------------
# Writing.


def write_split(text_path: str | os.PathLike, tokenizer: Tokenizer, out_dir: str | os.PathLike, *,
                task: str = "auto", chunk_docs: int = 4096) -> dict:
    """Encodes one text split into ``out_dir`` (replacing it atomically); returns its meta."""
    text_path, out_dir = Path(text_path), Path(out_dir)
    if not text_path.is_file():
        raise StoreError(f"no text split at {text_path}")
    if task == "auto":
        task = detect_profile(text_path)
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32
    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    digest = hashlib.sha256()
    num_docs = num_tokens = max_len = 0
    try:
        with open(tmp / "tokens.bin", "wb") as tokens_f, open(tmp / "offsets.bin", "wb") as offsets_f, \
                open(tmp / "target_starts.bin", "wb") as starts_f:
            offsets_f.write(np.zeros(1, np.int64).tobytes())
            for chunk in _chunks(iter_documents(text_path, task, digest), chunk_docs):
                prompts = tokenizer.encode_batch([p for p, _ in chunk])
                targets = tokenizer.encode_batch([t for _, t in chunk])
                # Prompt and target are encoded apart, exactly as a sampler encodes a prompt
                # and generates the rest; their concatenation decodes to the record.
                docs = [[BOS_ID, *p, *t, EOS_ID] for p, t in zip(prompts, targets)]
                lengths = np.fromiter(map(len, docs), np.int64, len(docs))
                tokens_f.write(np.fromiter((i for d in docs for i in d), dtype, int(lengths.sum())).tobytes())
                offsets_f.write((num_tokens + np.cumsum(lengths)).tobytes())
                starts_f.write(np.fromiter((1 + len(p) for p in prompts), np.int32, len(prompts)).tobytes())
                num_docs += len(docs)
                num_tokens += int(lengths.sum())
                max_len = max(max_len, int(lengths.max()))
        meta = {
            "format": STORE_FORMAT, "version": STORE_VERSION, "split": out_dir.name, "task": task,
            "num_docs": num_docs, "num_tokens": num_tokens, "max_doc_tokens": max_len,
            "token_dtype": np.dtype(dtype).name, "vocab_size": tokenizer.vocab_size,
            "bos_id": BOS_ID, "eos_id": EOS_ID, "tokenizer_sha256": tokenizer.sha256,
            "source": str(text_path), "source_sha256": digest.hexdigest(),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def tokenize_dir(data_dir: str | os.PathLike, tokenizer: Tokenizer, *, store_dir: str | os.PathLike | None = None,
                 splits: tuple[str, ...] = SPLITS, task: str = "auto") -> dict[str, dict]:
    """Builds ``<store_dir>/<split>/`` (default: the folder's own store) for each text split
    of the dataset folder `data_dir`; returns the metas."""
    folder = DataDir(data_dir)
    store_dir = Path(store_dir) if store_dir is not None else folder.store
    present = [s for s in splits if folder.text_path(s).is_file()]
    if "train" in splits and "train" not in present:
        raise StoreError(f"no training split at {folder.text_path('train')}")
    if task == "auto":
        task = detect_profile(folder.text_path(present[0]))
    return {s: write_split(folder.text_path(s), tokenizer, store_dir / s, task=task) for s in present}


# ----------------------------------------------------------------------------------------
# Reading.


class TokenStore:
    """Random access to one split's documents. Arrays are memory-mapped lazily, and are
    not part of the pickled state, so a Grain worker process reopens the files itself."""

    def __init__(self, split_dir: str | os.PathLike, *, tokenizer_sha256: str | None = None):
        self.dir = Path(split_dir)
        meta_path = self.dir / "meta.json"
        if not meta_path.is_file():
            raise StoreError(f"no token store at {self.dir}: run `picojax data tokenize --data DIR --tokenizer PATH`")
        try:
            self.meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError:
            raise StoreError(f"{meta_path} is not valid JSON") from None
        if self.meta.get("format") != STORE_FORMAT or self.meta.get("version") != STORE_VERSION:
            raise StoreError(f"{self.dir} is not a picojax token store of version {STORE_VERSION}: rebuild it")
        if self.meta["num_docs"] == 0:
            raise StoreError(f"token store {self.dir} is empty: its text split has no documents")
        if tokenizer_sha256 is not None:
            check_sha256(self.meta["tokenizer_sha256"], tokenizer_sha256, f"token store {self.dir}")
        self._check_sizes()
        self._arrays = None

    def _check_sizes(self) -> None:
        n, t = self.meta["num_docs"], self.meta["num_tokens"]
        itemsize = np.dtype(self.meta["token_dtype"]).itemsize
        sizes = (("tokens.bin", t * itemsize), ("offsets.bin", (n + 1) * 8), ("target_starts.bin", n * 4))
        for name, expected in sizes:
            path = self.dir / name
            if not path.is_file() or path.stat().st_size != expected:
                raise StoreError(f"token store {self.dir} is damaged: {name} is missing or truncated; rebuild it")

    def __getstate__(self):
        return {**self.__dict__, "_arrays": None}

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = (
                # A plain ndarray view: slicing a np.memmap object costs a subclass round-trip each time.
                np.memmap(self.dir / "tokens.bin", dtype=self.meta["token_dtype"], mode="r").view(np.ndarray),
                np.fromfile(self.dir / "offsets.bin", dtype=np.int64),
                np.fromfile(self.dir / "target_starts.bin", dtype=np.int32),
            )
        return self._arrays

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def tokenizer_sha256(self) -> str:
        return self.meta["tokenizer_sha256"]

    @property
    def offsets(self) -> np.ndarray:
        return self.arrays[1]

    @property
    def target_starts(self) -> np.ndarray:
        return self.arrays[2]

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per document, BOS and EOS included ([num_docs] int64)."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.meta["num_docs"]

    def __getitem__(self, i: int) -> np.ndarray:
        """Document i as int32 ids (BOS ... EOS)."""
        tokens, offsets, _ = self.arrays
        return np.asarray(tokens[offsets[i]:offsets[i + 1]], dtype=np.int32)
