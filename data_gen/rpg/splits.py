"""Write a whole RPG dataset: train, val, the eval splits, rollout fights and a manifest.

Splits are disjoint by construction: they are made in a fixed order (fights, the eval
splits, val, train), each keyed by its *canonical* prompt, and a record whose prompt an
earlier split already holds is dropped and replaced by the next one. Every split but
train also rejects its own repeats (train may repeat a prompt: holding a million prompts
in memory buys nothing, since no split comes after it).

Records come in chunks of `CHUNK`, chunk ``k`` of split ``s`` seeded from
``"{seed}:{s}:{k}"``, so the output depends only on the seed and the options.
Everything is written into a temporary folder next to ``out`` and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from data_gen.rpg.coverage import rates
from data_gen.rpg.errors import RPGError
from data_gen.rpg.generator import fight, fight_transitions
from data_gen.rpg.names import HELD_OUT_NAMES, TRAIN_NAMES, NamePool, unseen_names
from data_gen.rpg.rules import SPEC_VERSION
from data_gen.rpg.sources import Made, Source, make_records
from data_gen.rpg.text import format_prompt, format_state
from picojax.paths import replace_dir

CHUNK = 4096
EVAL_SPLITS = ("in_dist", "held_out_names", "aliases", "out_of_range", "crowded", "fizzle", "uniform", "unseen_names",
               "label_variants")
UNSEEN_POOL = 4096  # generated names the unseen_names split draws its pairs from


@dataclass(frozen=True)
class Options:
    seed: int = 0
    train_records: int = 100_000
    val_records: int = 5_000
    eval_records: int = 1_000  # per eval split
    eval_fights: int = 200
    alias_rate: float = 0.05
    # The train/val/in-dist mix: shares of whole-fight turns, uniform states, crowded
    # states and turns ending in a draw; the rest (1 - the four) are sparse random states.
    fight_share: float = 0.5
    uniform_share: float = 0.4
    crowded_share: float = 0.02
    draw_share: float = 0.01
    noise_rate: float = 0.0  # share of train/val prompts with noisy labels (the training family)
    # Share of training-distribution names drawn from the procedural space (names.NamePool);
    # the rest come from TRAIN_NAMES. 0 = the listed names only (the old data).
    generated_names: float = 0.7

    def check(self) -> None:
        for name in ("train_records", "val_records", "eval_records", "eval_fights"):
            if getattr(self, name) < 0:
                raise RPGError(name, getattr(self, name), "must be >= 0")
        for name in ("alias_rate", "fight_share", "uniform_share", "crowded_share", "draw_share", "noise_rate",
                     "generated_names"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise RPGError(name, getattr(self, name), "must be between 0 and 1")
        shares = self.fight_share + self.uniform_share + self.crowded_share + self.draw_share
        if shares > 1.0 + 1e-9:
            raise RPGError("fight_share+uniform_share+crowded_share+draw_share", round(shares, 6),
                           "the mix's shares must add up to at most 1")


def split_sources(opts: Options) -> dict[str, Source]:
    """What each split draws from, in the order the splits claim their prompts."""
    names = NamePool(opts.generated_names)
    mix = Source(names=names, alias_rate=opts.alias_rate, fight_share=opts.fight_share,
                 uniform_share=opts.uniform_share, crowded_share=opts.crowded_share, draw_share=opts.draw_share)
    pool = unseen_names(random.Random(f"{opts.seed}:eval/unseen_names:pool"), UNSEEN_POOL)
    return {
        "eval/in_dist": mix,
        "eval/held_out_names": replace(mix, names=HELD_OUT_NAMES),
        "eval/aliases": replace(mix, alias_rate=1.0),
        "eval/out_of_range": Source(kind="out_of_range", names=names, alias_rate=0.0),
        "eval/crowded": Source(kind="crowded", names=names, alias_rate=0.0),
        "eval/fizzle": Source(kind="fizzle", names=names, alias_rate=0.0),
        "eval/uniform": Source(kind="uniform", names=names, alias_rate=0.0),
        "eval/unseen_names": replace(mix, names=pool),
        "eval/label_variants": replace(mix, alias_rate=0.0, noise_rate=1.0, noise_family="eval"),
        "val": replace(mix, noise_rate=opts.noise_rate),
        "train": replace(mix, noise_rate=opts.noise_rate),
    }


class _Sink:
    """A file being written, with its sha256, counts and rates."""

    def __init__(self, path: Path):
        self.file = open(path, "w", encoding="utf-8", newline="\n")
        self.sha = hashlib.sha256()
        self.count = 0
        self.rejected = 0
        self.actions: Counter[str] = Counter()
        self.results: Counter[str] = Counter()
        self.fizzles = 0
        self.aliases = 0
        self.noisy = 0
        self.masks: Counter[int] = Counter()  # coverage.branches masks

    def write(self, text: str) -> None:
        self.file.write(text)
        self.sha.update(text.encode())

    def count_record(self, made: Made) -> None:
        self.count += 1
        self.actions[made.action] += 1
        self.results[made.result.partition(":")[0]] += 1
        self.fizzles += made.fizzle
        self.aliases += made.alias
        self.noisy += made.noise
        self.masks[made.branches] += 1

    def summary(self) -> dict:
        self.file.close()
        n = max(self.count, 1)
        return {
            "records": self.count,
            "rejected_prompts": self.rejected,
            "sha256": self.sha.hexdigest(),
            "actions": {a: round(c / n, 4) for a, c in sorted(self.actions.items())},
            "results": {r: round(c / n, 4) for r, c in sorted(self.results.items())},
            "fizzle_rate": round(self.fizzles / n, 4),
            "alias_rate": round(self.aliases / n, 4),
            "noise_rate": round(self.noisy / n, 4),
            "coverage": {**rates(self.masks, self.count), "alias": round(self.aliases / n, 4),
                         "noise": round(self.noisy / n, 4)},
        }


def _write_split(path: Path, name: str, source: Source, n: int, opts: Options, taken: set[str], claim: bool, bar) -> dict:
    sink = _Sink(path)
    chunk = 0
    while sink.count < n:
        rng = random.Random(f"{opts.seed}:{name}:{chunk}")
        chunk += 1
        lines = []
        for made in make_records(rng, source, min(CHUNK, n - sink.count)):
            if made.key in taken:
                sink.rejected += 1
                continue
            if claim:
                taken.add(made.key)
            lines.append(made.line)
            sink.count_record(made)
        sink.write("".join(lines))
        bar.update(len(lines))
    return sink.summary()


def _write_fights(path: Path, opts: Options, taken: set[str], bar) -> dict:
    """Whole fights for rollout evals; their prompts are claimed like any split's."""
    sink = _Sink(path)
    turns = 0
    index = 0
    while sink.count < opts.eval_fights:
        f = fight(random.Random(f"{opts.seed}:eval/fights:{index}"), TRAIN_NAMES)
        index += 1
        keys = [format_prompt(s, a) for s, a, _, _ in fight_transitions(f)]
        if any(k in taken for k in keys) or len(set(keys)) < len(keys):
            sink.rejected += 1
            continue
        taken.update(keys)
        record = {
            "initial": format_state(f.initial),
            "actions": [str(a) for a in f.actions],
            "states": [format_state(s) for s in f.states],
            "result": f.results[-1],
        }
        sink.write(json.dumps(record) + "\n")
        sink.count += 1
        sink.results[f.results[-1].partition(":")[0]] += 1
        turns += len(f.actions)
        bar.update(1)
    summary = sink.summary()
    summary.update(turns=turns, actions={}, fizzle_rate=None, alias_rate=0.0, noise_rate=0.0, coverage=None)
    return summary


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    # disable=None: tqdm switches itself off when stderr is not a terminal.
    return tqdm(total=total, unit="rec", unit_scale=True, file=sys.stderr, disable=None if enabled else True,
                desc="rpg data")


