"""Synthetic TinyStories-style stories (`picojax data stories --stories N --seed S`).

A story is told, not filled in: a plot shape (`PLOTS`) casts characters with fixed
pronouns (`characters.py`), draws things and places from the vocabulary (`world.py`),
and walks through beats that read and write story state, so a fall in one sentence is a
sore knee three sentences later and the lost toy turns up where the wind left it. The
realiser (`story.py`, `grammar.py`) varies how each beat is said.

Every word comes from `vocab.tsv` (tests check 2,000 stories). Stories have 50-250 words:
one that falls outside is retold from a derived seed. Story ``i`` of seed ``S`` depends
only on ``(S, i)``, so a corpus is reproducible and its prefix does not depend on N.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from data_gen.stories.characters import Cast
from data_gen.stories.errors import StoriesError
from data_gen.stories.importer import FORMAT_NOTE, check_fraction
from data_gen.stories.output import StoryWriter, split_of
from data_gen.stories.plots_friends import fear, helping, quarrel
from data_gen.stories.plots_lesson import lesson
from data_gen.stories.plots_lost import lost_and_found
from data_gen.stories.plots_more import magic, new_friend, race, surprise, trip
from data_gen.stories.plots_want import want_and_obstacle
from data_gen.stories.stats import CorpusStats, words
from data_gen.stories.story import Story
from data_gen.stories.vocab import VOCAB_PATH, load
from data_gen.stories.world import World

PLOTS = {"want": want_and_obstacle, "lesson": lesson, "lost": lost_and_found, "quarrel": quarrel,
         "helping": helping, "fear": fear, "surprise": surprise, "trip": trip, "race": race, "magic": magic,
         "new-friend": new_friend}
MIN_WORDS, MAX_WORDS = 50, 250
_RETRIES = 50


@dataclass
class GeneratedStory:
    text: str
    plot: str
    cast: list  # the Characters, each with its name and fixed pronoun
    pronouns: list  # (character, pronoun) for every gendered pronoun in the text, in order


def generate_story(seed: int, index: int) -> GeneratedStory:
    """Story ``index`` of corpus ``seed``: the same pair always gives the same story."""
    vocab = load(VOCAB_PATH)
    for attempt in range(_RETRIES):
        rng = random.Random(f"stories:{seed}:{index}:{attempt}")
        cast = Cast(rng)
        story = Story(World(vocab, rng), cast)
        plot = rng.choice(sorted(PLOTS))
        PLOTS[plot](story)
        text = story.text()
        if MIN_WORDS <= len(words(text)) <= MAX_WORDS:
            return GeneratedStory(text, plot, cast.members, cast.trace)
    raise RuntimeError(f"no story of {MIN_WORDS}-{MAX_WORDS} words in {_RETRIES} tries (seed {seed}, index {index})")


def generate_stories(out: str | Path, n: int, *, seed: int = 0, val_fraction: float = 0.05,
                     progress: bool | None = None) -> dict:
    """Writes ``n`` stories to out/train.txt and out/val.txt with a manifest; returns the manifest."""
    check_fraction(val_fraction)
    if n <= 0:
        raise StoriesError(f"--stories must be a positive number, got {n}")
    stats = CorpusStats()
    plots: dict[str, int] = {}
    bar = tqdm(total=n, unit="story", desc="generate", file=sys.stderr, mininterval=0.5,
               disable=None if progress is None else not progress)
    with bar, StoryWriter(out) as writer:
        for i in range(n):
            story = generate_story(seed, i)
            data = story.text.encode("utf-8")
            split = split_of(data, seed, val_fraction)
            stats.add(split, story.text, data, writer.write(split, data))
            plots[story.plot] = plots.get(story.plot, 0) + 1
            bar.update()
        manifest = {"kind": "generate", "format": FORMAT_NOTE, "text": "normalised", "val_fraction": val_fraction,
                    "seed": seed, "sources": [{"generator": "data_gen.stories.generator", "vocabulary": VOCAB_PATH.name,
                                               "vocabulary_words": len(load(VOCAB_PATH).surface_words())}],
                    **stats.figures(), "plots": dict(sorted(plots.items()))}
        writer.commit(manifest)
    return manifest
