"""The run's SentencePiece tokenizer, spelled for llama.cpp (GGUF vocab) and for
Hugging Face (a ``tokenizer.json`` the `tokenizers` library loads as is).

picojax's tokenizers are BPE (or, for the RPG task, character) models with fixed ids (pad 0, unk 1, bos 2, eos 3), no
normalisation, no dummy-prefix space, and *user-defined* pieces (``"\\n"``, the RPG
format's labels such as ``▁|▁``) that SentencePiece always cuts out of the text whole,
before any merge. Both targets need that said explicitly:

- GGUF: SentencePiece's own piece types (normal, unknown, control, user-defined, unused,
  byte) and scores; user-defined pieces are written with real spaces (``" | "``): llama.cpp
  matches them on the raw text before it escapes spaces to ``▁``, and decodes them
  verbatim. ``add_space_prefix`` is false (no dummy prefix), BOS is added, EOS is not.
- Hugging Face: a ``BPE`` model whose merges are recovered from the vocabulary and ranked
  by the merged piece's score (SentencePiece BPE merges the best-scored adjacent pair
  first), a ``Replace(" ", "▁")`` normaliser (SentencePiece's whitespace escape), the
  user-defined pieces as normalised added tokens, and a post-processor adding ``<s>``.

Only the stdlib and SentencePiece are used here; the ``tokenizer.json`` is plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from picojax.export.tensors import ExportError

SPACE = "\u2581"  # ▁, SentencePiece's escaped space

# SentencePiece's piece types (sentencepiece_model.proto), which GGUF's token types copy.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]  # SentencePiece spelling (▁ for a space)
    scores: list[float]
    types: list[int]  # NORMAL ... BYTE
    model_type: str  # "bpe", "char" (one piece per character) or "unigram"
    byte_fallback: bool
    add_dummy_prefix: bool
    pad_id: int
    unk_id: int
    bos_id: int
    eos_id: int
    model_bytes: bytes  # the .model file, copied into the export


def read_vocab(tokenizer) -> Vocab:
    """The pieces, scores and types of a picojax `Tokenizer` (or a SentencePieceProcessor)."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    sp = getattr(tokenizer, "sp", tokenizer)
    proto = pb.ModelProto.FromString(sp.serialized_model_proto())
    model_type = {pb.TrainerSpec.BPE: "bpe", pb.TrainerSpec.CHAR: "char",
                  pb.TrainerSpec.UNIGRAM: "unigram"}.get(proto.trainer_spec.model_type)
    if model_type is None:
        raise ExportError(f"tokenizer {getattr(tokenizer, 'path', '')}: SentencePiece model type "
                          f"{pb.TrainerSpec.ModelType.Name(proto.trainer_spec.model_type)} cannot be exported "
                          f"(only BPE, char and unigram)")
    norm = proto.normalizer_spec
    if norm.name not in ("identity", "") or norm.remove_extra_whitespaces or not norm.escape_whitespaces:
        raise ExportError(
            f"tokenizer {getattr(tokenizer, 'path', '')}: normalisation {norm.name!r} "
            f"(remove_extra_whitespaces={norm.remove_extra_whitespaces}) has no exact llama.cpp/Hugging Face "
            f"equivalent; picojax tokenizers use identity")
    pieces = [p.piece for p in proto.pieces]
    return Vocab(
        pieces=pieces,
        scores=[float(p.score) for p in proto.pieces],
        types=[int(p.type) for p in proto.pieces],
        model_type=model_type,
        byte_fallback=bool(proto.trainer_spec.byte_fallback),
        add_dummy_prefix=bool(norm.add_dummy_prefix),
        pad_id=sp.pad_id(), unk_id=sp.unk_id(), bos_id=sp.bos_id(), eos_id=sp.eos_id(),
        model_bytes=_model_bytes(tokenizer, sp),
    )


def _model_bytes(tokenizer, sp) -> bytes:
    """The tokenizer file itself when there is one (its sha256 is the run's fingerprint)."""
    import os

    path = getattr(tokenizer, "path", None)
    if path and os.path.isfile(path):
        with open(path, "rb") as f:
            return f.read()
    return sp.serialized_model_proto()


# ----------------------------------------------------------------------------------------
# GGUF.


