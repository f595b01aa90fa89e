"""SentencePiece tokenizer: train in-process, load, encode/decode, and fingerprint.

Token conventions are fixed, because "the tiny format details decide whether training
behaves or drifts":

- ids: ``pad=0``, ``unk=1``, ``bos=2`` (``<s>``), ``eos=3`` (``</s>``), the same for every
  tokenizer picojax trains; `Tokenizer.load` refuses a model with other ids.
- Text round-trips byte-exactly: no normalisation (``identity``), no extra-whitespace
  removal, no dummy-prefix space. ``\\n`` is a piece, so multi-line stories round-trip.
  Every printable ASCII character is always in the vocabulary (``required_chars``), so names
  and numbers never seen in training still encode without ``<unk>``. Other characters unseen
  in training become ``<unk>`` unless the model was trained with byte fallback (256 ids).
- Digits are split (``split_digits``): every number is spelled digit by digit.
- A task picks the model type: ``bpe`` (stories) or ``char`` (RPG: every name is spelled
  letter by letter, every label is one piece; 122 pieces in all).
- A *profile* is a task (`picojax.tasks`): its ``tokenizer_symbols`` become atomic pieces
  (the RPG format's labels, for instance). A space is ``▁`` inside SentencePiece, so the
  symbols that carry spaces are written with ``▁`` (``' | '`` is the piece ``▁|▁``); each
  label is then exactly one piece, always.

The fingerprint of a tokenizer is the sha256 of its ``.model`` file; the token store and
checkpoints record it and refuse to mix tokenizers.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import string
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from picojax import paths, tasks
from picojax.data_dir import DataDir
from picojax.errors import UserError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

# Symbols of every profile: a newline piece (SentencePiece trains on lines, so it would
# otherwise never see one and stories could not round-trip).
COMMON_SYMBOLS = ["\n"]

# Printable ASCII except whitespace controls; the space is ▁ (SentencePiece rejects ' ').
REQUIRED_CHARS = "".join(c for c in string.printable if c not in " \n\r\x0b\x0c") + "▁"

Profile = str  # a registered task's name, or "auto" (the task that claims the data)


class TokenizerError(UserError):
    """A tokenizer file is missing, foreign, or cannot be trained from the given data."""


class TokenizerMismatchError(UserError):
    """An artifact (token store, checkpoint) was made with a different tokenizer."""


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(expected: str, actual: str, what: str) -> None:
    """Refuses an artifact made with another tokenizer, naming both fingerprints."""
    if expected != actual:
        raise TokenizerMismatchError(
            f"{what} was made with tokenizer sha256 {expected[:12]}…, but the tokenizer given is "
            f"{actual[:12]}…: use the tokenizer it was made with, or rebuild it with this one")


class Tokenizer:
    """A loaded SentencePiece model with picojax's fixed ids."""

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def __init__(self, processor, *, sha256: str, path: str | None = None):
        self.sp = processor
        self.sha256 = sha256
        self.path = path
        ids = (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id())
        if ids != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise TokenizerError(
                f"tokenizer {path or '<bytes>'} has pad/unk/bos/eos ids {ids}, picojax needs "
                f"{(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}: train it with `picojax tokenizer`")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tokenizer":
        import sentencepiece as spm

        path = str(path)
        if not os.path.isfile(path):
            raise TokenizerError(f"no tokenizer at {path}: train one with `picojax tokenizer --data DIR`")
        try:
            processor = spm.SentencePieceProcessor(model_file=path)
        except (RuntimeError, OSError) as e:
            raise TokenizerError(f"{path} is not a SentencePiece model ({str(e).splitlines()[0]})") from None
        return cls(processor, sha256=file_sha256(path), path=path)

    @property
    def vocab_size(self) -> int:
        return self.sp.vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Encodes many texts at once (SentencePiece spreads them over its threads)."""
        return self.sp.encode(list(texts))

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the ids; pad/bos/eos decode to nothing, and so do ids past the tokenizer's
        pieces (a model's vocabulary may be padded beyond them, e.g. RPG's 122 pieces in 128
        rows, and an untrained model can sample a padding row)."""
        n = self.vocab_size
        return self.sp.decode([int(i) for i in ids if 0 <= int(i) < n])

    def pieces(self, text: str) -> list[str]:
        return self.sp.encode(text, out_type=str)

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(i)

    def piece_to_id(self, piece: str) -> int:
        return self.sp.piece_to_id(piece)

    def token_bytes(self) -> np.ndarray:
        """UTF-8 bytes each id decodes to ([V] int32): 0 for pad/unk/bos/eos, 1 per byte piece.

        Bits per byte = summed loss in bits / summed token_bytes of the targets, a metric
        that compares across tokenizers.
        """
        out = np.zeros(self.vocab_size, np.int32)
        for i in range(self.vocab_size):
            if self.sp.is_control(i) or self.sp.is_unknown(i):
                continue
            if self.sp.is_byte(i):
                out[i] = 1
            else:
                out[i] = len(self.sp.id_to_piece(i).replace("▁", " ").encode("utf-8"))
        return out


