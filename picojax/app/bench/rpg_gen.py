"""`picojax bench rpg-gen`: RPG records generated per second (target: 1M train records < 2 min).

Three rows: the full `picojax data rpg` path (generate, dedupe, write, hash) into a temp
folder; generation alone in memory; and checking records (parse + step + format), which
is what `picojax rpg check` and the evals pay per record.
"""

from __future__ import annotations

HELP = "RPG data generation speed: records/s for write_dataset, in-memory generation, and checking"


def add_arguments(parser):
    parser.add_argument("--records", type=int, default=1_000_000, help="train records to write (default 1000000)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    import random
    import tempfile
    import time
    from pathlib import Path

    from data_gen.rpg import Options, write_dataset
    from data_gen.rpg.check import check_file
    from data_gen.rpg.sources import Source, make_records
    from picojax.app.bench.report import emit

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_dataset(Path(tmp) / "rpg", Options(seed=args.seed, train_records=args.records), progress=False)
        write_s = time.perf_counter() - start
        rows.append(("write_dataset (all splits)", args.records, write_s, args.records / write_s))

        n_check = min(args.records, 100_000)
        sample = Path(tmp) / "sample.txt"
        with open(Path(tmp) / "rpg" / "train.txt") as src, open(sample, "w") as dst:
            dst.writelines(line for _, line in zip(range(n_check), src))
        start = time.perf_counter()
        report = check_file(sample)
        check_s = time.perf_counter() - start
        assert report.agree == report.total == n_check

    n_mem = min(args.records, 200_000)
    start = time.perf_counter()
    make_records(random.Random(args.seed), Source(), n_mem)
    mem_s = time.perf_counter() - start
    rows.insert(1, ("make_records (memory)", n_mem, mem_s, n_mem / mem_s))
    rows.append(("check_file (parse+step)", n_check, check_s, n_check / check_s))

    figures = {
        "train_records": args.records,
        "write_seconds": round(write_s, 2),
        "write_records_per_s": round(args.records / write_s),
        "seconds_per_million": round(write_s * 1_000_000 / args.records, 1),
        "generate_records_per_s": round(n_mem / mem_s),
        "check_records_per_s": round(n_check / check_s),
    }
    emit("rpg-gen", ["stage", "records", "seconds", "records/s"], rows, figures)
    return 0
