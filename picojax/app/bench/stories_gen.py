"""`picojax bench stories-gen`: synthetic story generator throughput and corpus diversity.

Generates ``--stories`` stories through the same path as `picojax data stories --stories`
(generation, split hashing, writing, manifest statistics) into a temporary folder, and
reports stories/s and words/s with the manifest's diversity figures.
"""

from __future__ import annotations

HELP = "story generator: stories/s, and the diversity of what it wrote (--stories, default 5000)"


def add_arguments(parser) -> None:
    parser.add_argument("--stories", type=int, default=5000, help="stories to generate (default 5000)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    import os
    import tempfile
    import time

    from data_gen.stories.generator import generate_stories
    from picojax.app.bench.report import emit

    with tempfile.TemporaryDirectory(prefix="picojax-bench-stories-gen-") as tmp:
        t = time.perf_counter()
        m = generate_stories(os.path.join(tmp, "out"), args.stories, seed=args.seed, progress=False)
        seconds = time.perf_counter() - t
    div = m["diversity"]
    figures = {"stories": args.stories, "stories_per_s": round(args.stories / seconds, 1),
               "words_per_s": round(m["words"] / seconds), "mean_words": m["mean_words_per_story"],
               "distinct_words": m["distinct_words"], **div}
    emit("stories-gen", ["stories", "seconds", "stories/s", "words/s", "distinct-4-gram", "duplicates"],
         [[args.stories, round(seconds, 2), figures["stories_per_s"], figures["words_per_s"],
           div["distinct_4gram_ratio"], div["duplicate_share"]]], figures)
    return 0