def gguf_vocab(vocab: Vocab, n_vocab: int) -> tuple[list[bytes], list[float], list[int]]:
    """(token texts, scores, token types), padded to the model's ``n_vocab`` rows with unused
    ``[PAD{i}]`` tokens as llama.cpp's converter does."""
    tokens, scores, types = [], [], []
    for piece, score, kind in zip(vocab.pieces, vocab.scores, vocab.types):
        text = piece.replace(SPACE, " ") if kind == USER_DEFINED else piece
        tokens.append(text.encode("utf-8"))
        scores.append(score)
        types.append(kind)
    for i in range(len(tokens), n_vocab):
        tokens.append(f"[PAD{i}]".encode("utf-8"))
        scores.append(-1000.0)
        types.append(UNUSED)
    return tokens, scores, types


# ----------------------------------------------------------------------------------------
# Hugging Face.


def bpe_merges(vocab: Vocab) -> list[list[str]]:
    """Every split ``a + b`` of a normal piece into two mergeable pieces, ranked by the
    merged piece's score (best first), then by the ids of its parts."""
    ids = {p: i for i, p in enumerate(vocab.pieces) if vocab.types[i] == NORMAL}
    merges = []
    for piece, i in ids.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                merges.append((-vocab.scores[i], i, ids[left], ids[right], left, right))
    merges.sort()
    return [[left, right] for *_, left, right in merges]


def _added_token(i: int, content: str, *, special: bool) -> dict:
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": not special, "special": special}


def hf_tokenizer_json(vocab: Vocab) -> dict:
    """A ``tokenizer.json`` that encodes and decodes like the SentencePiece model."""
    bos = vocab.pieces[vocab.bos_id]
    added = []
    for i, (piece, kind) in enumerate(zip(vocab.pieces, vocab.types)):
        if kind in (CONTROL, UNKNOWN):
            added.append(_added_token(i, piece, special=True))
        elif kind == USER_DEFINED:
            # Matched on the normalised text (spaces already ▁), so the piece itself, ▁ and all.
            added.append(_added_token(i, piece, special=False))
    normalizers = [{"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]
    if vocab.add_dummy_prefix:
        normalizers.insert(0, {"type": "Prepend", "prepend": SPACE})
    decoders = [{"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}]
    if vocab.add_dummy_prefix:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    if vocab.model_type in ("bpe", "char"):
        # A char model is a BPE model without merges: each character is looked up alone.
        model = {
            "type": "BPE", "dropout": None, "unk_token": vocab.pieces[vocab.unk_id],
            "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "fuse_unk": True, "byte_fallback": vocab.byte_fallback, "ignore_merges": False,
            "vocab": {p: i for i, p in enumerate(vocab.pieces)},
            "merges": bpe_merges(vocab) if vocab.model_type == "bpe" else [],
        }
    else:
        model = {"type": "Unigram", "unk_id": vocab.unk_id, "byte_fallback": vocab.byte_fallback,
                 "vocab": [[p, s] for p, s in zip(vocab.pieces, vocab.scores)]}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [vocab.bos_id], "tokens": [bos]}},
        },
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": model,
    }


def hf_tokenizer_config(vocab: Vocab, max_length: int) -> tuple[dict, dict]:
    """(tokenizer_config.json, special_tokens_map.json)."""
    special = {
        "bos_token": vocab.pieces[vocab.bos_id], "eos_token": vocab.pieces[vocab.eos_id],
        "unk_token": vocab.pieces[vocab.unk_id], "pad_token": vocab.pieces[vocab.pad_id],
    }
    decoder = {}
    for i, (piece, kind) in enumerate(zip(vocab.pieces, vocab.types)):
        if kind in (CONTROL, UNKNOWN, USER_DEFINED):
            decoder[str(i)] = {k: v for k, v in _added_token(i, piece, special=kind != USER_DEFINED).items() if k != "id"}
    config = {
        # The generic fast tokenizer: it loads tokenizer.json exactly as written (the
        # Llama tokenizer class would rebuild it with a Metaspace pre-tokenizer of its own).
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": vocab.add_dummy_prefix,
        "legacy": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": max_length,
        "padding_side": "right",
        "added_tokens_decoder": decoder,
        **special,
    }
    return config, special
