"""`picojax data rpg`: write the RPG dataset (train, val, eval splits, fights, manifest)."""

from __future__ import annotations

HELP = "generate the RPG world's train/val/eval splits from a seed (spec: data_gen/rpg/FORMAT.md, v1)"


def add_arguments(parser):
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder (replaced atomically if it holds a dataset)")
    parser.add_argument("--seed", type=int, default=0, help="everything follows from it (default 0)")
    parser.add_argument("--train-records", type=int, default=100_000, metavar="N", help="records in train.txt (default 100000)")
    parser.add_argument("--val-records", type=int, default=5_000, metavar="M", help="records in val.txt (default 5000)")
    parser.add_argument("--eval-records", type=int, default=1_000, metavar="K", help="records per eval split (default 1000)")
    parser.add_argument("--eval-fights", type=int, default=200, metavar="F", help="fights in eval/fights.jsonl (default 200)")
    parser.add_argument("--alias-rate", type=float, default=0.05, metavar="P",
                        help="share of train/val/in-dist prompts written with published aliases (default 0.05)")
    parser.add_argument("--fight-share", type=float, default=0.5, metavar="P",
                        help="share of train/val/in-dist records taken from whole fights (default 0.5)")
    parser.add_argument("--uniform-share", type=float, default=0.4, metavar="P",
                        help="share drawn uniformly over the training ranges: every status/cooldown combination, "
                             "hp near 0 and near max (default 0.4)")
    parser.add_argument("--crowded-share", type=float, default=0.02, metavar="P",
                        help="share of crowded states: all four statuses, 3+ cooldowns on both sides (default 0.02)")
    parser.add_argument("--draw-share", type=float, default=0.01, metavar="P",
                        help="share of turns that end in a draw (default 0.01); the mix's rest are random states")
    parser.add_argument("--noise-rate", type=float, default=0.0, metavar="P",
                        help="share of train/val prompts with noisy labels (case, stray '-'), a family "
                             "eval/label_variants never uses (default 0)")
    parser.add_argument("--generated-names", type=float, default=0.7, metavar="P",
                        help="share of training names drawn from a procedural space of millions of names (the rest "
                             "from the built-in list), so a model must copy names rather than memorise them (default 0.7)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    import time

    from data_gen.rpg import Options, write_dataset
    from data_gen.rpg.coverage import format_coverage
    from picojax.errors import UserError

    opts = Options(seed=args.seed, train_records=args.train_records, val_records=args.val_records,
                   eval_records=args.eval_records, eval_fights=args.eval_fights, alias_rate=args.alias_rate,
                   fight_share=args.fight_share, uniform_share=args.uniform_share, crowded_share=args.crowded_share,
                   draw_share=args.draw_share, noise_rate=args.noise_rate,
                   generated_names=args.generated_names)
    start = time.perf_counter()
    try:
        manifest = write_dataset(args.out, opts, progress=not args.no_progress)
    except OSError as e:  # the folder cannot be made or written (read-only, missing parent, full disk)
        where = f" ({e.filename})" if e.filename else ""
        raise UserError(f"--out {args.out}: cannot write the dataset there: {e.strerror or e}{where}") from None
    seconds = time.perf_counter() - start
    records = sum(n for f, n in manifest["counts"].items() if f.endswith(".txt"))
    print(f"wrote {args.out}: {records:,} records in {len(manifest['counts'])} files "
          f"in {seconds:.1f} s ({records / seconds:,.0f} records/s)")
    for name, count in manifest["counts"].items():
        print(f"  {name:24} {count:>10,}")
    table = format_coverage(manifest)
    if table:
        print("coverage (share of records taking each branch; every split's is in manifest.json):")
        print("\n".join("  " + line for line in table.splitlines()))
    return 0
