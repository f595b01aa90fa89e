"""`picojax data tokenize`: encode a dataset's splits once into the token store."""

from __future__ import annotations

import os
import time

from picojax.app.tasks import BUILT_IN

HELP = "encode DIR/train.txt and DIR/val.txt into the token store DIR/store/ that the Grain pipeline reads"


def add_arguments(parser):
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder holding train.txt (and val.txt)")
    parser.add_argument("--tokenizer", metavar="PATH", help="SentencePiece model (default DIR/tokenizer.model)")
    parser.add_argument("--store", metavar="DIR", help="where to write the store (default DATA/store)")
    parser.add_argument("--task", choices=("auto", *BUILT_IN), default="auto",
                        help="record format: rpg (one record per line, target after ' => ') or stories "
                             "(<|endoftext|> lines between stories); auto looks at the data")


def run(args) -> int:
    from picojax.data_dir import DataDir
    from picojax.errors import UserError
    from picojax.store import tokenize_dir
    from picojax.tokenizer import Tokenizer

    tok = Tokenizer.load(args.tokenizer or DataDir(args.data).tokenizer_path)
    store = str(args.store or DataDir(args.data).store)
    existed = os.path.exists(store)
    start = time.perf_counter()
    try:
        metas = tokenize_dir(args.data, tok, store_dir=args.store, task=args.task)
    except OSError as e:  # the store's folder cannot be made or written
        raise UserError(f"cannot write the token store {store}: {e.strerror or e}"
                        + (f" ({e.filename})" if e.filename else "")) from None
    except UserError:
        if not existed and os.path.isdir(store) and not os.listdir(store):
            os.rmdir(store)  # the empty folder this refused run made, nothing else
        raise
    seconds = time.perf_counter() - start
    for split, meta in metas.items():
        print(f"{split}: {meta['num_docs']:,} {meta['task']} documents, {meta['num_tokens']:,} tokens "
              f"(longest {meta['max_doc_tokens']}), {meta['token_dtype']}")
    total = sum(m["num_tokens"] for m in metas.values())
    print(f"store {store} with tokenizer {tok.sha256[:12]}…: "
          f"{total:,} tokens in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} tokens/s)")
    return 0
