"""`picojax data stories`: TinyStories data, imported from real files or generated offline.

    picojax data stories --from TinyStoriesV2-GPT4-train.txt --out data/stories
    picojax data stories --from data00.json.gz --from data01.json.gz --out data/stories --exact
    picojax data stories --stories 20000 --seed 0 --out data/stories

Both write DIR/train.txt, DIR/val.txt (TinyStories V2 text: each story, then a line
``<|endoftext|>``) and DIR/manifest.json, all or nothing. The work is in `data_gen.stories`.
"""

from __future__ import annotations

HELP = "TinyStories: import real files (--from PATH, repeatable) or generate synthetic stories (--stories N)"


def add_arguments(parser) -> None:
    parser.add_argument("--from", dest="sources", action="append", default=[], metavar="PATH",
                        help="a TinyStories file to import: V1/V2 text, a JSON shard, JSON Lines, or any of them "
                             "gzipped (repeatable); without --from, stories are generated")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for train.txt, val.txt and manifest.json")
    parser.add_argument("--stories", type=int, metavar="N", help="generate N synthetic stories (instead of --from)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the generator, and key of the train/val split hash (default 0)")
    parser.add_argument("--val-fraction", type=float, default=0.05, metavar="F",
                        help="share of stories in val.txt, chosen by a hash of each story's text (default 0.05)")
    parser.add_argument("--exact", action="store_true",
                        help="import each story byte for byte (default: normalise whitespace)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from data_gen.stories.errors import StoriesError

    progress = False if args.quiet else None
    if args.sources and args.stories is not None:
        raise StoriesError("give --from PATH to import or --stories N to generate, not both")
    if args.sources:
        from data_gen.stories.importer import import_stories

        manifest = import_stories(args.sources, args.out, val_fraction=args.val_fraction, seed=args.seed,
                                  exact=args.exact, progress=progress)
    elif args.stories is not None:
        if args.exact:
            raise StoriesError("--exact applies to imports (--from); generated stories are always normalised")
        from data_gen.stories.generator import generate_stories

        manifest = generate_stories(args.out, args.stories, seed=args.seed, val_fraction=args.val_fraction,
                                    progress=progress)
    else:
        raise StoriesError("nothing to do: give --from PATH to import stories, or --stories N to generate them")
    splits = manifest["splits"]
    print(f"wrote {args.out}: {splits['train']['stories']:,} train + {splits['val']['stories']:,} val stories, "
          f"{manifest['words']:,} words ({manifest['distinct_words']:,} distinct), "
          f"{manifest['mean_words_per_story']:.0f} words per story")
    div = manifest["diversity"]
    print(f"diversity: distinct-4-gram ratio {div['distinct_4gram_ratio']} over {div['distinct_4gram_measured_words']:,} words, "
          f"duplicate share {div['duplicate_share']} over {div['duplicate_measured_stories']:,} stories")
    return 0