def _swap_into_place(tmp: Path, out: Path) -> None:
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").exists()):
            raise RPGError("out", str(out), "exists and is not an RPG dataset (no manifest.json); choose another --out")
    replace_dir(tmp, out)


def write_dataset(out: str | os.PathLike, opts: Options, progress: bool = True) -> dict:
    """Writes every file of the dataset under ``out`` and returns the manifest."""
    opts.check()
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise RPGError("out", str(out), "is a file, not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "eval").mkdir(parents=True)
    sizes = {"eval/fights": opts.eval_fights, "val": opts.val_records, "train": opts.train_records}
    sizes.update({f"eval/{s}": opts.eval_records for s in EVAL_SPLITS})
    taken: set[str] = set()
    splits: dict[str, dict] = {}
    try:
        with _progress(sum(sizes.values()), progress) as bar:
            splits["eval/fights.jsonl"] = _write_fights(tmp / "eval" / "fights.jsonl", opts, taken, bar)
            for name, source in split_sources(opts).items():
                claim = name != "train"
                path = tmp / f"{name}.txt"
                splits[f"{name}.txt"] = _write_split(path, name, source, sizes[name], opts, taken, claim, bar)
        manifest = {
            "spec_version": SPEC_VERSION,
            "seed": opts.seed,
            "options": opts.__dict__,
            "counts": {f: s["records"] for f, s in splits.items()},
            "sha256": {f: s["sha256"] for f, s in splits.items()},
            "splits": splits,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
