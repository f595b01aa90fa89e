"""Shared by the trainer tests: a small synthetic story corpus, its tokenizer and token
store, and the config of a model tiny enough to train in seconds on 2 cores."""

from __future__ import annotations

import random
from pathlib import Path

from picojax import config_io
from picojax.config import Config

VOCAB = 256
NAMES = ["Ben", "Lily", "Tom", "Mia", "Sam", "Zoe", "Max", "Ann"]
THINGS = ["ball", "kite", "cat", "dog", "boat", "cake", "hat", "tree", "box", "frog"]
COLORS = ["red", "blue", "big", "small", "green", "happy", "old", "shiny"]
VERBS = ["saw", "found", "liked", "wanted", "lost", "made", "had", "took"]


def story(rng: random.Random) -> str:
    name, friend = rng.sample(NAMES, 2)
    lines = [f"Once upon a time, {name} {rng.choice(VERBS)} a {rng.choice(COLORS)} {rng.choice(THINGS)}."]
    for _ in range(rng.randint(1, 4)):
        lines.append(f"{name} and {friend} {rng.choice(VERBS)} the {rng.choice(THINGS)}. It was {rng.choice(COLORS)}.")
    lines.append(f"They had {rng.randint(2, 9)} {rng.choice(THINGS)}s and were happy.")
    return " ".join(lines)


def write_corpus(data_dir: Path, n_train: int = 400, n_val: int = 60, seed: int = 0) -> None:
    """TinyStories V2 layout: stories separated by `<|endoftext|>` lines."""
    rng = random.Random(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        text = "".join(story(rng) + "\n<|endoftext|>\n" for _ in range(n))
        (data_dir / f"{split}.txt").write_text(text)


def make_data(data_dir: Path, seed: int = 0) -> Path:
    """Corpus + SentencePiece tokenizer + token store, through the data helpers' API."""
    from picojax.store import tokenize_dir
    from picojax.tokenizer import train_tokenizer

    write_corpus(data_dir, seed=seed)
    tokenizer = train_tokenizer(data_dir, VOCAB, data_dir / "tokenizer.model", profile="stories")
    tokenize_dir(data_dir, tokenizer, task="stories")
    return data_dir


def tiny_overrides(data_dir: Path) -> list[str]:
    return [
        "data.task=stories", f"data.dir={data_dir}", f"model.vocab_size={VOCAB}",
        "model.depth=1", "model.aspect_ratio=32", "model.head_dim=16", "model.seq_len=32",
        "train.batch_size=8", "train.steps=20", "train.log_every=1", "train.eval_every=0",
        "train.eval_batches=2", "optim.lr=0.01", "optim.warmup_steps=2",
        "checkpoint.every_steps=10", "checkpoint.every_minutes=0", "mesh.cpu_devices=8",
    ]


def tiny_config(data_dir: Path, *overrides: str) -> Config:
    return config_io.load(None, [*tiny_overrides(data_dir), *overrides])