# ----------------------------------------------------------------------------------------
# Training.


def detect_profile(train_path: str | os.PathLike) -> str:
    """The name of the registered task that claims the split's first non-empty line."""
    if os.path.getsize(train_path) == 0 or not _has_text(train_path):
        raise TokenizerError(f"{train_path} is empty: nothing to train a tokenizer on")
    return tasks.detect_task(train_path).name


def _has_text(path: str | os.PathLike) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        return any(line.strip() for line in f)


def sample_lines(path: str | os.PathLike, max_chars: int, seed: int = 0,
                 skip: Sequence[str] | None = None) -> Iterator[str]:
    """Streams lines of a split, each kept with probability max_chars / file size, until
    max_chars characters are out. Memory stays bounded whatever the file's size; the
    sample is spread over the whole file and fixed by the seed. Blank lines and the
    task's framing lines (`skip`, e.g. a story separator; default: those of every
    registered task) are skipped."""
    if skip is None:
        skip = {line for name in tasks.names() for line in tasks.get_task(name).framing_lines}
    keep = min(1.0, max_chars / max(1, os.path.getsize(path)))
    rng = random.Random(seed)
    taken = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line in skip:
                continue
            if keep < 1.0 and rng.random() >= keep:
                continue
            yield line
            taken += len(line)
            if taken >= max_chars:
                return


def train_tokenizer(
    data_dir: str | os.PathLike,
    vocab_size: int,
    out_path: str | os.PathLike,
    *,
    profile: Profile = "auto",
    byte_fallback: bool = False,
    max_chars: int = 10_000_000,
    character_coverage: float | None = None,
    seed: int = 0,
    model_type: str | None = None,
) -> Tokenizer:
    """Trains the profile's SentencePiece model (BPE, or char for a task whose names must be
    spelled letter by letter) on the dataset folder's train split; writes it atomically to
    out_path."""
    import sentencepiece as spm

    train_path = DataDir(data_dir).text_path("train")
    if not train_path.is_file():
        raise TokenizerError(f"no training split at {train_path}")
    if profile == "auto":
        profile = detect_profile(train_path)
    try:
        task = tasks.get_task(profile)
    except tasks.UnknownTaskError:
        raise TokenizerError(f"unknown tokenizer profile {profile!r}: choose {', '.join(tasks.names())} or auto") from None
    symbols = list(dict.fromkeys(COMMON_SYMBOLS + list(task.tokenizer_symbols)))
    if character_coverage is None:
        character_coverage = task.character_coverage
    model_type = model_type or task.tokenizer_model
    if model_type not in ("bpe", "char"):
        raise TokenizerError(f"unknown tokenizer model {model_type!r}: choose bpe or char")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=(text for line in sample_lines(train_path, max_chars, seed, skip=task.framing_lines)
                               for text in task.tokenizer_lines(line)),
            model_writer=model,
            model_type=model_type,
            # A char model has one piece per character and symbol. Asked for fewer it drops
            # characters (even required ones) to fit, so it is trained unbounded and the
            # requested size is checked after, as a bound rather than a target.
            vocab_size=vocab_size if model_type == "bpe" else max(vocab_size, 1 << 12),
            hard_vocab_limit=model_type == "bpe",
            pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
            user_defined_symbols=symbols,
            required_chars=REQUIRED_CHARS,
            split_digits=True,
            byte_fallback=byte_fallback,
            character_coverage=character_coverage,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=False,
            max_sentence_length=1 << 16,  # a story paragraph can be long; the default skips >4 KB lines
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as e:
        message = str(e).splitlines()[0]
        too_high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", message)
        if too_high:
            raise TokenizerError(
                f"--vocab-size {vocab_size} is too large for this data: SentencePiece ran out of pieces to "
                f"merge; use a smaller vocabulary or more data") from None
        too_low = re.search(r"Vocabulary size is smaller than required_chars\. \d+ vs (\d+)", message)
        if too_low:
            raise TokenizerError(
                f"--vocab-size {vocab_size} is too small: the special ids, the profile's symbols and the "
                f"characters to cover need at least {too_low.group(1)}") from None
        raise TokenizerError(f"SentencePiece could not train on {train_path}: {message}") from None
    if model_type == "char":  # no hard limit was set: refuse a vocabulary the pieces do not fit
        import sentencepiece as spm_check

        pieces = spm_check.SentencePieceProcessor(model_proto=model.getvalue()).get_piece_size()
        if pieces > vocab_size:
            raise TokenizerError(
                f"--vocab-size {vocab_size} is too small: the special ids, the profile's symbols and the "
                f"characters to cover need at least {pieces}")
    out_path = Path(out_path)
    paths.write_bytes_atomic(paths.run_path(out_path), model.getvalue())
    return Tokenizer.load(out_path)
