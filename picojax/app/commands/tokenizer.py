"""`picojax tokenizer`: train the SentencePiece BPE tokenizer of a dataset."""

from __future__ import annotations

import os

from picojax.app.tasks import BUILT_IN

HELP = "train a SentencePiece BPE tokenizer on DIR/train.txt (fixed ids pad=0 unk=1 bos=2 eos=3)"


def add_arguments(parser):
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder holding train.txt")
    parser.add_argument("--vocab-size", type=int, default=512, metavar="V",
                        help="pieces in the vocabulary, specials included (default 512; set model.vocab_size to match)")
    parser.add_argument("--out", metavar="PATH", help="where to write the model (default DIR/tokenizer.model)")
    parser.add_argument("--profile", choices=("auto", *BUILT_IN), default="auto",
                        help="rpg makes the record format's labels single pieces; auto looks at train.txt")
    parser.add_argument("--model", choices=("bpe", "char"), default=None,
                        help="SentencePiece model: bpe merges frequent runs into pieces, char keeps one piece per "
                             "character (default: the task's, char for rpg, bpe otherwise)")
    parser.add_argument("--byte-fallback", action="store_true",
                        help="encode unseen characters as UTF-8 bytes instead of <unk> (spends 256 ids)")
    parser.add_argument("--max-chars", type=int, default=10_000_000, metavar="N",
                        help="train on a sample of about N characters spread over the file (default 10M)")
    parser.add_argument("--character-coverage", type=float, metavar="F",
                        help="share of characters the vocabulary must cover (default 1.0 for rpg, 0.9995 for stories)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the line sample")


def run(args) -> int:
    from picojax.data_dir import DataDir
    from picojax.errors import UserError
    from picojax.tokenizer import train_tokenizer

    if args.max_chars < 1:
        raise UserError(f"--max-chars must be >= 1, got {args.max_chars}")
    if args.character_coverage is not None and not 0.98 <= args.character_coverage <= 1.0:
        raise UserError(f"--character-coverage must be in [0.98, 1] (SentencePiece's range), got {args.character_coverage}")
    out = args.out or str(DataDir(args.data).tokenizer_path)
    if os.path.isdir(out):
        raise UserError(f"--out {out} is a folder, not a file")
    try:
        tok = train_tokenizer(args.data, args.vocab_size, out, profile=args.profile, byte_fallback=args.byte_fallback,
                              max_chars=args.max_chars, character_coverage=args.character_coverage, seed=args.seed,
                              model_type=args.model)
    except OSError as e:  # --out (or its folder) cannot be written
        raise UserError(f"cannot write the tokenizer to {out}: {e.strerror or e}"
                        + (f" ({e.filename})" if e.filename else "")) from None
    print(f"wrote {out}: {tok.vocab_size} pieces, sha256 {tok.sha256}")
    with open(DataDir(args.data).text_path("train"), encoding="utf-8") as f:
        first = next((line.rstrip("\n") for line in f if line.strip()), "")
    ids = tok.encode(first)
    print(f"first line: {len(first)} chars -> {len(ids)} tokens; round-trip exact: {tok.decode(ids) == first}")
    print(" ".join(repr(p)[1:-1] for p in tok.pieces(first)[:40]))
    return 0
