"""`picojax data pairs`: import your own prompt -> completion pairs (JSON Lines)."""

from __future__ import annotations

HELP = "import JSON Lines of {\"prompt\": ..., \"completion\": ...} as a dataset (train/val split by a keyed hash)"


def add_arguments(parser):
    parser.add_argument("--from", dest="sources", action="append", default=[], required=True, metavar="FILE",
                        help="a JSON Lines file of pairs; repeatable")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder (replaced atomically if it holds a dataset)")
    parser.add_argument("--val-fraction", type=float, default=0.1, metavar="P",
                        help="share of prompts held out for validation and the eval (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="key of the train/val hash split (default 0)")
    parser.add_argument("--regex", metavar="RE",
                        help="the form every completion must have; the eval reports format validity against it")


def run(args) -> int:
    from data_gen.pairs import import_pairs
    from picojax.errors import UserError

    try:
        manifest = import_pairs(args.sources, args.out, val_fraction=args.val_fraction, seed=args.seed, regex=args.regex)
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        raise UserError(f"--out {args.out}: cannot write the dataset there: {e.strerror or e}{where}") from None
    c = manifest["counts"]
    dropped = f", {manifest['duplicates_dropped']} duplicate(s) dropped" if manifest["duplicates_dropped"] else ""
    print(f"wrote {args.out}: {c['train']:,} train and {c['val']:,} val pairs{dropped}")
    print(f"next: picojax tokenizer --data {args.out} --vocab-size 256 && picojax data tokenize --data {args.out}")
    return 0
