"""`picojax data text`: any plain text as a dataset (the text task)."""

from __future__ import annotations

HELP = "import plain text files (or folders of *.txt) as a dataset: documents, a train/val split, manifest"


def add_arguments(parser):
    from data_gen.text import SEPARATORS, SPLITS

    parser.add_argument("--from", dest="sources", action="append", default=[], required=True, metavar="FILE",
                        help="a UTF-8 text file or a folder of *.txt; repeatable")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder (replaced atomically if it holds a dataset)")
    parser.add_argument("--separator", choices=SEPARATORS, default="auto",
                        help="what separates documents: <|endoftext|> lines (eot), blank lines, one per file, or "
                             "none (each file one stream); auto: eot if present, else none")
    parser.add_argument("--split", choices=SPLITS, default="auto",
                        help="hash: documents to val by a keyed hash; tail: the last --val-fraction of the text "
                             "(nanoGPT's convention); auto: tail for streams, hash for documents")
    parser.add_argument("--val-fraction", type=float, default=0.1, metavar="P", help="share held out (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="key of the hash split (default 0)")


def run(args) -> int:
    from data_gen.text import import_text
    from picojax.errors import UserError

    try:
        m = import_text(args.sources, args.out, separator=args.separator, split=args.split,
                        val_fraction=args.val_fraction, seed=args.seed)
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        raise UserError(f"--out {args.out}: cannot write the dataset there: {e.strerror or e}{where}") from None
    print(f"wrote {args.out}: {m['counts']['train']:,} train and {m['counts']['val']:,} val document(s), "
          f"{m['chars']['train']:,} + {m['chars']['val']:,} characters ({m['split']} split)")
    print(f"next: picojax tokenizer --data {args.out} --vocab-size 512 [--model char] && "
          f"picojax data tokenize --data {args.out}")
    return 0
